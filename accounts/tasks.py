"""Celery tasks of the accounts app: they take ids, are idempotent, and only call services."""

from __future__ import annotations

from celery import shared_task

from smms.connectors.errors import ConnectorError

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


@shared_task(name="accounts.tasks.social_accounts_refresh_expiring")
def social_accounts_refresh_expiring() -> int:
    ids = services.social_accounts_refresh_due()
    for account_id in ids:
        social_account_refresh_token.delay(account_id)
    return len(ids)


@shared_task(
    name="accounts.tasks.social_account_refresh_token",
    autoretry_for=(ConnectorError,),
    retry_backoff=30,
    retry_jitter=True,
    max_retries=5,
)
def social_account_refresh_token(account_id: int) -> str:
    return services.social_account_refresh(account_id=account_id)


@shared_task(name="accounts.tasks.social_account_notify_revoked", autoretry_for=(OSError,), max_retries=5)
def social_account_notify_revoked(account_id: int) -> int:
    return services.social_account_notify_revoked(account_id=account_id)


# The claim on the notification makes a second run (redelivery, retry after a send that did go out) a no-op.
@shared_task(
    name="accounts.tasks.notification_send_email",
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def notification_send_email(notification_id: int) -> bool:
    return services.notification_email(notification_id=notification_id)


@shared_task(name="accounts.tasks.notifications_email_unsent")
def notifications_email_unsent() -> int:
    ids = services.notification_unsent_ids()
    for notification_id in ids:
        notification_send_email.delay(notification_id)
    return len(ids)
