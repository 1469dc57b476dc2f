"""event_publish: one delivery per active, subscribed endpoint of the organization, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from crm_bridge import events, services
from crm_bridge.models import WebhookDelivery


def test_only_active_subscribed_endpoints_of_the_organization_get_a_delivery(personas, endpoint_for, receiver, publish):
    subscribed = endpoint_for(f"{receiver.url}?to=subscribed", events=["alert.opened", "alert.resolved"])
    endpoint_for(f"{receiver.url}?to=other-event", events=["alert.resolved"])
    endpoint_for(f"{receiver.url}?to=inactive", is_active=False)
    endpoint_for(f"{receiver.url}?to=other-org", org=personas.other_org)
    assert publish("alert.opened") == 1
    assert [d.endpoint_id for d in WebhookDelivery.objects.all()] == [subscribed.id]
    assert [r.path for r in receiver.requests] == ["/hooks/smms?to=subscribed"]


def test_every_endpoint_gets_the_same_event_id_and_time(endpoint_for, receiver, publish):
    endpoint_for(f"{receiver.url}?n=1")
    endpoint_for(f"{receiver.url}?n=2")
    assert publish() == 2
    assert len({r.json["id"] for r in receiver.requests}) == 1
    assert len({r.json["created_at"] for r in receiver.requests}) == 1


def test_nothing_is_stored_or_sent_when_the_callers_transaction_rolls_back(
    personas, hooked, receiver, django_capture_on_commit_callbacks, celery_eager
):
    def the_callers_transaction() -> None:
        with transaction.atomic():
            services.event_publish(organization_id=personas.org.id, event="alert.opened", data={"alert": 1})
            raise RuntimeError("the alert was not saved after all")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        the_callers_transaction()
    assert callbacks == []
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


def test_an_organization_without_endpoints_publishes_to_nobody(personas, publish):
    assert publish() == 0
    assert not WebhookDelivery.objects.exists()


def test_data_is_stored_as_plain_json(hooked, receiver, publish):
    at = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    publish(data={"started_at": at, "observed": Decimal("12.5")})
    assert receiver.requests[0].json["data"] == {"started_at": "2026-11-23T09:30:00Z", "observed": "12.5"}


def test_an_unknown_event_is_a_programming_error(personas):
    with pytest.raises(ValueError, match=r"add it to crm_bridge/events\.py"):
        services.event_publish(organization_id=personas.org.id, event="alert.exploded", data={})


def test_the_catalogue_labels_every_event_and_offers_all_but_the_test_event_for_subscription():
    assert set(events.EVENTS) >= {"alert.opened", "alert.resolved", "webhook.test"}
    assert all(str(label) for label in events.EVENTS.values())
    assert [name for name, _label in events.subscribable()] == [
        "alert.opened",
        "alert.resolved",
        "post.submitted",
        "post.approved",
        "post.sent_back",
        "delivery.published",
        "delivery.failed",
        "conversation.assigned",
        "conversation.status_changed",
        "conversation.escalated",
        "conversation.replied",
        "conversation.sla_breached",
    ]
