"""Celery tasks of listening (polling queue): they take ids, are idempotent, and only call services."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_init

from . import nlp, services

logger = logging.getLogger(__name__)


@worker_init.connect
def _load_models(sender: object = None, **kwargs: object) -> None:
    """Load the language and sentiment models in the main process of a worker that polls, before the pool
    forks: the children share them instead of each loading its own during its first poll."""
    consumed = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    names = set(getattr(consumed, "consume_from", None) or {})
    if not names or "polling" in names:  # no -Q: the worker takes every queue
        logger.info("loading the language and sentiment models")
        nlp.warm_up()


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


@shared_task(name="listening.tasks.fires_detect")
def fires_detect() -> int:
    return len(services.fires_detect())


@shared_task(name="listening.tasks.alert_notify", autoretry_for=(OSError,), max_retries=5)
def alert_notify(alert_id: int) -> int:
    return services.alert_notify(alert_id=alert_id)


@shared_task(name="listening.tasks.topic_rematch")
def topic_rematch(topic_id: int) -> int:
    return services.topic_rematch(topic_id=topic_id)
