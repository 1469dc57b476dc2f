"""Admin registrations of publishing (none yet: it has no models)."""
