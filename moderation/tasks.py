"""Celery tasks of moderation: they take ids, are idempotent, and only call services."""
