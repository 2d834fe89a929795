"""Authentication: passwords, sessions, second factors, one-time tokens, throttling, login."""
