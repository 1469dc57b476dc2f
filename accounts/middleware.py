"""Per-request context: the user's language and time zone, and the organization they are working in."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from . import selectors

SESSION_ORG_KEY = "smms_org_id"


class UserPreferencesMiddleware:
    """Activate the signed-in user's language and time zone (LocaleMiddleware handles anonymous users)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            translation.activate(user.language)  # type: ignore[union-attr]
            request.LANGUAGE_CODE = user.language  # type: ignore[attr-defined, union-attr]
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.timezone))  # type: ignore[union-attr]
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        if user.is_authenticated:
            # Keep the language cookie in step with the user's choice, so the sign-in page after a
            # sign-out speaks the same language.
            language = user.language  # type: ignore[union-attr]
            if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite="Lax",
                    secure=settings.SESSION_COOKIE_SECURE,
                )
        return response


class CurrentOrganizationMiddleware:
    """Set ``request.membership`` and ``request.org`` from the session (None when the user has none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.org = None  # type: ignore[attr-defined]
        if request.user.is_authenticated:
            memberships = selectors.membership_list_for_user(user=request.user)  # type: ignore[arg-type]
            wanted = request.session.get(SESSION_ORG_KEY)
            membership = None
            if wanted is not None:
                membership = next((m for m in memberships if m.organization_id == wanted), None)
            if membership is None:
                membership = memberships.first()
            if membership is not None:
                request.membership = membership  # type: ignore[attr-defined]
                request.org = membership.organization  # type: ignore[attr-defined]
        return self.get_response(request)
