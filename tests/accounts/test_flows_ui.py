"""Flows a person goes through in the dashboard, through the real views and templates."""

import re
from datetime import UTC, datetime

from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.roles import Role
from tests.factories import PASSWORD, SocialAccountFactory


def test_password_reset_by_e_mail(personas, client):
    client.post(reverse("password_reset"), {"email": "agent@acme.test"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="agent@acme.test").check_password("a-brand-new-passphrase")


def test_password_reset_does_not_reveal_unknown_addresses(db, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"}, follow=True)
    assert response.status_code == 200
    assert mail.outbox == []


def test_a_newcomer_accepts_an_invitation_and_lands_in_the_organization(personas, client):
    invitation = services.invitation_create(actor=personas.admin, email="newbie@acme.test", role=Role.TEAM_LEAD)
    url = reverse("invitation_accept", args=[invitation.token_encrypted])
    assert "Join Acme" in client.get(url).content.decode()
    response = client.post(
        url,
        {"first_name": "New", "last_name": "Bie", "password1": "x-long-passphrase", "password2": "x-long-passphrase"},
    )
    assert response.status_code == 302
    page = client.get(reverse("dashboard")).content.decode()
    assert "Overview of Acme" in page
    assert "Team lead" in page
    assert client.get(url).status_code == 404  # a used link is dead


def test_an_invitation_link_with_a_wrong_token_is_404(db, client):
    assert client.get(reverse("invitation_accept", args=["not-a-token"])).status_code == 404


def test_signing_in_with_the_e_mail_address(personas, client):
    response = client.post(reverse("login"), {"username": "agent@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_text_from_networks_is_shown_as_text_never_as_markup(personas, client_for):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>\u202eevil'
    account = SocialAccountFactory(organization=personas.org, display_name=hostile, handle="h<b>andle")
    for url in [reverse("social_accounts"), reverse("social_account_edit", args=[account.id]), reverse("publishing")]:
        page = client_for(personas.admin).get(url).content.decode()
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "h<b>andle" not in page
    assert "&lt;script&gt;" in client_for(personas.admin).get(reverse("social_accounts")).content.decode()


def test_times_are_shown_in_the_users_time_zone(personas, client_for):
    account = SocialAccountFactory(organization=personas.org, token_expires_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    user = personas.admin.user
    services.user_update_preferences(user=user, language="en", timezone_name="America/Montreal")
    page = client_for(personas.admin).get(reverse("social_account_edit", args=[account.id])).content.decode()
    assert "July 1, 2026, 8 a.m." in page  # 12:00 UTC is 08:00 in Montréal in July
