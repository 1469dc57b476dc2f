"""Dashboard pages of listening."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import org_required
from accounts.roles import Perm

from . import selectors


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "listening/index.html", selectors.index_context(org=request.org))  # type: ignore[attr-defined]
