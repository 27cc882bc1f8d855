"""Volunteers' own accounts: invitation codes, claiming, sign-in tokens, passwords, consent."""
