"""Reads of analytics, scoped to the acting organization.

Every figure is computed with the definitions in definitions.py; sums are made in the database (one query per
table of figures), rates from the sums. A post counts as measured once its figures were fetched at least once.
"""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts import selectors as account_selectors
from accounts.models import Organization, Platform, SocialAccount
from listening.models import Mention
from publishing import selectors as publishing_selectors
from publishing.models import Campaign, Delivery, DeliveryState
from smms.errors import NotFound

from .definitions import DEFINITIONS, Rates, Totals, followers_of, rates_of
from .models import AccountAudience, DeliveryMetrics, MetricsSnapshot

# Best times need this many measured posts in a weekday-and-hour, and this many in all, to say anything.
BEST_TIME_MIN_PER_BUCKET = 2
BEST_TIME_MIN_POSTS = 10
# The audience fallback (hours when people mention the account) needs this many mentions.
AUDIENCE_MIN_MENTIONS = 20
# Networks that report no reach: their posts are compared by engagements per follower, or not at all.
NO_REACH = ("mastodon", "bluesky")

_BIG: BigIntegerField[int, int] = BigIntegerField()
ENGAGEMENTS = (
    Coalesce(F("likes"), Value(0)) + Coalesce(F("shares"), Value(0))
    + Coalesce(F("replies"), Value(0)) + Coalesce(F("quotes"), Value(0))
)  # fmt: skip
REACH = Coalesce(F("impressions"), F("views"))
HAS_REACH = Q(impressions__isnull=False) | Q(views__isnull=False)
TOTALS = {
    "posts": Count("pk"),
    "engagements": Coalesce(Sum(ENGAGEMENTS, output_field=_BIG), Value(0), output_field=_BIG),
    "shares_sum": Coalesce(Sum(Coalesce(F("shares"), Value(0)), output_field=_BIG), Value(0), output_field=_BIG),
    "posts_with_reach": Count("pk", filter=HAS_REACH),
    "reach": Coalesce(Sum(REACH, output_field=_BIG), Value(0), output_field=_BIG),
    "engagements_with_reach": Coalesce(
        Sum(ENGAGEMENTS, filter=HAS_REACH, output_field=_BIG), Value(0), output_field=_BIG
    ),
    "shares_with_reach": Coalesce(
        Sum(Coalesce(F("shares"), Value(0)), filter=HAS_REACH, output_field=_BIG), Value(0), output_field=_BIG
    ),
}


def _totals(row: dict[str, Any] | None) -> Totals:
    if not row:
        return Totals()
    return Totals(
        posts=row["posts"],
        engagements=row["engagements"],
        shares=row["shares_sum"],
        posts_with_reach=row["posts_with_reach"],
        reach=row["reach"],
        engagements_with_reach=row["engagements_with_reach"],
        shares_with_reach=row["shares_with_reach"],
    )


def measured(*, org: Organization) -> QuerySet[DeliveryMetrics]:
    """The organization's metrics rows fetched at least once."""
    return DeliveryMetrics.objects.filter(delivery__post__organization=org, fetched_at__isnull=False)


def followers(account: SocialAccount) -> int | None:
    """The account's follower count as last fetched (select_related "audience" to spare a query), else any
    count stored with the account, else None."""
    try:
        return account.audience.followers
    except AccountAudience.DoesNotExist:
        return followers_of(account.extra)


def definitions() -> dict[str, str]:
    return {key: str(text) for key, text in DEFINITIONS.items()}


# --- one post -------------------------------------------------------------------------------------------------
@dataclass
class DeliveryFigures:
    delivery: Delivery
    metrics: DeliveryMetrics | None
    rates: Rates | None
    per_follower: float | None
    network: str
    reach_reported: bool
    chart: dict[str, Any] | None = None


def _figures(delivery: Delivery, metrics: DeliveryMetrics | None) -> DeliveryFigures:
    account = delivery.account
    rates = None
    per_follower = None
    if metrics is not None and metrics.fetched_at is not None:
        rates = rates_of(
            likes=metrics.likes, shares=metrics.shares, replies=metrics.replies, quotes=metrics.quotes,
            impressions=metrics.impressions, views=metrics.views,
        )  # fmt: skip
        followers_count = followers(account)
        if rates.reach is None and followers_count:
            per_follower = rates.engagements / followers_count
    return DeliveryFigures(
        delivery=delivery,
        metrics=metrics,
        rates=rates,
        per_follower=per_follower,
        network=account.get_platform_display(),
        reach_reported=account.platform not in NO_REACH,
    )


