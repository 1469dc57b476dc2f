"""The moderation API: assignment, replies (202, sent once), notes, queues and their statistics, agents,
canned replies, VIPs and the audit log, with their scopes and roles, in the OpenAPI schema."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from moderation.models import Agent, CannedReply, Conversation, ModerationAction, NetworkAction, Queue, Vip
from tests.moderation.conftest import make_conversation, make_queue


@pytest.fixture
def conversation(personas, account):
    return make_conversation(personas.org, account, 1)


def error(response):
    return response.json()["error"]


def test_a_lead_assigns_through_the_api_and_a_stale_view_is_a_409(personas, api_client_for, conversation):
    api = api_client_for(personas.lead)
    answer = api.post(
        f"/api/v1/conversations/{conversation.id}/assign/", {"assignee": personas.agent.id}, format="json"
    )
    assert answer.status_code == 200
    assert (answer.json()["assignee"], answer.json()["assignee_id"]) == (personas.agent.user.email, personas.agent.id)
    stale = api.post(
        f"/api/v1/conversations/{conversation.id}/assign/",
        {"assignee": personas.admin.id, "expected_assignee": None},
        format="json",
    )
    assert stale.status_code == 409
    assert str(personas.agent.user) in error(stale)["message"]
    assert (
        api.post(f"/api/v1/conversations/{conversation.id}/assign/", {"assignee": None}, format="json").json()[
            "assignee"
        ]
        is None
    )


def test_an_agent_cannot_assign_but_can_take_and_the_second_taker_gets_a_409(personas, api_client_for, conversation):
    agent = api_client_for(personas.agent)
    refused = agent.post(f"/api/v1/conversations/{conversation.id}/assign/", {"assignee": personas.agent.id})
    assert refused.status_code == 403
    assert agent.post(f"/api/v1/conversations/{conversation.id}/take/").status_code == 200
    second = api_client_for(personas.lead).post(f"/api/v1/conversations/{conversation.id}/take/")
    assert second.status_code == 409
    assert error(second)["message"] == f"{personas.agent.user} took this conversation first."


def test_an_api_key_needs_the_moderation_scopes(personas, api_key_client, conversation):
    reader = api_key_client(personas.admin, ["moderation:read"])
    assert reader.get(f"/api/v1/conversations/{conversation.id}/").status_code == 200
    answer = reader.post(f"/api/v1/conversations/{conversation.id}/status/", {"action": "resolve"})
    assert answer.status_code == 403
    assert "moderation:write" in error(answer)["message"]
    writer = api_key_client(personas.admin, ["moderation:write"])
    assert writer.post(f"/api/v1/conversations/{conversation.id}/status/", {"action": "resolve"}).status_code == 200
    assert api_key_client(personas.admin, ["accounts:read"]).get("/api/v1/messages/").status_code == 403


def test_a_reply_through_the_api_is_accepted_then_sent_once(personas, simulator, api_client_for):
    from tests.moderation.test_outbox import inbox_of, replies_on, run

    _account, [conversation] = inbox_of(personas, simulator)
    api = api_client_for(personas.agent)
    body = {"text": "From the CRM", "client_token": "crm-42", "resolve": True}
    first = api.post(f"/api/v1/conversations/{conversation.id}/reply/", body, format="json")
    again = api.post(f"/api/v1/conversations/{conversation.id}/reply/", body, format="json")
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["state"] == "pending"
    run(NetworkAction.objects.get(id=first.json()["id"]))
    sent = api.get(f"/api/v1/network-actions/{first.json()['id']}/").json()
    assert sent["state"] == "done"
    assert len(replies_on(simulator, "mastodon", "From the CRM")) == 1
    detail = api.get(f"/api/v1/conversations/{conversation.id}/").json()
    assert detail["status"] == "resolved"
    assert [m["direction"] for m in detail["messages"]] == ["in", "out"]
    assert detail["messages"][1]["sending"]["state"] == "done"


def test_a_reply_the_network_would_refuse_is_a_400_with_the_reason(personas, simulator, api_client_for):
    from tests.moderation.test_outbox import inbox_of

    _account, [conversation] = inbox_of(personas, simulator)
    answer = api_client_for(personas.agent).post(
        f"/api/v1/conversations/{conversation.id}/reply/", {"text": "é" * 501}, format="json"
    )
    assert answer.status_code == 400
    assert error(answer)["fields"]["text"][0].startswith("Too long for Mastodon")


def test_notes_and_message_actions_through_the_api(personas, simulator, api_client_for):
    from tests.moderation.test_outbox import inbox_of, run

    _account, [conversation] = inbox_of(personas, simulator)
    api = api_client_for(personas.agent)
    note = api.post(f"/api/v1/conversations/{conversation.id}/notes/", {"text": "@lead please check"}, format="json")
    assert note.status_code == 201
    assert note.json()["mentioned"] == [personas.lead.user.email]
    message = conversation.messages.get()
    liked = api.post(f"/api/v1/messages/{message.id}/act/", {"kind": "like"}, format="json")
    assert liked.status_code == 202
    run(NetworkAction.objects.get(id=liked.json()["id"]))
    assert api.get(f"/api/v1/messages/{message.id}/").json()["is_liked"] is True
    refused = api.post(f"/api/v1/messages/{message.id}/act/", {"kind": "hide"}, format="json")
    assert refused.status_code == 400  # Mastodon has no hiding


def test_the_messages_feed_is_stable_and_scoped(personas, api_client_for, account):
    for n in range(5):
        make_conversation(personas.org, account, n)
    api = api_client_for(personas.analyst)
    first = api.get("/api/v1/messages/?page_size=3").json()
    second = api.get(first["next"]).json()
    ids = [m["id"] for m in first["results"] + second["results"]]
    assert ids == sorted(ids)
    assert len(ids) == 5


def test_queues_are_managed_by_leads_and_bad_rules_are_400(personas, api_client_for, team, account):
    api = api_client_for(personas.lead)
    made = api.post(
        "/api/v1/queues/",
        {"name": "Refunds", "team": team.id, "keywords": "rembours*", "languages": ["fr"], "account_ids": [account.id],
         "assignment_mode": "round_robin", "first_response_minutes": 30},
        format="json",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    assert made.json()["accounts"] == [account.id]
    queue_id = made.json()["id"]
    changed = api.patch(f"/api/v1/queues/{queue_id}/", {"resolution_minutes": 600}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["resolution_minutes"], changed.json()["keywords"]) == (600, "rembours*")
    bad = api.patch(f"/api/v1/queues/{queue_id}/", {"keywords": "(lamp"}, format="json")
    assert bad.status_code == 400
    assert "keywords" in error(bad)["fields"]
    assert api_client_for(personas.agent).post("/api/v1/queues/", {"name": "x", "team": team.id}).status_code == 403
    assert api.delete(f"/api/v1/queues/{queue_id}/").status_code == 204
    assert not Queue.objects.exists()


def test_queue_statistics(personas, api_client_for, team, account):
    queue = make_queue(personas.lead, team, first_response_minutes=30)
    now = timezone.now()
    make_conversation(personas.org, account, 1, queue=queue, response_due_at=now - timedelta(minutes=1))
    make_conversation(personas.org, account, 2, queue=queue, status="waiting", assignee=personas.agent)
    make_conversation(
        personas.org, account, 3, queue=queue, status="resolved", first_message_at=now - timedelta(hours=2),
        first_response_at=now - timedelta(hours=1), resolved_at=now,
    )  # fmt: skip
    [row] = [r for r in api_client_for(personas.lead).get("/api/v1/queues/stats/").json() if r["queue"] == queue.id]
    assert (row["new"], row["waiting"], row["unassigned"], row["breached"]) == (1, 1, 1, 1)
    assert (row["first_response_minutes"], row["resolution_minutes"], row["resolved"]) == (60.0, 120.0, 1)


def test_agents_set_their_availability_and_leads_their_capacity(personas, api_client_for):
    mine = api_client_for(personas.agent).patch(
        f"/api/v1/agents/{personas.agent.id}/", {"available": True}, format="json"
    )
    assert mine.status_code == 200
    assert mine.json()["available"] is True
    assert (
        api_client_for(personas.agent)
        .patch(f"/api/v1/agents/{personas.agent.id}/", {"capacity": 99}, format="json")
        .status_code
        == 403
    )
    assert (
        api_client_for(personas.lead)
        .patch(f"/api/v1/agents/{personas.agent.id}/", {"capacity": 99}, format="json")
        .json()["capacity"]
        == 99
    )
    assert Agent.objects.get(membership=personas.agent).capacity == 99
    listed = {a["email"] for a in api_client_for(personas.analyst).get("/api/v1/agents/").json()}
    assert personas.agent.user.email in listed
    assert personas.analyst.user.email not in listed


def test_canned_replies_and_vips(personas, api_client_for):
    api = api_client_for(personas.lead)
    made = api.post(
        "/api/v1/canned-replies/", {"name": "Merci", "language": "fr", "text": "Merci {author_name} !"}, format="json"
    )
    assert made.status_code == 201
    unknown = api.post(
        "/api/v1/canned-replies/", {"name": "Oops", "language": "en", "text": "Hi {first_name}"}, format="json"
    )
    assert unknown.status_code == 400
    assert "{first_name}" in error(unknown)["message"]
    assert CannedReply.objects.count() == 1
    vip = api.post("/api/v1/vips/", {"handle": "@Journalist", "platform": "x"}, format="json")
    assert vip.status_code == 201
    assert Vip.objects.get().handle == "journalist"
    assert api.delete(f"/api/v1/vips/{vip.json()['id']}/").status_code == 204


def test_the_audit_log_is_for_admins(personas, api_client_for, conversation):
    api = api_client_for(personas.lead)
    api.post(f"/api/v1/conversations/{conversation.id}/status/", {"action": "resolve"})
    assert api.get("/api/v1/moderation-audit/").status_code == 403
    [row] = api_client_for(personas.admin).get("/api/v1/moderation-audit/").json()["results"]
    assert (row["action"], row["actor"], row["conversation"]) == ("resolve", personas.lead.user.email, conversation.id)
    assert ModerationAction.objects.count() == 1


def test_the_conversation_list_costs_the_same_queries_whatever_its_page_size(personas, api_client_for, account, team):
    queue = make_queue(personas.lead, team)
    for n in range(30):
        make_conversation(personas.org, account, n, queue=queue, assignee=personas.agent if n % 2 else None)
    api = api_client_for(personas.lead)
    counts = []
    for size in (5, 30):
        with CaptureQueriesContext(connection) as queries:
            assert len(api.get(f"/api/v1/conversations/?page_size={size}").json()["results"]) == size
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def test_the_api_filters_by_queue_and_sla(personas, api_client_for, account, team):
    queue = make_queue(personas.lead, team)
    late = make_conversation(personas.org, account, 1, queue=queue, response_due_at=timezone.now() - timedelta(hours=1))
    make_conversation(personas.org, account, 2)
    api = api_client_for(personas.lead)
    assert [c["id"] for c in api.get(f"/api/v1/conversations/?queue={queue.id}").json()["results"]] == [late.id]
    assert [c["id"] for c in api.get("/api/v1/conversations/?sla=breached").json()["results"]] == [late.id]
    assert len(api.get("/api/v1/conversations/?queue=none").json()["results"]) == 1
    assert api.get("/api/v1/conversations/?queue=nonsense").status_code == 400
    assert Conversation.objects.count() == 2
