"""Fire detection with a controlled clock: a scripted burst raises exactly one alert, calm traffic none."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from listening import fire
from listening.firesim import NEGATIVE, Feed
from listening.models import Alert
from listening.services import topic_save

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # a Monday


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
