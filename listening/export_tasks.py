"""Celery tasks of listening's CSV exports (default queue): they take ids, are idempotent, and only call
``listening.exports``. Kept apart from ``listening.tasks``, whose tasks are routed to the polling queue."""

from __future__ import annotations

from celery import shared_task

from . import exports

# An export of millions of rows outlasts the default 5-minute limit; it stays under Redis's 1-hour visibility
# timeout, after which an unacknowledged task would be delivered to a second worker.
SOFT_TIME_LIMIT = 50 * 60


@shared_task(name="listening.exports.run", acks_late=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=SOFT_TIME_LIMIT + 60)  # fmt: skip
def export_run(export_id: int) -> bool:
    return exports.export_run(export_id=export_id)


@shared_task(name="listening.exports.sweep")
def exports_sweep() -> int:
    return len(exports.exports_sweep())


@shared_task(name="listening.exports.purge")
def exports_purge() -> int:
    return exports.exports_purge()
