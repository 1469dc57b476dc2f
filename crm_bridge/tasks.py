"""Celery tasks of crm_bridge (default queue): they take ids, are idempotent, and only call services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="crm_bridge.tasks.webhook_deliver")
def webhook_deliver(delivery_id: int) -> str:
    # Idempotent through the service's claim: a duplicate or early message finds nothing due and skips.
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="crm_bridge.tasks.webhooks_retry_due")
def webhooks_retry_due() -> int:
    ids = services.webhook_deliveries_due()
    for delivery_id in ids:
        webhook_deliver.delay(delivery_id)
    return len(ids)
