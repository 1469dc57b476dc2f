"""End to end in Chromium: a community manager submits a post; the team lead, with a page already open, sees the
bell's count go up without reloading, opens the notification and approves the post from there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Notification
from publishing.models import Post
from tests.browser.test_connect_account import sign_in
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_team_lead_is_notified_live_and_approves_from_the_notification(
    live_server, browser, page, personas, settings
):
    settings.SMMS_LIVE_POLL_SECONDS = 1
    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_m")

    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/publishing/")
    expect(page.get_by_test_id("bell")).to_be_visible()
    expect(page.get_by_test_id("bell-count")).to_have_count(0)

    agent_context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    try:
        agent = agent_context.new_page()
        agent.set_default_timeout(15_000)
        sign_in(agent, live_server.url, "agent@acme.test")
        agent.goto(f"{live_server.url}/publishing/compose/")
        agent.get_by_label("Text", exact=True).fill("Spring <b>sale</b> starts now")
        agent.get_by_label(str(account)).check()
        agent.get_by_role("button", name="Submit for approval").click()
        expect(agent.get_by_test_id("post-status")).to_have_text("Awaiting approval")
    finally:
        agent_context.close()

    expect(page.get_by_test_id("bell-count")).to_have_text("1")  # polled in: the lead's page was not reloaded
    page.get_by_test_id("bell").click()
    opened = page.get_by_test_id("notification-open")
    expect(opened).to_contain_text("submitted a post for your approval: “Spring <b>sale</b> starts now”")
    opened.click()

    expect(page.get_by_test_id("post-status")).to_have_text("Awaiting approval")
    expect(page.get_by_test_id("bell-count")).to_have_count(0)  # read once opened
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Post approved.")).to_be_visible()
    expect(page.get_by_test_id("post-status")).to_have_text("Approved")

    post = Post.objects.get()
    assert post.status == "approved"
    [told] = Notification.objects.filter(kind="post_approved")
    assert told.recipient == personas.agent.user
