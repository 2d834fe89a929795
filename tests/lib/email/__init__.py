"""Tests of lib/email: templates, the Resend transport against a local fake, the .eml directory."""
