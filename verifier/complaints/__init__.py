"""Complaints about organisations and volunteers' correction requests."""
