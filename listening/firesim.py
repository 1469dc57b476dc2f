"""Simulated topic traffic with a controlled clock, for fire-detection tests and `manage.py bench_fire`:
a calm day (quiet nights, lunch and evening peaks, ~15 % negative) and scripted negative bursts."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from accounts.models import Organization

from .models import Mention, Topic, TopicMention

NEGATIVE = ["Lumière X2 en panne, nul 😡 #arnaque", "Remboursez-moi la X2, scandale #arnaque", "X2 cassée #arnaque"]
CALM = ["Lumière X2 reçue", "Une question sur la Lumière X2", "J'aime bien la Lumière X2", "X2 livrée hier"]


def rate_at(moment: datetime, scale: float = 1.0) -> float:
    """Mentions per minute on a calm day."""
    hour = moment.hour + moment.minute / 60
    return scale * (0.2 + 2.5 * max(0.0, 1 - abs(hour - 12.5) / 3) + 3.0 * max(0.0, 1 - abs(hour - 20) / 2.5))


def poisson(rng: random.Random, lam: float) -> int:
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


class Feed:
    """Mentions of one topic, written in bulk."""

    def __init__(self, topic: Topic, org: Organization) -> None:
        self.topic, self.org, self.n = topic, org, 0
        self.mentions: list[Mention] = []

    def add(self, moment: datetime, text: str, sentiment: str) -> None:
        self.n += 1
        self.mentions.append(
            Mention(organization=self.org, platform="x", external_id=f"sim-{self.topic.id}-{self.n}", kind="mention",
                    author_id="a", author_handle=f"user{self.n % 50}", author_followers=self.n % 997, text=text,
                    lang="fr", sentiment=sentiment, published_at=moment)
        )  # fmt: skip

    def save(self) -> None:
        created = Mention.objects.bulk_create(self.mentions, batch_size=2000)
        TopicMention.objects.bulk_create(
            [TopicMention(topic=self.topic, mention=m, published_at=m.published_at, platform="x", lang="fr",
                          sentiment=m.sentiment) for m in created],
            batch_size=2000,
        )  # fmt: skip
        self.mentions = []

    def calm(self, start: datetime, end: datetime, rng: random.Random, scale: float = 1.0) -> None:
        moment = start
        while moment < end:
            for _ in range(poisson(rng, rate_at(moment, scale))):
                sentiment = rng.choices(["negative", "neutral", "positive"], [0.15, 0.5, 0.35])[0]
                self.add(moment + timedelta(seconds=rng.randint(0, 59)), rng.choice(CALM), sentiment)
            moment += timedelta(minutes=1)

    def burst(self, start: datetime, count: int, seconds: int, rng: random.Random) -> None:
        for i in range(count):
            self.add(start + timedelta(seconds=seconds * i / count), rng.choice(NEGATIVE), "negative")
