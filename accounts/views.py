"""Dashboard views of the accounts app: thin, each parses input, calls one service or selector, renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smms.connectors.errors import AuthRevoked, ConnectorError, RateLimited, Transient
from smms.errors import DomainError, Forbidden

from . import selectors, services
from .forms import (
    AcceptInvitationForm,
    AccountGroupForm,
    ApiKeyForm,
    AppPasswordForm,
    ApprovalPolicyForm,
    InviteForm,
    MastodonInstanceForm,
    OrganizationForm,
    PickAccountsForm,
    ProfileForm,
    RoleForm,
    SocialAccountForm,
    TeamForm,
)
from .middleware import SESSION_ORG_KEY
from .models import Platform, SocialAccountStatus
from .permissions import org_required
from .platforms import CONNECTABLE, capabilities
from .roles import SCOPE_LABELS, Perm


def _attach_error(form: Form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _submit(
    request: HttpRequest, form: Form, action: Callable[[dict[str, Any]], object], success: str, to: str
) -> HttpResponse | None:
    """On a valid POST, run the service ``action`` with the cleaned data: a domain error becomes a form
    error (the page is shown again), success a message and a redirect. None means "render the form"."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        action(form.cleaned_data)
    except DomainError as exc:
        _attach_error(form, exc)
        return None
    messages.success(request, success)
    return redirect(to)


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return redirect(target)
    return redirect(fallback)


