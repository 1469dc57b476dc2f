"""Celery tasks of publishing: they take ids, are idempotent, and only call services."""
