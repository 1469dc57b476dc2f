"""Celery tasks of listening: they take ids, are idempotent, and only call services."""
