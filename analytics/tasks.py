"""Celery tasks of analytics: they take ids, are idempotent, and only call services."""
