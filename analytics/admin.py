"""Admin registrations of analytics (none yet: it has no models)."""
