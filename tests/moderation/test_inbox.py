"""The inbox and conversation pages, and the API: filters, keyset pagination, query counts, status changes by
role with their audit record."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from moderation.models import Conversation, ConversationStatus, Message, ModerationAction
from tests.factories import SocialAccountFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def conversation(org, account, n, **fields):
    values = {
        "organization": org, "account": account, "platform": account.platform, "kind": "mention",
        "thread_key": f"t:{n}", "author_id": str(n), "author_handle": f"user{n}", "author_name": f"User {n}",
        "first_message_at": T0 + timedelta(minutes=n), "last_message_at": T0 + timedelta(minutes=n),
        "message_count": 1, "excerpt": f"excerpt {n}",
    }  # fmt: skip
    values.update(fields)
    return Conversation.objects.create(**values)


@pytest.fixture
def inbox(personas):
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_social")
    bluesky = SocialAccountFactory(organization=personas.org, platform="bluesky", handle="acme.bsky")
    rows = [
        conversation(personas.org, mastodon, 1, lang="fr", sentiment="negative"),
        conversation(personas.org, mastodon, 2, status="open", assignee=personas.agent),
        conversation(personas.org, bluesky, 3, lang="en", sentiment="positive"),
        conversation(personas.org, bluesky, 4, status="resolved", assignee=personas.lead),
        conversation(personas.org, bluesky, 5, author_id="1", excerpt="same person again"),
    ]
    theirs = SocialAccountFactory(organization=personas.other_org, platform="mastodon")
    conversation(personas.other_org, theirs, 99, excerpt="Globex secret")
    return {"mastodon": mastodon, "bluesky": bluesky, "rows": rows}


def listed(response):
    return [c.id for c in response.context["page"].conversations]


def ids(inbox, *numbers):
    return [inbox["rows"][n - 1].id for n in numbers]


def test_the_inbox_lists_the_organizations_conversations_newest_first(personas, client_for, inbox):
    response = client_for(personas.analyst).get(reverse("inbox"))
    assert response.status_code == 200
    assert listed(response) == ids(inbox, 5, 4, 3, 2, 1)
    assert b"Globex secret" not in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, [2]),
        ({"network": "bluesky"}, [5, 4, 3]),
        ({"lang": "fr"}, [1]),
        ({"sentiment": "positive"}, [3]),
        ({"assignee": "mine"}, [2]),
        ({"assignee": "unassigned"}, [5, 3, 1]),
        ({"network": "bluesky", "assignee": "unassigned"}, [5, 3]),
    ],
)
def test_the_inbox_filters(personas, client_for, inbox, query, expected):
    response = client_for(personas.agent).get(reverse("inbox"), query)
    assert listed(response) == ids(inbox, *expected)


def test_the_inbox_filters_by_account(personas, client_for, inbox):
    response = client_for(personas.agent).get(reverse("inbox"), {"account": inbox["mastodon"].id})
    assert listed(response) == ids(inbox, 2, 1)


def test_keyset_pages_cover_every_conversation_once_even_with_equal_times(personas, client_for, inbox, monkeypatch):
    account = inbox["mastodon"]
    same = [conversation(personas.org, account, 100 + i, last_message_at=T0 + timedelta(hours=5)) for i in range(5)]
    client = client_for(personas.agent)
    seen, after = [], ""
    from moderation import selectors

    while True:
        page = selectors.conversation_page(
            org=personas.org, actor=personas.agent, filters=selectors.InboxFilters(), after=after, size=3
        )
        seen += [c.id for c in page.conversations]
        if not page.next_cursor:
            break
        after = page.next_cursor
    assert seen == sorted((c.id for c in same), reverse=True) + ids(inbox, 5, 4, 3, 2, 1)
    # The page's link carries the filters and the keyset, never an offset.
    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    response = client.get(reverse("inbox"), {"network": "mastodon"})
    next_link = response.context["next_query"]
    assert "network=mastodon" in next_link
    assert "after=" in next_link
    assert "offset" not in next_link
    second = client.get(reverse("inbox") + "?" + next_link)
    assert listed(second) == [c.id for c in sorted(same, key=lambda c: c.id, reverse=True)[3:]] + ids(inbox, 2)


def test_a_broken_page_link_shows_the_first_page_with_a_message(personas, client_for, inbox):
    response = client_for(personas.agent).get(reverse("inbox"), {"after": "not-a-cursor"}, follow=True)
    assert listed(response) == ids(inbox, 5, 4, 3, 2, 1)
    assert "not valid" in response.content.decode()


def test_the_inbox_costs_the_same_queries_for_any_page_size(personas, client_for, inbox):
    client = client_for(personas.agent)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("inbox"))
    for n in range(60):
        conversation(personas.org, inbox["bluesky"], 200 + n, assignee=personas.agent)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("inbox"))
    assert len(response.context["page"].conversations) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


def test_times_are_shown_in_the_members_time_zone(personas, client_for, inbox):
    personas.agent.user.timezone = "America/Montreal"
    personas.agent.user.save(update_fields=["timezone"])
    response = client_for(personas.agent).get(reverse("inbox"))
    local = inbox["rows"][4].last_message_at.astimezone(zoneinfo.ZoneInfo("America/Montreal"))
    assert local.isoformat() in response.content.decode()


def test_the_conversation_page_shows_messages_in_order_and_the_authors_other_conversations(personas, client_for, inbox):
    first = inbox["rows"][0]
    Message.objects.create(
        conversation=first, organization=personas.org, platform="mastodon", direction="out", remote_id="",
        author_id="me", author_handle="acme_social", text="Thanks, we are on it", created_at=T0 + timedelta(hours=1),
        sent_by=personas.agent,
    )  # fmt: skip
    Message.objects.create(
        conversation=first, organization=personas.org, platform="mastodon", direction="in", remote_id="m1",
        author_id="1", author_handle="user1", text="My lamp is broken", created_at=T0,
    )  # fmt: skip
    globex = SocialAccountFactory(organization=personas.other_org, platform="mastodon")
    conversation(personas.other_org, globex, 60, author_id="1")  # the same id in another organization
    second_account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    same_person = conversation(personas.org, second_account, 50, author_id="1")  # on another of our accounts
    response = client_for(personas.analyst).get(reverse("conversation_detail", args=[first.id]))
    texts = [m.text for m in response.context["messages_"]]
    assert texts == ["My lamp is broken", "Thanks, we are on it"]
    # The same person on that network, on any of our accounts (row 5 has the same id, but on Bluesky).
    assert [o.id for o in response.context["others"]] == [same_person.id]


def test_an_agent_resolves_a_conversation_and_the_change_is_audited(personas, client_for, inbox):
    target = inbox["rows"][0]
    response = client_for(personas.agent).post(reverse("conversation_status", args=[target.id]), {"action": "resolve"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.status == ConversationStatus.RESOLVED
    assert target.resolved_at is not None
    [record] = ModerationAction.objects.filter(conversation=target)
    assert (record.actor, record.action, record.detail) == (
        personas.agent,
        "resolve",
        {"from": "new", "to": "resolved"},
    )
    assert record.organization_id == personas.org.id


def test_an_analyst_may_read_but_not_change_a_status(personas, client_for, inbox):
    target = inbox["rows"][0]
    client = client_for(personas.analyst)
    page = client.get(reverse("conversation_detail", args=[target.id])).content.decode()
    assert reverse("conversation_status", args=[target.id]) not in page  # no buttons
    response = client.post(reverse("conversation_status", args=[target.id]), {"action": "spam"})
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.status == ConversationStatus.NEW
    assert not ModerationAction.objects.exists()


def test_an_action_the_status_does_not_allow_is_refused_and_not_audited(personas, client_for, inbox):
    resolved = inbox["rows"][3]
    response = client_for(personas.agent).post(
        reverse("conversation_status", args=[resolved.id]), {"action": "resolve"}, follow=True
    )
    assert "cannot be changed that way" in response.content.decode()
    assert not ModerationAction.objects.exists()


# --- API --------------------------------------------------------------------------------------------------
def test_the_api_lists_conversations_newest_first_with_filters_and_a_cursor(personas, api_client_for, inbox):
    client = api_client_for(personas.agent)
    body = client.get("/api/v1/conversations/", {"page_size": 2}).json()
    assert [c["id"] for c in body["results"]] == ids(inbox, 5, 4)
    assert "cursor=" in body["next"]
    rest = client.get(body["next"]).json()
    assert [c["id"] for c in rest["results"]] == ids(inbox, 3, 2)
    filtered = client.get("/api/v1/conversations/", {"network": "mastodon", "assignee": "mine"}).json()
    assert [c["id"] for c in filtered["results"]] == ids(inbox, 2)
    assert client.get("/api/v1/conversations/", {"status": "bogus"}).status_code == 400


def test_the_api_list_costs_the_same_queries_for_any_page_size(personas, api_client_for, inbox):
    client = api_client_for(personas.agent)
    with CaptureQueriesContext(connection) as few:
        client.get("/api/v1/conversations/", {"page_size": 2})
    with CaptureQueriesContext(connection) as many:
        client.get("/api/v1/conversations/", {"page_size": 200})
    assert len(few.captured_queries) == len(many.captured_queries)


def test_the_api_gives_a_conversation_with_its_messages(personas, api_client_for, inbox):
    target = inbox["rows"][0]
    Message.objects.create(
        conversation=target, organization=personas.org, platform="mastodon", direction="in", remote_id="m1",
        author_id="1", author_handle="user1", text="<script>alert(1)</script>", created_at=T0,
    )  # fmt: skip
    body = api_client_for(personas.analyst).get(f"/api/v1/conversations/{target.id}/").json()
    assert body["id"] == target.id
    assert [m["text"] for m in body["messages"]] == ["<script>alert(1)</script>"]


def test_the_api_changes_a_status_for_an_agent_and_refuses_an_analyst(personas, api_client_for, inbox):
    target = inbox["rows"][0]
    url = f"/api/v1/conversations/{target.id}/status/"
    refused = api_client_for(personas.analyst).post(url, {"action": "spam"}, format="json")
    assert refused.status_code == 403
    assert api_client_for(personas.agent).post(url, {"action": "spam"}, format="json").json()["status"] == "spam"
    again = api_client_for(personas.agent).post(url, {"action": "spam"}, format="json")
    assert again.status_code == 400
    assert list(ModerationAction.objects.values_list("action", flat=True)) == ["spam"]


def test_an_api_key_needs_the_moderation_scopes(personas, api_key_client, inbox):
    target = inbox["rows"][0]
    reader = api_key_client(personas.owner, ["moderation:read"])
    assert reader.get("/api/v1/conversations/").status_code == 200
    assert reader.post(f"/api/v1/conversations/{target.id}/status/", {"action": "resolve"}).status_code == 403
    writer = api_key_client(personas.owner, ["moderation:read", "moderation:write"])
    assert writer.post(f"/api/v1/conversations/{target.id}/status/", {"action": "resolve"}).status_code == 200
    assert ModerationAction.objects.get().actor is None  # an API key acts without a membership
    assert reader.get("/api/v1/conversations/", {"assignee": "mine"}).json()["results"] == []  # not the unassigned
    assert api_key_client(personas.owner, ["listening:read"]).get("/api/v1/conversations/").status_code == 403


def test_the_conversation_page_costs_the_same_queries_for_any_number_of_messages(personas, client_for, inbox):
    target = inbox["rows"][0]
    client = client_for(personas.agent)

    def add(n):
        for i in range(n):
            Message.objects.create(
                conversation=target, organization=personas.org, platform="mastodon", direction="out", remote_id="",
                author_id="me", author_handle="acme", text=f"reply {i}", created_at=T0, sent_by=personas.agent,
            )  # fmt: skip

    add(1)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("conversation_detail", args=[target.id]))
    add(30)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("conversation_detail", args=[target.id]))
    assert response.content.decode().count('data-testid="message"') == 31
    assert len(many.captured_queries) == len(few.captured_queries)
