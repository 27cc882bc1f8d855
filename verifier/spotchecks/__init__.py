"""Spot checks (抽查): plans, campaigns, the seeded draw and risk signals."""