# --- dashboard --------------------------------------------------------------------------------------------
@org_required(Perm.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    context = selectors.social_account_summary(org=org)
    context["member_count"] = selectors.member_list(org=org).count()
    context["team_count"] = selectors.team_list(org=org).count()
    return render(request, "accounts/dashboard.html", context)


@login_required
@require_POST
def organization_switch(request: HttpRequest) -> HttpResponse:
    try:
        org_id = int(request.POST.get("organization", ""))
    except ValueError:
        org_id = 0
    membership = selectors.membership_get_for_user(user=request.user, organization_id=org_id)  # type: ignore[arg-type]
    request.session[SESSION_ORG_KEY] = membership.organization_id
    return _back(request, reverse("dashboard"))


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        org = services.organization_create(name=form.cleaned_data["name"], owner=request.user)  # type: ignore[arg-type]
        request.session[SESSION_ORG_KEY] = org.id
        messages.success(request, _("Organization created."))
        return redirect("dashboard")
    return render(request, "accounts/organization_new.html", {"form": form})


# --- profile ----------------------------------------------------------------------------------------------
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    initial = {
        "first_name": user.first_name,  # type: ignore[union-attr]
        "last_name": user.last_name,  # type: ignore[union-attr]
        "language": user.language,  # type: ignore[union-attr]
        "timezone": user.timezone,  # type: ignore[union-attr]
        "notification_emails": user.notification_emails,  # type: ignore[union-attr]
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        user.first_name = form.cleaned_data["first_name"]  # type: ignore[union-attr]
        user.last_name = form.cleaned_data["last_name"]  # type: ignore[union-attr]
        user.save(update_fields=["first_name", "last_name"])  # type: ignore[union-attr]
        services.user_update_preferences(
            user=user,  # type: ignore[arg-type]
            language=form.cleaned_data["language"],
            timezone_name=form.cleaned_data["timezone"],
            notification_emails=form.cleaned_data["notification_emails"],
        )
        messages.success(request, _("Profile saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    try:
        services.user_update_preferences(user=request.user, language=request.POST.get("language", ""))  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("dashboard"))


# --- settings ---------------------------------------------------------------------------------------------
@org_required(Perm.VIEW)
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/settings/index.html")


@org_required(Perm.MANAGE_MEMBERS)
def members(request: HttpRequest) -> HttpResponse:
    actor = request.membership  # type: ignore[attr-defined]
    form = InviteForm(request.POST or None, actor_role=actor.role)
    email = form.data.get("email", "")
    done = _submit(
        request,
        form,
        lambda d: services.invitation_create(actor=actor, email=d["email"], role=d["role"]),
        _("Invitation sent to %(email)s.") % {"email": email},
        "members",
    )
    return done or render(
        request,
        "accounts/settings/members.html",
        {
            "form": form,
            "members": selectors.member_list(org=request.org),  # type: ignore[attr-defined]
            "invitations": selectors.invitation_list_open(org=request.org),  # type: ignore[attr-defined]
            "role_form": RoleForm(actor_role=actor.role),
        },
    )


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def member_role(request: HttpRequest, member_id: int) -> HttpResponse:
    actor = request.membership  # type: ignore[attr-defined]
    member = selectors.member_get(org=request.org, membership_id=member_id)  # type: ignore[attr-defined]
    form = RoleForm(request.POST, actor_role=actor.role)
    if not form.is_valid():
        messages.error(request, _("Choose a role you may give."))
        return redirect("members")
    try:
        services.membership_change_role(membership=member, role=form.cleaned_data["role"], actor=actor)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Role of %(user)s changed.") % {"user": member.user})
    return redirect("members")


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    member = selectors.member_get(org=request.org, membership_id=member_id)  # type: ignore[attr-defined]
    try:
        services.membership_remove(membership=member, actor=request.membership)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s was removed.") % {"user": member.user})
    return redirect("members")


@org_required(Perm.MANAGE_MEMBERS)
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = selectors.invitation_get(org=request.org, invitation_id=invitation_id)  # type: ignore[attr-defined]
    services.invitation_revoke(invitation=invitation, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("Invitation revoked."))
    return redirect("members")


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_get_open_by_token(token=token)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST":
        try:
            if request.user.is_authenticated:
                membership = services.invitation_accept(token=token, user=request.user)  # type: ignore[arg-type]
            elif form.is_valid():
                membership = services.invitation_accept_new_user(
                    token=token,
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                    password=form.cleaned_data["password1"],
                )
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                membership = None
        except DomainError as exc:
            messages.error(request, exc.message)
        except Forbidden as exc:
            messages.error(request, str(exc))
        else:
            if membership is not None:
                request.session[SESSION_ORG_KEY] = membership.organization_id
                messages.success(request, _("Welcome to %(org)s.") % {"org": membership.organization})
                return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation, "form": form})


def _policy_initial(policy: Any, inherit: bool) -> dict[str, Any]:
    return {
        "inherit": inherit,
        "requires_approval": policy.requires_approval,
        "approvers": policy.approvers,
        "self_approval": policy.self_approval,
    }


def _save_policy(actor: Any, team: Any, data: dict[str, Any]) -> object:
    if team is not None and data.get("inherit"):
        services.approval_policy_reset(actor=actor, team=team)
        return None
    return services.approval_policy_save(
        actor=actor,
        team=team,
        requires_approval=data["requires_approval"],
        approvers=data["approvers"],
        self_approval=data["self_approval"],
    )


@org_required(Perm.MANAGE_TEAMS)
def teams(request: HttpRequest) -> HttpResponse:
    org, actor = request.org, request.membership  # type: ignore[attr-defined]
    default = selectors.approval_policy_default(org=org)
    policy_posted = request.method == "POST" and request.POST.get("form") == "policy"
    form = TeamForm(request.POST if request.method == "POST" and not policy_posted else None, org=org)
    policy_form = ApprovalPolicyForm(
        request.POST if policy_posted else None,
        for_team=False,
        initial=_policy_initial(default, inherit=False),
        prefix="policy",
    )
    if policy_posted:
        done = _submit(
            request, policy_form, lambda d: _save_policy(actor, None, d), _("Approval rules saved."), "teams"
        )
    else:
        done = _submit(request, form, lambda d: _save_team(actor, None, d), _("Team created."), "teams")
    return done or render(
        request,
        "accounts/settings/teams.html",
        {"form": form, "policy_form": policy_form, "teams": selectors.team_list(org=org)},
    )


def _save_team(actor: Any, team: Any, data: dict[str, Any]) -> object:
    return services.team_save(
        actor=actor, team=team, name=data["name"], description=data["description"], member_ids=data["members"]
    )


@org_required(Perm.MANAGE_TEAMS)
def team_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    org, actor = request.org, request.membership  # type: ignore[attr-defined]
    team = selectors.team_get(org=org, team_id=team_id)
    own = selectors.approval_policy_for_team(team=team)
    policy_posted = request.method == "POST" and request.POST.get("form") == "policy"
    initial = {"name": team.name, "description": team.description, "members": [m.id for m in team.members.all()]}
    form = TeamForm(request.POST if request.method == "POST" and not policy_posted else None, org=org, initial=initial)
    policy_form = ApprovalPolicyForm(
        request.POST if policy_posted else None,
        initial=_policy_initial(own or selectors.approval_policy_default(org=org), inherit=own is None),
        prefix="policy",
    )
    if policy_posted:
        done = _submit(
            request,
            policy_form,
            lambda d: _save_policy(actor, team, d),
            _("Approval rules saved."),
            reverse("team_edit", args=[team.id]),
        )
    else:
        done = _submit(request, form, lambda d: _save_team(actor, team, d), _("Team saved."), "teams")
    return done or render(
        request, "accounts/settings/team_edit.html", {"form": form, "policy_form": policy_form, "team": team}
    )


@org_required(Perm.MANAGE_TEAMS)
@require_POST
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    team = selectors.team_get(org=request.org, team_id=team_id)  # type: ignore[attr-defined]
    services.team_delete(team=team, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("Team deleted."))
    return redirect("teams")


@org_required(Perm.MANAGE_ACCOUNT_GROUPS)
def groups(request: HttpRequest) -> HttpResponse:
    org, actor = request.org, request.membership  # type: ignore[attr-defined]
    form = AccountGroupForm(request.POST or None, org=org)
    done = _submit(request, form, lambda d: _save_group(actor, None, d), _("Group created."), "groups")
    return done or render(
        request, "accounts/settings/groups.html", {"form": form, "groups": selectors.account_group_list(org=org)}
    )


def _save_group(actor: Any, group: Any, data: dict[str, Any]) -> object:
    return services.account_group_save(
        actor=actor, group=group, name=data["name"], description=data["description"], account_ids=data["accounts"]
    )


@org_required(Perm.MANAGE_ACCOUNT_GROUPS)
def group_edit(request: HttpRequest, group_id: int) -> HttpResponse:
    org, actor = request.org, request.membership  # type: ignore[attr-defined]
    group = selectors.account_group_get(org=org, group_id=group_id)
    initial = {"name": group.name, "description": group.description, "accounts": [a.id for a in group.accounts.all()]}
    form = AccountGroupForm(request.POST or None, org=org, initial=initial)
    done = _submit(request, form, lambda d: _save_group(actor, group, d), _("Group saved."), "groups")
    return done or render(request, "accounts/settings/group_edit.html", {"form": form, "group": group})


@org_required(Perm.MANAGE_ACCOUNT_GROUPS)
@require_POST
def group_delete(request: HttpRequest, group_id: int) -> HttpResponse:
    group = selectors.account_group_get(org=request.org, group_id=group_id)  # type: ignore[attr-defined]
    services.account_group_delete(group=group, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("Group deleted."))
    return redirect("groups")


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
def social_accounts(request: HttpRequest) -> HttpResponse:
    platform = request.GET.get("platform") or None
    status = request.GET.get("status") or None
    accounts = selectors.social_account_list(org=request.org, platform=platform, status=status)  # type: ignore[attr-defined]
    context = {
        "accounts": accounts,
        "platforms": Platform.choices,
        "statuses": SocialAccountStatus.choices,
        "platform": platform,
        "status": status,
    }
    template = "accounts/settings/partials/account_rows.html" if request.htmx else "accounts/settings/accounts.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
def social_account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    org, actor = request.org, request.membership  # type: ignore[attr-defined]
    account = selectors.social_account_get(org=org, account_id=account_id)
    initial = {"display_name": account.display_name, "groups": [g.id for g in account.groups.all()]}
    form = SocialAccountForm(request.POST or None, org=org, initial=initial)
    done = _submit(
        request,
        form,
        lambda d: services.social_account_update(
            account=account, actor=actor, display_name=d["display_name"], group_ids=d["groups"]
        ),
        _("Account saved."),
        "social_accounts",
    )
    return done or render(request, "accounts/settings/account_edit.html", {"form": form, "account": account})


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
@require_POST
def social_account_disconnect(request: HttpRequest, account_id: int) -> HttpResponse:
    account = selectors.social_account_get(org=request.org, account_id=account_id)  # type: ignore[attr-defined]
    services.social_account_disconnect(account=account, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("%(account)s is disconnected.") % {"account": account})
    return redirect("social_accounts")


@org_required(Perm.MANAGE_API_KEYS)
def api_keys(request: HttpRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _key, new_key = services.api_key_create(actor=request.membership, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as exc:
            _attach_error(form, exc)
        else:
            form = ApiKeyForm()
    return render(
        request,
        "accounts/settings/api_keys.html",
        {
            "form": form,
            "new_key": new_key,
            "keys": selectors.api_key_list(org=request.org),  # type: ignore[attr-defined]
            "scope_labels": SCOPE_LABELS,
        },
    )


@org_required(Perm.MANAGE_API_KEYS)
@require_POST
def api_key_revoke(request: HttpRequest, api_key_id: int) -> HttpResponse:
    key = selectors.api_key_get(org=request.org, api_key_id=api_key_id)  # type: ignore[attr-defined]
    services.api_key_revoke(api_key=key, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("API key revoked."))
    return redirect("api_keys")


# --- connecting accounts ------------------------------------------------------------------------------------
SESSION_FLOW_KEY = "smms_connect_flow"


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
def connect(request: HttpRequest) -> HttpResponse:
    platforms = [(p, dict(Platform.choices)[p], capabilities(p)) for p in CONNECTABLE]
    return render(
        request,
        "accounts/settings/connect.html",
        {"platforms": platforms, "mastodon_form": MastodonInstanceForm(), "bluesky_form": AppPasswordForm()},
    )


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
@require_POST
def connect_start(request: HttpRequest, platform: str) -> HttpResponse:
    instance = None
    if platform == "mastodon":
        form = MastodonInstanceForm(request.POST)
        instance = form.cleaned_data["instance"] if form.is_valid() else None
    redirect_uri = request.build_absolute_uri(reverse("connect_callback", args=[platform]))
    try:
        url, flow = services.social_connect_start(
            actor=request.membership,  # type: ignore[attr-defined]
            platform=platform,
            redirect_uri=redirect_uri,
            instance=instance,
        )
    except (DomainError, ConnectorError) as exc:
        messages.error(request, _connector_message(exc))
        return redirect("connect")
    request.session[SESSION_FLOW_KEY] = flow
    return redirect(url)


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
def connect_callback(request: HttpRequest, platform: str) -> HttpResponse:
    flow = request.session.pop(SESSION_FLOW_KEY, None) or {}
    if request.GET.get("error"):
        messages.error(request, _("The network did not grant access: %(error)s") % {"error": request.GET["error"]})
        return redirect("connect")
    try:
        if flow.get("platform") != platform:
            raise DomainError(_("This sign-in link is stale or was not started here. Start again."))
        pending = services.social_connect_finish(
            actor=request.membership,  # type: ignore[attr-defined]
            flow=flow,
            code=request.GET.get("code", ""),
            state=request.GET.get("state", ""),
            redirect_uri=request.build_absolute_uri(reverse("connect_callback", args=[platform])),
        )
    except (DomainError, ConnectorError) as exc:
        messages.error(request, _connector_message(exc))
        return redirect("connect")
    return redirect("connect_pick", pending_id=pending.id)


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
@require_POST
def connect_password(request: HttpRequest, platform: str) -> HttpResponse:
    form = AppPasswordForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the handle and an app password."))
        return redirect("connect")
    try:
        pending = services.social_connect_password(
            actor=request.membership,  # type: ignore[attr-defined]
            platform=platform,
            identifier=form.cleaned_data["identifier"],
            password=form.cleaned_data["password"],
        )
    except (DomainError, ConnectorError) as exc:
        messages.error(request, _connector_message(exc))
        return redirect("connect")
    return redirect("connect_pick", pending_id=pending.id)


@org_required(Perm.MANAGE_SOCIAL_ACCOUNTS)
def connect_pick(request: HttpRequest, pending_id: int) -> HttpResponse:
    actor = request.membership  # type: ignore[attr-defined]
    pending = selectors.pending_connection_get(membership=actor, pending_id=pending_id)
    candidates = selectors.pending_connection_candidates(pending=pending)
    form = PickAccountsForm(request.POST or None, candidates=candidates)
    done = _submit(
        request,
        form,
        lambda d: services.social_connect_confirm(actor=actor, pending=pending, remote_ids=d["accounts"]),
        _("Accounts connected."),
        "social_accounts",
    )
    context = {"form": form, "pending": pending, "candidates": candidates}
    return done or render(request, "accounts/settings/connect_pick.html", context)


def _connector_message(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, AuthRevoked):
        return _("The network refused the sign-in. Check the account and try again.")
    if isinstance(exc, RateLimited | Transient):
        return _("The network is not answering right now. Try again in a few minutes.")
    return _("The network answered with an error: %(error)s") % {"error": exc}


# --- notifications ------------------------------------------------------------------------------------------
@org_required(Perm.VIEW)
def notifications(request: HttpRequest) -> HttpResponse:
    items = selectors.notification_list(org=request.org, user=request.user)[:200]  # type: ignore[attr-defined, arg-type]
    return render(request, "accounts/notifications.html", {"notifications": items})


@org_required(Perm.VIEW)
def notifications_bell(request: HttpRequest) -> HttpResponse:
    """The bell's unread count, refreshed by every dashboard page without a reload."""
    count = selectors.notification_unread_count(org=request.org, user=request.user)  # type: ignore[attr-defined, arg-type]
    return render(request, "accounts/partials/bell.html", {"unread": count})


@org_required(Perm.VIEW)
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark the notification read and go where it points (its post)."""
    notification = selectors.notification_get(
        org=request.org,
        user=request.user,
        notification_id=notification_id,  # type: ignore[attr-defined, arg-type]
    )
    services.notification_mark_read(notification=notification, user=request.user)  # type: ignore[arg-type]
    if notification.link and url_has_allowed_host_and_scheme(notification.link, {request.get_host()}):
        return redirect(notification.link)
    return redirect("notifications")


@org_required(Perm.VIEW)
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = selectors.notification_get(
        org=request.org,
        user=request.user,
        notification_id=notification_id,  # type: ignore[attr-defined, arg-type]
    )
    services.notification_mark_read(notification=notification, user=request.user)  # type: ignore[arg-type]
    return redirect("notifications")


@org_required(Perm.VIEW)
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_all_read(organization=request.org, user=request.user)  # type: ignore[attr-defined, arg-type]
    messages.success(request, _("All notifications marked as read."))
    return redirect("notifications")
