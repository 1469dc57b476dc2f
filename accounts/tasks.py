"""Celery tasks of the accounts app: they take ids, are idempotent, and only call services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(
    name="accounts.tasks.invitation_send_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def invitation_send_email(invitation_id: int) -> bool:
    return services.invitation_send(invitation_id=invitation_id)


@shared_task(name="accounts.tasks.invitations_send_pending")
def invitations_send_pending() -> int:
    ids = services.invitation_pending_ids()
    for invitation_id in ids:
        invitation_send_email.delay(invitation_id)
    return len(ids)
