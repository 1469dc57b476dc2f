from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from .models import Approvers, Organization
from .roles import ASSIGNABLE_ROLES, SCOPE_LABELS, Role

TIMEZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


def _role_choices(actor_role: str) -> list[tuple[str, str]]:
    allowed = ASSIGNABLE_ROLES.get(actor_role, ())
    return [(value, label) for value, label in Role.choices if value in allowed]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(actor_role)  # type: ignore[attr-defined]
        self.fields["role"].initial = Role.COMMUNITY_MANAGER


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor_role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(actor_role)  # type: ignore[attr-defined]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=240, required=False)
    members = forms.TypedMultipleChoiceField(
        label=_("Members"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [  # type: ignore[attr-defined]
            (m.id, str(m.user)) for m in org.memberships.select_related("user").order_by("user__email")
        ]


class ApprovalPolicyForm(forms.Form):
    """The approval rules of a team (or of the organization, for teams without their own)."""

    inherit = forms.BooleanField(label=_("Follow the organization's default rules"), required=False)
    requires_approval = forms.BooleanField(
        label=_("Posts by the members need approval before scheduling"), required=False
    )
    approvers = forms.ChoiceField(label=_("Who may approve"), choices=Approvers.choices)
    self_approval = forms.BooleanField(label=_("Approvers may approve their own posts"), required=False)

    def __init__(self, *args: Any, for_team: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not for_team:
            del self.fields["inherit"]


class AccountGroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=240, required=False)
    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].choices = [(a.id, str(a)) for a in org.social_accounts.all()]  # type: ignore[attr-defined]


class SocialAccountForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=200, required=False)
    groups = forms.TypedMultipleChoiceField(
        label=_("Groups"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, org: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [(g.id, g.name) for g in org.account_groups.all()]  # type: ignore[attr-defined]


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=list(SCOPE_LABELS.items()), widget=forms.CheckboxSelectMultiple
    )


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES)
    notification_emails = forms.BooleanField(label=_("E-mail me my notifications"), required=False)


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Organization name"), max_length=120)


class AcceptInvitationForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("Password again"), widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        elif data.get("password1"):
            try:
                validate_password(data["password1"])
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class MastodonInstanceForm(forms.Form):
    instance = forms.URLField(
        label=_("Mastodon server"),
        initial="https://mastodon.social",
        assume_scheme="https",
        help_text=_("The address of your server."),
    )


class AppPasswordForm(forms.Form):
    identifier = forms.CharField(label=_("Handle"), max_length=253, help_text=_("For example brand.bsky.social"))
    password = forms.CharField(
        label=_("App password"),
        widget=forms.PasswordInput,
        help_text=_("Create one in Bluesky: Settings → Privacy and security → App passwords."),
    )


class PickAccountsForm(forms.Form):
    accounts = forms.MultipleChoiceField(label=_("Accounts to manage"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, candidates: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accounts"].choices = [  # type: ignore[attr-defined]
            (c["remote_id"], f"{c['display_name']} (@{c['handle']})") for c in candidates
        ]
        self.fields["accounts"].initial = [c["remote_id"] for c in candidates]
