"""Fire detection with a controlled clock: a scripted burst raises exactly one alert, calm traffic none."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from listening import fire
from listening.models import Alert, Mention, TopicMention
from listening.services import topic_save

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday
NEGATIVE = ["Lumière X2 en panne, nul 😡 #arnaque", "Remboursez-moi la X2, scandale #arnaque", "X2 cassée #arnaque"]
CALM = ["Lumière X2 reçue", "Une question sur la Lumière X2", "J'aime bien la Lumière X2", "X2 livrée hier"]


def rate_at(moment: datetime) -> float:
    """Mentions per minute on a calm day: quiet nights, a lunch peak, an evening peak."""
    hour = moment.hour + moment.minute / 60
    return 0.2 + 2.5 * max(0.0, 1 - abs(hour - 12.5) / 3) + 3.0 * max(0.0, 1 - abs(hour - 20) / 2.5)


def poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class Feed:
    def __init__(self, topic, org):
        self.topic, self.org, self.n = topic, org, 0
        self.mentions: list[Mention] = []
        self.links: list[tuple[Mention, datetime, str]] = []

    def add(self, moment, text, sentiment):
        self.n += 1
        self.mentions.append(
            Mention(organization=self.org, platform="x", external_id=str(self.n), kind="mention", author_id="a",
                    author_handle=f"user{self.n % 50}", author_followers=self.n % 997, text=text, lang="fr",
                    sentiment=sentiment, published_at=moment)
        )  # fmt: skip

    def save(self):
        created = Mention.objects.bulk_create(self.mentions, batch_size=2000)
        TopicMention.objects.bulk_create(
            [TopicMention(topic=self.topic, mention=m, published_at=m.published_at, platform="x", lang="fr",
                          sentiment=m.sentiment) for m in created],
            batch_size=2000,
        )  # fmt: skip
        self.mentions = []

    def calm(self, start, end, rng):
        moment = start
        while moment < end:
            for _ in range(poisson(rng, rate_at(moment))):
                sentiment = rng.choices(["negative", "neutral", "positive"], [0.15, 0.5, 0.35])[0]
                self.add(moment + timedelta(seconds=rng.randint(0, 59)), rng.choice(CALM), sentiment)
            moment += timedelta(minutes=1)


@pytest.fixture
def feed(personas):
    return Feed(topic_save(actor=personas.lead, name="X2", query="X2"), personas.org)


def test_a_calm_week_raises_no_alert(feed):
    feed.calm(T0, T0 + timedelta(days=8), random.Random(5))
    feed.save()
    moment = T0 + timedelta(days=7)
    while moment < T0 + timedelta(days=8):  # one simulated day, checked every 5 minutes
        assert fire.detect(feed.topic, now=moment) == [], moment
        moment += timedelta(minutes=5)
    assert not Alert.objects.exists()


def test_a_negative_burst_raises_exactly_one_alert_within_a_minute_with_its_explanation(feed):
    rng = random.Random(7)
    burst_at = T0 + timedelta(days=7, hours=15)
    feed.calm(T0, burst_at + timedelta(minutes=30), rng)
    for i in range(240):  # 240 negative French mentions over 4 minutes
        feed.add(burst_at + timedelta(seconds=i), rng.choice(NEGATIVE), "negative")
    feed.save()
    opened = []
    moment = burst_at - timedelta(minutes=10)
    while moment < burst_at + timedelta(minutes=30):
        opened += [(moment, a.kind) for a in fire.detect(feed.topic, now=moment)]
        moment += timedelta(seconds=15)
    assert len(opened) == 1  # once, not every 15 s, and not once per signal
    [alert] = Alert.objects.all()
    assert opened[0][0] - burst_at <= timedelta(seconds=60)
    why = alert.explanation
    assert why["signals"] == ["negativity", "volume"]
    assert alert.kind == "negativity"
    assert why["negative_share"] > 0.8
    assert why["magnitude"] >= 3
    assert why["top_hashtags"][0] == "#arnaque"
    assert why["networks"] == {"x": why["volume"]}
    assert why["languages"] == {"fr": why["volume"]}
    assert len(why["samples"]) == 3


def test_a_resolved_alert_cools_down_before_opening_again(feed):
    burst_at = T0 + timedelta(days=1)
    for i in range(100):
        feed.add(burst_at + timedelta(seconds=i), NEGATIVE[0], "negative")
    feed.save()
    assert fire.detect(feed.topic, now=burst_at + timedelta(minutes=2))
    Alert.objects.update(status="resolved", resolved_at=burst_at + timedelta(minutes=3))
    assert fire.detect(feed.topic, now=burst_at + timedelta(minutes=4)) == []
    for i in range(100):
        feed.add(burst_at + timedelta(hours=2, seconds=i), NEGATIVE[1], "negative")
    feed.save()
    assert fire.detect(feed.topic, now=burst_at + timedelta(hours=2, minutes=2))


def test_the_periodic_check_opens_alerts_and_mails_leads_and_admins(
    feed, personas, django_capture_on_commit_callbacks, celery_eager
):
    from django.core import mail

    from listening import services

    now = T0 + timedelta(days=1)
    for i in range(100):
        feed.add(now - timedelta(seconds=i), NEGATIVE[0], "negative")
    feed.save()
    with django_capture_on_commit_callbacks(execute=True):
        opened = services.fires_detect(now=now)
    assert len(opened) == 1
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted(["owner@acme.test", "admin@acme.test", "lead@acme.test"])
    assert "Fire on X2" in mail.outbox[0].subject
