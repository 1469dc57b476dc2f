"""The Celery application. Queues, routes and serialization live in settings (CELERY_*); periodic tasks
live in ``smms/schedule.py``, all in one place."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smms.settings.local")

app = Celery("smms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules that autodiscovery (each app's `tasks` module) does not find.
app.conf.imports = ("smms.tasks", "listening.export_tasks")


@app.on_after_finalize.connect
def _install_schedule(sender: Celery, **kwargs: object) -> None:
    from smms.schedule import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE


@worker_ready.connect
def _heartbeat_on_start(**kwargs: object) -> None:
    """Report the worker alive at once rather than at the first beat, 30 s later."""
    from smms.health import heartbeat_record

    heartbeat_record()
