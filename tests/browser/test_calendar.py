"""End to end in Chromium: a team lead drags a scheduled post's card to another day and hour on the week
calendar, and the post is rescheduled at that slot, read in the lead's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from publishing import services
from publishing.models import Delivery, Post
from tests.browser.test_connect_account import sign_in
from tests.factories import SocialAccountFactory
from tests.publishing.conftest import allow_self_approval

pytestmark = pytest.mark.browser


def drag(page, source, target) -> None:
    """HTML5 drag and drop of ``source`` onto ``target``. ``locator.drag_to`` starts no drag in the Debian
    Chromium the suite runs (newer than this Playwright, headless=new): the page's mouse never becomes a drag.
    So the drag events a browser sends are dispatched, sharing one DataTransfer, to the page's own handlers."""
    data = page.evaluate_handle("() => new DataTransfer()")
    source.dispatch_event("dragstart", {"dataTransfer": data})
    target.dispatch_event("dragenter", {"dataTransfer": data})
    target.dispatch_event("dragover", {"dataTransfer": data})
    target.dispatch_event("drop", {"dataTransfer": data})


def open_calendar(page, live_server, personas, view: str, *, at: datetime) -> Post:
    """A post scheduled by the team lead at ``at`` on one account; the lead signed in on its calendar page."""
    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_m")
    allow_self_approval(personas)
    post = services.post_create(actor=personas.lead, text="Summer sale", accounts=[account])
    services.post_schedule(post=post, actor=personas.lead, at=at)
    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/publishing/calendar/?view={view}&date={at.date().isoformat()}")
    return post


@pytest.mark.django_db(transaction=True)
def test_a_team_lead_drags_a_post_to_another_slot_and_it_is_rescheduled(live_server, page, personas):
    post = open_calendar(page, live_server, personas, "week", at=datetime(2030, 6, 12, 8, 0, tzinfo=UTC))
    card = page.get_by_test_id("slot-2030-06-12-10").get_by_test_id("calendar-post")  # 10:00 in Paris
    expect(card).to_contain_text("Summer sale")
    target = page.get_by_test_id("slot-2030-06-14-15")
    drag(page, card, target)

    expect(page.get_by_text("Post rescheduled.")).to_be_visible()
    moved = page.get_by_test_id("slot-2030-06-14-15").get_by_test_id("calendar-post")
    expect(moved).to_contain_text("15:00")
    expect(page.get_by_test_id("slot-2030-06-12-10").get_by_test_id("calendar-post")).to_have_count(0)
    at = datetime(2030, 6, 14, 13, 0, tzinfo=UTC)  # 15:00 in Paris, summer time
    assert Post.objects.get(id=post.id).scheduled_at == at
    assert Delivery.objects.get(post=post).due_at == at


@pytest.mark.django_db(transaction=True)
def test_on_the_month_calendar_a_dropped_post_keeps_its_time_of_day(live_server, page, personas):
    post = open_calendar(page, live_server, personas, "month", at=datetime(2030, 6, 12, 8, 15, tzinfo=UTC))
    drag(
        page,
        page.get_by_test_id("slot-2030-06-12").get_by_test_id("calendar-post"),
        page.get_by_test_id("slot-2030-06-20"),
    )

    expect(page.get_by_text("Post rescheduled.")).to_be_visible()
    expect(page.get_by_test_id("slot-2030-06-20").get_by_test_id("calendar-post")).to_contain_text("10:15")
    assert Post.objects.get(id=post.id).scheduled_at == datetime(2030, 6, 20, 8, 15, tzinfo=UTC)
