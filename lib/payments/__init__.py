"""Payments: recording and reviewing them, their proofs, and cash-on-delivery settlements."""
