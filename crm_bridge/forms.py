"""Forms of crm_bridge."""
