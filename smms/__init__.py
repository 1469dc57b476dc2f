"""SMMS: a social media management system.

The Celery app is imported by ``accounts.apps.AccountsConfig.ready`` (and found by ``celery -A smms`` in
``smms/celery.py``), not here: ``smms.connectors`` must stay importable without Django.
"""
