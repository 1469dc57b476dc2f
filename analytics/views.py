"""Dashboard pages of analytics: accounts with their figures, one account with its best times to post, one
campaign, and the metrics block of a post (an htmx fragment the post's page loads)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import org_required
from accounts.roles import Perm

from . import selectors


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/index.html", selectors.index_context(org=request.org))  # type: ignore[attr-defined]


@org_required(Perm.VIEW)
def account(request: HttpRequest, account_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    figures = selectors.account_figures(org=org, account_id=account_id)
    context = {
        "figures": figures,
        "best": selectors.best_times(account=figures.account, tz=timezone.get_current_timezone()),
        "top": selectors.top_posts(org=org, account=figures.account),
        "definitions": selectors.definitions(),
    }
    return render(request, "analytics/account.html", context)


@org_required(Perm.VIEW)
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    figures = selectors.campaign_figures(
        org=request.org,  # type: ignore[attr-defined]
        campaign_id=campaign_id,
        tz=timezone.get_current_timezone(),
    )
    return render(request, "analytics/campaign.html", {"figures": figures, "definitions": selectors.definitions()})


@org_required(Perm.VIEW)
def post_metrics(request: HttpRequest, post_id: int) -> HttpResponse:
    deliveries = selectors.post_metrics(org=request.org, post_id=post_id)  # type: ignore[attr-defined]
    context = {"rows": deliveries, "definitions": selectors.definitions()}
    return render(request, "analytics/partials/post_metrics.html", context)
