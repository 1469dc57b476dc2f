"""Models of crm_bridge: Link social people to CRM contacts; signed webhooks."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from smms.lib.crypto import EncryptedTextField

from .events import EVENTS


def validate_events(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one event."))
    unknown = [name for name in value if name not in EVENTS]
    if unknown:
        raise ValidationError(_("Unknown events: %(names)s."), params={"names": ", ".join(map(str, unknown))})


class WebhookEndpoint(models.Model):
    """A URL of the organization's that receives the events it subscribes to, signed with ``secret``."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=240, blank=True)
    # The HMAC key of the signatures: kept (encrypted) because every delivery is signed with it.
    secret = EncryptedTextField()
    events = models.JSONField(_("events"), default=list, validators=[validate_events])
    is_active = models.BooleanField(_("active"), default=True)
    # Why SMMS stopped sending (the receiver answered 410 Gone), shown on the page; empty when a person did.
    disabled_reason = models.CharField(_("why it is disabled"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # An endpoint that subscribes to nothing would never receive anything: the services refuse it too.
            models.CheckConstraint(condition=~models.Q(events=[]), name="crm_bridge_webhook_events_not_empty"),
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def event_labels(self) -> list[tuple[str, str]]:
        """(name, label) of the events it subscribes to, for pages."""
        return [(name, str(EVENTS.get(name, name))) for name in self.events]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event for one endpoint, and the state of its delivery: a small state machine on the row.

    pending → sending (claimed by one worker) → succeeded | pending again (a retry, at next_attempt_at) | failed.
    """

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=64)
    # The event's id, the same for every endpoint it goes to: receivers deduplicate on it (SMMS-Delivery).
    event_id = models.UUIDField(default=uuid.uuid4)
    # The event's "data" object; the envelope around it is built from the columns when sending.
    payload = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When to try next: due at once when created; empty once it succeeded or failed for good.
    next_attempt_at = models.DateTimeField(default=timezone.now, null=True, blank=True)
    # A worker sending it holds it until then; past it, the sweep takes the delivery back (the worker died).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("error"), blank=True)
    last_response = models.TextField(_("response"), blank=True)  # the first 2 kB of the last answer
    # When the event happened: the envelope's created_at, the same for every endpoint and every retry.
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="crm_bridge_delivery_unique_event"),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="crm_bridge_delivery_status"
            ),
        ]
        indexes = [
            # webhook_deliveries_due: pending deliveries whose next attempt has come, oldest first.
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="crm_bridge_delivery_due"
            ),
            # webhook_deliveries_due: deliveries whose worker died mid-send (claim expired).
            models.Index(
                fields=["claimed_until"], condition=models.Q(status="sending"), name="crm_bridge_delivery_stuck"
            ),
            # webhook_delivery_list and the endpoint list's "last delivery": an endpoint's deliveries, newest first.
            models.Index(fields=["endpoint", "-id"], name="crm_bridge_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} → {self.endpoint_id}"
