"""Ingestion throughput, end to end: the simulator's generator → connectors over HTTP → Celery workers
(polling queue) → pipeline → PostgreSQL.

It connects the simulator's brand accounts on Mastodon and Bluesky to a throwaway organization,
generates ``--count`` mentions spread over them, starts ``--workers`` real Celery worker processes, plays
beat's part (dispatching due streams every 200 ms) and times until every mention is stored. The language
and sentiment scorer alone is measured on the same texts. Run it with `make bench-ingest`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from accounts import services as account_services
from accounts.demo import connect_simulated
from accounts.models import User
from listening import nlp, services
from listening.models import Mention, PollCursor

# X serves only the 800 most recent mentions (a real limit the simulator keeps), so a backlog generated all
# at once would be partly out of reach there: the bulk benchmark uses Mastodon and Bluesky.
PLATFORMS = ("mastodon", "bluesky")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU time all cores spent on anything but idling and waiting, since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


class Command(BaseCommand):
    help = "Measure mentions/s end to end with real Celery workers, and the scorer alone."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--count", type=int, default=30000)
        parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork concurrency)")
        parser.add_argument("--topics", type=int, default=5)

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

                worker = self._start_worker(options["workers"], base)
                time.sleep(3)  # let the workers boot and load the models before the clock starts
                from listening.tasks import account_poll

                started = time.perf_counter()
                cpu_before = (_cpu_seconds(self._worker_pids(worker)), time.process_time(), _machine_busy_seconds())
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
                workers_cpu = _cpu_seconds(self._worker_pids(worker)) - cpu_before[0]
                simulator_cpu = time.process_time() - cpu_before[1]
                machine_cpu = _machine_busy_seconds() - cpu_before[2]
                peak = _peak_rss_mb(self._worker_pids(worker))
                self.stdout.write(self.style.SUCCESS(
                    f"{stored} mentions in {elapsed:.1f} s: {stored / elapsed:,.0f} mentions/s end to end "
                    f"({options['workers']} worker processes, {connection.vendor}, {os.cpu_count()} cores); "
                    f"scorer alone {scorer:,.0f} texts/s on one core; workers' peak RSS {peak:.0f} MB"
                ))  # fmt: skip
                rest = max(0.0, machine_cpu - workers_cpu - simulator_cpu)
                self.stdout.write(
                    f"CPU seconds over the run: workers {workers_cpu:.1f}, simulator and dispatcher "
                    f"{simulator_cpu:.1f}, the rest (PostgreSQL, Redis, system) {rest:.1f}, of "
                    f"{elapsed * (os.cpu_count() or 1):.1f} available; workers' CPU per mention "
                    f"{workers_cpu / max(stored, 1) * 1e6:.0f} µs"
                )
            finally:
                if worker is not None:
                    worker.terminate()
                    worker.wait(timeout=30)
                org.delete()

    def _connect(self, actor: Any, sim: Any) -> list[Any]:
        accounts = []
        for platform in PLATFORMS:
            users = [{"id": u.id, "handle": u.handle, "password": u.password} for u in sim.world.brand_users(platform)]
            accounts += connect_simulated(actor, platform, users)
        return accounts

    def _start_worker(self, concurrency: int, simulator_url: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "smms.settings.test"),
            "SMMS_SIMULATOR_URL": simulator_url,
            "SMMS_POLL_INTERVAL": "0",
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        }
        celery = str(Path(sys.executable).parent / "celery")
        return subprocess.Popen(  # noqa: S603
            [celery, "-A", "smms", "worker", "-Q", "polling", "--pool", "prefork", "--concurrency",
             str(concurrency), "--loglevel", os.environ.get("BENCH_LOGLEVEL", "WARNING"), "--without-mingle",
             "--without-gossip"],
            env=env, cwd=settings.BASE_DIR,
        )  # fmt: skip

    @staticmethod
    def _worker_pids(worker: subprocess.Popen[bytes]) -> list[int]:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
        pids = [worker.pid]
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        return pids
