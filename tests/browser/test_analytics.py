"""End to end in Chromium: a post published on Mastodon and measured twice shows, on its page, a metrics block
(loaded by htmx) with its figures and growth line; the account's analytics page lists it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from analytics import services
from tests.analytics.conftest import connect, publish
from tests.browser.test_connect_account import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_measured_post_shows_its_figures_and_growth_on_its_page(live_server, page, personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Measured in the browser")
    services.metrics_rows_ensure()
    start = timezone.now()
    for minutes in (11, 31):
        simulator.advance(20 * 60)
        with time_machine.travel(start + timedelta(minutes=minutes)):
            services.metrics_fetch(delivery_ids=services.metrics_due())

    sign_in(page, live_server.url, "analyst@acme.test")
    page.goto(f"{live_server.url}/publishing/posts/{delivery.post_id}/")
    block = page.get_by_test_id("delivery-metrics")
    expect(block).to_contain_text(f"@{account.handle}")
    expect(block).to_contain_text("not reported by Mastodon")
    expect(block.locator("svg polyline")).to_have_count(1)

    page.get_by_role("link", name="Analytics").click()
    row = page.get_by_test_id("account-row").filter(has_text=f"@{account.handle}")
    expect(row).to_contain_text("not reported by Mastodon")
    row.get_by_role("link").click()
    expect(page.get_by_test_id("best-times")).to_contain_text("Not enough history yet: 1 measured post, 10 needed.")
