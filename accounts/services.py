"""Writes of the accounts app: organizations, members, invitations, teams, social accounts, groups, API keys.

Each function is keyword-only, checks the actor's right to act (roles.py decides), and wraps multi-row
writes in a transaction. Views and API handlers call these and nothing else to change data.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from smms.connectors.base import Connector
from smms.connectors.errors import AuthRevoked, ConnectorError
from smms.connectors.mastodon import MastodonConnector
from smms.connectors.oauth import pkce_pair
from smms.connectors.types import AccountCandidate, AccountRef, TokenSet
from smms.errors import Conflict, Forbidden, ValidationFailed

from . import selectors
from .models import (
    AccountGroup,
    ApiKey,
    ApprovalPolicy,
    Approvers,
    Invitation,
    Membership,
    Notification,
    NotificationKind,
    Organization,
    PendingConnection,
    PlatformApp,
    SocialAccount,
    SocialAccountStatus,
    Team,
    User,
    validate_timezone,
)
from .platforms import CONNECTABLE, account_ref, capabilities, connector_for, mastodon_instance
from .roles import ASSIGNABLE_ROLES, Perm, Role, Scope, refusal, role_allows

logger = logging.getLogger(__name__)
INVITATION_TTL = timedelta(days=7)
M = TypeVar("M", Membership, SocialAccount, AccountGroup)
N = TypeVar("N", Team, AccountGroup)


def require(membership: Membership | None, perm: Perm) -> None:
    """Raise Forbidden unless the acting membership's role allows ``perm``."""
    if membership is None or not role_allows(membership.role, perm):
        raise Forbidden(refusal(membership.role if membership else None, perm))


def _check_assignable(*, actor: Membership, role: str) -> None:
    if role not in Role.values:
        raise ValidationFailed(_("Unknown role."), field="role")
    if role not in ASSIGNABLE_ROLES.get(actor.role, ()):
        raise Forbidden(_("You cannot give the role %(role)s.") % {"role": Role(role).label})


# --- organizations ----------------------------------------------------------------------------------------
@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    base = slugify(name)[:50] or "org"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    org = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(organization=org, user=owner, role=Role.OWNER)
    return org


