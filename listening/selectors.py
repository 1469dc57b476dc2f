"""Reads of listening, scoped to the acting organization."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import regex
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccountStatus
from smms.errors import NotFound

from .models import Alert, AlertStatus, Mention, MentionExport, Topic, TopicMention

TAG_RE = regex.compile(r"#([\p{L}\p{N}_]+)")


def index_context(*, org: Organization) -> dict[str, Any]:
    return {
        "accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED),
        "topics": topic_list(org=org),
        "alerts": alert_list(org=org)[:10],
    }


def topic_list(*, org: Organization) -> QuerySet[Topic]:
    since = timezone.now() - timedelta(hours=24)
    return Topic.objects.filter(organization=org).annotate(
        day_volume=Count("topic_mentions", filter=Q(topic_mentions__published_at__gte=since)),
        day_negative=Count(
            "topic_mentions",
            filter=Q(topic_mentions__published_at__gte=since, topic_mentions__sentiment="negative"),
        ),
    )


def topic_get(*, org: Organization, topic_id: int) -> Topic:
    try:
        return Topic.objects.get(organization=org, id=topic_id)
    except (Topic.DoesNotExist, ValueError):
        raise NotFound("topic") from None


@dataclass(frozen=True)
class MentionFilters:
    network: str = ""
    lang: str = ""
    sentiment: str = ""
    author: str = ""
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None  # the live stream asks for what is newer than what it shows


def topic_mentions(*, topic: Topic, filters: MentionFilters, limit: int = 50) -> list[Mention]:
    """The topic's stream, newest first, filtered; one query on the narrow link table, one for the rows."""
    links = TopicMention.objects.filter(topic=topic)
    if filters.network:
        links = links.filter(platform=filters.network)
    if filters.lang:
        links = links.filter(lang=filters.lang)
    if filters.sentiment:
        links = links.filter(sentiment=filters.sentiment)
    if filters.since:
        links = links.filter(published_at__gte=filters.since)
    if filters.until:
        links = links.filter(published_at__lt=filters.until)
    if filters.after_id:
        links = links.filter(mention_id__gt=filters.after_id)
    if filters.author:
        links = links.filter(mention__author_handle__icontains=filters.author.lstrip("@"))
    ids = list(links.order_by("-published_at", "-mention_id").values_list("mention_id", flat=True)[:limit])
    by_id = Mention.objects.in_bulk(ids)
    return [by_id[i] for i in ids if i in by_id]


def mention_get(*, org: Organization, mention_id: int) -> Mention:
    try:
        return Mention.objects.get(organization=org, id=mention_id)
    except (Mention.DoesNotExist, ValueError):
        raise NotFound("mention") from None


def topic_series(*, topic: Topic, hours: int = 24) -> list[dict[str, Any]]:
    """Hourly volume and sentiment for the charts, oldest first, with empty hours filled."""
    now = timezone.now()
    start = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    rows = (
        TopicMention.objects.filter(topic=topic, published_at__gte=start)
        .annotate(hour=TruncHour("published_at"))
        .values("hour")
        .annotate(
            volume=Count("id"),
            negative=Count("id", filter=Q(sentiment="negative")),
            positive=Count("id", filter=Q(sentiment="positive")),
        )
    )
    by_hour = {r["hour"]: r for r in rows}
    series = []
    for i in range(hours):
        hour = start + timedelta(hours=i)
        row = by_hour.get(hour, {})
        series.append(
            {"hour": hour, "volume": row.get("volume", 0), "negative": row.get("negative", 0),
             "positive": row.get("positive", 0)}
        )  # fmt: skip
    return series


