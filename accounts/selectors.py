"""Reads that decide what an organization or user may see. Every id from a URL, a form or the API is
fetched through one of these, scoped to the acting organization, so another tenant's id is a 404."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from smms.errors import NotFound

from .models import (
    AccountGroup,
    ApiKey,
    ApprovalPolicy,
    Approvers,
    Invitation,
    Membership,
    Notification,
    Organization,
    PendingConnection,
    Platform,
    SocialAccount,
    SocialAccountStatus,
    Team,
    User,
)
from .roles import Perm, Role, refusal, role_allows, roles_with


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- memberships ------------------------------------------------------------------------------------------
def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")


def membership_get_for_user(*, user: User, organization_id: int) -> Membership:
    try:
        return Membership.objects.select_related("organization").get(user=user, organization_id=organization_id)
    except Membership.DoesNotExist:
        raise NotFound("organization") from None


def member_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=org).select_related("user").order_by("user__email")


def member_get(*, org: Organization, membership_id: int) -> Membership:
    try:
        return member_list(org=org).get(id=membership_id)
    except (Membership.DoesNotExist, ValueError):
        raise NotFound("member") from None


def owner_count(*, org: Organization) -> int:
    return Membership.objects.filter(organization=org, role="owner").count()


# --- invitations ------------------------------------------------------------------------------------------
def invitation_list_open(*, org: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        organization=org, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_get(*, org: Organization, invitation_id: int) -> Invitation:
    try:
        return Invitation.objects.get(organization=org, id=invitation_id)
    except (Invitation.DoesNotExist, ValueError):
        raise NotFound("invitation") from None


def invitation_get_open_by_token(*, token: str) -> Invitation:
    """The invitation a link points at; expired, revoked or used links are NotFound."""
    try:
        invitation = Invitation.objects.select_related("organization").get(token_hash=token_hash(token))
    except Invitation.DoesNotExist:
        raise NotFound("invitation") from None
    if not invitation.is_open:
        raise NotFound("invitation")
    return invitation


# --- teams ------------------------------------------------------------------------------------------------
def team_list(*, org: Organization) -> QuerySet[Team]:
    return (
        Team.objects.filter(organization=org)
        .annotate(member_count=Count("members"))
        .select_related("approval_policy")
        .prefetch_related(Prefetch("members", queryset=Membership.objects.select_related("user")))
    )


def team_get(*, org: Organization, team_id: int) -> Team:
    try:
        return team_list(org=org).get(id=team_id)
    except (Team.DoesNotExist, ValueError):
        raise NotFound("team") from None


# --- social accounts and groups ------------------------------------------------------------------------------
def social_account_list(
    *, org: Organization, platform: str | None = None, status: str | None = None, group_id: int | None = None
) -> QuerySet[SocialAccount]:
    qs = SocialAccount.objects.filter(organization=org).prefetch_related("groups")
    if platform:
        qs = qs.filter(platform=platform)
    if status:
        qs = qs.filter(status=status)
    if group_id:
        qs = qs.filter(groups__id=group_id)
    return qs


def social_account_get(*, org: Organization, account_id: int) -> SocialAccount:
    try:
        return SocialAccount.objects.prefetch_related("groups").get(organization=org, id=account_id)
    except (SocialAccount.DoesNotExist, ValueError):
        raise NotFound("social account") from None


def account_group_list(*, org: Organization) -> QuerySet[AccountGroup]:
    return (
        AccountGroup.objects.filter(organization=org)
        .annotate(account_count=Count("accounts"))
        .prefetch_related("accounts")
    )


def account_group_get(*, org: Organization, group_id: int) -> AccountGroup:
    try:
        return account_group_list(org=org).get(id=group_id)
    except (AccountGroup.DoesNotExist, ValueError):
        raise NotFound("account group") from None


# --- API keys ---------------------------------------------------------------------------------------------
def api_key_list(*, org: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=org, revoked_at__isnull=True).select_related("created_by")


def api_key_get(*, org: Organization, api_key_id: int) -> ApiKey:
    try:
        return ApiKey.objects.get(organization=org, id=api_key_id)
    except (ApiKey.DoesNotExist, ValueError):
        raise NotFound("API key") from None


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The live key matching ``raw_key`` (format ``smms_<prefix>_<secret>``), or None."""
    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != "smms":
        return None
    key = ApiKey.objects.select_related("organization").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None:
        return None
    if not hmac.compare_digest(key.key_hash, token_hash(raw_key)):
        return None
    return key


def social_account_summary(*, org: Organization) -> dict[str, Any]:
    """Totals for the dashboard: accounts by status and a per-network bar chart (percent of the largest)."""
    accounts = list(social_account_list(org=org))
    per_platform = Counter(a.platform for a in accounts)
    peak = max(per_platform.values(), default=1)
    labels = dict(Platform.choices)
    return {
        "account_total": len(accounts),
        "connected": sum(1 for a in accounts if a.status == SocialAccountStatus.CONNECTED),
        "needs_reconnect": [a for a in accounts if a.status == SocialAccountStatus.NEEDS_RECONNECT],
        "platform_chart": [
            {"label": labels.get(p, p), "count": n, "percent": round(100 * n / peak)}
            for p, n in per_platform.most_common()
        ],
    }


def pending_connection_get(*, membership: Membership, pending_id: int) -> PendingConnection:
    """A sign-in waiting for its owner to pick accounts: only the person who signed in, in the same
    organization, before it expires."""
    try:
        return PendingConnection.objects.get(
            id=pending_id,
            organization=membership.organization,
            user=membership.user,
            expires_at__gt=timezone.now(),
        )
    except (PendingConnection.DoesNotExist, ValueError):
        raise NotFound("pending connection") from None


