"""The webhooks pages: who may use them, the secret shown once, test events, redelivery, escaped external text."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm_bridge import services
from crm_bridge.models import WebhookDelivery, WebhookEndpoint

HOSTILE = '<script>alert("pwned")</script>'


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_manage_webhooks(personas, client_for, hooked, role):
    client = client_for(personas.of(role))
    for url in [reverse("webhooks"), reverse("webhook_new"), reverse("webhook_detail", args=[hooked.id])]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["team_lead", "community_manager", "analyst"])
def test_team_leads_and_below_may_not_manage_webhooks(personas, client_for, hooked, role):
    client = client_for(personas.of(role))
    for url in [reverse("webhooks"), reverse("webhook_new"), reverse("webhook_detail", args=[hooked.id])]:
        assert client.get(url).status_code == 403, url
    new = {"url": "https://crm.example/hook", "events": ["alert.opened"]}
    assert client.post(reverse("webhook_new"), new).status_code == 403
    assert client.post(reverse("webhook_test", args=[hooked.id])).status_code == 403
    assert client.post(reverse("webhook_rotate_secret", args=[hooked.id])).status_code == 403
    assert client.post(reverse("webhook_delete", args=[hooked.id])).status_code == 403
    assert list(WebhookEndpoint.objects.all()) == [hooked]
    assert not WebhookDelivery.objects.exists()


def test_the_contacts_page_and_the_settings_link_to_webhooks_only_for_those_who_manage_them(personas, client_for):
    for page in ["contacts", "settings"]:
        assert reverse("webhooks") in client_for(personas.admin).get(reverse(page)).content.decode(), page
        assert reverse("webhooks") not in client_for(personas.lead).get(reverse(page)).content.decode(), page


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(personas, client_for):
    client = client_for(personas.admin)
    response = client.post(
        reverse("webhook_new"),
        {"url": "https://crm.example/smms", "description": "Our CRM", "events": ["alert.opened", "alert.resolved"]},
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.url, endpoint.description, endpoint.events) == (
        "https://crm.example/smms",
        "Our CRM",
        ["alert.opened", "alert.resolved"],
    )
    assert endpoint.organization == personas.org
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    for page in [reverse("webhooks"), reverse("webhook_detail", args=[endpoint.id])]:
        assert endpoint.secret not in client.get(page).content.decode()


def test_an_endpoint_needs_at_least_one_event_and_an_http_url(personas, client_for):
    client = client_for(personas.admin)
    response = client.post(reverse("webhook_new"), {"url": "https://crm.example/smms", "events": []})
    assert response.status_code == 200
    assert b"This field is required." in response.content
    response = client.post(reverse("webhook_new"), {"url": "ftp://crm.example/smms", "events": ["alert.opened"]})
    assert b"Enter an http:// or https:// URL of at most 500 characters." in response.content
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_stops_working(personas, client_for, hooked):
    old = hooked.secret
    response = client_for(personas.admin).post(reverse("webhook_rotate_secret", args=[hooked.id]))
    hooked.refresh_from_db()
    assert hooked.secret != old
    page = response.content.decode()
    assert hooked.secret in page
    assert old not in page
    assert "The previous secret no longer works." in page


def test_send_test_event_delivers_a_webhook_test_whatever_the_endpoint_subscribes_to(
    personas, client_for, hooked, receiver, django_capture_on_commit_callbacks, celery_eager
):
    client = client_for(personas.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_test", args=[hooked.id]))
    assert response.status_code == 302
    [request] = receiver.requests
    assert request.headers["SMMS-Event"] == "webhook.test"
    assert request.json["data"] == {"message": "This is a test event sent from SMMS.", "endpoint": hooked.id}
    page = client.get(response["Location"]).content.decode()
    assert "webhook.test" in page
    assert "Delivered" in page


def test_the_endpoint_page_shows_each_delivery_and_redelivers_one(
    personas, client_for, hooked, receiver, publish, django_capture_on_commit_callbacks
):
    receiver.answer((500, b"database is down", {}))
    publish()
    delivery = WebhookDelivery.objects.get()
    client = client_for(personas.admin)
    page = client.get(reverse("webhook_detail", args=[hooked.id])).content.decode()
    refresh = f'hx-get="{reverse("webhook_detail", args=[hooked.id])}"'  # the delivery list refreshes itself
    for shown in ["alert.opened", "Pending", "The endpoint answered HTTP 500.", "database is down", refresh]:
        assert shown in page, shown
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("webhook_redeliver", args=[delivery.id]))
    assert response["Location"] == reverse("webhook_detail", args=[hooked.id])
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)  # a fresh round of attempts
    assert len(receiver.requests) == 2
    assert refresh not in client.get(reverse("webhook_detail", args=[hooked.id])).content.decode()  # settled


def test_a_disabled_endpoint_says_why_and_saving_it_active_turns_it_back_on(personas, client_for, hooked):
    hooked.is_active, hooked.disabled_reason = False, "The endpoint answered 410 Gone on 2026-11-23 09:00 UTC"
    hooked.save()
    client = client_for(personas.admin)
    assert "410 Gone on 2026-11-23" in client.get(reverse("webhooks")).content.decode()
    response = client.post(reverse("webhook_test", args=[hooked.id]), follow=True)
    assert "This endpoint is disabled: turn it back on first." in response.content.decode()
    client.post(
        reverse("webhook_edit", args=[hooked.id]), {"url": hooked.url, "events": hooked.events, "is_active": "on"}
    )
    hooked.refresh_from_db()
    assert (hooked.is_active, hooked.disabled_reason) == (True, "")


def test_deleting_an_endpoint_removes_it_and_its_log(personas, client_for, hooked):
    WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened")
    response = client_for(personas.admin).post(reverse("webhook_delete", args=[hooked.id]))
    assert response["Location"] == reverse("webhooks")
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_hostile_text_from_users_and_receivers_is_shown_escaped(personas, client_for, endpoint_for, receiver, publish):
    endpoint = endpoint_for(receiver.url, description=HOSTILE)
    receiver.answer((500, HOSTILE.encode(), {}))
    publish(data={"note": HOSTILE})
    client = client_for(personas.admin)
    for url in [reverse("webhooks"), reverse("webhook_detail", args=[endpoint.id])]:
        page = client.get(url).content.decode()
        assert HOSTILE not in page, url
        assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page, url


def test_the_endpoint_list_costs_the_same_queries_for_one_endpoint_or_many(personas, client_for, endpoint_for):
    client = client_for(personas.admin)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("webhooks")).status_code == 200
        return len(captured)

    first = endpoint_for("https://crm.example/1")
    WebhookDelivery.objects.create(endpoint=first, event="alert.opened")
    one = queries()
    for n in range(5):
        WebhookDelivery.objects.create(endpoint=endpoint_for(f"https://crm.example/{n + 2}"), event="alert.opened")
    assert queries() == one


def test_the_service_refuses_a_team_lead_too(personas, hooked):
    from smms.errors import Forbidden

    with pytest.raises(Forbidden):
        services.webhook_endpoint_save(actor=personas.lead, url="https://crm.example/x", events=["alert.opened"])
    with pytest.raises(Forbidden):
        services.webhook_secret_rotate(endpoint=hooked, actor=personas.lead)
