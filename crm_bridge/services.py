"""Writes of crm_bridge: keyword-only functions named <noun>_<verb>, see STYLE.md.

Webhooks. Other apps publish an event with ``event_publish`` inside their own transaction; it stores one
WebhookDelivery per subscribed endpoint and, after commit, queues ``webhook_deliver`` for each. Delivery is a
state machine on the row: pending → sending (one worker's claim, a conditional UPDATE) → succeeded, or pending
again with a later ``next_attempt_at`` (retry), or failed. No transaction is open during the HTTP call. The
periodic ``webhooks_retry_due`` task sends the retries that have come due and takes back deliveries whose
worker died mid-send, so a lost queue message delays a delivery but never loses it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership
from accounts.roles import Perm
from accounts.services import require
from smms.errors import Conflict, ValidationFailed
from smms.lib import outbound

from .events import EVENTS, ON_REQUEST_ONLY, TEST
from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

USER_AGENT = "SMMS-Webhooks/1"
TIMEOUT = 10.0  # seconds to connect, and for each read of the answer
RESPONSE_EXCERPT = 2048  # bytes of the answer kept for the delivery log
MAX_ATTEMPTS = 8
# Wait before the next attempt after n failures: 30 s * 4^(n-1) capped at 12 h, plus up to 20 % jitter so that
# the deliveries of one outage do not all come back at once. 30 s, 2 min, 8 min, 32 min, 2 h, 8.5 h, 12 h:
# the eighth and last attempt comes about 23 hours after the first.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=12)
# A first attempt is the on-commit task's job; the sweep re-sends it only when that task seems lost.
FIRST_ATTEMPT_GRACE = timedelta(minutes=1)
SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept between the signature's timestamp and its clock
TEST_MESSAGE = "This is a test event sent from SMMS."


def _claim_duration() -> timedelta:
    # Longer than a task may run (the hard time limit kills it), so a live worker never loses its claim.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# --- signatures ---------------------------------------------------------------------------------------------
def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``SMMS-Signature`` header: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>``.

    The timestamp is signed with the body so that a captured request cannot be replayed later."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_signature_verify(
    secret: str, header: str, body: bytes, *, tolerance: int = SIGNATURE_TOLERANCE, now: float | None = None
) -> bool:
    """What a receiver does: the header parses, its timestamp is within ``tolerance`` seconds of ``now``, and one
    of its v1 signatures matches (compared in constant time)."""
    timestamps, signatures = [], []
    for item in header.split(","):
        key, _sep, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


# --- endpoints ----------------------------------------------------------------------------------------------
def _new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _clean_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname or not port or len(url) > 500:
        raise ValidationFailed(_("Enter an http:// or https:// URL of at most 500 characters."), field="url")
    if not settings.SMMS_WEBHOOKS_ALLOW_PRIVATE:
        try:
            outbound.check_public_host(parts.hostname, port)
        except outbound.PrivateAddress as exc:
            raise ValidationFailed(_private_message(exc), field="url") from None
        except outbound.UnknownHost:
            raise ValidationFailed(
                _("The host %(host)s could not be found.") % {"host": parts.hostname}, field="url"
            ) from None
    return url


def _private_message(exc: outbound.PrivateAddress) -> str:
    return _("%(host)s resolves to %(address)s, a private address: webhooks only go to public addresses.") % {
        "host": exc.host,
        "address": exc.address,
    }


def _clean_events(events: Iterable[str]) -> list[str]:
    wanted = set(events)
    if not wanted or wanted - EVENTS.keys() or wanted & ON_REQUEST_ONLY:
        raise ValidationFailed(_("Choose at least one event from the list."), field="events")
    return [name for name in EVENTS if name in wanted]  # catalogue order: the same choice saves the same way


def webhook_endpoint_save(
    *,
    actor: Membership,
    url: str,
    events: Iterable[str],
    description: str = "",
    endpoint: WebhookEndpoint | None = None,
    is_active: bool = True,
) -> WebhookEndpoint:
    """Register an endpoint (with a new secret, readable once on the returned object) or change one. Turning an
    endpoint back on forgets why it was disabled."""
    require(actor, Perm.MANAGE_WEBHOOKS)
    url, names = _clean_url(url), _clean_events(events)
    description = description.strip()[:240]
    if endpoint is None:
        return WebhookEndpoint.objects.create(
            organization=actor.organization,
            url=url,
            description=description,
            events=names,
            secret=_new_secret(),
            created_by_id=actor.user_id,
        )
    endpoint.url, endpoint.description, endpoint.events = url, description, names
    if is_active != endpoint.is_active:
        endpoint.is_active, endpoint.disabled_reason = is_active, ""
    endpoint.save(update_fields=["url", "description", "events", "is_active", "disabled_reason", "updated_at"])
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Membership) -> None:
    require(actor, Perm.MANAGE_WEBHOOKS)
    endpoint.delete()


def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor: Membership) -> str:
    """A new secret, returned once. The old one stops at once: deliveries still to send are signed with the new."""
    require(actor, Perm.MANAGE_WEBHOOKS)
    secret = _new_secret()
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "updated_at"])
    return secret


# --- publishing ---------------------------------------------------------------------------------------------
def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import webhook_deliver

    def send() -> None:
        for delivery_id in delivery_ids:
            webhook_deliver.delay(delivery_id)

    transaction.on_commit(send)


def event_publish(*, organization_id: int, event: str, data: Mapping[str, Any]) -> int:
    """Publish ``event`` to every active endpoint of the organization that subscribes to it; returns how many.

    Call it inside the transaction that makes the event true: the deliveries are stored with it (and vanish
    if it rolls back), and sending starts after commit. ``data`` becomes the body's "data" object; it must be
    JSON-serializable (datetimes, dates, decimals and UUIDs are turned into strings)."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}: add it to crm_bridge/events.py")
    active = WebhookEndpoint.objects.filter(organization_id=organization_id, is_active=True).order_by()
    # Filtered here, not in SQL: JSON containment has no portable lookup, and an organization has few endpoints.
    endpoint_ids = [endpoint_id for endpoint_id, events in active.values_list("id", "events") if event in events]
    if not endpoint_ids:
        return 0
    payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    now, event_id = timezone.now(), uuid.uuid4()  # one id and one time for the event, wherever it goes
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint_id=endpoint_id, event=event, event_id=event_id, payload=payload, created_at=now)
        for endpoint_id in endpoint_ids
    )
    _enqueue([delivery.id for delivery in deliveries])
    return len(deliveries)


