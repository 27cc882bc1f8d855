"""Notifications: an outbox written in the change's transaction, delivered exactly once."""
