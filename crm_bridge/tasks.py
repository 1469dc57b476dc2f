"""Celery tasks of crm_bridge: they take ids, are idempotent, and only call services."""
