"""Cryptography: signing, keys and encryption at rest; no other module imports cryptography."""
