import pytest

from accounts.roles import ASSIGNABLE_ROLES, Perm, Role, role_allows


@pytest.mark.parametrize(
    ("role", "perm", "allowed"),
    [
        (Role.OWNER, Perm.MANAGE_ORGANIZATION, True),
        (Role.ADMIN, Perm.MANAGE_ORGANIZATION, False),
        (Role.ADMIN, Perm.MANAGE_MEMBERS, True),
        (Role.ADMIN, Perm.MANAGE_SOCIAL_ACCOUNTS, True),
        (Role.TEAM_LEAD, Perm.MANAGE_TEAMS, True),
        (Role.TEAM_LEAD, Perm.ASSIGN_CONVERSATIONS, True),
        (Role.TEAM_LEAD, Perm.MANAGE_MEMBERS, False),
        (Role.COMMUNITY_MANAGER, Perm.REPLY_CONVERSATIONS, True),
        (Role.COMMUNITY_MANAGER, Perm.ASSIGN_CONVERSATIONS, False),
        (Role.COMMUNITY_MANAGER, Perm.APPROVE_POSTS, False),
        (Role.ANALYST, Perm.VIEW, True),
        (Role.ANALYST, Perm.REPLY_CONVERSATIONS, False),
        (Role.ANALYST, Perm.COMPOSE_POSTS, False),
        (None, Perm.VIEW, False),
        ("intruder", Perm.VIEW, False),
    ],
)
def test_role_allows_exactly_what_the_matrix_says(role, perm, allowed):
    assert role_allows(role, perm) is allowed


def test_the_analyst_role_is_read_only():
    # Seeing every queue's conversations is reading, not changing.
    assert [p for p in Perm if role_allows(Role.ANALYST, p)] == [Perm.VIEW, Perm.SEE_ALL_CONVERSATIONS]


def test_community_managers_see_their_teams_queues_only_and_admins_read_the_audit_log():
    assert not role_allows(Role.COMMUNITY_MANAGER, Perm.SEE_ALL_CONVERSATIONS)
    assert role_allows(Role.TEAM_LEAD, Perm.SEE_ALL_CONVERSATIONS)
    assert not role_allows(Role.TEAM_LEAD, Perm.VIEW_AUDIT_LOG)
    assert role_allows(Role.ADMIN, Perm.VIEW_AUDIT_LOG)


def test_nobody_can_hand_out_a_role_above_their_own():
    assert Role.OWNER not in ASSIGNABLE_ROLES[Role.ADMIN]
    assert Role.TEAM_LEAD not in ASSIGNABLE_ROLES
    assert Role.ANALYST not in ASSIGNABLE_ROLES


def test_a_refusal_says_which_role_and_what_it_may_not_do(personas):
    import pytest

    from accounts.roles import Perm
    from accounts.services import require
    from smms.errors import Forbidden

    with pytest.raises(Forbidden) as refused:
        require(personas.agent, Perm.APPROVE_POSTS)
    assert str(refused.value) == "Your role (Community manager) does not allow you to approve posts."
