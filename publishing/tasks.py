"""Celery tasks of publishing (publishing queue): they take ids, are idempotent, and only call services."""

from __future__ import annotations

from collections import Counter

from celery import shared_task

from . import imports, services

# Due deliveries travel to the workers this many to a message: at thousands due in the same minute, one message
# per delivery made the broker's work (and its acknowledgements) cost as much as the publishing.
BATCH = 10


# One dispatch queues everything due, a lease of ROUND at a time: thousands of posts due in the same minute
# must not wait for later ticks. MAX bounds one run; the next tick goes on.
ROUND = 500
MAX = 20_000


@shared_task(name="publishing.tasks.deliveries_dispatch")
def deliveries_dispatch() -> int:
    queued = 0
    while queued < MAX:
        ids = services.deliveries_due(limit=ROUND)
        for start in range(0, len(ids), BATCH):
            deliveries_publish.delay(ids[start : start + BATCH])
        queued += len(ids)
        if len(ids) < ROUND:
            break
    return queued


# The claim is conditional: a batch redelivered after a worker died repeats only what is still due.
@shared_task(name="publishing.tasks.deliveries_publish", acks_late=True)
def deliveries_publish(delivery_ids: list[int]) -> dict[str, int]:
    return dict(Counter(services.deliveries_publish(delivery_ids=delivery_ids)))


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


# CSV imports (routed to the default queue in settings: a large file must not delay due posts). The job's
# claim makes a re-delivered message a no-op.
# The default limits (300 s) are too short for 5,000 rows; still shorter than the job's lease (imports.LEASE).
IMPORT_TIME_LIMIT = 15 * 60


@shared_task(
    name="publishing.tasks.post_import_validate",
    acks_late=True,
    soft_time_limit=IMPORT_TIME_LIMIT - 60,
    time_limit=IMPORT_TIME_LIMIT,
)
def post_import_validate(import_id: int) -> str:
    return imports.post_import_validate(import_id=import_id)


@shared_task(
    name="publishing.tasks.post_import_run",
    acks_late=True,
    soft_time_limit=IMPORT_TIME_LIMIT - 60,
    time_limit=IMPORT_TIME_LIMIT,
)
def post_import_run(import_id: int) -> str:
    return imports.post_import_run(import_id=import_id)


@shared_task(name="publishing.tasks.post_imports_recover")
def post_imports_recover() -> int:
    return len(imports.post_imports_recover())
