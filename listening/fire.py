"""Fire detection: a topic's volume or negative share rising beyond what its own history explains.

Every few seconds (and after ingestion) each active topic's last WINDOW of mentions is compared with its
baseline, the usual count for a window of that length computed from
  - the same time of day on the previous days (people post more at lunch than at 4 a.m.), and
  - the recent hours, excluding the window itself;
the larger of the two is expected (so a quiet night after a busy day does not look like a fire).
Volume fires when the count is at least VOLUME_RATIO times what is expected AND beyond what Poisson noise
explains (z ≥ Z); negativity fires when the negative share is NEGATIVE_DELTA above the baseline share
and significant under a binomial test. Both need MIN_MENTIONS in the window.

A thin burst (a few posts a minute) takes minutes to fill the window, so the last one and two minutes are
also read on their own: a count of mentions, or of negative ones, that the baseline rate makes less likely
than FAST_P (an exact Poisson tail) and that is at least VOLUME_RATIO times the usual count, fires at once.
An alert is kept open while the fire lasts (updated, not repeated); a new one waits COOL_DOWN after
resolution.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import regex
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import Alert, AlertStatus, Mention, Topic, TopicMention

WINDOW = timedelta(minutes=5)
HISTORY_DAYS = 7
RECENT = timedelta(hours=6)
MIN_MENTIONS = 15
VOLUME_RATIO = 3.0
NEGATIVE_DELTA = 0.25
Z = 4.0
COOL_DOWN = timedelta(minutes=30)
FLOOR = 1.0  # expected mentions per window never below this: a brand-new topic is not on fire by default
FAST_WINDOWS = (timedelta(minutes=1), timedelta(minutes=2))
FAST_P = 1e-7  # ≈ 5 standard deviations; checked every 15 s on two windows, a calm topic stays quiet for weeks
FAST_MIN = 5  # mentions (or negative mentions) a fast window needs at the least
FAST_FLOOR = 0.1  # expected mentions per minute never below this

_STOPWORDS = """a an and are as at be but by for from has have i if in is it its me my no not of on or our so that the
    their them they this to too was we were what when who will with you your just get got can do dont im
    le la les l un une des de du d et ou mais donc or ni car je tu il elle on nous vous ils elles ce c ça ca
    cette ces mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs que qui quoi dont où y en ne
    pas plus est sont été être avoir a ai as avez ont au aux pour par sur dans avec sans sous chez se s
    qu j m n t très trop tout tous rien encore toujours déjà https http www com fr"""
STOPWORDS = frozenset(_STOPWORDS.split())
WORD_RE = regex.compile(r"[\p{L}][\p{L}\p{N}]{2,}")
TAG_RE = regex.compile(r"#([\p{L}\p{N}_]+)")


@dataclass(frozen=True)
class Reading:
    volume: int
    negative: int
    expected_volume: float
    expected_negative_share: float
    # (minutes, volume, negative) of the fast windows
    recent: tuple[tuple[float, int, int], ...] = ()

    @property
    def negative_share(self) -> float:
        return self.negative / self.volume if self.volume else 0.0

    def volume_fire(self) -> bool:
        expected = max(self.expected_volume, FLOOR)
        z = (self.volume - expected) / math.sqrt(expected)
        slow = self.volume >= MIN_MENTIONS and self.volume >= VOLUME_RATIO * expected and z >= Z
        return slow or any(self._fast(minutes, volume, 1.0) for minutes, volume, _n in self.recent)

    def negativity_fire(self) -> bool:
        base = min(max(self.expected_negative_share, 0.05), 0.95)
        fast = any(
            self._fast(minutes, negative, base) and negative / volume - base >= NEGATIVE_DELTA
            for minutes, volume, negative in self.recent
        )
        if self.volume < MIN_MENTIONS:
            return fast
        z = (self.negative_share - base) / math.sqrt(base * (1 - base) / self.volume)
        return (self.negative_share - base >= NEGATIVE_DELTA and z >= Z) or fast

    def _fast(self, minutes: float, count: int, share: float) -> bool:
        per_minute = max(self.expected_volume / (WINDOW.total_seconds() / 60), FAST_FLOOR)
        expected = per_minute * minutes * share
        return count >= FAST_MIN and count >= VOLUME_RATIO * expected and poisson_tail(count, expected) <= FAST_P


def poisson_tail(k: int, mean: float) -> float:
    """P(X ≥ k) for X ~ Poisson(mean), summed in log space so large counts do not overflow."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    term = math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))  # P(X = k)
    total, i = 0.0, k
    while term > total * 1e-12 and i < k + 10_000:
        total += term
        i += 1
        term *= mean / i
    return min(total, 1.0)