def webhook_test_send(*, endpoint: WebhookEndpoint, actor: Membership) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this one endpoint, whatever it subscribes to."""
    require(actor, Perm.MANAGE_WEBHOOKS)
    if not endpoint.is_active:
        raise Conflict(_("This endpoint is disabled: turn it back on first."))
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=TEST,
        payload={"message": TEST_MESSAGE, "endpoint": endpoint.id},
    )
    _enqueue([delivery.id])
    return delivery


def webhook_redeliver(*, delivery: WebhookDelivery, actor: Membership) -> WebhookDelivery:
    """Send a delivery again now, with a fresh round of attempts. It keeps its event id, so a receiver that
    already processed it can tell."""
    require(actor, Perm.MANAGE_WEBHOOKS)
    if not WebhookEndpoint.objects.filter(id=delivery.endpoint_id, is_active=True).exists():
        raise Conflict(_("This endpoint is disabled: turn it back on first."))
    now = timezone.now()
    changed = (
        WebhookDelivery.objects.filter(id=delivery.id)
        .exclude(status=DeliveryStatus.SENDING)
        .update(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, claimed_until=None)
    )
    if not changed:
        raise Conflict(_("This delivery is being sent right now."))
    _enqueue([delivery.id])
    delivery.refresh_from_db()
    return delivery


# --- delivering ---------------------------------------------------------------------------------------------
def _body(delivery: WebhookDelivery, organization_id: int) -> bytes:
    envelope = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "organization": organization_id,
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def _retry_delay(attempts: int) -> timedelta:
    delay = min(RETRY_CAP, RETRY_BASE * 4 ** max(attempts - 1, 0))
    return delay * (1 + 0.2 * random.random())  # noqa: S311 - jitter, not a secret


def webhook_deliver(*, delivery_id: int) -> str:
    """Make one attempt at a due delivery. Returns what happened: "succeeded", "retry" (another attempt is
    scheduled), "failed" (no more attempts), or "skipped" (gone, not due, or claimed by another worker)."""
    now = timezone.now()
    claim = now + _claim_duration()
    claimed = WebhookDelivery.objects.filter(
        id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(status=DeliveryStatus.SENDING, claimed_until=claim, attempts=F("attempts") + 1)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(id=delivery_id)
    endpoint = delivery.endpoint
    record = _Recorder(delivery, claim)
    if not endpoint.is_active:
        return record.failure(_("The endpoint is disabled: nothing was sent."), permanent=True)
    body = _body(delivery, endpoint.organization_id)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "SMMS-Event": delivery.event,
        "SMMS-Delivery": str(delivery.event_id),
        "SMMS-Signature": webhook_signature(endpoint.secret, int(time.time()), body),
    }
    try:
        answer = outbound.post(
            endpoint.url,
            body=body,
            headers=headers,
            timeout=TIMEOUT,
            allow_private=settings.SMMS_WEBHOOKS_ALLOW_PRIVATE,
            excerpt_bytes=RESPONSE_EXCERPT,
        )
    except outbound.PrivateAddress as exc:
        return record.failure(_private_message(exc), permanent=True)
    except outbound.Timeout:
        return record.failure(_("The endpoint did not answer within %(seconds)g seconds.") % {"seconds": TIMEOUT})
    except outbound.UnknownHost as exc:
        return record.failure(_("The host %(host)s could not be found.") % {"host": exc.host})
    except outbound.OutboundError as exc:
        host = urlsplit(endpoint.url).hostname
        return record.failure(_("SMMS could not connect to %(host)s: %(reason)s") % {"host": host, "reason": exc})
    except Exception:  # a bug: hand the delivery back to the sweep rather than leave it claimed
        record.release()
        raise
    if 200 <= answer.status < 300:
        return record.success(answer)
    if answer.status == 410:
        _endpoint_disable_gone(endpoint)
        return record.failure(_("The endpoint answered 410 Gone: SMMS disabled it."), answer=answer, permanent=True)
    if 300 <= answer.status < 400:
        message = _(
            "The endpoint answered HTTP %(status)d, a redirect to %(location)s. SMMS does not follow redirects: "
            "register the final URL."
        ) % {"status": answer.status, "location": answer.location or "?"}
    else:
        message = _("The endpoint answered HTTP %(status)d.") % {"status": answer.status}
    return record.failure(message, answer=answer)


def _endpoint_disable_gone(endpoint: WebhookEndpoint) -> None:
    now = timezone.now()
    reason = _("The endpoint answered 410 Gone on %(date)s, so SMMS stopped sending to it.") % {
        "date": now.strftime("%Y-%m-%d %H:%M UTC")
    }
    WebhookEndpoint.objects.filter(id=endpoint.id, is_active=True).update(
        is_active=False, disabled_reason=reason[:500], updated_at=now
    )


class _Recorder:
    """Writes the outcome of one claimed attempt, only while the claim is still ours (same claimed_until)."""

    def __init__(self, delivery: WebhookDelivery, claim: datetime) -> None:
        self.delivery = delivery
        self.mine = WebhookDelivery.objects.filter(id=delivery.id, status=DeliveryStatus.SENDING, claimed_until=claim)

    def success(self, answer: outbound.Answer) -> str:
        self.mine.update(
            status=DeliveryStatus.SUCCEEDED,
            delivered_at=timezone.now(),
            last_status_code=answer.status,
            last_response=answer.excerpt,
            last_error="",
            claimed_until=None,
            next_attempt_at=None,
        )
        return "succeeded"

    def failure(self, message: str, *, answer: outbound.Answer | None = None, permanent: bool = False) -> str:
        attempts = self.delivery.attempts
        response = {
            "last_status_code": answer.status if answer else None,
            "last_response": answer.excerpt if answer else "",
        }
        if permanent or attempts >= MAX_ATTEMPTS:
            if not permanent:
                message = _("Gave up after %(count)d attempts. The last one: %(error)s") % {
                    "count": attempts,
                    "error": message,
                }
            self.mine.update(
                status=DeliveryStatus.FAILED, last_error=message, claimed_until=None, next_attempt_at=None, **response
            )
            return "failed"
        self.mine.update(
            status=DeliveryStatus.PENDING,
            last_error=message,
            claimed_until=None,
            next_attempt_at=timezone.now() + _retry_delay(attempts),
            **response,
        )
        return "retry"

    def release(self) -> None:
        self.mine.update(
            status=DeliveryStatus.PENDING, claimed_until=None, next_attempt_at=timezone.now() + _retry_delay(1)
        )


def webhook_deliveries_due(*, limit: int = 500) -> list[int]:
    """Ids of the deliveries to send now: retries that have come due, first attempts whose queued task seems
    lost, and deliveries taken back from a worker that died mid-send (that attempt counts)."""
    now = timezone.now()
    stuck = WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_until__lt=now)
    interrupted = _("The worker sending it stopped before the answer was recorded.")
    stuck.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=DeliveryStatus.FAILED, claimed_until=None, next_attempt_at=None, last_error=interrupted
    )
    stuck.update(status=DeliveryStatus.PENDING, claimed_until=None, next_attempt_at=now, last_error=interrupted)
    due = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_ATTEMPT_GRACE)
    )
    return list(due.order_by("next_attempt_at").values_list("id", flat=True)[:limit])