def delivery_metrics_get(*, org: Organization, delivery_id: int) -> DeliveryFigures:
    """One of the organization's deliveries with its latest figures and its growth chart."""
    delivery = (
        publishing_selectors.delivery_list(org=org).select_related("account__audience").filter(id=delivery_id).first()
    )
    if delivery is None:
        raise NotFound(_("No such delivery."))
    figures = _figures(delivery, DeliveryMetrics.objects.filter(delivery=delivery).first())
    figures.chart = _growth_chart(list(MetricsSnapshot.objects.filter(delivery=delivery)))
    return figures


def post_metrics(*, org: Organization, post_id: int) -> list[DeliveryFigures]:
    """Figures of each published delivery of one of the organization's posts, each with its growth chart."""
    post = publishing_selectors.post_get(org=org, post_id=post_id)
    deliveries = list(
        publishing_selectors.delivery_list(org=org, post=post, states=[DeliveryState.PUBLISHED])
        .select_related("account__audience")
        .order_by("id")
    )
    rows = {m.delivery_id: m for m in DeliveryMetrics.objects.filter(delivery__in=deliveries)}
    series: dict[int, list[MetricsSnapshot]] = defaultdict(list)
    for snapshot in MetricsSnapshot.objects.filter(delivery__in=deliveries):
        series[snapshot.delivery_id].append(snapshot)
    out = []
    for delivery in deliveries:
        figures = _figures(delivery, rows.get(delivery.id))
        figures.chart = _growth_chart(series[delivery.id])
        out.append(figures)
    return out


def _growth_chart(snapshots: list[MetricsSnapshot], width: int = 320, height: int = 90) -> dict[str, Any] | None:
    """An inline SVG polyline of engagements over time (and reach when reported), scaled to the box."""
    if len(snapshots) < 2:
        return None
    start, end = snapshots[0].at, snapshots[-1].at
    span = max((end - start).total_seconds(), 1.0)
    engagements = [sum(v or 0 for v in (s.likes, s.shares, s.replies, s.quotes)) for s in snapshots]
    top = max(max(engagements), 1)

    def points(values: list[int], scale: int) -> str:
        return " ".join(
            f"{(s.at - start).total_seconds() / span * width:.1f},{height - value / scale * height:.1f}"
            for s, value in zip(snapshots, values, strict=True)
        )

    chart: dict[str, Any] = {
        "width": width, "height": height, "start": start, "end": end, "top": top, "last": engagements[-1],
        "engagements": points(engagements, top),
        "rows": [{"at": s.at, "engagements": e} for s, e in zip(snapshots, engagements, strict=True)],
    }  # fmt: skip
    reach = [s.impressions if s.impressions is not None else s.views for s in snapshots]
    if all(r is not None for r in reach):
        values = [r or 0 for r in reach]
        chart["reach"] = points(values, max(max(values), 1))
        chart["reach_top"] = max(values)
    return chart


# --- accounts -----------------------------------------------------------------------------------------------------
@dataclass
class AccountFigures:
    account: SocialAccount
    totals: Totals
    followers: int | None
    reach_reported: bool

    @property
    def per_follower(self) -> float | None:
        return self.totals.per_follower(self.followers) if not self.totals.posts_with_reach else None


def account_summaries(*, org: Organization, account_ids: Iterable[int] | None = None) -> list[AccountFigures]:
    """The organization's accounts (those of ``account_ids`` only, when given) with the sums of their measured
    posts, in two queries."""
    accounts = account_selectors.social_account_list(org=org).select_related("audience")
    sums = measured(org=org)
    if account_ids is not None:
        ids = list(account_ids)
        accounts, sums = accounts.filter(id__in=ids), sums.filter(delivery__account_id__in=ids)
    rows = {
        row["delivery__account_id"]: row for row in sums.values("delivery__account_id").annotate(**TOTALS).order_by()
    }
    return [
        AccountFigures(
            account=account,
            totals=_totals(rows.get(account.id)),
            followers=followers(account),
            reach_reported=account.platform not in NO_REACH,
        )
        for account in accounts
    ]


