"""End to end in Chromium: a team lead creates a topic, mentions arrive live, filters narrow them, and
hostile text from the networks shows as plain text; an analyst exports the filtered mentions as CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from listening import exports, services
from listening.models import PollCursor, Topic
from tests.accounts.test_connections import connect_mastodon
from tests.browser.test_connect_account import sign_in
from tests.listening.test_exports import add_mention

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


@pytest.mark.django_db(transaction=True)
def test_an_analyst_exports_the_filtered_mentions_watches_the_progress_and_downloads_the_csv(
    live_server, page, personas, monkeypatch
):
    topic = Topic.objects.create(organization=personas.org, name="Maison Lumière", query="lumière")
    add_mention(topic, text="Très déçue : la lampe clignote déjà", lang="fr", sentiment="negative", minutes_ago=2)
    add_mention(topic, text='=HYPERLINK("http://evil.example","clic")', lang="fr", sentiment="negative")
    add_mention(topic, text="Love the new lamp", lang="en", sentiment="positive")
    queued: list[int] = []
    monkeypatch.setattr(exports, "_enqueue", queued.append)  # the worker is played by the test below

    sign_in(page, live_server.url, "analyst@acme.test")
    page.goto(f"{live_server.url}/listening/topics/{topic.id}/?lang=fr")
    region = page.get_by_role("region", name="Exports")
    region.get_by_role("button", name="Export CSV").click()
    status = region.get_by_test_id("export-status")
    expect(status).to_have_text("Waiting for a worker…")
    expect(region.locator("progress")).to_have_count(1)

    assert len(queued) == 1
    exports.export_run(export_id=queued[0])  # the page polls every second and shows the result
    link = region.get_by_role("link", name="Download the CSV")
    expect(link).to_be_visible()
    expect(status).to_have_text("2 rows")
    with page.expect_download() as info:
        link.click()
    download = info.value

    assert re.fullmatch(rf"topic-{topic.id}-mentions-\d{{4}}-\d{{2}}-\d{{2}}\.csv", download.suggested_filename)
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the accents right
    _header, *rows = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    assert [row[5] for row in rows] == [
        '\'=HYPERLINK("http://evil.example","clic")',
        "Très déçue : la lampe clignote déjà",
    ]
    page.screenshot(path="test-results/listening-export.png", full_page=True)


@pytest.mark.django_db(transaction=True)
def test_a_fire_appears_on_whatever_page_is_open_without_a_reload(live_server, page, personas, settings):
    from datetime import timedelta

    from django.utils import timezone

    from listening.firesim import NEGATIVE, Feed

    settings.SMMS_LIVE_POLL_SECONDS = 1
    topic = services.topic_save(actor=personas.lead, name="Lumière <b>X2</b>", query="X2")
    sign_in(page, live_server.url, "agent@acme.test")
    page.goto(f"{live_server.url}/publishing/")  # any page of the dashboard
    page.wait_for_timeout(1500)
    assert page.get_by_test_id("fire-banner").count() == 0

    feed, now = Feed(topic, personas.org), timezone.now()
    for i in range(80):
        feed.add(now - timedelta(seconds=i + 1), NEGATIVE[i % len(NEGATIVE)], "negative")
    feed.save()
    assert services.fires_detect(now=now)

    banner = page.get_by_test_id("fire-banner")
    expect(banner).to_contain_text("Lumière <b>X2</b> — negativity is rising", timeout=10_000)
    assert page.locator("#alerts-live b").count() == 0  # the topic's name is text
    banner.get_by_role("link").click()
    page.get_by_role("heading", level=1, name="Lumière <b>X2</b>").wait_for()
