"""End to end in Chromium: a community manager composes a post for Mastodon and Bluesky (a shorter Bluesky
version), submits it; a team lead approves it for a minute ahead; once published, the page links to both."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.demo import connect_simulated
from accounts.models import AccountGroup
from publishing import services
from publishing.models import Delivery, Post
from tests.browser.test_connect_account import sign_in
from tests.publishing.conftest import made

pytestmark = pytest.mark.browser

TEXT = "Our spring collection is out: lamps, shades and <b>bulbs</b>"
BLUESKY_TEXT = "Spring collection out now"


@pytest.mark.django_db(transaction=True)
def test_a_post_is_composed_submitted_approved_and_published_on_two_networks(live_server, page, personas, simulator):
    [mastodon] = connect_simulated(personas.admin, "mastodon", simulator.users("mastodon")[:1])
    [bluesky] = connect_simulated(personas.admin, "bluesky", simulator.users("bluesky")[:1])
    AccountGroup.objects.create(organization=personas.org, name="Launch").accounts.add(mastodon, bluesky)

    sign_in(page, live_server.url, "agent@acme.test")
    page.goto(f"{live_server.url}/publishing/compose/")
    page.get_by_label("Text", exact=True).fill(TEXT)
    page.get_by_label("Launch (2 accounts)").check()  # a group stands for its accounts, shown in the preview
    expect(page.get_by_test_id("targets-mastodon")).to_have_text(f"Goes to: {mastodon}")
    expect(page.get_by_test_id("targets-bluesky")).to_have_text(f"Goes to: {bluesky}")
    expect(page.get_by_test_id("count-mastodon")).to_have_text(f"{len(TEXT)} / 500")
    page.get_by_text("A different text or link per network").click()
    page.get_by_label("Text for Bluesky").fill(BLUESKY_TEXT)
    expect(page.get_by_test_id("count-bluesky")).to_have_text(f"{len(BLUESKY_TEXT)} / 300")
    expect(page.get_by_test_id("check-mastodon")).to_contain_text("<b>bulbs</b>")  # a preview as text
    assert page.get_by_role("button", name="Schedule").count() == 0
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_test_id("post-status")).to_have_text("Awaiting approval")

    page.get_by_role("button", name="Sign out").click()
    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/publishing/approvals/")
    queued = page.get_by_test_id("awaiting")
    expect(queued).to_have_count(1)
    paris = zoneinfo.ZoneInfo(personas.lead.user.timezone)
    at = timezone.localtime(timezone.now() + timedelta(minutes=1), paris)
    queued.get_by_label("Publish at").fill(at.strftime("%Y-%m-%dT%H:%M"))
    queued.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Post scheduled.")).to_be_visible()
    expect(page.get_by_text("Nothing awaits approval.")).to_be_visible()

    post = Post.objects.get()
    assert post.status == "scheduled"
    assert post.scheduled_at == at.replace(second=0, microsecond=0)
    deliveries = Delivery.objects.filter(post=post)
    assert sorted(deliveries.values_list("state", flat=True)) == ["scheduled", "scheduled"]
    deliveries.update(due_at=timezone.now(), next_attempt_at=timezone.now())  # the minute has passed
    for delivery in deliveries:
        assert services.delivery_publish(delivery_id=delivery.id) == "published"

    assert len(made(simulator, "mastodon", TEXT)) == 1
    assert len(made(simulator, "bluesky", BLUESKY_TEXT)) == 1

    page.goto(f"{live_server.url}/publishing/posts/{post.id}/")
    delivered = page.get_by_test_id("delivery")
    expect(delivered).to_have_count(2)
    expect(delivered.filter(has_text="Published")).to_have_count(2)
    for network in ("Mastodon", "Bluesky"):
        link = page.get_by_role("link", name=f"View on {network}")
        assert link.get_attribute("href").startswith("http")
    expect(page.get_by_test_id("event").filter(has_text="Publishing → Published")).to_have_count(2)
    assert page.get_by_role("button", name="Cancel the post").count() == 0  # nothing left to stop
