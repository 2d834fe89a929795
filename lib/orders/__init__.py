"""Orders: what merchants' staff capture, confirm, prepare and dispatch all day."""
