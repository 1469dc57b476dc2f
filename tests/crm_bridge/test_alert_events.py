"""Fire alerts reach the organization's webhooks: opened when detected, resolved when a person resolves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_bridge.models import WebhookDelivery
from crm_bridge.services import webhook_signature_verify
from listening import services as listening
from listening.firesim import NEGATIVE, Feed
from listening.services import topic_save

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def burst(personas) -> Feed:
    feed = Feed(topic_save(actor=personas.lead, name="Lumière X2", query="X2"), personas.org)
    for i in range(100):
        feed.add(NOW - timedelta(seconds=i + 1), NEGATIVE[0], "negative")
    feed.save()
    return feed


def test_an_opened_alert_is_posted_signed_to_the_subscribed_endpoint(
    personas, endpoint_for, receiver, django_capture_on_commit_callbacks, celery_eager
):
    hooked = endpoint_for(receiver.url, events=["alert.opened"])
    endpoint_for(receiver.url, events=["alert.resolved"])  # not subscribed to openings: told nothing now
    burst(personas)
    with django_capture_on_commit_callbacks(execute=True):
        [alert_id] = listening.fires_detect(now=NOW)

    [received] = receiver.requests
    assert received.headers["SMMS-Event"] == "alert.opened"
    assert webhook_signature_verify(hooked.secret, received.headers["SMMS-Signature"], received.body)
    data = received.json["data"]
    assert data["id"] == alert_id
    assert data["topic"]["name"] == "Lumière X2"
    assert data["kind"] == "negativity"
    assert data["explanation"]["volume"] == 100
    assert data["url"].endswith(f"/listening/topics/{data['topic']['id']}/")


def test_resolving_an_alert_tells_the_endpoints_once(
    personas, endpoint_for, receiver, django_capture_on_commit_callbacks, celery_eager
):
    endpoint_for(receiver.url, events=["alert.resolved"])
    burst(personas)
    with django_capture_on_commit_callbacks(execute=True):
        [alert_id] = listening.fires_detect(now=NOW)
    from listening.models import Alert

    alert = Alert.objects.get(id=alert_id)
    with django_capture_on_commit_callbacks(execute=True):
        listening.alert_resolve(alert=alert, actor=personas.lead)
        listening.alert_resolve(alert=alert, actor=personas.lead)  # already resolved: nothing new to say

    assert [r.headers["SMMS-Event"] for r in receiver.requests] == ["alert.resolved"]
    assert receiver.requests[0].json["data"]["status"] == "resolved"
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_another_organizations_endpoint_hears_nothing(
    personas, endpoint_for, receiver, django_capture_on_commit_callbacks, celery_eager
):
    endpoint_for(receiver.url, events=["alert.opened"], org=personas.other_org)
    burst(personas)
    with django_capture_on_commit_callbacks(execute=True):
        assert listening.fires_detect(now=NOW)
    assert receiver.requests == []
