"""Celery tasks of analytics (polling queue for the metrics): they take ids, are idempotent, and only call
services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="analytics.tasks.metrics_dispatch")
def metrics_dispatch() -> int:
    """Make the rows of newly published deliveries, resume those of reconnected accounts, then queue the due
    ones, one task per account batch."""
    services.metrics_rows_ensure()
    services.metrics_rows_resume()
    batches = services.metrics_due_by_account()
    for delivery_ids in batches:
        metrics_fetch.delay(delivery_ids)
    return sum(len(batch) for batch in batches)


# A repeat (a redelivered message) finds its rows no longer due, or claimed, and does nothing.
@shared_task(name="analytics.tasks.metrics_fetch", acks_late=True)
def metrics_fetch(delivery_ids: list[int]) -> dict[str, int]:
    return services.metrics_fetch(delivery_ids=delivery_ids)
