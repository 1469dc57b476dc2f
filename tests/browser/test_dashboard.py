"""End to end in Chromium: sign in, switch to French, see the French navigation."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_member_signs_in_switches_to_french_and_sees_the_french_navigation(live_server, page, personas):
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.get_by_label("E-mail address").fill("agent@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    nav = page.get_by_role("navigation", name="Main navigation")
    nav.get_by_role("link", name="Listening").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"

    page.get_by_role("button", name="FR").click()
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Écoute").wait_for()
    for label in ["Écoute", "Analytique", "Publication", "Boîte de réception", "Campagnes", "Contacts", "Paramètres"]:
        assert nav.get_by_role("link", name=label).is_visible(), label
    assert page.locator("html").get_attribute("lang") == "fr"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-fr.png"), full_page=True)

    # The choice is the user's, not the browser's: it survives a new session.
    page.get_by_role("button", name="Se déconnecter").click()
    page.get_by_label("Adresse e-mail").fill("agent@acme.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Écoute").wait_for()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_is_refused_with_a_message(live_server, page, personas):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail address").fill("agent@acme.test")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your e-mail address and password didn't match")
