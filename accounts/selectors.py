"""Reads that decide what an organization or user may see. Every id from a URL, a form or the API is
fetched through one of these, scoped to the acting organization, so another tenant's id is a 404."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from smms.errors import NotFound

from .models import (
    AccountGroup,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    PendingConnection,
    Platform,
    SocialAccount,
    SocialAccountStatus,
    Team,
    User,
)


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
