"""Celery tasks of listening (polling queue): they take ids, are idempotent, and only call services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="listening.tasks.polls_dispatch")
def polls_dispatch() -> int:
    services.poll_cursors_ensure()
    ids = services.polls_due()
    for cursor_id in ids:
        account_poll.delay(cursor_id)
    return len(ids)


@shared_task(name="listening.tasks.account_poll", acks_late=True)
def account_poll(cursor_id: int) -> int:
    result = services.account_poll(cursor_id=cursor_id)
    return result.stored if result else 0