def account_figures(*, org: Organization, account_id: int) -> AccountFigures:
    account = account_selectors.social_account_get(org=org, account_id=account_id)
    row = measured(org=org).filter(delivery__account=account).aggregate(**TOTALS)
    return AccountFigures(
        account=account, totals=_totals(row if row["posts"] else None), followers=followers(account),
        reach_reported=account.platform not in NO_REACH,
    )  # fmt: skip


def top_posts(
    *, org: Organization, account: SocialAccount | None = None, campaign: Campaign | None = None, limit: int = 10
) -> list[DeliveryFigures]:
    """The measured posts with the most engagements, of one account or one campaign."""
    rows = measured(org=org).select_related("delivery__post", "delivery__account__audience").annotate(total=ENGAGEMENTS)
    if account is not None:
        rows = rows.filter(delivery__account=account)
    if campaign is not None:
        rows = rows.filter(delivery__post__campaign=campaign)
    return [_figures(row.delivery, row) for row in rows.order_by("-total", "-delivery_id")[:limit]]


# --- campaigns ----------------------------------------------------------------------------------------------------
@dataclass
class CampaignFigures:
    campaign: Campaign
    totals: Totals
    by_network: list[tuple[str, Totals]] = field(default_factory=list)
    top: list[DeliveryFigures] = field(default_factory=list)
    by_day: list[dict[str, Any]] = field(default_factory=list)


def campaign_figures(*, org: Organization, campaign_id: int, tz: tzinfo | None = None) -> CampaignFigures:
    """A campaign's sums, the same per network, its top posts, and its engagements by day (in ``tz``)."""
    campaign = publishing_selectors.campaign_get(org=org, campaign_id=campaign_id)
    rows = measured(org=org).filter(delivery__post__campaign=campaign)
    total = rows.aggregate(**TOTALS)
    by_network = [
        (Platform(row["delivery__account__platform"]).label, _totals(row))
        for row in rows.values("delivery__account__platform").annotate(**TOTALS).order_by("delivery__account__platform")
    ]
    return CampaignFigures(
        campaign=campaign,
        totals=_totals(total if total["posts"] else None),
        by_network=by_network,
        top=top_posts(org=org, campaign=campaign, limit=5),
        by_day=engagements_by_day(org=org, campaign=campaign, tz=tz),
    )


def engagements_by_day(
    *, org: Organization, campaign: Campaign, tz: tzinfo | None = None, days: int = 60
) -> list[dict[str, Any]]:
    """Engagements the campaign's posts had gathered by the end of each day (their latest snapshot that day),
    from the first fetch to the last, at most ``days`` days; as bars scaled to the highest day."""
    zone = tz or timezone.get_current_timezone()
    snapshots = (
        MetricsSnapshot.objects.filter(delivery__post__organization=org, delivery__post__campaign=campaign)
        .annotate(total=ENGAGEMENTS)
        .order_by("at", "id")
        .values_list("delivery_id", "at", "total")
    )
    latest: dict[int, int] = {}
    per_day: dict[date, int] = {}
    for delivery_id, at, total in snapshots:
        latest[delivery_id] = total
        per_day[timezone.localtime(at, zone).date()] = sum(latest.values())
    if not per_day:
        return []
    first, last = min(per_day), max(per_day)
    first = max(first, last - timedelta(days=days - 1))
    bars: list[dict[str, Any]] = []
    running = 0
    day = first
    while day <= last:
        running = per_day.get(day, running)
        bars.append({"day": day, "value": running})
        day += timedelta(days=1)
    top = max(bar["value"] for bar in bars) or 1
    for bar in bars:
        bar["height"] = round(bar["value"] / top * 100)
    return bars


# --- best times ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BestTime:
    """A time of the week to post on an account. ``weekday`` 0 is Monday, ``hour`` 0-23 in the time zone asked
    for; ``score`` is the average engagement rate of the posts published then (engagements per follower on
    networks without reach, or, where neither is known, engagements relative to the account's average), or,
    with ``basis`` "audience", the share of the account's mentions that arrive then; ``posts`` is how many
    posts (or mentions) it rests on."""

    weekday: int
    hour: int
    score: float
    posts: int
    basis: str = "posts"


