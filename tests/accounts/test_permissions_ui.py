"""Role checks in the dashboard: each management page and action answers 403 to roles without the right."""

import pytest
from django.urls import reverse

from accounts.models import SocialAccount
from tests.factories import AccountGroupFactory, SocialAccountFactory, TeamFactory

MANAGEMENT_PAGES = ["members", "social_accounts", "groups", "teams", "api_keys"]


@pytest.mark.parametrize("page", MANAGEMENT_PAGES)
def test_an_analyst_gets_403_on_every_management_page(personas, client_for, page):
    assert client_for(personas.analyst).get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", ["members", "social_accounts", "groups", "api_keys"])
def test_a_community_manager_gets_403_on_admin_pages(personas, client_for, page):
    assert client_for(personas.agent).get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", MANAGEMENT_PAGES)
def test_an_admin_may_open_every_management_page(personas, client_for, page):
    assert client_for(personas.admin).get(reverse(page)).status_code == 200


def test_an_analyst_cannot_disconnect_an_account_nor_change_a_role(personas, client_for):
    account = SocialAccountFactory(organization=personas.org)
    client = client_for(personas.analyst)
    assert client.post(reverse("social_account_disconnect", args=[account.id])).status_code == 403
    assert SocialAccount.objects.get(id=account.id).status == "connected"
    response = client.post(reverse("member_role", args=[personas.agent.id]), {"role": "owner"})
    assert response.status_code == 403
    personas.agent.refresh_from_db()
    assert personas.agent.role == "community_manager"


def test_an_analyst_still_reads_every_area(personas, client_for):
    client = client_for(personas.analyst)
    for name in ["dashboard", "listening", "analytics", "publishing", "inbox", "campaigns", "contacts", "settings"]:
        assert client.get(reverse(name)).status_code == 200, name


def test_anonymous_visitors_are_sent_to_login(db, client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_organization_is_told_so(db, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert b"not in any organization" in response.content


def test_the_dashboard_shows_only_controls_the_role_may_use(personas, client_for):
    admin_page = client_for(personas.admin).get(reverse("settings")).content.decode()
    analyst_page = client_for(personas.analyst).get(reverse("settings")).content.decode()
    assert reverse("members") in admin_page
    assert reverse("members") not in analyst_page


def test_the_organization_switcher_only_switches_to_my_organizations(personas, client_for):
    client = client_for(personas.owner)
    assert client.post(reverse("organization_switch"), {"organization": personas.other_org.id}).status_code == 404
    second = personas.outsider.organization
    from tests.factories import MembershipFactory

    MembershipFactory(organization=second, user=personas.owner.user, role="analyst")
    client.post(reverse("organization_switch"), {"organization": second.id})
    page = client.get(reverse("dashboard")).content.decode()
    assert "Overview of Globex" in page


def test_admin_flows_through_the_ui(personas, client_for):
    """An admin invites, groups accounts and edits an account; each lands in the database."""
    client = client_for(personas.admin)
    account = SocialAccountFactory(organization=personas.org)
    response = client.post(reverse("members"), {"email": "new@acme.test", "role": "analyst"})
    assert response.status_code == 302
    assert personas.org.invitations.filter(email="new@acme.test").exists()
    client.post(reverse("groups"), {"name": "France", "accounts": [account.id]})
    group = personas.org.account_groups.get(name="France")
    assert list(group.accounts.all()) == [account]
    other_group = AccountGroupFactory(organization=personas.org)
    client.post(reverse("social_account_edit", args=[account.id]), {"display_name": "New", "groups": [other_group.id]})
    account.refresh_from_db()
    assert account.display_name == "New"
    assert {g.id for g in account.groups.all()} == {other_group.id}
    team = TeamFactory(organization=personas.org)
    client.post(reverse("team_delete", args=[team.id]))
    assert not personas.org.teams.filter(id=team.id).exists()


def test_an_invalid_form_shows_errors_and_saves_nothing(personas, client_for):
    response = client_for(personas.admin).post(reverse("members"), {"email": "not-an-email", "role": "analyst"})
    assert response.status_code == 200
    assert b"valid email" in response.content
    assert not personas.org.invitations.exists()