def _counts(topic: Topic, start: datetime, end: datetime) -> tuple[int, int]:
    row = TopicMention.objects.filter(topic=topic, published_at__gte=start, published_at__lt=end).aggregate(
        volume=Count("id"), negative=Count("id", filter=Q(sentiment="negative"))
    )
    return int(row["volume"]), int(row["negative"])


def read(topic: Topic, now: datetime) -> Reading:
    volume, negative = _counts(topic, now - WINDOW, now)
    windows_recent = RECENT / WINDOW
    recent_volume, recent_negative = _counts(topic, now - WINDOW - RECENT, now - WINDOW)
    same_hour = [
        (_counts(topic, now - timedelta(days=d) - WINDOW, now - timedelta(days=d))) for d in range(1, HISTORY_DAYS + 1)
    ]
    day_volumes = sorted(v for v, _n in same_hour)
    median_day = day_volumes[len(day_volumes) // 2] if day_volumes else 0
    expected = max(recent_volume / windows_recent, float(median_day))
    base_volume = recent_volume + sum(v for v, _n in same_hour)
    base_negative = recent_negative + sum(n for _v, n in same_hour)
    share = base_negative / base_volume if base_volume else 0.2
    recent = tuple((w.total_seconds() / 60, *_counts(topic, now - w, now)) for w in FAST_WINDOWS)
    return Reading(volume, negative, expected, share, recent)


def explain(topic: Topic, reading: Reading, now: datetime, kind: str) -> dict[str, Any]:
    mentions = list(
        Mention.objects.filter(topic_mentions__topic=topic, published_at__gte=now - WINDOW, published_at__lt=now).only(
            "text", "platform", "lang", "author_handle", "author_followers", "sentiment", "permalink"
        )[:2000]
    )
    words: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    for mention in mentions:
        lowered = mention.text.lower()
        tags.update(TAG_RE.findall(lowered))
        words.update(w for w in WORD_RE.findall(lowered) if w not in STOPWORDS and not w.startswith("http"))
    focus = [m for m in mentions if kind != "negativity" or m.sentiment == "negative"] or mentions
    samples = sorted(focus, key=lambda m: m.author_followers or 0, reverse=True)[:3]
    return {
        "window_minutes": int(WINDOW.total_seconds() // 60),
        "volume": reading.volume,
        "expected_volume": round(reading.expected_volume, 1),
        "magnitude": round(reading.volume / max(reading.expected_volume, FLOOR), 1),
        "negative_share": round(reading.negative_share, 3),
        "expected_negative_share": round(reading.expected_negative_share, 3),
        "top_terms": [w for w, _ in words.most_common(8)],
        "top_hashtags": [f"#{t}" for t, _ in tags.most_common(5)],
        "networks": dict(Counter(m.platform for m in mentions).most_common()),
        "languages": dict(Counter(m.lang or "?" for m in mentions).most_common()),
        "samples": [
            {"author": m.author_handle, "network": m.platform, "text": m.text[:280], "url": m.permalink}
            for m in samples
        ],
    }


def detect(topic: Topic, now: datetime | None = None) -> list[Alert]:
    """Open or update the topic's alert for the reading at ``now``; returns the alert if opened now.

    One fire is one alert, whichever signals it shows: a burst that raises the volume and then the negative
    share updates the same alert (``explanation["signals"]``), which keeps the fire's peak volume and what
    the topic looked like then."""
    now = now or timezone.now()
    reading = read(topic, now)
    signals = [
        k for k, firing in (("volume", reading.volume_fire()), ("negativity", reading.negativity_fire())) if firing
    ]
    if not signals:
        return []
    live = Alert.objects.filter(topic=topic).exclude(status=AlertStatus.RESOLVED).first()
    if live is not None:
        known = set(live.explanation.get("signals", [live.kind]))
        if reading.volume > live.observed:
            live.observed, live.expected = reading.volume, reading.expected_volume
            live.explanation = {**explain(topic, reading, now, _focus(known | set(signals))),
                                "signals": sorted(known | set(signals))}  # fmt: skip
            live.save(update_fields=["observed", "expected", "explanation"])
        elif not set(signals) <= known:
            live.explanation = {**live.explanation, "signals": sorted(known | set(signals))}
            live.save(update_fields=["explanation"])
        return []
    if Alert.objects.filter(topic=topic, resolved_at__gt=now - COOL_DOWN).exists():
        return []  # cooling down after a fire was resolved
    explanation = {**explain(topic, reading, now, _focus(set(signals))), "signals": sorted(signals)}
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                organization_id=topic.organization_id, topic=topic, kind=_focus(set(signals)),
                started_at=now - WINDOW, observed=reading.volume, expected=reading.expected_volume,
                explanation=explanation,
            )  # fmt: skip
    except IntegrityError:  # another detector opened it a moment ago
        return []
    return [alert]


def _focus(signals: set[str]) -> str:
    """What the alert is mostly about: negativity when the mood turned, else volume."""
    return "negativity" if "negativity" in signals else "volume"
