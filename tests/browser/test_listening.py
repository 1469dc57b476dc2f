"""End to end in Chromium: a team lead creates a topic, mentions arrive live, filters narrow them, and
hostile text from the networks shows as plain text."""

from __future__ import annotations

import pytest

from listening import services
from listening.models import PollCursor
from tests.accounts.test_connections import connect_mastodon
from tests.browser.test_connect_account import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_topic_shows_mentions_live_filters_them_and_renders_hostile_text_as_text(
    live_server, page, personas, simulator
):
    account = connect_mastodon(personas)
    services.poll_cursors_ensure()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/listening/")
    page.get_by_label("Name").fill("Maison Lumière")
    page.get_by_label("Query").fill("@maisonlumiere AND")
    error = page.get_by_test_id("query-error")  # live feedback while typing
    error.wait_for()
    assert error.inner_text() == "AND needs a term after it (at character 16)"
    page.get_by_label("Query").fill("@maisonlumiere")
    page.get_by_test_id("query-ok").wait_for()
    page.get_by_role("button", name="Create the topic").click()
    page.get_by_role("heading", name="Maison Lumière").wait_for()
    assert page.get_by_test_id("mention").count() == 0

    # Mentions arrive on the network and are polled while the page is open: no reload.
    simulator.generate(platform="mastodon", count=24, kind="mention", target="maisonlumiere", lang="fr",
                       sentiment="negative", hostile_rate=0)  # fmt: skip
    simulator.generate(platform="mastodon", count=10, kind="mention", target="maisonlumiere", lang="en",
                       sentiment="positive", hostile_rate=0)  # fmt: skip
    simulator.generate(platform="mastodon", count=4, kind="mention", target="maisonlumiere", hostile_rate=1)
    services.account_poll(cursor_id=PollCursor.objects.get(account=account).id)
    page.wait_for_function("document.querySelectorAll('[data-testid=mention]').length >= 38", timeout=15_000)

    hostile = page.locator(".mention-text", has_text="<script>")
    assert hostile.count() >= 1
    assert page.locator("#stream script").count() == 0
    assert page.locator("#stream img").count() == 0
    assert dialogs == []

    mentions = page.get_by_role("region", name="Mentions")
    mentions.get_by_label("Language", exact=True).select_option("fr")
    mentions.get_by_label("Sentiment", exact=True).select_option("negative")
    with page.expect_navigation():
        mentions.get_by_role("button", name="Filter", exact=True).click()
    assert "sentiment=negative" in page.url, page.url
    rows = page.get_by_test_id("mention")
    assert rows.count() >= 1
    for i in range(rows.count()):
        row = rows.nth(i)
        assert row.locator(".tag").first.inner_text() == "fr"
        assert row.get_by_test_id("sentiment").inner_text().startswith("Negative")
    page.screenshot(path="test-results/listening-topic.png", full_page=True)
