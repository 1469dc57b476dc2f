"""Admin registrations of moderation (none yet: it has no models)."""