def chart_bars(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    peak = max((s["volume"] for s in series), default=0) or 1
    return [
        {
            **s,
            "height": round(100 * s["volume"] / peak),
            # Within the hour's bar: the negative and positive parts of that hour.
            "negative_height": round(100 * s["negative"] / s["volume"]) if s["volume"] else 0,
            "positive_height": round(100 * s["positive"] / s["volume"]) if s["volume"] else 0,
        }
        for s in series
    ]


def share_of_voice(*, org: Organization, days: int = 7) -> list[dict[str, Any]]:
    since = timezone.now() - timedelta(days=days)
    rows = list(
        Topic.objects.filter(organization=org, is_active=True)
        .annotate(volume=Count("topic_mentions", filter=Q(topic_mentions__published_at__gte=since)))
        .values("id", "name", "kind", "color", "volume")
    )
    total = sum(r["volume"] for r in rows) or 1
    return [{**r, "percent": round(100 * r["volume"] / total)} for r in sorted(rows, key=lambda r: -r["volume"])]


def topic_leaders(*, topic: Topic, days: int = 7) -> dict[str, list[tuple[str, int]]]:
    """Top authors, hashtags and networks of the topic over the last days."""
    since = timezone.now() - timedelta(days=days)
    mentions = Mention.objects.filter(topic_mentions__topic=topic, published_at__gte=since)
    authors = list(
        mentions.values("author_handle").annotate(n=Count("id")).order_by("-n").values_list("author_handle", "n")[:8]
    )
    tags: Counter[str] = Counter()
    for text in mentions.values_list("text", flat=True)[:5000]:
        tags.update(t.lower() for t in TAG_RE.findall(text))
    languages = list(
        TopicMention.objects.filter(topic=topic, published_at__gte=since)
        .values("lang").annotate(n=Count("id")).order_by("-n").values_list("lang", "n")
    )  # fmt: skip
    return {"authors": authors, "hashtags": [(f"#{t}", n) for t, n in tags.most_common(8)], "languages": languages}


def alert_list(*, org: Organization, topic: Topic | None = None) -> QuerySet[Alert]:
    alerts = Alert.objects.filter(organization=org).select_related("topic")
    if topic is not None:
        alerts = alerts.filter(topic=topic)
    return alerts.exclude(status=AlertStatus.RESOLVED) | alerts.filter(
        resolved_at__gte=timezone.now() - timedelta(days=2)
    )


def alerts_open(*, org: Organization, limit: int = 3) -> list[Alert]:
    """The organization's fires nobody has acknowledged yet, newest first: the banner every page shows."""
    return list(
        Alert.objects.filter(organization=org, status=AlertStatus.OPEN).select_related("topic").order_by("-id")[:limit]
    )


def alert_get(*, org: Organization, alert_id: int) -> Alert:
    try:
        return Alert.objects.select_related("topic").get(organization=org, id=alert_id)
    except (Alert.DoesNotExist, ValueError):
        raise NotFound("alert") from None


def mention_volume(*, topic: Topic) -> int:
    return int(topic.buckets.aggregate(n=Sum("volume"))["n"] or 0)


# --- exports ------------------------------------------------------------------------------------------------
def topic_mention_links(*, topic: Topic, filters: MentionFilters) -> QuerySet[TopicMention]:
    """The topic's links that pass the topic page's filters, unordered: what an export of the page holds."""
    links = TopicMention.objects.filter(topic=topic)
    if filters.network:
        links = links.filter(platform=filters.network)
    if filters.lang:
        links = links.filter(lang=filters.lang)
    if filters.sentiment:  # the link's sentiment follows a person's correction (mention_correct_sentiment)
        links = links.filter(sentiment=filters.sentiment)
    if filters.since:
        links = links.filter(published_at__gte=filters.since)
    if filters.until:
        links = links.filter(published_at__lt=filters.until)
    if filters.author:
        links = links.filter(mention__author_handle__icontains=filters.author.lstrip("@"))
    return links


def export_get(*, org: Organization, export_id: int) -> MentionExport:
    try:
        return MentionExport.objects.get(organization=org, id=export_id)
    except (MentionExport.DoesNotExist, ValueError):
        raise NotFound("export") from None


def export_list(*, org: Organization, topic: Topic, limit: int = 5) -> list[MentionExport]:
    """A topic's most recent exports, newest first (older ones are deleted after a week anyway)."""
    return list(MentionExport.objects.filter(organization=org, topic=topic).order_by("-created_at", "-id")[:limit])
