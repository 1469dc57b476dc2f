"""End to end in Chromium: hostile author names and message texts from the networks render as text in the inbox
and on the conversation page, and break no layout (no script runs, nothing overflows the viewport)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from listening import services as listening_services
from smms.connectors.types import Author, Interaction, InteractionKind, Page
from tests.browser.test_connect_account import sign_in
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert('name')</script>"
HANDLER = '<img src=x onerror="alert(1)">'
RTL = "\u202eevil\u202c"
LONG = "A" * 10_000


@pytest.mark.django_db(transaction=True)
def test_hostile_names_and_texts_render_as_text_without_breaking_the_layout(live_server, page, personas):
    from datetime import UTC, datetime, timedelta

    from listening.models import PollCursor

    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme")
    PollCursor.objects.create(account=account, stream="mentions", next_poll_at=datetime.now(UTC))
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    texts = [f"{SCRIPT} hello", f"{HANDLER} look", f"{RTL} reversed", LONG]
    items = [
        Interaction(
            platform="mastodon", remote_id=str(n), kind=InteractionKind.MESSAGE, text=text,
            author=Author(id="666", handle=f"{RTL}gnp.exe", display_name=f"{SCRIPT}{HANDLER}{RTL}{LONG[:3000]}"),
            created_at=at + timedelta(minutes=n),
        )
        for n, text in enumerate(texts)
    ]  # fmt: skip
    listening_services.mentions_ingest(account=account, stream="mentions", page=Page(items=items, cursor="c"))

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server.url, "agent@acme.test")
    page.goto(f"{live_server.url}/inbox/")
    row = page.get_by_test_id("conversation-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(SCRIPT)  # the markup is shown, as text
    assert page.locator("tbody img").count() == 0
    viewport = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    box = row.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= viewport

    row.get_by_role("link").click()
    messages = page.get_by_test_id("message")
    expect(messages).to_have_count(4)
    expect(messages.nth(0)).to_contain_text(f"{SCRIPT} hello")
    expect(messages.nth(1)).to_contain_text(HANDLER)
    assert page.locator(".messages img").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    for n in range(4):
        box = messages.nth(n).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= viewport
    # The right-to-left override stays inside its name: the text after it is not reversed.
    assert page.locator("bdi.author").first.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    page.get_by_role("button", name="Mark as spam").click()
    expect(page.get_by_test_id("conversation-status")).to_have_text("Spam")
    assert dialogs == []


@pytest.mark.django_db(transaction=True)
def test_hostile_names_and_texts_stay_text_on_the_team_board_and_in_notes(live_server, page, personas):
    from django.utils import timezone

    from moderation import services
    from moderation.models import Conversation, Message

    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme")
    now = timezone.now()
    conversation = Conversation.objects.create(
        organization=personas.org, account=account, platform="mastodon", kind="mention", thread_key="t:1",
        author_id="666", author_handle=f"{RTL}gnp.exe", author_name=f"{SCRIPT}{HANDLER}{LONG}"[:300],
        first_message_at=now, last_message_at=now, message_count=1, excerpt=f"{HANDLER} {LONG}"[:280],
        status="open", assignee=personas.agent,
    )  # fmt: skip
    Message.objects.create(
        conversation=conversation, organization=personas.org, platform="mastodon", direction="in", remote_id="1",
        author_id="666", author_handle="x", text=LONG, created_at=now,
    )  # fmt: skip
    services.note_add(conversation=conversation, actor=personas.lead, text=f"{SCRIPT} {LONG[:4900]}")

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/inbox/team/")
    card = page.get_by_test_id("card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(SCRIPT)
    viewport = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    assert page.locator(".board img").count() == 0
    page.goto(f"{live_server.url}/inbox/conversations/{conversation.id}/")
    expect(page.get_by_test_id("note")).to_contain_text(SCRIPT)
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    assert dialogs == []
