"""End to end in Chromium: an admin connects a Mastodon account through the network's consent page."""

from __future__ import annotations

import pytest

from accounts.models import SocialAccount
from tests.browser.conftest import SCREENSHOTS
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main navigation").wait_for()


@pytest.mark.django_db(transaction=True)
def test_an_admin_connects_a_mastodon_account_through_the_consent_page(live_server, page, personas, simulator):
    sign_in(page, live_server.url, "admin@acme.test")
    page.goto(f"{live_server.url}/settings/accounts/")
    page.get_by_role("link", name="Connect an account").click()
    mastodon = page.get_by_role("region", name="Mastodon")
    mastodon.get_by_role("button", name="Continue to Mastodon").click()

    # The network's own page (the simulator's consent page).
    page.get_by_label("Signed in as").select_option(label="Maison Lumière (@maisonlumiere)")
    page.get_by_role("button", name="Authorize app").click()

    # Back in SMMS: choose what to manage.
    page.get_by_role("checkbox", name="Maison Lumière (@maisonlumiere)").check()
    page.get_by_role("button", name="Connect").click()
    page.get_by_text("Accounts connected.").wait_for()
    assert page.get_by_role("link", name="@maisonlumiere").is_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "connected-accounts.png"), full_page=True)

    account = SocialAccount.objects.get(organization=personas.org, platform="mastodon")
    assert (account.handle, account.status) == ("maisonlumiere", "connected")
    assert account.access_token


@pytest.mark.django_db(transaction=True)
def test_denying_on_the_consent_page_connects_nothing(live_server, page, personas, simulator):
    sign_in(page, live_server.url, "admin@acme.test")
    page.goto(f"{live_server.url}/settings/accounts/connect/")
    page.get_by_role("region", name="Mastodon").get_by_role("button", name="Continue to Mastodon").click()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("The network did not grant access").wait_for()
    assert not SocialAccount.objects.filter(organization=personas.org).exists()
