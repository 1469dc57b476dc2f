"""Fire detection figures with a controlled clock: seconds from the start of a scripted negative burst to
the alert, and false alarms per simulated day of calm traffic. Detection runs every 15 simulated seconds,
as beat runs it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand

from accounts import services as account_services
from accounts.models import User
from listening import fire
from listening.firesim import Feed
from listening.models import Alert
from listening.services import topic_save

STEP = timedelta(seconds=15)


class Command(BaseCommand):
    help = "Measure fire-alert latency and false alarms per simulated day."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--calm-days", type=int, default=3, help="simulated calm days checked for false alarms")
        parser.add_argument("--bursts", type=int, default=5)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 -- a seeded simulation, not security
        user, _ = User.objects.get_or_create(email="bench@smms.test")
        org = account_services.organization_create(name="Fire bench", owner=user)
        actor = org.memberships.get()
        try:
            start = datetime(2026, 11, 2, tzinfo=UTC)
            history = timedelta(days=fire.HISTORY_DAYS)
            days = options["calm_days"]
            calm = Feed(topic_save(actor=actor, name="Calm", query="x2"), org)
            calm.calm(start, start + history + timedelta(days=days), rng)
            calm.save()
            false_alarms = 0
            moment = start + history
            while moment < start + history + timedelta(days=days):
                false_alarms += len(fire.detect(calm.topic, now=moment))
                moment += STEP
            latencies = []
            for b in range(options["bursts"]):
                feed = Feed(topic_save(actor=actor, name=f"Burst {b}", query="x2"), org)
                burst_at = start + history + timedelta(hours=rng.uniform(8, 22))
                feed.calm(start, burst_at + timedelta(minutes=20), rng)
                feed.burst(burst_at, count=rng.randint(60, 300), seconds=rng.randint(120, 600), rng=rng)
                feed.save()
                moment = burst_at - timedelta(minutes=5)
                while moment < burst_at + timedelta(minutes=20):
                    if fire.detect(feed.topic, now=moment):
                        latencies.append((moment - burst_at).total_seconds())
                        break
                    moment += STEP
            alerts = Alert.objects.filter(organization=org).count()
            worst = max(latencies) if latencies else float("nan")
            self.stdout.write(
                f"false alarms: {false_alarms / days:.2f} per simulated day ({false_alarms} over {days} days); "
                f"bursts alerted: {len(latencies)}/{options['bursts']}, latency after the burst starts: "
                f"median {sorted(latencies)[len(latencies) // 2] if latencies else float('nan'):.0f} s, "
                f"worst {worst:.0f} s (detection every {STEP.seconds} s); alerts opened: {alerts}"
            )
        finally:
            org.delete()
