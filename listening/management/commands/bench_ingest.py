"""Ingestion throughput: the simulator's generator → Mastodon connector over HTTP → pipeline → database.

This first version polls in this process (no Celery) to measure the pipeline itself; it also measures the
language identification and sentiment scorer alone on the same texts. It creates a throwaway organization
and deletes it afterwards.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import services as account_services
from accounts.demo import consent
from accounts.models import User
from listening import nlp, services
from listening.models import Mention, PollCursor


class Command(BaseCommand):
    help = "Measure mentions/s end to end through the pipeline (in-process) and the scorer alone."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=20000)
        parser.add_argument("--topics", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        from simulator.app import Simulator
        from simulator.server import running_simulator

        count = options["count"]
        with running_simulator(Simulator(seed=1)) as (sim, base):
            settings.SMMS_SIMULATOR_URL = base
            user, _ = User.objects.get_or_create(email="bench@smms.test")
            org = account_services.organization_create(name="Bench", owner=user)
            actor = org.memberships.get()
            try:
                callback = "http://127.0.0.1/callback"
                url, flow = account_services.social_connect_start(
                    actor=actor, platform="mastodon", redirect_uri=callback
                )
                back = consent(url, "109000000")
                pending = account_services.social_connect_finish(
                    actor=actor, flow=flow, code=back["code"], state=back["state"], redirect_uri=callback
                )
                [account] = account_services.social_connect_confirm(
                    actor=actor, pending=pending, remote_ids=["109000000"]
                )
                for i in range(options["topics"]):
                    services.topic_save(
                        actor=actor,
                        name=f"T{i}",
                        query=["lumière", "x2 OR one", "#arnaque", "service client", "appli"][i % 5],
                    )
                services.poll_cursors_ensure()
                cursor = PollCursor.objects.get(account=account)
                services.account_poll(cursor_id=cursor.id)
                created = sim.traffic.generate(platform="mastodon", count=count, kind="mention", target="maisonlumiere")
                texts = [p.text for p in created]

                started = time.perf_counter()
                langs = nlp.detect_languages(texts)
                for text, lang in zip(texts, langs, strict=True):
                    nlp.score(text, lang)
                scorer = len(texts) / (time.perf_counter() - started)

                started = time.perf_counter()
                while Mention.objects.filter(organization=org).count() < count:
                    services.account_poll(cursor_id=cursor.id)
                elapsed = time.perf_counter() - started
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                self.stdout.write(
                    f"ingested {count} mentions in {elapsed:.1f} s: {count / elapsed:,.0f} mentions/s end to end "
                    f"(one process, {connection_vendor()}); scorer alone {scorer:,.0f} texts/s; "
                    f"peak RSS {peak_mb:.0f} MB"
                )
            finally:
                org.delete()


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor
