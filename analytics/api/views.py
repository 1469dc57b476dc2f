"""Analytics API, read-only: each published delivery's metrics (with its snapshots on the detail), each
account's sums (with its best times to post on the detail) and each campaign's. Scope ``analytics:read``."""

from __future__ import annotations

import zoneinfo
from datetime import UTC
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccount
from accounts.roles import Perm
from analytics import selectors
from analytics.definitions import Totals
from analytics.models import MetricsSnapshot
from publishing import selectors as publishing_selectors
from publishing.models import Campaign, Delivery, DeliveryState
from smms.api.base import OrgScopedViewSet
from smms.errors import ValidationFailed

from .serializers import (
    AccountDetailSerializer,
    AccountFiguresSerializer,
    CampaignFiguresSerializer,
    DeliveryMetricsDetailSerializer,
    DeliveryMetricsOutputSerializer,
)

TZ_PARAM = OpenApiParameter("tz", str, description="IANA time zone of the best times (default: yours, or UTC).")


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "posts": totals.posts,
        "posts_with_reach": totals.posts_with_reach,
        "reach": totals.reach,
        "engagements": totals.engagements,
        "engagement_rate": totals.engagement_rate,
        "virality_rate": totals.virality_rate,
    }


def _account(figures: selectors.AccountFigures) -> dict[str, Any]:
    return {
        "account": figures.account,
        "totals": _totals(figures.totals),
        "followers": figures.followers,
        "per_follower": figures.per_follower,
    }


class AnalyticsBase(OrgScopedViewSet):
    scope_area = "analytics"
    read_perm = Perm.VIEW
    write_perm = Perm.MANAGE_ORGANIZATION  # nothing here changes anything: every endpoint is read-only


class DeliveryMetricsViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AnalyticsBase):
    """The published deliveries with their latest figures and rates. The detail of any delivery adds every
    snapshot (the growth); metrics and rates are null until it is published and first measured."""

    queryset = Delivery.objects.none()
    serializer_class = DeliveryMetricsOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Delivery]:  # type: ignore[override]
        if self.action == "retrieve":
            series = MetricsSnapshot.objects.order_by("at", "id")
            return (
                publishing_selectors.delivery_list(org=org)
                .select_related("metrics")
                .prefetch_related(Prefetch("metrics_snapshots", series))
            )
        return publishing_selectors.delivery_list(org=org, states=[DeliveryState.PUBLISHED]).select_related("metrics")

    @extend_schema(responses=DeliveryMetricsDetailSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(DeliveryMetricsDetailSerializer(self.get_object()).data)


class AccountFiguresViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AnalyticsBase):
    """Each account's sums over its measured posts; the detail adds its best times to post."""

    queryset = SocialAccount.objects.none()
    serializer_class = AccountFiguresSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[SocialAccount]:  # type: ignore[override]
        return account_selectors.social_account_list(org=org)

    @extend_schema(responses=AccountFiguresSerializer(many=True))
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        ids = [account.id for account in page or []]
        figures = [_account(f) for f in selectors.account_summaries(org=self.org, account_ids=ids)]
        figures.sort(key=lambda f: f["account"].id)
        return self.get_paginated_response(AccountFiguresSerializer(figures, many=True).data)

    @extend_schema(parameters=[TZ_PARAM], responses=AccountDetailSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        figures = selectors.account_figures(org=self.org, account_id=account.id)
        zone_name = request.query_params.get("tz") or getattr(request.user, "timezone", "") or "UTC"
        try:
            zone = zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(_("Unknown time zone: %(zone)s") % {"zone": zone_name}, field="tz") from None
        best = selectors.best_times(account=account, tz=zone)
        data = {**_account(figures), "best_times": {"times": best.times, "shortage": best.shortage}}
        return Response(AccountDetailSerializer(data).data)


class CampaignFiguresViewSet(mixins.RetrieveModelMixin, AnalyticsBase):
    """A campaign's sums, per network, by day (UTC) and its best deliveries."""

    queryset = Campaign.objects.none()
    serializer_class = CampaignFiguresSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Campaign]:  # type: ignore[override]
        return publishing_selectors.campaign_list(org=org)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        campaign = self.get_object()
        figures = selectors.campaign_figures(org=self.org, campaign_id=campaign.id, tz=UTC)
        data = {
            "campaign": figures.campaign,
            "totals": _totals(figures.totals),
            "by_network": [{"network": network, **_totals(totals)} for network, totals in figures.by_network],
            "by_day": figures.by_day,
            "top_deliveries": [row.delivery.id for row in figures.top],
        }
        return Response(CampaignFiguresSerializer(data).data)