def pending_connection_candidates(*, pending: PendingConnection) -> list[dict[str, Any]]:
    """What the picker shows: no tokens leave this function."""
    existing = set(
        SocialAccount.objects.filter(organization=pending.organization, platform=pending.platform).values_list(
            "remote_id", flat=True
        )
    )
    return [
        {
            "remote_id": c["remote_id"],
            "handle": c["handle"],
            "display_name": c["display_name"],
            "avatar_url": c["avatar_url"],
            "already_connected": c["remote_id"] in existing,
        }
        for c in json.loads(pending.candidates)
    ]


# --- approval policies --------------------------------------------------------------------------------------
# What applies when an organization has saved no default of its own.
BUILT_IN_POLICY = {"requires_approval": True, "approvers": Approvers.ANY, "self_approval": True}


def approval_policy_default(*, org: Organization) -> ApprovalPolicy:
    """The organization's default policy: its saved row, or an unsaved one with the built-in values."""
    policy = ApprovalPolicy.objects.filter(organization=org, team__isnull=True).first()
    return policy or ApprovalPolicy(organization=org, team=None, **BUILT_IN_POLICY)


def approval_policy_for_team(*, team: Team) -> ApprovalPolicy | None:
    """The team's own policy, or None when the team follows the organization's default."""
    return ApprovalPolicy.objects.filter(organization_id=team.organization_id, team=team).first()


@dataclass(frozen=True)
class ApprovalRules:
    """The approval rules that apply to one author's posts, from the author's teams (or the default)."""

    requires_approval: bool
    # False: any member who may approve posts. True: only the leads of the restricting teams, admins and owners.
    leads_only: bool
    # The memberships of those teams' leads (team members with the team lead role), and the teams' names.
    lead_member_ids: frozenset[int]
    lead_team_names: tuple[str, ...]
    self_approval: bool
    # The teams whose rules apply, for the audit trail; empty for the organization's default.
    team_names: tuple[str, ...]


def approval_rules(*, org: Organization, author: User | None) -> ApprovalRules:
    """The rules for posts written by ``author`` in ``org``. A member of several teams needs approval if any
    of them requires it; the teams that require it decide who approves (a team restricted to its leads
    restricts the post) and whether an approver may approve their own post (only if all of them allow it).
    A member of no team (or an author who left) follows the organization's default."""
    default = approval_policy_default(org=org)
    teams: list[Team] = []
    if author is not None:
        teams = list(
            Team.objects.filter(organization=org, members__user=author)
            .select_related("approval_policy")
            .order_by("name")
        )
    applying: list[tuple[Team | None, ApprovalPolicy]] = [
        (team, getattr(team, "approval_policy", None) or default) for team in teams
    ] or [(None, default)]
    governing = [(team, policy) for team, policy in applying if policy.requires_approval] or applying
    restricted = [team for team, policy in governing if policy.approvers == Approvers.TEAM_LEADS]
    restricting_teams = [team.id for team in restricted if team is not None]
    leads = (
        Membership.objects.filter(teams__in=restricting_teams, role=Role.TEAM_LEAD).values_list("id", flat=True)
        if restricting_teams
        else []
    )
    return ApprovalRules(
        requires_approval=any(policy.requires_approval for _team, policy in applying),
        leads_only=bool(restricted),
        lead_member_ids=frozenset(leads),
        lead_team_names=tuple(team.name for team in restricted if team is not None),
        self_approval=all(policy.self_approval for _team, policy in governing),
        team_names=tuple(team.name for team, _policy in governing if team is not None),
    )


def approval_refusal(*, approver: Membership, author: User | None, rules: ApprovalRules) -> str | None:
    """Why ``approver`` may not approve a post by ``author`` under ``rules``, as a sentence; None if they may."""
    if not role_allows(approver.role, Perm.APPROVE_POSTS):
        return refusal(approver.role, Perm.APPROVE_POSTS)
    if author is not None and approver.user_id == author.id and not rules.self_approval:
        return _("You cannot approve your own post: another approver must (four-eyes rule).")
    if rules.leads_only and approver.role not in (Role.OWNER, Role.ADMIN):
        if approver.id in rules.lead_member_ids:
            return None
        if rules.lead_team_names:
            return _("Only the leads of %(teams)s, admins and owners may approve this post.") % {
                "teams": ", ".join(rules.lead_team_names)
            }
        return _("Only admins and owners may approve this post.")
    return None


def approver_list(*, org: Organization, author: User | None, rules: ApprovalRules) -> list[Membership]:
    """Every member of ``org`` who may approve a post by ``author`` under ``rules``."""
    candidates = Membership.objects.filter(organization=org, role__in=roles_with(Perm.APPROVE_POSTS)).select_related(
        "user"
    )
    return [m for m in candidates if approval_refusal(approver=m, author=author, rules=rules) is None]


# --- notifications ------------------------------------------------------------------------------------------
def notification_list(*, org: Organization, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(organization=org, recipient=user).order_by("-created_at", "-id")


def notification_get(*, org: Organization, user: User, notification_id: int) -> Notification:
    """One of the user's notifications in ``org``; anyone else's (another organization's included) is NotFound."""
    notification = notification_list(org=org, user=user).filter(id=notification_id).first()
    if notification is None:
        raise NotFound("notification")
    return notification


def notification_unread_count(*, org: Organization, user: User) -> int:
    return Notification.objects.filter(organization=org, recipient=user, read_at__isnull=True).count()
