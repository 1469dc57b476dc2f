import pytest
from django.core import mail

from accounts import selectors, services
from accounts.models import Invitation, Membership
from accounts.roles import Role
from smms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import SocialAccountFactory, UserFactory


def test_creating_an_organization_makes_its_creator_the_owner(db):
    user = UserFactory()
    org = services.organization_create(name="Maison Lumière", owner=user)
    assert org.slug == "maison-lumiere"
    assert Membership.objects.get(organization=org, user=user).role == Role.OWNER
    assert services.organization_create(name="Maison Lumière", owner=user).slug == "maison-lumiere-2"


def test_the_last_owner_cannot_be_demoted_or_removed(personas):
    with pytest.raises(Conflict):
        services.membership_change_role(membership=personas.owner, role=Role.ADMIN, actor=personas.owner)
    with pytest.raises(Conflict):
        services.membership_remove(membership=personas.owner, actor=personas.owner)


def test_an_admin_cannot_touch_an_owner_nor_create_one(personas):
    with pytest.raises(Forbidden):
        services.membership_change_role(membership=personas.owner, role=Role.ANALYST, actor=personas.admin)
    with pytest.raises(Forbidden):
        services.membership_change_role(membership=personas.agent, role=Role.OWNER, actor=personas.admin)
    services.membership_change_role(membership=personas.agent, role=Role.TEAM_LEAD, actor=personas.admin)
    personas.agent.refresh_from_db()
    assert personas.agent.role == Role.TEAM_LEAD


def test_an_analyst_cannot_invite(personas):
    with pytest.raises(Forbidden):
        services.invitation_create(actor=personas.analyst, email="x@example.test", role=Role.ANALYST)


def test_an_invitation_is_emailed_after_commit_and_accepted_once(
    personas, django_capture_on_commit_callbacks, celery_eager
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(actor=personas.admin, email="New@Example.test", role=Role.ANALYST)
    assert len(mail.outbox) == 1
    token = invitation.token_encrypted
    assert token in mail.outbox[0].body
    assert invitation.token_hash == selectors.token_hash(token)
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    # Sending again is a no-op: a redelivered task must not e-mail twice.
    assert services.invitation_send(invitation_id=invitation.id) is False

    user = UserFactory(email="new@example.test")
    membership = services.invitation_accept(token=token, user=user)
    assert membership.organization == personas.org
    assert membership.role == Role.ANALYST
    with pytest.raises(NotFound):
        services.invitation_accept(token=token, user=user)


def test_an_invitation_cannot_be_accepted_by_someone_else(personas):
    invitation = services.invitation_create(actor=personas.admin, email="a@example.test", role=Role.ANALYST)
    with pytest.raises(Forbidden):
        services.invitation_accept(token=invitation.token_encrypted, user=UserFactory(email="b@example.test"))


def test_reinviting_replaces_the_open_invitation(personas):
    first = services.invitation_create(actor=personas.admin, email="a@example.test", role=Role.ANALYST)
    second = services.invitation_create(actor=personas.admin, email="A@example.test", role=Role.TEAM_LEAD)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert list(selectors.invitation_list_open(org=personas.org)) == [second]
    with pytest.raises(NotFound):
        selectors.invitation_get_open_by_token(token=first.token_encrypted)


def test_inviting_a_member_is_a_conflict(personas):
    with pytest.raises(Conflict):
        services.invitation_create(actor=personas.admin, email=personas.agent.user.email.upper(), role="analyst")


def test_a_new_user_can_accept_with_a_password(personas):
    invitation = services.invitation_create(actor=personas.admin, email="fresh@example.test", role=Role.ANALYST)
    membership = services.invitation_accept_new_user(
        token=invitation.token_encrypted, first_name="Ana", last_name="Lyst", password="a-long-pass-phrase"
    )
    assert membership.user.check_password("a-long-pass-phrase")
    assert Invitation.objects.get(id=invitation.id).accepted_at is not None


def test_groups_only_take_accounts_of_their_own_organization(personas):
    theirs = SocialAccountFactory(organization=personas.other_org)
    with pytest.raises(ValidationFailed):
        services.account_group_save(actor=personas.admin, name="France", account_ids=[theirs.id])


def test_duplicate_group_names_are_a_conflict(personas):
    services.account_group_save(actor=personas.admin, name="France")
    with pytest.raises(Conflict):
        services.account_group_save(actor=personas.admin, name="France")


def test_teams_only_take_members_of_their_own_organization(personas):
    with pytest.raises(ValidationFailed):
        services.team_save(actor=personas.lead, name="Care", member_ids=[personas.outsider.id])
    team = services.team_save(actor=personas.lead, name="Care", member_ids=[personas.agent.id])
    assert list(team.members.all()) == [personas.agent]


def test_disconnecting_forgets_the_tokens(personas):
    account = SocialAccountFactory(organization=personas.org)
    services.social_account_disconnect(account=account, actor=personas.admin)
    account.refresh_from_db()
    assert (account.status, account.access_token, account.refresh_token) == ("disconnected", "", "")


def test_api_keys_are_shown_once_and_stored_hashed(personas):
    key, raw = services.api_key_create(actor=personas.admin, name="CRM", scopes=["accounts:read"])
    assert raw.startswith(f"smms_{key.prefix}_")
    assert raw not in key.key_hash
    assert selectors.api_key_authenticate(raw_key=raw) == key
    assert selectors.api_key_authenticate(raw_key=raw + "x") is None
    services.api_key_revoke(api_key=key, actor=personas.admin)
    assert selectors.api_key_authenticate(raw_key=raw) is None


def test_api_keys_need_known_scopes(personas):
    with pytest.raises(ValidationFailed):
        services.api_key_create(actor=personas.admin, name="CRM", scopes=["everything"])


def test_user_preferences_are_validated(personas):
    user = personas.agent.user
    services.user_update_preferences(user=user, language="fr", timezone_name="America/Montreal")
    user.refresh_from_db()
    assert (user.language, user.timezone) == ("fr", "America/Montreal")
    with pytest.raises(ValidationFailed):
        services.user_update_preferences(user=user, language="de")
    with pytest.raises(ValidationFailed):
        services.user_update_preferences(user=user, timezone_name="Mars/Olympus")
