"""Admin registrations of listening (none yet: it has no models)."""
