"""The inbox's pages: live refresh, presence and collision warnings, bulk actions, saved views, the team lead's
view, queues, canned replies and the audit log, by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from moderation import services
from moderation.models import Conversation, Message, Presence, Queue, SavedView
from tests.moderation.conftest import make_agents, make_conversation, make_queue


def test_the_live_refresh_answers_204_until_the_inbox_changes(
    personas, client_for, account, django_capture_on_commit_callbacks
):
    conversation = make_conversation(personas.org, account, 1)
    client = client_for(personas.agent)
    version = QueryDict(client.get(reverse("inbox")).context["live_query"])["version"]
    url = reverse("inbox_live")
    assert client.get(url, {"version": version}).status_code == 204
    with django_capture_on_commit_callbacks(execute=True):  # the version moves once the change is committed
        services.conversation_status_change(conversation=conversation, action="resolve", actor=personas.lead)
    changed = client.get(url, {"version": version, "status": "new"})
    assert changed.status_code == 200
    assert changed.context["page"].conversations == []  # the row that left the filter goes away
    assert b"hx-get" in changed.content  # the next poll, with the new version
    newer = QueryDict(changed.context["live_query"])["version"]
    assert newer != version
    assert client.get(url, {"version": newer}).status_code == 204


def test_a_note_or_a_finished_action_refreshes_the_open_conversation(personas, client_for, account):
    conversation = make_conversation(personas.org, account, 1)
    client = client_for(personas.agent)
    version = client.get(reverse("conversation_detail", args=[conversation.id])).context["version"]
    url = reverse("conversation_thread", args=[conversation.id])
    assert client.get(url, {"version": version}).status_code == 204
    services.note_add(conversation=conversation, actor=personas.lead, text="Refund already made")
    assert b"Refund already made" in client.get(url, {"version": version}).content


def test_a_colleague_viewing_or_replying_is_shown_on_the_conversation(personas, client_for, account, settings):
    conversation = make_conversation(personas.org, account, 1)
    url = reverse("conversation_presence", args=[conversation.id])
    lead, agent = client_for(personas.lead), client_for(personas.agent)
    lead.get(reverse("conversation_detail", args=[conversation.id]))  # opening the page checks in
    seen = agent.post(url, {"state": "viewing"})
    assert f"{personas.lead.user} is viewing this conversation." in seen.content.decode()
    lead.post(url, {"state": "replying"})
    assert f"{personas.lead.user} is replying" in agent.post(url, {"state": "viewing"}).content.decode()
    Presence.objects.update(seen_at=timezone.now() - timedelta(seconds=settings.SMMS_PRESENCE_SECONDS + 1))
    assert b"collision" not in agent.post(url, {"state": "viewing"}).content  # gone quiet: left
    assert services.presence_purge(older_than=timedelta(0)) >= 1


def test_bulk_actions_report_what_could_not_be_done(personas, client_for, account):
    done = make_conversation(personas.org, account, 1)
    spam = make_conversation(personas.org, account, 2, status="spam")
    response = client_for(personas.agent).post(
        reverse("inbox_bulk"), {"action": "resolve", "ids": f"{done.id},{spam.id}"}, follow=True
    )
    text = response.content.decode()
    assert "1 conversation changed." in text
    assert "cannot be changed that way" in text
    assert Conversation.objects.get(id=done.id).status == "resolved"
    assert Conversation.objects.get(id=spam.id).status == "spam"


def test_bulk_assignment_is_for_leads(personas, client_for, account):
    conversation = make_conversation(personas.org, account, 1)
    body = {"action": "assign", "ids": str(conversation.id), "assignee": personas.agent.id}
    client_for(personas.agent).post(reverse("inbox_bulk"), body)
    assert Conversation.objects.get(id=conversation.id).assignee is None
    client_for(personas.lead).post(reverse("inbox_bulk"), body)
    assert Conversation.objects.get(id=conversation.id).assignee == personas.agent


def test_a_saved_view_keeps_only_inbox_filters_and_shared_ones_are_for_leads(personas, client_for, account):
    client = client_for(personas.agent)
    client.post(reverse("saved_view_save"), {"name": "Mine, French", "query": "assignee=mine&lang=fr&evil=1"})
    view = SavedView.objects.get()
    assert view.query == "assignee=mine&lang=fr"
    client.post(reverse("saved_view_save"), {"name": "For all", "query": "status=new", "shared": "on"})
    assert SavedView.objects.count() == 1
    client_for(personas.lead).post(
        reverse("saved_view_save"), {"name": "For all", "query": "status=new", "shared": "on"}
    )
    page = client.get(reverse("inbox"))
    assert [v.name for v in page.context["saved_views"]] == ["For all", "Mine, French"]


def test_the_team_view_shows_backlog_load_and_breaches_to_leads_only(personas, client_for, account, team):
    queue = make_queue(personas.lead, team, first_response_minutes=30)
    [agent] = make_agents(personas.org, team, 1)
    make_conversation(personas.org, account, 1, queue=queue, assignee=agent, status="open")
    late = make_conversation(personas.org, account, 2, queue=queue, response_due_at=timezone.now() - timedelta(hours=1))
    assert client_for(personas.agent).get(reverse("inbox_team")).status_code == 403
    with CaptureQueriesContext(connection) as few:
        page = client_for(personas.lead).get(reverse("inbox_team"))
    assert page.status_code == 200
    [stats] = [s for s in page.context["view"].queues if s.queue == queue]
    assert (stats.backlog, stats.breached, stats.unassigned) == (2, 1, 1)
    assert [c.id for c in page.context["view"].breaches] == [late.id]
    [(row, cards)] = [(r, c) for r, c in page.context["board"] if r.membership == agent]
    assert row.load == 1
    assert len(cards) == 1
    for n in range(3, 30):  # more agents and conversations: the same queries
        make_conversation(personas.org, account, n, queue=queue, assignee=agent, status="open")
    make_agents(personas.org, team, 1)
    with CaptureQueriesContext(connection) as many:
        client_for(personas.lead).get(reverse("inbox_team"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_dropping_a_card_on_an_agent_reassigns_it_unless_someone_changed_it(personas, client_for, account):
    conversation = make_conversation(personas.org, account, 1, assignee=personas.agent)
    url = reverse("conversation_assign", args=[conversation.id])
    lead = client_for(personas.lead)
    lead.post(url, {"assignee": personas.admin.id, "expected": str(personas.agent.id), "next": "/inbox/team/"})
    assert Conversation.objects.get(id=conversation.id).assignee == personas.admin
    answer = lead.post(url, {"assignee": "", "expected": str(personas.agent.id)}, follow=True)  # a stale card
    assert "meanwhile" in answer.content.decode()
    assert Conversation.objects.get(id=conversation.id).assignee == personas.admin


def test_leads_create_queues_from_the_page(personas, client_for, team):
    body = {
        "name": "Refunds", "team": team.id, "position": 1, "is_active": "on", "keywords": "rembours*",
        "languages": ["fr"], "priority": 1, "assignment_mode": "round_robin", "first_response_minutes": 45,
    }  # fmt: skip
    assert client_for(personas.lead).post(reverse("inbox_queues"), body).status_code == 302
    queue = Queue.objects.get()
    assert (queue.keywords, queue.languages, queue.first_response_minutes) == ("rembours*", ["fr"], 45)
    bad = client_for(personas.lead).post(reverse("inbox_queues"), {**body, "name": "Bad", "keywords": "a OR"})
    assert "Keywords:" in bad.content.decode()
    client_for(personas.agent).post(reverse("inbox_queues"), {**body, "name": "Sneaky"})
    assert Queue.objects.count() == 1
    assert client_for(personas.agent).get(reverse("inbox_queues")).status_code == 200  # agents may read them


def test_canned_replies_are_offered_filled_in_for_the_conversation(personas, client_for, account):
    services.canned_reply_save(
        actor=personas.lead, name="Merci", language="fr", text="Merci {author_name} ! {agent_name}"
    )
    services.canned_reply_save(actor=personas.lead, name="Thanks", language="en", text="Thanks {author_handle}")
    conversation = make_conversation(personas.org, account, 1, lang="fr", author_name="Zoé <b>")
    page = client_for(personas.agent).get(reverse("conversation_detail", args=[conversation.id]))
    offered = [(c.name, text) for c, text in page.context["canned"]]
    assert offered[0] == ("Merci", f"Merci Zoé <b> ! {personas.agent.user.first_name}")  # French first
    assert offered[1] == ("Thanks", "Thanks @user1")
    assert 'data-text="Merci Zoé &lt;b&gt; !' in page.content.decode()


def test_the_conversation_page_costs_the_same_queries_with_more_messages(personas, client_for, account):
    conversation = make_conversation(personas.org, account, 1)
    client = client_for(personas.agent)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("conversation_detail", args=[conversation.id]))
    for n in range(20):
        Message.objects.create(
            conversation=conversation, organization=personas.org, platform="mastodon",
            direction="out" if n % 2 else "in", remote_id=f"x{n}", author_id="1", author_handle="x", text="more",
            created_at=timezone.now(),
            sent_by=personas.lead if n % 2 else None,
        )  # fmt: skip
    services.note_add(conversation=conversation, actor=personas.lead, text="a note")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("conversation_detail", args=[conversation.id]))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_audit_log_page_is_for_admins(personas, client_for, account):
    conversation = make_conversation(personas.org, account, 1)
    services.conversation_status_change(conversation=conversation, action="resolve", actor=personas.agent)
    assert client_for(personas.lead).get(reverse("inbox_audit")).status_code == 403
    page = client_for(personas.admin).get(reverse("inbox_audit"), {"action": "resolve"})
    assert page.status_code == 200
    [row] = page.context["page"].rows
    assert (row.action, row.actor) == ("resolve", personas.agent)
    services.conversation_assign(conversation=conversation, to=personas.agent, actor=personas.lead)
    text = client_for(personas.admin).get(reverse("conversation_detail", args=[conversation.id])).content.decode()
    assert f"nobody → {personas.agent.user}" in text  # names, not ids
    assert "new → resolved" in text


@pytest.mark.parametrize("name", ["inbox", "inbox_queues", "inbox_canned", "inbox_vips"])
def test_every_role_reads_the_inbox_pages(personas, client_for, name):
    for member in (personas.analyst, personas.agent, personas.owner):
        assert client_for(member).get(reverse(name)).status_code == 200


def test_an_agent_marks_themselves_available(personas, client_for):
    client = client_for(personas.agent)
    client.post(reverse("inbox_availability"), {"available": "1"})
    assert b"Go away" in client.get(reverse("inbox")).content
    assert client_for(personas.analyst).post(reverse("inbox_availability"), {"available": "1"}).status_code == 403
