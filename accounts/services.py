"""Writes of the accounts app: organizations, members, invitations, teams, social accounts, groups, API keys.

Each function is keyword-only, checks the actor's right to act (roles.py decides), and wraps multi-row
writes in a transaction. Views and API handlers call these and nothing else to change data.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from smms.errors import Conflict, Forbidden, ValidationFailed

from . import selectors
from .models import (
    AccountGroup,
    ApiKey,
    Invitation,
    Membership,
    Organization,
    SocialAccount,
    SocialAccountStatus,
    Team,
    User,
    validate_timezone,
)
from .roles import ASSIGNABLE_ROLES, Perm, Role, Scope, role_allows

INVITATION_TTL = timedelta(days=7)
M = TypeVar("M", Membership, SocialAccount, AccountGroup)
N = TypeVar("N", Team, AccountGroup)


def require(membership: Membership | None, perm: Perm) -> None:
    """Raise Forbidden unless the acting membership's role allows ``perm``."""
    if membership is None or not role_allows(membership.role, perm):
        raise Forbidden(perm.value)


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
    """Stop managing the account: forget its tokens. (Revocation on the platform comes with connectors.)"""
    require(actor, Perm.MANAGE_SOCIAL_ACCOUNTS)
    account.status = SocialAccountStatus.DISCONNECTED
    account.access_token = ""
    account.refresh_token = ""
    account.token_expires_at = None
    account.save(update_fields=["status", "access_token", "refresh_token", "token_expires_at", "updated_at"])
    return account


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
def user_update_preferences(*, user: User, language: str | None = None, timezone_name: str | None = None) -> User:
    fields = []
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
