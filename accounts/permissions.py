"""The view-side guard: every dashboard view is wrapped in ``org_required(perm)``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smms.errors import Forbidden

from .roles import Perm, refusal, role_allows

View = Callable[..., HttpResponse]


def org_required(perm: Perm = Perm.VIEW) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = getattr(request, "membership", None)
            if membership is None:
                return render(request, "accounts/no_organization.html", status=403)
            if not role_allows(membership.role, perm):
                raise Forbidden(refusal(membership.role, perm))
            return view(request, *args, **kwargs)

        wrapped.required_perm = perm  # type: ignore[attr-defined]
        return wrapped

    return decorator
