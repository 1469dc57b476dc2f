"""The webhooks API: CRUD, the secret only at creation and rotation, deliveries newest first, roles and scopes."""

from __future__ import annotations

import pytest

from crm_bridge.models import WebhookDelivery, WebhookEndpoint

WEBHOOKS = "/api/v1/webhooks/"
NEW = {"url": "https://crm.example/smms", "description": "CRM", "events": ["alert.opened"]}


def test_an_admin_creates_reads_changes_and_deletes_an_endpoint(personas, api_client_for):
    client = api_client_for(personas.admin)
    created = client.post(WEBHOOKS, NEW, format="json")
    assert created.status_code == 201
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert {k: body[k] for k in ("id", "url", "description", "events", "is_active")} == {
        "id": endpoint.id,
        "url": "https://crm.example/smms",
        "description": "CRM",
        "events": ["alert.opened"],
        "is_active": True,
    }

    read = client.get(f"{WEBHOOKS}{endpoint.id}/")
    listed = client.get(WEBHOOKS)
    assert read.status_code == listed.status_code == 200
    assert "secret" not in read.json()
    assert [e["id"] for e in listed.json()["results"]] == [endpoint.id]
    assert endpoint.secret not in read.content.decode() + listed.content.decode()

    patched = client.patch(f"{WEBHOOKS}{endpoint.id}/", {"events": ["alert.resolved", "alert.opened"]}, format="json")
    assert patched.status_code == 200
    assert patched.json()["events"] == ["alert.opened", "alert.resolved"]
    assert (patched.json()["url"], patched.json()["description"]) == ("https://crm.example/smms", "CRM")
    assert "secret" not in patched.json()
    put = client.put(f"{WEBHOOKS}{endpoint.id}/", {**NEW, "is_active": False}, format="json")
    assert put.json()["is_active"] is False
    still_off = client.patch(f"{WEBHOOKS}{endpoint.id}/", {"description": "Paused"}, format="json")
    assert (still_off.json()["is_active"], still_off.json()["description"]) == (False, "Paused")

    assert client.delete(f"{WEBHOOKS}{endpoint.id}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**NEW, "events": []}, "events"),
        ({**NEW, "events": ["alert.exploded"]}, "events"),
        ({**NEW, "events": ["webhook.test"]}, "events"),
        ({**NEW, "url": "ftp://crm.example/smms"}, "url"),
        ({**NEW, "url": "not a url"}, "url"),
    ],
)
def test_invalid_endpoints_are_refused_in_the_error_envelope(personas, api_client_for, data, field):
    response = api_client_for(personas.admin).post(WEBHOOKS, data, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_empty_event_list_is_refused_by_the_database_too(personas):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEndpoint.objects.create(organization=personas.org, url="https://x.example", secret="s", events=[])


def test_rotate_secret_returns_a_new_secret_once(personas, api_client_for, hooked):
    old = hooked.secret
    response = api_client_for(personas.admin).post(f"{WEBHOOKS}{hooked.id}/rotate-secret/")
    assert response.status_code == 200
    hooked.refresh_from_db()
    assert response.json() == {"secret": hooked.secret}
    assert hooked.secret != old


def test_test_queues_a_test_event_and_answers_202(
    personas, api_client_for, hooked, receiver, django_capture_on_commit_callbacks, celery_eager
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(personas.admin).post(f"{WEBHOOKS}{hooked.id}/test/")
    assert response.status_code == 202
    assert response.json()["event"] == "webhook.test"
    assert response.json()["status"] == "pending"
    assert [r.headers["SMMS-Event"] for r in receiver.requests] == ["webhook.test"]


def test_deliveries_are_cursor_paginated_newest_first(personas, api_client_for, hooked, endpoint_for):
    ids = [WebhookDelivery.objects.create(endpoint=hooked, event="alert.opened", payload={"n": n}).id for n in range(5)]
    other = endpoint_for("https://other.example/hook")
    WebhookDelivery.objects.create(endpoint=other, event="alert.opened")
    client = api_client_for(personas.admin)
    first = client.get(f"{WEBHOOKS}{hooked.id}/deliveries/?page_size=2").json()
    assert [d["id"] for d in first["results"]] == ids[::-1][:2]
    assert first["results"][0]["payload"] == {"n": 4}
    assert first["results"][0]["status"] == "pending"
    second = client.get(first["next"]).json()
    assert [d["id"] for d in second["results"]] == ids[::-1][2:4]


def test_team_leads_and_below_get_403_even_to_read(personas, api_client_for, hooked):
    for role in ["team_lead", "community_manager", "analyst"]:
        client = api_client_for(personas.of(role))
        assert client.get(WEBHOOKS).status_code == 403, role
        assert client.post(WEBHOOKS, NEW, format="json").status_code == 403, role
        assert client.post(f"{WEBHOOKS}{hooked.id}/rotate-secret/").status_code == 403, role
    assert WebhookEndpoint.objects.count() == 1


def test_api_keys_need_the_webhooks_scopes(personas, api_key_client, hooked):
    reader = api_key_client(personas.admin, ["webhooks:read"])
    assert reader.get(WEBHOOKS).status_code == 200
    assert reader.post(WEBHOOKS, NEW, format="json").status_code == 403
    writer = api_key_client(personas.admin, ["webhooks:read", "webhooks:write"])
    assert writer.post(WEBHOOKS, NEW, format="json").status_code == 201
    assert api_key_client(personas.admin, ["listening:read"]).get(WEBHOOKS).status_code == 403


def test_another_organizations_endpoints_are_invisible(personas, api_client_for, endpoint_for):
    theirs = endpoint_for("https://globex.example/hook", org=personas.other_org)
    client = api_client_for(personas.admin)
    assert client.get(WEBHOOKS).json()["results"] == []
    assert client.get(f"{WEBHOOKS}{theirs.id}/").status_code == 404
    assert client.delete(f"{WEBHOOKS}{theirs.id}/").status_code == 404
    assert WebhookEndpoint.objects.filter(id=theirs.id).exists()
