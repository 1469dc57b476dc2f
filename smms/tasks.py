"""Infrastructure tasks that belong to no single app."""

from __future__ import annotations

from celery import shared_task

from smms import health


@shared_task(name="smms.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    health.heartbeat_record()
