from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import selectors
from .roles import Perm, role_allows


def organization(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {"current_org": None, "can": {}, "my_memberships": []}
    return {
        "current_org": membership.organization,
        "current_membership": membership,
        # Templates ask "can.manage_members" to show or hide controls; views enforce the same rule.
        "can": {perm.value: role_allows(membership.role, perm) for perm in Perm},
        "my_memberships": selectors.membership_list_for_user(user=request.user),  # type: ignore[arg-type]
        "live_poll_seconds": settings.SMMS_LIVE_POLL_SECONDS,
    }


NAV = [
    # (url name, label, path prefix that marks it active)
    ("dashboard", _("Overview"), None),
    ("listening", _("Listening"), "/listening/"),
    ("analytics", _("Analytics"), "/analytics/"),
    ("publishing", _("Publishing"), "/publishing/"),
    ("calendar", _("Calendar"), "/publishing/calendar/"),
    ("queue", _("Queue"), "/publishing/queue/"),
    ("inbox", _("Inbox"), "/inbox/"),
    ("campaigns", _("Campaigns"), "/publishing/campaigns/"),
    ("contacts", _("Contacts"), "/contacts/"),
    ("settings", _("Settings"), "/settings/"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The sidebar: the most specific prefix that matches the path is the current page."""
    path = request.path
    best = max((prefix for _n, _l, prefix in NAV if prefix and path.startswith(prefix)), key=len, default=None)
    items = []
    for name, label, prefix in NAV:
        active = prefix == best if best else (prefix is None and path == reverse(name))
        items.append({"url": reverse(name), "label": label, "active": active, "name": name})
    return {"nav_items": items}
