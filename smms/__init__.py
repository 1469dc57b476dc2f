"""SMMS: a social media management system."""

from .celery import app as celery_app

__all__ = ("celery_app",)
