"""Reads of the CRM bridge, scoped to the acting organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Organization
from smms.errors import NotFound

from .models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def index_context(*, org: Organization) -> dict[str, Any]:
    return {
        "api_keys": account_selectors.api_key_list(org=org),
        "webhook_count": WebhookEndpoint.objects.filter(organization=org).count(),
    }


# --- webhooks -----------------------------------------------------------------------------------------------
def webhook_endpoint_list(*, org: Organization) -> QuerySet[WebhookEndpoint]:
    """The organization's endpoints with their last delivery (status, time, HTTP code) in the same query.
    The secret is not read: no page or API answer shows it after creation."""
    last = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id")
    return (
        WebhookEndpoint.objects.filter(organization=org)
        .defer("secret")
        .annotate(
            last_delivery_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
            last_delivery_code=Subquery(last.values("last_status_code")[:1]),
        )
    )


def webhook_endpoint_get(*, org: Organization, endpoint_id: int) -> WebhookEndpoint:
    try:
        return webhook_endpoint_list(org=org).get(id=endpoint_id)
    except (WebhookEndpoint.DoesNotExist, ValueError):
        raise NotFound("webhook endpoint") from None


def webhook_delivery_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first (``endpoint`` comes from webhook_endpoint_get, so it is scoped)."""
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-id")


def webhook_delivery_get(*, org: Organization, delivery_id: int) -> WebhookDelivery:
    try:
        return WebhookDelivery.objects.select_related("endpoint").get(id=delivery_id, endpoint__organization=org)
    except (WebhookDelivery.DoesNotExist, ValueError):
        raise NotFound("webhook delivery") from None


def webhook_deliveries_in_flight(deliveries: list[WebhookDelivery]) -> bool:
    """Whether one of these will change within a minute: the page then refreshes its list by itself."""
    soon = timezone.now() + timedelta(minutes=1)
    return any(
        d.status == DeliveryStatus.SENDING
        or (d.status == DeliveryStatus.PENDING and (d.next_attempt_at is None or d.next_attempt_at <= soon))
        for d in deliveries
    )
