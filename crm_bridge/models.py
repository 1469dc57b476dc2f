"""Models of crm_bridge: Link social people to CRM contacts; signed webhooks."""
