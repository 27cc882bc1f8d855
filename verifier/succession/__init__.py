"""What a deregistered organisation's successor, or the platform, answers for it."""
