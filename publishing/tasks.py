"""Celery tasks of publishing (publishing queue): they take ids, are idempotent, and only call services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="publishing.tasks.deliveries_dispatch")
def deliveries_dispatch() -> int:
    ids = services.deliveries_due()
    for delivery_id in ids:
        delivery_publish.delay(delivery_id)
    return len(ids)


# acks_late: a worker killed mid-task leaves the message to be redelivered; the claim makes the repeat a no-op
# and the recovery sweep reconciles what the dead worker left in publishing.
@shared_task(name="publishing.tasks.delivery_publish", acks_late=True)
def delivery_publish(delivery_id: int) -> str:
    return services.delivery_publish(delivery_id=delivery_id)


@shared_task(name="publishing.tasks.deliveries_recover")
def deliveries_recover() -> int:
    return services.deliveries_recover_stuck()


@shared_task(name="publishing.tasks.delivery_notify_failed", autoretry_for=(OSError,), max_retries=5)
def delivery_notify_failed(delivery_id: int) -> bool:
    return services.delivery_notify_failed(delivery_id=delivery_id)
