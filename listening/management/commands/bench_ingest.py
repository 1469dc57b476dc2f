"""Ingestion throughput, end to end: the simulator's generator → connectors over HTTP → Celery workers
(polling queue) → pipeline → PostgreSQL.

It connects the simulator's brand accounts on Mastodon and Bluesky to a throwaway organization,
generates ``--count`` mentions spread over them, starts ``--workers`` real Celery worker processes, plays
beat's part (dispatching due streams every 200 ms) and times until every mention is stored. The language
and sentiment scorer alone is measured on the same texts. Run it with `make bench-ingest`.
"""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from accounts import services as account_services
from accounts.demo import connect_simulated
from accounts.models import User
from listening import nlp, services
from listening.models import Mention, PollCursor
from smms.lib import bench

# X serves only the 800 most recent mentions (a real limit the simulator keeps), so a backlog generated all
# at once would be partly out of reach there: the bulk benchmark uses Mastodon and Bluesky.
PLATFORMS = ("mastodon", "bluesky")


class Command(BaseCommand):
    help = "Measure mentions/s end to end with real Celery workers, and the scorer alone."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=30000)
        parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork concurrency)")
        parser.add_argument("--topics", type=int, default=5)
        parser.add_argument(
            "--queues", type=int, default=4, help="inbox queues with routing rules (the last takes everything)"
        )

    @staticmethod
    def _queues(actor: Any, n: int) -> None:
        """Inbox queues whose rules every new conversation is routed through as it is ingested."""
        from accounts.models import Team
        from moderation import services as moderation_services
        from moderation.models import AssignmentMode

        if n <= 0:
            return
        team = Team.objects.create(organization=actor.organization, name="Bench care")
        rules: list[dict[str, Any]] = [
            {"keywords": 'rembours* OR "money back" OR #arnaque', "sentiment_below": -0.3},
            {"languages": ["fr"], "min_followers": 1000},
            {"kinds": ["message"]},
            {"sentiment_below": -0.5},
        ]
        for i in range(n):
            rule = {} if i == n - 1 else rules[i % len(rules)]
            moderation_services.queue_save(
                actor=actor,
                spec=moderation_services.QueueSpec(
                    name=f"Q{i}", team=team, position=i, assignment_mode=AssignmentMode.ROUND_ROBIN,
                    first_response_minutes=60, **rule,
                ),
            )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        from simulator.app import Simulator
        from simulator.server import running_simulator

        count = options["count"]
        with running_simulator(Simulator(seed=1)) as (sim, base):
            settings.SMMS_SIMULATOR_URL = base
            settings.SMMS_POLL_INTERVAL = 0  # as the workers: a stream is due again as soon as it is polled
            user, _ = User.objects.get_or_create(email="bench@smms.test")
            org = account_services.organization_create(name=f"Bench {time.time():.0f}", owner=user)
            actor = org.memberships.get()
            worker = None
            try:
                accounts = self._connect(actor, sim)
                for i in range(options["topics"]):
                    query = ["lumière", "x2 OR one", "#arnaque", '"service client"', "appli"][i % 5]
                    services.topic_save(actor=actor, name=f"T{i}", query=query)
                self._queues(actor, options["queues"])
                services.poll_cursors_ensure()
                cursors = list(PollCursor.objects.filter(account__in=accounts).values_list("id", flat=True))
                for cursor_id in cursors:  # first polls set the cursors
                    services.account_poll(cursor_id=cursor_id)
                per = count // len(accounts)
                texts: list[str] = []
                for account in accounts:
                    created = sim.traffic.generate(platform=account.platform, count=per, kind="mention",
                                                   target=account.remote_id)  # fmt: skip
                    texts += [p.text for p in created]
                total = per * len(accounts)
                self.stdout.write(f"{total} mentions waiting on {len(accounts)} accounts; starting workers")

                started = time.perf_counter()
                langs = nlp.detect_languages(texts)
                for text, lang in zip(texts, langs, strict=True):
                    nlp.score(text, lang)
                scorer = len(texts) / (time.perf_counter() - started)

                worker = bench.start_worker(
                    queues="polling",
                    concurrency=options["workers"],
                    env={"SMMS_SIMULATOR_URL": base, "SMMS_POLL_INTERVAL": "0"},
                )
                time.sleep(3)  # let the workers boot and load the models before the clock starts
                from listening.tasks import account_poll

                started = time.perf_counter()
                cpu = bench.CpuMeter([worker])
                stored = last_report = 0
                while stored < total and time.perf_counter() - started < 900:
                    for cursor_id in services.polls_due():
                        account_poll.delay(cursor_id)
                    time.sleep(0.2)
                    stored = Mention.objects.filter(organization=org).count()
                    if time.perf_counter() - last_report > 5:
                        last_report = time.perf_counter()
                        self.stdout.write(f"  {stored}/{total} stored after {last_report - started:.0f} s")
                elapsed = time.perf_counter() - started
                peak = bench.peak_rss_mb(bench.process_tree(worker))
                self.stdout.write(self.style.SUCCESS(
                    f"{stored} mentions in {elapsed:.1f} s: {stored / elapsed:,.0f} mentions/s end to end "
                    f"({options['workers']} worker processes, {connection.vendor}, {os.cpu_count()} cores); "
                    f"scorer alone {scorer:,.0f} texts/s on one core; workers' peak RSS {peak:.0f} MB"
                ))  # fmt: skip
                self.stdout.write(cpu.report(stored, "mention"))
            finally:
                if worker is not None:
                    bench.stop(worker)
                org.delete()

    def _connect(self, actor: Any, sim: Any) -> list[Any]:
        accounts = []
        for platform in PLATFORMS:
            users = [{"id": u.id, "handle": u.handle, "password": u.password} for u in sim.world.brand_users(platform)]
            accounts += connect_simulated(actor, platform, users)
        return accounts
