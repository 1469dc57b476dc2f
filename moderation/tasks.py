"""Celery tasks of moderation: they take ids, are idempotent, and only call services.

Replies and moderation actions travel on the ``publishing`` queue (latency-sensitive, kept apart from polling);
assignment, SLA checks and housekeeping on ``default`` (see CELERY_TASK_ROUTES)."""

from __future__ import annotations

from celery import shared_task

from . import outbox, services


# acks_late: a worker killed mid-task leaves the message to be redelivered; the claim makes a repeat a no-op and
# the recovery sweep reconciles what the dead worker left in sending.
@shared_task(name="moderation.tasks.network_action_run", acks_late=True)
def network_action_run(action_id: int) -> str:
    return outbox.network_action_run(action_id=action_id)


@shared_task(name="moderation.tasks.network_actions_dispatch")
def network_actions_dispatch() -> int:
    ids = outbox.network_actions_due()
    for action_id in ids:
        network_action_run.delay(action_id)
    return len(ids)


@shared_task(name="moderation.tasks.network_actions_recover")
def network_actions_recover() -> int:
    return outbox.network_actions_recover_stuck()


# The queue's row lock serializes two runs for one queue; the conditional UPDATE leaves taken ones alone.
@shared_task(name="moderation.tasks.queue_assign")
def queue_assign(queue_id: int) -> int:
    return services.queue_assign_waiting(queue_id=queue_id)


@shared_task(name="moderation.tasks.queues_assign_sweep")
def queues_assign_sweep() -> int:
    return sum(services.queue_assign_waiting(queue_id=queue_id) for queue_id in services.queues_with_waiting())


@shared_task(name="moderation.tasks.sla_breaches_notify")
def sla_breaches_notify() -> int:
    return services.sla_breaches_notify()


@shared_task(name="moderation.tasks.presence_purge")
def presence_purge() -> int:
    return services.presence_purge()