@dataclass(frozen=True)
class BestTimes:
    times: list[BestTime]
    # Why there are no suggestions from posts (not enough history), in words for the user; "" when there are.
    shortage: str = ""


def best_times(*, account: SocialAccount, tz: tzinfo | str, limit: int = 3) -> BestTimes:
    """The weekday-and-hour slots where the account's own published posts did best, best first. Needs
    BEST_TIME_MIN_POSTS measured posts and BEST_TIME_MIN_PER_BUCKET per slot; short of that, falls back to the
    hours when people mention the account (listening), and says why."""
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
    rows = list(
        DeliveryMetrics.objects.filter(delivery__account=account, fetched_at__isnull=False)
        .filter(delivery__published_at__isnull=False)
        .values_list("delivery__published_at", "likes", "shares", "replies", "quotes", "impressions", "views")
    )
    audience = followers(account)
    scored: list[tuple[datetime, float]] = []
    unscored: list[tuple[datetime, int]] = []
    for published_at, likes, shares, replies, quotes, impressions, views in rows:
        assert published_at is not None  # filtered above
        rates = rates_of(likes=likes, shares=shares, replies=replies, quotes=quotes, impressions=impressions,
                         views=views)  # fmt: skip
        if rates.engagement_rate is not None:
            scored.append((published_at, rates.engagement_rate))
        elif rates.reach is None and audience:
            scored.append((published_at, rates.engagements / audience))
        elif rates.reach is None:
            unscored.append((published_at, rates.engagements))
    if unscored and not scored:  # no reach, no followers: compare the account's posts with each other
        mean = sum(e for _at, e in unscored) / len(unscored) or 1.0
        scored = [(at, e / mean) for at, e in unscored]
    if len(scored) >= BEST_TIME_MIN_POSTS:
        buckets: dict[tuple[int, int], list[float]] = defaultdict(list)
        for at, score in scored:
            local = timezone.localtime(at, zone)
            buckets[(local.weekday(), local.hour)].append(score)
        times = [
            BestTime(weekday=day, hour=hour, score=sum(scores) / len(scores), posts=len(scores))
            for (day, hour), scores in buckets.items()
            if len(scores) >= BEST_TIME_MIN_PER_BUCKET
        ]
        times.sort(key=lambda t: (-t.score, -t.posts, t.weekday, t.hour))
        if times:
            return BestTimes(times=times[:limit])
        shortage = _(
            "No time of the week has %(count)s measured posts yet: post at a few regular times to compare them."
        ) % {"count": BEST_TIME_MIN_PER_BUCKET}
    else:
        shortage = ngettext(
            "Not enough history yet: %(have)s measured post, %(need)s needed.",
            "Not enough history yet: %(have)s measured posts, %(need)s needed.",
            len(scored),
        ) % {
            "have": len(scored),
            "need": BEST_TIME_MIN_POSTS,
        }
    return BestTimes(times=_audience_times(account, zone, limit), shortage=shortage)


def _audience_times(account: SocialAccount, zone: tzinfo, limit: int) -> list[BestTime]:
    """The weekday-and-hour slots when people mention or answer the account, from the last 90 days."""
    since = timezone.now() - timedelta(days=90)
    moments = list(
        Mention.objects.filter(
            organization_id=account.organization_id, account=account, published_at__gte=since
        ).values_list("published_at", flat=True)[:20000]
    )
    if len(moments) < AUDIENCE_MIN_MENTIONS:
        return []
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for moment in moments:
        local = timezone.localtime(moment, zone)
        counts[(local.weekday(), local.hour)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        BestTime(weekday=day, hour=hour, score=count / len(moments), posts=count, basis="audience")
        for (day, hour), count in ranked
    ]


def index_context(*, org: Organization) -> dict[str, Any]:
    """Accounts per network and status, each account's figures, and the campaigns to open."""
    return {
        **account_selectors.social_account_summary(org=org),
        "accounts": account_summaries(org=org),
        "campaigns": publishing_selectors.campaign_list(org=org),
        "definitions": definitions(),
    }
