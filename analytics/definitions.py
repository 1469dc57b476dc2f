"""What the figures mean, written once: the services, selectors, pages and API all use these functions, and
the pages show DEFINITIONS as their help text.

Reach is what the network says the post was seen by (impressions, else views). Networks that report neither
(Mastodon, Bluesky) have an unknown reach: rates over reach are then unknown too, never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

# When a published post's figures are fetched, counted from its publication: often while it is fresh, then
# daily until the seventh day, then never again (a week-old post has earned nearly all it will).
FETCH_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=3),
    timedelta(days=4),
    timedelta(days=5),
    timedelta(days=6),
    timedelta(days=7),
)

DEFINITIONS = {
    "reach": _("Reach: the impressions (or, failing those, the views) the network reports. Unknown where the "
               "network reports neither; SMMS never estimates it."),
    "engagements": _("Engagements: likes + shares (reposts, boosts) + replies + quotes."),
    "engagement_rate": _("Engagement rate: engagements ÷ reach."),
    "virality_rate": _("Virality rate: shares ÷ reach."),
    "per_follower": _("Engagements per follower: engagements ÷ the account's followers, shown only where the "
                      "network gives no reach."),
    "aggregate": _("Totals over several posts weigh each post by its reach: the sum of engagements ÷ the sum of "
                   "reach, over the posts whose reach is known."),
}  # fmt: skip


@dataclass(frozen=True)
class Rates:
    reach: int | None
    engagements: int
    engagement_rate: float | None
    virality_rate: float | None


def next_fetch(*, published_at: datetime, after: datetime, first: timedelta | None = None) -> datetime | None:
    """The first time on FETCH_SCHEDULE strictly after ``after``; None when the schedule is over. ``first``
    replaces the first step (a demo wants figures within a minute or two, not ten)."""
    steps = (first, *FETCH_SCHEDULE[1:]) if first is not None else FETCH_SCHEDULE
    for step in steps:
        at = published_at + step
        if at > after:
            return at
    return None


def reach_of(*, impressions: int | None, views: int | None) -> int | None:
    if impressions is not None:
        return impressions
    return views


def engagements_of(*, likes: int | None, shares: int | None, replies: int | None, quotes: int | None) -> int:
    return sum(value or 0 for value in (likes, shares, replies, quotes))


def ratio(part: int | None, whole: int | None) -> float | None:
    """part ÷ whole; None when either is unknown or the whole is zero (nothing was seen: no rate)."""
    if part is None or not whole:
        return None
    return part / whole


def rates_of(
    *,
    likes: int | None,
    shares: int | None,
    replies: int | None,
    quotes: int | None,
    impressions: int | None,
    views: int | None,
) -> Rates:
    reach = reach_of(impressions=impressions, views=views)
    engagements = engagements_of(likes=likes, shares=shares, replies=replies, quotes=quotes)
    return Rates(
        reach=reach,
        engagements=engagements,
        engagement_rate=ratio(engagements, reach),
        virality_rate=ratio(shares, reach),
    )


@dataclass(frozen=True)
class Totals:
    """Sums over several posts. Rates weigh each post by its reach: only posts whose reach is known count in
    them, so a Mastodon post (no reach) neither inflates nor dilutes an account's engagement rate."""

    posts: int = 0
    engagements: int = 0
    shares: int = 0
    posts_with_reach: int = 0
    reach: int = 0
    engagements_with_reach: int = 0
    shares_with_reach: int = 0

    @property
    def engagement_rate(self) -> float | None:
        return ratio(self.engagements_with_reach, self.reach) if self.posts_with_reach else None

    @property
    def virality_rate(self) -> float | None:
        return ratio(self.shares_with_reach, self.reach) if self.posts_with_reach else None

    def per_follower(self, followers: int | None) -> float | None:
        """Engagements per post per follower, for accounts on networks that give no reach."""
        if not followers or not self.posts:
            return None
        return self.engagements / self.posts / followers


def followers_of(extra: object) -> int | None:
    """The follower count stored with an account (``extra["followers"]``), when SMMS knows it."""
    value = extra.get("followers") if isinstance(extra, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
