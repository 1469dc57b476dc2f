"""Admin registrations of crm_bridge (none yet: it has no models)."""
