"""The live loop's core: events written with the change they tell of (events.py), and the rules
of writes, registrations and check-in codes (no FastAPI here)."""
