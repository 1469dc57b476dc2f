"""End to end in Chromium: a team lead gives an account two weekly queue slots, composes a post and adds it to
the queue; the post is scheduled at the account's next slot, shown in the lead's time zone."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from itertools import islice

import pytest
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from publishing import services
from publishing.models import Delivery, Post, QueueSlot
from tests.browser.test_connect_account import sign_in
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.browser

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.mark.django_db(transaction=True)
def test_a_team_lead_sets_two_slots_and_a_queued_post_lands_on_the_next_one(live_server, page, personas):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_m")
    today = timezone.now().astimezone(PARIS).date()
    in_two_days, in_four_days = today + timedelta(days=2), today + timedelta(days=4)

    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/publishing/queue/")
    page.get_by_role("link", name=str(account)).click()
    page.get_by_label(WEEKDAYS[in_two_days.weekday()]).fill("09:00")
    page.get_by_label(WEEKDAYS[in_four_days.weekday()]).fill("17:30")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Paris")  # the lead's, by default
    page.get_by_role("button", name="Save the slots").click()
    expect(page.get_by_text("Queue slots saved.")).to_be_visible()
    assert QueueSlot.objects.filter(schedule__account=account).count() == 2
    expect(page.get_by_test_id("slot")).to_have_count(10)
    expect(page.get_by_test_id("slot").first).to_contain_text("free")

    page.goto(f"{live_server.url}/publishing/compose/")
    page.get_by_label("Text", exact=True).fill("Autumn is <b>here</b>")
    page.get_by_label(str(account)).check()
    page.get_by_role("button", name="Add to queue").click()
    expect(page.get_by_text("Post added to the queue.")).to_be_visible()
    expect(page.get_by_test_id("post-status")).to_have_text("Scheduled")

    post = Post.objects.get(text="Autumn is <b>here</b>")
    slots = [(s.weekday, s.time) for s in QueueSlot.objects.filter(schedule__account=account)]
    [expected] = islice(services.queue_times(tz="Europe/Paris", slots=slots, after=timezone.now()), 1)
    assert expected.astimezone(PARIS).date() == in_two_days  # the first slot ahead of now
    assert Delivery.objects.get(post=post).due_at == expected
    with timezone.override(PARIS):
        shown = date_format(timezone.localtime(expected), "DATETIME_FORMAT")
    expect(page.get_by_test_id("delivery").get_by_test_id("due")).to_have_text(shown)

    page.goto(f"{live_server.url}/publishing/queue/accounts/{account.id}/")
    first = page.get_by_test_id("slot").first
    expect(first).to_contain_text("Autumn is <b>here</b>")  # booked, and shown as text
    expect(first).to_contain_text(shown)
