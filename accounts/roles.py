"""Roles and what each may do: the one place where permissions are decided.

Views use ``accounts.permissions`` (mixins/decorators) and the API uses ``smms.api.permissions``; both ask
``role_allows`` here, so a rule changes in one line.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    TEAM_LEAD = "team_lead", _("Team lead")
    COMMUNITY_MANAGER = "community_manager", _("Community manager")
    ANALYST = "analyst", _("Analyst (read-only)")


class Perm(StrEnum):
    VIEW = "view"  # see the organization's dashboards, accounts and conversations
    MANAGE_ORGANIZATION = "manage_organization"  # rename, delete, transfer ownership
    MANAGE_MEMBERS = "manage_members"  # invite, change roles, remove
    MANAGE_TEAMS = "manage_teams"
    MANAGE_SOCIAL_ACCOUNTS = "manage_social_accounts"  # connect, disconnect, edit
    MANAGE_ACCOUNT_GROUPS = "manage_account_groups"
    MANAGE_API_KEYS = "manage_api_keys"
    ASSIGN_CONVERSATIONS = "assign_conversations"  # also: queues, routing, canned replies, VIPs, agents' capacity
    SEE_ALL_CONVERSATIONS = "see_all_conversations"  # without it, only the queues of one's teams (and one's own)
    VIEW_AUDIT_LOG = "view_audit_log"
    REPLY_CONVERSATIONS = "reply_conversations"
    COMPOSE_POSTS = "compose_posts"
    APPROVE_POSTS = "approve_posts"
    MANAGE_TOPICS = "manage_topics"
    MANAGE_WEBHOOKS = "manage_webhooks"  # endpoints receive the organization's events: only admins choose them


# What each permission lets a person do, for the message that tells them their role does not allow it.
PERM_ACTIONS = {
    Perm.VIEW: _("see this organization"),
    Perm.MANAGE_ORGANIZATION: _("manage the organization"),
    Perm.MANAGE_MEMBERS: _("manage its members"),
    Perm.MANAGE_TEAMS: _("manage its teams"),
    Perm.MANAGE_SOCIAL_ACCOUNTS: _("manage its social accounts"),
    Perm.MANAGE_ACCOUNT_GROUPS: _("manage its account groups"),
    Perm.MANAGE_API_KEYS: _("manage its API keys"),
    Perm.ASSIGN_CONVERSATIONS: _("assign conversations and manage the inbox's queues"),
    Perm.SEE_ALL_CONVERSATIONS: _("see every queue's conversations"),
    Perm.VIEW_AUDIT_LOG: _("read the moderation audit log"),
    Perm.REPLY_CONVERSATIONS: _("reply to conversations"),
    Perm.COMPOSE_POSTS: _("compose posts"),
    Perm.APPROVE_POSTS: _("approve posts"),
    Perm.MANAGE_TOPICS: _("manage listening topics"),
    Perm.MANAGE_WEBHOOKS: _("manage webhooks"),
}


def refusal(role: str | None, perm: Perm) -> str:
    """The sentence a person reads when their role does not allow ``perm``."""
    if role is None:
        return _("You are not a member of this organization.")
    return _("Your role (%(role)s) does not allow you to %(action)s.") % {
        "role": Role(role).label,
        "action": PERM_ACTIONS.get(perm, perm.value),
    }


_WORK = {Perm.VIEW, Perm.REPLY_CONVERSATIONS, Perm.COMPOSE_POSTS}
_LEAD = _WORK | {
    Perm.MANAGE_TEAMS,
    Perm.ASSIGN_CONVERSATIONS,
    Perm.SEE_ALL_CONVERSATIONS,
    Perm.APPROVE_POSTS,
    Perm.MANAGE_TOPICS,
}
_ADMIN = _LEAD | {
    Perm.VIEW_AUDIT_LOG,
    Perm.MANAGE_MEMBERS,
    Perm.MANAGE_SOCIAL_ACCOUNTS,
    Perm.MANAGE_ACCOUNT_GROUPS,
    Perm.MANAGE_API_KEYS,
    Perm.MANAGE_WEBHOOKS,
}

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(_ADMIN),
    Role.TEAM_LEAD: frozenset(_LEAD),
    Role.COMMUNITY_MANAGER: frozenset(_WORK),
    Role.ANALYST: frozenset({Perm.VIEW, Perm.SEE_ALL_CONVERSATIONS}),  # reads every area, changes nothing
}

# Roles a member may hand out: nobody grants more than they hold, and only owners create owners.
ASSIGNABLE_ROLES: dict[str, tuple[str, ...]] = {
    Role.OWNER: tuple(Role.values),
    Role.ADMIN: (Role.ADMIN, Role.TEAM_LEAD, Role.COMMUNITY_MANAGER, Role.ANALYST),
}


def role_allows(role: str | None, perm: Perm) -> bool:
    if role is None:
        return False
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(perm: Perm) -> list[str]:
    """Every role that allows ``perm``, for a query on members (``role__in=roles_with(...)``)."""
    return [role for role in Role.values if role_allows(role, perm)]


class Scope(StrEnum):
    """API-key scopes: ``<area>:read`` allows safe methods, ``<area>:write`` allows changes."""

    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    MEMBERS_READ = "members:read"
    MEMBERS_WRITE = "members:write"
    LISTENING_READ = "listening:read"
    LISTENING_WRITE = "listening:write"
    PUBLISHING_READ = "publishing:read"
    PUBLISHING_WRITE = "publishing:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    ANALYTICS_READ = "analytics:read"
    MODERATION_READ = "moderation:read"
    MODERATION_WRITE = "moderation:write"


SCOPE_LABELS = {
    Scope.ACCOUNTS_READ: _("Read social accounts and groups"),
    Scope.ACCOUNTS_WRITE: _("Change social accounts and groups"),
    Scope.MEMBERS_READ: _("Read members"),
    Scope.MEMBERS_WRITE: _("Change members"),
    Scope.LISTENING_READ: _("Read topics and mentions"),
    Scope.LISTENING_WRITE: _("Change topics"),
    Scope.PUBLISHING_READ: _("Read campaigns, posts and their deliveries"),
    Scope.PUBLISHING_WRITE: _("Compose, approve, schedule and cancel posts; change campaigns"),
    Scope.WEBHOOKS_READ: _("Read webhook endpoints and their deliveries"),
    Scope.WEBHOOKS_WRITE: _("Change webhook endpoints, rotate their secrets, send test events"),
    Scope.ANALYTICS_READ: _("Read the metrics of published posts, accounts and campaigns"),
    Scope.MODERATION_READ: _("Read the inbox: conversations and their messages"),
    Scope.MODERATION_WRITE: _(
        "Assign, reply to, like, hide and resolve conversations; change queues, canned replies and VIPs"
    ),
}
