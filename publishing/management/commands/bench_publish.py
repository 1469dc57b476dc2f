"""Publishing at a big brand's scale, with and without faults: ``make bench-publish`` and ``make chaos-publish``.

``--posts`` posts spread over ``--accounts`` accounts (X, Mastodon and Bluesky brand accounts of the bundled
simulator, connected the way a person would) fall due in the same instant. Real Celery workers on the
publishing queue publish them while this command plays beat's part (dispatch every half second, recovery
every few seconds). It reports the lag between the due time and the network's acknowledgement.

With ``--chaos`` the simulator answers 10 % of writes with a 5xx, sends bursts of 429s and loses 2 % of its
answers after making the post; meanwhile workers are killed with SIGKILL at random moments and Redis is
restarted once. At the end SMMS's records are compared with the simulator's: a duplicate is a post made twice
for one delivery; a lost post is a delivery neither published nor failed with a reason, or recorded as
published without the post existing, or recorded as failed while the post exists.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from accounts import services as account_services
from accounts.demo import connect_simulated
from accounts.models import SocialAccount, User
from publishing.models import Delivery, DeliveryState, Post, PostStatus
from smms.lib import bench
from smms.schedule import BEAT_SCHEDULE

# Where the accounts live, in this proportion (X without idempotency keys, Mastodon with them, Bluesky with
# app passwords): every publishing path is exercised.
SHARE = {"mastodon": 0.34, "bluesky": 0.33, "x": 0.33}
PUBLISH_PATHS = r"(/api/v1/statuses|/2/tweets|com\.atproto\.repo\.createRecord)$"
CHAOS_FAULTS = [
    {"kind": "lost", "mode": "reset", "rate": 0.02, "methods": ["POST"], "path": PUBLISH_PATHS},
    {"kind": "error", "status": 503, "rate": 0.10, "methods": ["POST"], "path": PUBLISH_PATHS},
    {"kind": "rate_limit", "count": 60, "retry_after": 2, "rate": 0.01, "methods": ["POST"], "path": PUBLISH_PATHS},
]
# The dispatcher runs as often as beat runs it in production.
DISPATCH_EVERY = BEAT_SCHEDULE["publishing-deliveries-dispatch"]["schedule"]
MARK = "#smms-bench-"  # each post's text ends with its delivery's mark: the simulator's record names it


@dataclass
class Verdict:
    deliveries: int = 0
    published: int = 0
    failed: int = 0
    duplicates: int = 0
    lost: int = 0
    failed_without_reason: int = 0
    lags: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


class Command(BaseCommand):
    help = "Publish many posts due at once with real workers; with --chaos, under faults, kills and a Redis restart."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--posts", type=int, default=10_000)
        parser.add_argument("--accounts", type=int, default=178)
        parser.add_argument("--workers", type=int, default=1, help="worker processes")
        parser.add_argument("--concurrency", type=int, default=4, help="prefork children per worker")
        parser.add_argument("--chaos", action="store_true")
        parser.add_argument("--seed", type=int, default=5)
        parser.add_argument("--timeout", type=int, default=900, help="seconds to wait for every delivery")

    kills = 0
    redis_restarted = False

    def handle(self, *args: Any, **options: Any) -> None:
        from simulator.app import Simulator
        from simulator.server import running_simulator

        if connection.vendor != "postgresql":
            raise CommandError("the publishing benchmark runs on PostgreSQL (make bench-publish sets it up)")
        rng = random.Random(options["seed"])  # noqa: S311 -- chaos timing, not security
        with running_simulator(Simulator(seed=options["seed"])) as (sim, base):
            settings.SMMS_SIMULATOR_URL = base
            user, _ = User.objects.get_or_create(email="bench-publish@smms.test")
            org = account_services.organization_create(name=f"Publish bench {time.time():.0f}", owner=user)
            actor = org.memberships.get()
            workers: list[Any] = []
            try:
                accounts = self._accounts(actor, sim, options["accounts"])
                deliveries = self._posts(org, user, accounts, options["posts"])
                self.stdout.write(f"{len(deliveries)} posts on {len(accounts)} accounts; starting workers")
                env = {"SMMS_SIMULATOR_URL": base}
                if options["chaos"]:
                    # A killed worker's claim must expire within the run for the recovery sweep to act.
                    env |= {"SMMS_PUBLISH_CLAIM_SECONDS": "20", "SMMS_PUBLISH_RETRY_BASE": "1"}
                    settings.SMMS_PUBLISH_CLAIM_SECONDS = 20
                from smms.celery import app

                app.control.purge()  # tasks an earlier run left name ids this fresh database gives out again
                workers = [self._worker(env, options["concurrency"], n) for n in range(options["workers"])]
                time.sleep(4)  # the workers connect to the broker before the posts fall due
                if options["chaos"]:
                    sim.faults.replace(CHAOS_FAULTS)
                due = timezone.now() + timedelta(seconds=1)
                Delivery.objects.filter(post__organization=org).update(due_at=due, next_attempt_at=due)
                started = time.perf_counter()
                cpu = bench.CpuMeter(workers)
                self._run(org, deliveries, workers, env, options, rng)
                elapsed = time.perf_counter() - started
                if not options["chaos"]:  # killed workers take their CPU counts with them
                    self.stdout.write(cpu.report(len(deliveries), "post"))
                sim.faults.replace([])
                verdict = self._verdict(org, sim, deliveries)
                self._report(verdict, elapsed, options)
            finally:
                for worker in workers:
                    bench.stop(worker)
                org.delete()
        if options["chaos"] and (verdict.duplicates or verdict.lost or verdict.failed_without_reason):
            raise CommandError("publishing lost or duplicated posts under faults")

    # --- set-up -----------------------------------------------------------------------------------------------
    def _accounts(self, actor: Any, sim: Any, count: int) -> list[SocialAccount]:
        counts = {platform: round(count * share) for platform, share in SHARE.items()}
        counts["x"] = count - counts["mastodon"] - counts["bluesky"]
        accounts: list[SocialAccount] = []
        for platform, wanted in counts.items():
            users = sim.apis[platform].add_brands(max(1, wanted))
            accounts += connect_simulated(actor, platform, [u.__dict__ for u in users])
            self.stdout.write(f"  {platform}: {len(users)} accounts connected")
        return accounts

    def _posts(self, org: Any, user: Any, accounts: list[SocialAccount], count: int) -> list[int]:
        """Approved, scheduled posts (one account each), written in bulk: the set-up is not what is measured."""
        later = timezone.now() + timedelta(days=1)
        posts = Post.objects.bulk_create(
            [
                Post(organization=org, author=user, status=PostStatus.SCHEDULED, scheduled_at=later,
                     text=f"Nouveautés Lumière n° {i} : la lampe X2 revient en boutique.")
                for i in range(count)
            ],
            batch_size=2000,
        )  # fmt: skip
        created = Delivery.objects.bulk_create(
            [
                Delivery(post=post, account=accounts[i % len(accounts)], state=DeliveryState.SCHEDULED,
                         due_at=later, next_attempt_at=later)
                for i, post in enumerate(posts)
            ],
            batch_size=2000,
        )  # fmt: skip
        ids = [d.id for d in created]
        for post, delivery_id in zip(posts, ids, strict=True):  # the mark names the delivery in the network's record
            post.text = f"{post.text} {MARK}{delivery_id}"
        Post.objects.bulk_update(posts, ["text"], batch_size=2000)
        return ids

    def _worker(self, env: dict[str, str], concurrency: int, number: int) -> Any:
        return bench.start_worker(queues="publishing", concurrency=concurrency, env=env, name=f"publish{number}")

    # --- the run ----------------------------------------------------------------------------------------------
    def _run(self, org: Any, deliveries: list[int], workers: list[Any], env: dict[str, str], options: dict[str, Any],
             rng: random.Random) -> None:  # fmt: skip
        from publishing import services
        from publishing.tasks import deliveries_dispatch

        open_states = (DeliveryState.SCHEDULED, DeliveryState.PUBLISHING)
        chaos = options["chaos"]
        started = time.perf_counter()
        next_kill = None  # the first kill comes once a tenth is settled, Redis restarts at two fifths
        redis_restarted = False
        last_recover = last_report = started
        last_dispatch = started - DISPATCH_EVERY
        remaining = total = len(deliveries)
        while remaining and time.perf_counter() - started < options["timeout"]:
            now = time.perf_counter()
            try:
                if now - last_dispatch >= DISPATCH_EVERY:  # beat's part, at beat's pace
                    deliveries_dispatch()
                    last_dispatch = now
            except Exception as exc:  # the broker is restarting: beat would simply try at its next tick
                self.stdout.write(f"  dispatch: {type(exc).__name__}: {exc}")
            if now - last_recover > (3 if chaos else 30):
                services.deliveries_recover_stuck(limit=2000)
                last_recover = now
            settled = total - remaining
            if chaos and next_kill is None and settled >= total / 10:
                next_kill = now
            if chaos and next_kill is not None and now >= next_kill:
                self._kill_one(workers, env, options["concurrency"], rng)
                self.kills += 1
                next_kill = now + rng.uniform(3, 8)
            if chaos and not redis_restarted and settled >= total * 2 / 5:
                self.stdout.write("  restarting Redis")
                bench.restart_redis(settings.CELERY_BROKER_URL)
                redis_restarted = self.redis_restarted = True
            time.sleep(0.5)
            remaining = Delivery.objects.filter(post__organization=org, state__in=open_states).count()
            if now - last_report > 5:
                last_report = now
                self.stdout.write(f"  {total - remaining}/{total} settled after {now - started:.0f} s")

    def _kill_one(self, workers: list[Any], env: dict[str, str], concurrency: int, rng: random.Random) -> None:
        """SIGKILL a pool child mid-task (or a whole worker now and then), and start a new worker for a dead one."""
        index = rng.randrange(len(workers))
        tree = bench.process_tree(workers[index])
        if len(tree) > 1 and rng.random() < 0.7:
            os.kill(rng.choice(tree[1:]), signal.SIGKILL)  # prefork replaces the child; its task is redelivered
            return
        os.kill(workers[index].pid, signal.SIGKILL)
        for pid in tree[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        workers[index].wait()
        workers[index] = self._worker(env, concurrency, index)

    # --- the verdict ------------------------------------------------------------------------------------------
    def _verdict(self, org: Any, sim: Any, deliveries: list[int]) -> Verdict:
        made: dict[int, list[str]] = {}
        for platform in SHARE:
            for post in sim.world.iter_posts(platform, newest_first=False):
                if MARK in post.text and not post.deleted:
                    delivery_id = int(post.text.rsplit(MARK, 1)[1].split()[0])
                    made.setdefault(delivery_id, []).append(post.id)
        verdict = Verdict(deliveries=len(deliveries))
        rows = Delivery.objects.filter(post__organization=org).values_list(
            "id", "state", "remote_id", "last_error", "due_at", "published_at"
        )
        for delivery_id, state, remote_id, last_error, due_at, published_at in rows:
            on_network = made.get(delivery_id, [])
            verdict.duplicates += max(0, len(on_network) - 1)
            if state == DeliveryState.PUBLISHED:
                verdict.published += 1
                if remote_id not in on_network:
                    verdict.lost += 1
                    verdict.examples.append(f"delivery {delivery_id}: recorded as {remote_id}, not on the network")
                else:
                    verdict.lags.append((published_at - due_at).total_seconds())
            elif state == DeliveryState.FAILED:
                verdict.failed += 1
                verdict.failed_without_reason += not last_error.strip()
                if on_network:
                    verdict.lost += 1
                    verdict.examples.append(f"delivery {delivery_id}: failed, yet on the network")
            else:
                verdict.lost += 1
                verdict.examples.append(f"delivery {delivery_id}: left {state}")
            if len(on_network) > 1:
                verdict.examples.append(f"delivery {delivery_id}: {len(on_network)} posts on the network")
        return verdict

    def _report(self, verdict: Verdict, elapsed: float, options: dict[str, Any]) -> None:
        kind = "chaos" if options["chaos"] else "no faults"
        lags = verdict.lags
        self.stdout.write(
            f"{verdict.deliveries} deliveries ({kind}, {options['workers']} workers of {options['concurrency']}, "
            f"{os.cpu_count()} cores) settled in {elapsed:.1f} s: {verdict.published} published, "
            f"{verdict.failed} failed ({verdict.failed_without_reason} without a reason)"
        )
        self.stdout.write(
            f"lag from due time to the network's acknowledgement: p50 {bench.percentile(lags, 0.5):.1f} s, "
            f"p99 {bench.percentile(lags, 0.99):.1f} s, max {max(lags, default=float('nan')):.1f} s"
        )
        if options["chaos"]:
            self.stdout.write(
                f"chaos: {self.kills} workers or pool processes killed with SIGKILL, Redis restarted "
                f"{'once' if self.redis_restarted else 'never'}; faults: 10 % 5xx, 2 % lost answers, 429 bursts"
            )
        style = self.style.SUCCESS if not (verdict.duplicates or verdict.lost) else self.style.ERROR
        self.stdout.write(style(f"duplicates: {verdict.duplicates}, lost: {verdict.lost}"))
        for example in verdict.examples[:10]:
            self.stdout.write(f"  {example}")