# --- members ----------------------------------------------------------------------------------------------
@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    require(actor, Perm.MANAGE_MEMBERS)
    _check_assignable(actor=actor, role=role)
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden(_("Only an owner can change another owner's role."))
    # Lock the organization's owners so two concurrent demotions cannot both pass the last-owner check.
    owners = list(Membership.objects.select_for_update().filter(organization=membership.organization, role=Role.OWNER))
    if membership.role == Role.OWNER and role != Role.OWNER and len(owners) <= 1:
        raise Conflict(_("An organization needs at least one owner."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    if membership.user_id != actor.user_id:
        require(actor, Perm.MANAGE_MEMBERS)
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden(_("Only an owner can remove another owner."))
    owners = list(Membership.objects.select_for_update().filter(organization=membership.organization, role=Role.OWNER))
    if membership.role == Role.OWNER and len(owners) <= 1:
        raise Conflict(_("An organization needs at least one owner."))
    membership.delete()


# --- invitations ------------------------------------------------------------------------------------------
def invitation_create(*, actor: Membership, email: str, role: str) -> Invitation:
    require(actor, Perm.MANAGE_MEMBERS)
    _check_assignable(actor=actor, role=role)
    org = actor.organization
    email = email.strip()
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise Conflict(_("%(email)s is already a member.") % {"email": email}, field="email")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # Re-inviting replaces the open invitation (a new link, the old one stops working).
        Invitation.objects.filter(
            organization=org, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        invitation = Invitation.objects.create(
            organization=org,
            email=email,
            role=role,
            token_hash=selectors.token_hash(token),
            token_encrypted=token,
            invited_by=actor.user,
            expires_at=timezone.now() + INVITATION_TTL,
        )
        from .tasks import invitation_send_email

        transaction.on_commit(lambda: invitation_send_email.delay(invitation.id))
    return invitation


def invitation_send(*, invitation_id: int) -> bool:
    """E-mail an open invitation that was not sent yet. Idempotent: returns False when nothing was sent."""
    invitation = Invitation.objects.select_related("organization", "invited_by").filter(id=invitation_id).first()
    if invitation is None or invitation.sent_at is not None or not invitation.is_open:
        return False
    # Claim the send so two workers (a redelivery, the periodic sweep) cannot both e-mail.
    claimed = Invitation.objects.filter(id=invitation.id, sent_at__isnull=True).update(sent_at=timezone.now())
    if not claimed:
        return False
    link = f"{settings.SMMS_BASE_URL.rstrip('/')}/invitations/{invitation.token_encrypted}/"
    language = invitation.invited_by.language if invitation.invited_by else settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"invitation": invitation, "link": link}
        subject = _("You are invited to %(org)s on SMMS") % {"org": invitation.organization.name}
        body = render_to_string("accounts/email/invitation.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:
        # Un-claim so the sweep tries again; the task's retry also sees it unsent.
        Invitation.objects.filter(id=invitation.id).update(sent_at=None)
        raise
    return True


def invitation_pending_ids(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    cutoff = timezone.now() - older_than
    return list(
        Invitation.objects.filter(
            sent_at__isnull=True,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            created_at__lt=cutoff,
            expires_at__gt=timezone.now(),
        ).values_list("id", flat=True)[:500]
    )


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = selectors.invitation_get_open_by_token(token=token)
    if invitation.email.lower() != user.email.lower():
        raise Forbidden(_("This invitation was sent to another e-mail address."))
    updated = Invitation.objects.filter(id=invitation.id, accepted_at__isnull=True).update(accepted_at=timezone.now())
    if not updated:
        raise Conflict(_("This invitation was already used."))
    membership, _created = Membership.objects.get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def invitation_accept_new_user(*, token: str, first_name: str, last_name: str, password: str) -> Membership:
    invitation = selectors.invitation_get_open_by_token(token=token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise Conflict(_("An account with this e-mail exists: sign in to accept."))
    user = User.objects.create_user(
        email=invitation.email, password=password, first_name=first_name, last_name=last_name
    )
    return invitation_accept(token=token, user=user)


def invitation_revoke(*, invitation: Invitation, actor: Membership) -> None:
    require(actor, Perm.MANAGE_MEMBERS)
    Invitation.objects.filter(id=invitation.id, revoked_at__isnull=True).update(revoked_at=timezone.now())


# --- teams and account groups: named sets of an organization's members or accounts ------------------------
def _org_objects(model: type[M], org: Organization, ids: Iterable[int], field: str, message: str) -> list[M]:
    """The organization's objects with these ids; any id of another organization is a validation error."""
    wanted = set(ids)
    found = list(model._default_manager.filter(organization=org, id__in=wanted))
    if len(found) != len(wanted):
        raise ValidationFailed(message, field=field)
    return found


def _named_set_save(
    *, model: type[N], org: Organization, obj: N | None, name: str, description: str, items: list[Any], exists: str
) -> N:
    try:
        with transaction.atomic():
            if obj is None:
                obj = model._default_manager.create(organization=org, name=name, description=description)
            else:
                obj.name, obj.description = name, description
                obj.save(update_fields=["name", "description"])
            getattr(obj, model.ITEMS).set(items)
    except IntegrityError:
        raise Conflict(exists, field="name") from None
    return obj


def team_save(
    *,
    actor: Membership,
    name: str,
    description: str = "",
    member_ids: Iterable[int] = (),
    team: Team | None = None,
) -> Team:
    require(actor, Perm.MANAGE_TEAMS)
    org = actor.organization
    members = _org_objects(Membership, org, member_ids, "members", _("Some members are not in this organization."))
    return _named_set_save(
        model=Team,
        org=org,
        obj=team,
        name=name,
        description=description,
        items=members,
        exists=_("A team with this name exists."),
    )


def team_delete(*, team: Team, actor: Membership) -> None:
    require(actor, Perm.MANAGE_TEAMS)
    team.delete()


def account_group_save(
    *,
    actor: Membership,
    name: str,
    description: str = "",
    account_ids: Iterable[int] = (),
    group: AccountGroup | None = None,
) -> AccountGroup:
    require(actor, Perm.MANAGE_ACCOUNT_GROUPS)
    org = actor.organization
    accounts = _org_objects(
        SocialAccount, org, account_ids, "accounts", _("Some accounts are not in this organization.")
    )
    return _named_set_save(
        model=AccountGroup,
        org=org,
        obj=group,
        name=name,
        description=description,
        items=accounts,
        exists=_("A group with this name exists."),
    )


def account_group_delete(*, group: AccountGroup, actor: Membership) -> None:
    require(actor, Perm.MANAGE_ACCOUNT_GROUPS)
    group.delete()


@transaction.atomic
def social_account_update(
    *, account: SocialAccount, actor: Membership, display_name: str, group_ids: Iterable[int]
) -> SocialAccount:
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    groups = _org_objects(
        AccountGroup, account.organization, group_ids, "groups", _("Some groups are not in this organization.")
    )
    account.display_name = display_name
    account.save(update_fields=["display_name", "updated_at"])
    account.groups.set(groups)
    return account


def social_account_disconnect(*, account: SocialAccount, actor: Membership) -> SocialAccount:
    """Stop managing the account: revoke our access on the platform where it allows, forget the tokens."""
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    if account.access_token:
        try:
            connector_for(account.platform, instance=account.extra.get("instance")).revoke(account_ref(account))
        except ConnectorError as exc:  # NotSupported included: forgetting the token is what matters here
            logger.info("revocation of %s on %s not done: %s", account.id, account.platform, exc)
    account.status = SocialAccountStatus.DISCONNECTED
    account.access_token = ""
    account.refresh_token = ""
    account.secret = ""
    account.token_expires_at = None
    account.save(update_fields=["status", "access_token", "refresh_token", "secret", "token_expires_at", "updated_at"])
    return account


# --- connecting accounts ----------------------------------------------------------------------------------
PENDING_TTL = timedelta(hours=1)


def _connectable(platform: str) -> None:
    if platform not in CONNECTABLE:
        raise ValidationFailed(_("SMMS cannot connect this network yet."), field="platform")


def _mastodon_app(instance: str | None, redirect_uri: str) -> None:
    """Register SMMS on the Mastodon instance once (Mastodon apps are per server)."""
    base = mastodon_instance(instance)
    connector = connector_for("mastodon", instance=base)
    assert isinstance(connector, MastodonConnector)
    wanted = sorted(connector.config.scopes)
    app = PlatformApp.objects.filter(platform="mastodon", instance=base).first()
    if app is not None and sorted(app.scopes) == wanted:
        return
    client_id, client_secret = connector.register_app(redirect_uri=redirect_uri, website=settings.SMMS_BASE_URL)
    PlatformApp.objects.update_or_create(
        platform="mastodon",
        instance=base,
        defaults={"client_id": client_id, "client_secret": client_secret, "scopes": wanted},
    )


def social_connect_start(
    *, actor: Membership, platform: str, redirect_uri: str, instance: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The platform's consent URL, and the flow state to keep in the session until the callback."""
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    _connectable(platform)
    if not capabilities(platform).oauth:
        raise ValidationFailed(_("This network connects with a sign-in form, not a redirect."), field="platform")
    if platform == "mastodon":
        _mastodon_app(instance, redirect_uri)
        instance = mastodon_instance(instance)
    verifier, _challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    url = connector_for(platform, instance=instance).authorization_url(
        redirect_uri=redirect_uri, state=state, code_verifier=verifier
    )
    flow = {"platform": platform, "state": state, "verifier": verifier, "instance": instance}
    return url, flow


def social_connect_finish(
    *, actor: Membership, flow: dict[str, Any], code: str, state: str, redirect_uri: str
) -> PendingConnection:
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    if not flow or not secrets.compare_digest(str(flow.get("state", "")), state):
        raise ValidationFailed(_("This sign-in link is stale or was not started here. Start again."))
    platform = flow["platform"]
    connector = connector_for(platform, instance=flow.get("instance"))
    tokens = connector.exchange_code(code=code, redirect_uri=redirect_uri, code_verifier=flow["verifier"])
    candidates = connector.list_accounts(tokens)
    return _pending(actor, platform, candidates, secret="")


def social_connect_password(*, actor: Membership, platform: str, identifier: str, password: str) -> PendingConnection:
    """Sign in with an app password (Bluesky); the password is kept, encrypted, to sign in again."""
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    _connectable(platform)
    connector = connector_for(platform)
    tokens = connector.login(identifier=identifier.strip().lstrip("@"), password=password.strip())
    return _pending(actor, platform, connector.list_accounts(tokens), secret=password.strip())


def _pending(actor: Membership, platform: str, candidates: list[AccountCandidate], *, secret: str) -> PendingConnection:
    if not candidates:
        raise ValidationFailed(_("This sign-in gives access to no account SMMS can manage."))
    payload = [
        {
            "remote_id": c.remote_id,
            "handle": c.handle,
            "display_name": c.display_name,
            "avatar_url": c.avatar_url,
            "access_token": c.tokens.access_token,
            "refresh_token": c.tokens.refresh_token,
            "expires_at": c.tokens.expires_at.isoformat() if c.tokens.expires_at else None,
            "scopes": list(c.tokens.scopes),
            "extra": dict(c.extra),
            "secret": secret,
        }
        for c in candidates
    ]
    return PendingConnection.objects.create(
        organization=actor.organization,
        user=actor.user,
        platform=platform,
        candidates=json.dumps(payload),
        expires_at=timezone.now() + PENDING_TTL,
    )


@transaction.atomic
def social_connect_confirm(
    *, actor: Membership, pending: PendingConnection, remote_ids: Iterable[str]
) -> list[SocialAccount]:
    """Add (or reconnect) the chosen accounts with their tokens, then forget the pending sign-in."""
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    wanted = set(remote_ids)
    candidates = [c for c in json.loads(pending.candidates) if c["remote_id"] in wanted]
    if not candidates:
        raise ValidationFailed(_("Choose at least one account."), field="accounts")
    accounts = []
    for c in candidates:
        account, _created = SocialAccount.objects.update_or_create(
            organization=pending.organization,
            platform=pending.platform,
            remote_id=c["remote_id"],
            defaults={
                "handle": c["handle"],
                "display_name": c["display_name"],
                "avatar_url": c["avatar_url"][:500],
                "access_token": c["access_token"],
                "refresh_token": c["refresh_token"],
                "token_expires_at": datetime.fromisoformat(c["expires_at"]) if c["expires_at"] else None,
                "scopes": c["scopes"],
                "extra": c["extra"],
                "secret": c["secret"],
                "status": SocialAccountStatus.CONNECTED,
                "last_error": "",
                "last_error_at": None,
                "refresh_claimed_until": None,
                "connected_by": actor.user,
            },
        )
        accounts.append(account)
    pending.delete()
    return accounts


# --- keeping tokens alive -----------------------------------------------------------------------------------
def social_account_connector(*, account: SocialAccount) -> tuple[Connector, AccountRef]:
    """A connector acting as ``account``, which saves refreshed tokens as soon as a call rotates them."""

    def save(_ref: AccountRef, tokens: TokenSet) -> None:
        social_account_tokens_save(account_id=account.id, tokens=tokens)

    connector = connector_for(account.platform, instance=account.extra.get("instance"), on_tokens=save)
    return connector, account_ref(account)


def social_account_tokens_save(*, account_id: int, tokens: TokenSet) -> None:
    """Both tokens and the expiry in one UPDATE: a rotated refresh token is never half-saved."""
    SocialAccount.objects.filter(id=account_id).update(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_expires_at=tokens.expires_at,
        last_refreshed_at=timezone.now(),
        refresh_claimed_until=None,
        updated_at=timezone.now(),
    )


def social_accounts_refresh_due(*, margin_seconds: int | None = None) -> list[int]:
    margin = settings.SMMS_TOKEN_REFRESH_MARGIN if margin_seconds is None else margin_seconds
    soon = timezone.now() + timedelta(seconds=margin)
    due = SocialAccount.objects.filter(status=SocialAccountStatus.CONNECTED, token_expires_at__lt=soon).exclude(
        refresh_token="", secret=""
    )
    return list(due.values_list("id", flat=True)[:1000])


def social_account_refresh(*, account_id: int) -> str:
    """Refresh one account's tokens. Claimed with a conditional UPDATE so two workers never spend the same
    single-use refresh token; no transaction is held during the platform call. Returns what happened:
    "refreshed", "skipped" (claimed elsewhere, not connected, nothing to refresh with) or "revoked"."""
    now = timezone.now()
    claimed = (
        SocialAccount.objects.filter(id=account_id, status=SocialAccountStatus.CONNECTED)
        .filter(Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lt=now))
        .update(refresh_claimed_until=now + timedelta(minutes=2))
    )
    if not claimed:
        return "skipped"
    account = SocialAccount.objects.get(id=account_id)
    connector = connector_for(account.platform, instance=account.extra.get("instance"))
    ref = account_ref(account)
    if not connector.can_refresh(ref) and not account.secret:  # Facebook, Mastodon: nothing to refresh
        SocialAccount.objects.filter(id=account_id).update(refresh_claimed_until=None)
        return "skipped"
    try:
        tokens = _renew(connector, ref, account.secret)
    except AuthRevoked as exc:
        social_account_mark_revoked(account_id=account_id, reason=str(exc))
        return "revoked"
    except ConnectorError:
        SocialAccount.objects.filter(id=account_id).update(refresh_claimed_until=None)
        raise
    social_account_tokens_save(account_id=account_id, tokens=tokens)
    return "refreshed"


def _renew(connector: Connector, ref: AccountRef, secret: str) -> TokenSet:
    """Refresh; where the refresh token is gone but an app password is kept (Bluesky), sign in again."""
    if connector.can_refresh(ref):
        try:
            return connector.refresh(ref)
        except AuthRevoked:
            if not secret:
                raise
    return connector.login(identifier=ref.handle, password=secret)


def social_account_mark_revoked(*, account_id: int, reason: str) -> bool:
    """Flag the account for reconnecting and tell its organization's owners and admins, once."""
    changed = SocialAccount.objects.filter(id=account_id, status=SocialAccountStatus.CONNECTED).update(
        status=SocialAccountStatus.NEEDS_RECONNECT,
        last_error=reason[:1000],
        last_error_at=timezone.now(),
        refresh_claimed_until=None,
    )
    if changed:
        from .tasks import social_account_notify_revoked

        transaction.on_commit(lambda: social_account_notify_revoked.delay(account_id))
    return bool(changed)


def social_account_notify_revoked(*, account_id: int) -> int:
    account = SocialAccount.objects.select_related("organization").filter(id=account_id).first()
    if account is None or account.status != SocialAccountStatus.NEEDS_RECONNECT:
        return 0
    admins = Membership.objects.filter(
        organization=account.organization, role__in=[Role.OWNER, Role.ADMIN]
    ).select_related("user")
    sent = 0
    for membership in admins:
        with translation.override(membership.user.language):
            subject = _("%(account)s needs reconnecting") % {"account": account}
            body = render_to_string(
                "accounts/email/account_revoked.txt",
                {"account": account, "link": f"{settings.SMMS_BASE_URL.rstrip('/')}/settings/accounts/"},
            )
        send_mail(subject, body, None, [membership.user.email])
        sent += 1
    return sent


# --- API keys ---------------------------------------------------------------------------------------------
def api_key_create(*, actor: Membership, name: str, scopes: Iterable[str]) -> tuple[ApiKey, str]:
    """Create a key; the plaintext is returned once and never stored."""
    require(actor, Perm.MANAGE_API_KEYS)
    scope_list = sorted(set(scopes))
    unknown = [s for s in scope_list if s not in {sc.value for sc in Scope}]
    if unknown or not scope_list:
        raise ValidationFailed(_("Choose at least one known scope."), field="scopes")
    prefix = secrets.token_hex(6)
    raw = f"smms_{prefix}_{secrets.token_urlsafe(32).replace('_', '-')}"
    key = ApiKey.objects.create(
        organization=actor.organization,
        name=name,
        prefix=prefix,
        key_hash=selectors.token_hash(raw),
        scopes=scope_list,
        created_by=actor.user,
    )
    return key, raw


def api_key_revoke(*, api_key: ApiKey, actor: Membership) -> None:
    require(actor, Perm.MANAGE_API_KEYS)
    ApiKey.objects.filter(id=api_key.id, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key to keep the hot path write-free."""
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(id=api_key.id).update(last_used_at=now)


# --- user preferences --------------------------------------------------------------------------------------
def user_update_preferences(
    *,
    user: User,
    language: str | None = None,
    timezone_name: str | None = None,
    notification_emails: bool | None = None,
) -> User:
    fields = []
    if notification_emails is not None:
        user.notification_emails = notification_emails
        fields.append("notification_emails")
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise ValidationFailed(_("Unsupported language."), field="language")
        user.language = language
        fields.append("language")
    if timezone_name is not None:
        try:
            validate_timezone(timezone_name)
        except Exception:
            raise ValidationFailed(_("Unknown time zone."), field="timezone") from None
        user.timezone = timezone_name
        fields.append("timezone")
    if fields:
        user.save(update_fields=fields)
    return user


# --- approval policies ---------------------------------------------------------------------------------------
def approval_policy_save(
    *,
    actor: Membership,
    team: Team | None,
    requires_approval: bool,
    approvers: str,
    self_approval: bool,
) -> ApprovalPolicy:
    """Set the approval rules of ``team`` (None: the organization's default, which teams without their own
    rules follow)."""
    require(actor, Perm.MANAGE_TEAMS)
    if team is not None and team.organization_id != actor.organization_id:
        raise ValidationFailed(_("This team is not in this organization."), field="team")
    if approvers not in Approvers.values:
        raise ValidationFailed(_("Choose who may approve: any approver or the team's leads."), field="approvers")
    values = {"requires_approval": requires_approval, "approvers": approvers, "self_approval": self_approval}
    with transaction.atomic():
        if team is None:
            policy, _created = ApprovalPolicy.objects.select_for_update().update_or_create(
                organization_id=actor.organization_id, team__isnull=True, defaults=values
            )
        else:
            policy, _created = ApprovalPolicy.objects.select_for_update().update_or_create(
                organization_id=actor.organization_id, team=team, defaults=values
            )
    return policy


def approval_policy_reset(*, actor: Membership, team: Team) -> None:
    """Make ``team`` follow the organization's default again."""
    require(actor, Perm.MANAGE_TEAMS)
    ApprovalPolicy.objects.filter(organization_id=actor.organization_id, team=team).delete()


# --- notifications ---------------------------------------------------------------------------------------------
EXCERPT_LENGTH = 80


def excerpt(text: str) -> str:
    """The first words of a post on one line, for a notification's sentence."""
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_LENGTH else f"{flat[: EXCERPT_LENGTH - 1].rstrip()}…"


def notifications_create(
    *,
    organization_id: int,
    recipients: Iterable[User],
    kind: str,
    params: dict[str, Any],
    link: str = "",
    actor: User | None = None,
) -> list[Notification]:
    """Tell each recipient (never the actor: they know what they did) that something happened; e-mail
    them after commit. Call it inside the transaction that makes the event true."""
    if kind not in NotificationKind.values:
        raise ValueError(f"unknown notification kind {kind!r}")
    people = {user.id: user for user in recipients if user is not None and (actor is None or user.id != actor.id)}
    notifications = Notification.objects.bulk_create(
        Notification(organization_id=organization_id, recipient_id=user_id, kind=kind, params=params, link=link)
        for user_id in people
    )
    ids = [n.id for n in notifications]
    if ids:
        transaction.on_commit(lambda: _notifications_enqueue(ids))
    return notifications


def _notifications_enqueue(ids: list[int]) -> None:
    from .tasks import notification_send_email

    for notification_id in ids:
        notification_send_email.delay(notification_id)


def notification_create_once(
    *, organization_id: int, recipient: User, kind: str, params: dict[str, Any], link: str = ""
) -> Notification:
    """An in-app notification whose e-mail its caller sends itself; the same one twice is stored once."""
    existing = Notification.objects.filter(
        organization_id=organization_id, recipient=recipient, kind=kind, link=link, params=params
    ).first()
    if existing is not None:
        return existing
    return Notification.objects.create(
        organization_id=organization_id,
        recipient=recipient,
        kind=kind,
        params=params,
        link=link,
        emailed_at=timezone.now(),
    )


def notification_unsent_ids(
    *, older_than: timedelta = timedelta(minutes=2), newer_than: timedelta = timedelta(days=1)
) -> list[int]:
    """Notifications whose e-mail no task claimed (its on-commit enqueue was lost), for the periodic sweep. Old
    ones are left alone: a day-old e-mail about a post would be news no longer."""
    now = timezone.now()
    return list(
        Notification.objects.filter(
            emailed_at__isnull=True, created_at__lt=now - older_than, created_at__gt=now - newer_than
        ).values_list("id", flat=True)[:500]
    )


def notification_mark_read(*, notification: Notification, user: User) -> None:
    if notification.recipient_id != user.id:
        raise Forbidden(_("This notification is someone else's."))
    Notification.objects.filter(id=notification.id, read_at__isnull=True).update(read_at=timezone.now())


def notifications_mark_all_read(*, organization: Organization, user: User) -> int:
    return Notification.objects.filter(organization=organization, recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def notification_email(*, notification_id: int) -> bool:
    """E-mail one notification to its recipient, in their language, once: the claim on ``emailed_at`` makes a
    repeated task (a redelivery, a retry) send nothing. Nothing is sent to someone who turned e-mails off."""
    claimed = Notification.objects.filter(id=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    notification = Notification.objects.select_related("recipient", "organization").get(id=notification_id)
    recipient = notification.recipient
    if not recipient.notification_emails or not recipient.email:
        return False
    with translation.override(recipient.language):
        # One line: a post's text may hold line breaks, which a mail header must not.
        subject = " ".join(notification.sentence.split())[:200]
        body = render_to_string(
            "accounts/email/notification.txt",
            {
                "notification": notification,
                "quoted": _quoted(str(notification.params.get("text", ""))),
                "link": f"{settings.SMMS_BASE_URL.rstrip('/')}{notification.link}" if notification.link else "",
                "settings_link": f"{settings.SMMS_BASE_URL.rstrip('/')}/profile/",
            },
        )
    try:
        send_mail(subject, body, None, [recipient.email])
    except Exception:
        Notification.objects.filter(id=notification_id).update(emailed_at=None)
        raise
    return True


def _quoted(text: str) -> str:
    """The post as an e-mail quote: every line behind "> ", so it reads as the author's words, not ours."""
    return "\n".join(f"> {line}".rstrip() for line in text.splitlines()) if text.strip() else ""
