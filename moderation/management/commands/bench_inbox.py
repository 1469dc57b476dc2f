"""The inbox at a big brand's scale: ``make bench-inbox``.

One organization (178 accounts, 6 teams, about 60 members, 10 queues) gets ``--conversations`` conversations
and ``--messages-per-conversation`` times as many messages, written with COPY (see moderation.benchdata). Then
the inbox is measured server-side: each request goes through Django's test Client in this process (session,
middleware, view, template; no network between the timer and the view), ``--iterations`` times after a short
warm-up, and the p50, p95 and maximum are printed with each kind's slowest query and its plan. Replies go to
the bundled simulator: a few of its Mastodon and Bluesky accounts are connected, real mentions are made there
and polled through the listening pipeline, and each reply is timed twice, as the request that queues it and as
the worker's send, then looked for on the simulated network.

The command fails only when something is broken (a request that is not 200 or 302, a reply that did not
reach the network), never because a goal is missed.
"""

from __future__ import annotations

import gc
import os
import random
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.demo import connect_simulated
from accounts.models import SocialAccount
from listening import services as listening_services
from listening.models import PollCursor
from moderation import benchdata, outbox, selectors
from moderation.models import Conversation, ConversationKind, Direction, Message, NetworkAction
from smms.lib import bench

ACCOUNTS = 178
SIMULATED = ("mastodon", "bluesky")  # their brand accounts are connected for real, to be replied to
WARMUP = 5
GOAL_MS = 100.0
EXPLAIN_RUNS = 3  # requests of each kind captured to find its slowest query
EXPLAIN_CANDIDATES = 4
PAGE_SIZES = (10, 50, 200)


@dataclass
class Timing:
    label: str
    samples: list[float] = field(default_factory=list)  # seconds
    slowest: str = ""  # the slowest query's SQL
    slowest_ms: float = 0.0  # its execution time in PostgreSQL
    plan: list[str] = field(default_factory=list)
    gc_pauses: int = 0  # Python's full (generation 2) collections during the timed requests
    gc_ms: float = 0.0

    def ms(self, fraction: float) -> float:
        return bench.percentile(self.samples, fraction) * 1000


class Command(BaseCommand):
    help = "Seed a million conversations with COPY, then time the inbox's pages, assignment and replies."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--conversations", type=int, default=1_000_000)
        parser.add_argument("--messages-per-conversation", type=int, default=3)
        parser.add_argument("--iterations", type=int, default=200)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--copy-with-indexes",
            action="store_true",
            help="COPY into the indexed tables instead of dropping the indexes and rebuilding them after (slower)",
        )

    problems: list[str]

    def handle(self, *args: Any, **options: Any) -> None:
        from simulator.app import Simulator
        from simulator.server import running_simulator

        bench.require_bench_database()
        if options["messages_per_conversation"] < 1:
            raise CommandError("--messages-per-conversation is at least 1")
        self.problems = []
        self.rng = random.Random(options["seed"])  # noqa: S311 -- which conversations are asked for
        self.iterations = options["iterations"]
        _quiet_broker()
        with running_simulator(Simulator(seed=options["seed"])) as (sim, base):
            settings.SMMS_SIMULATOR_URL = base
            self.base = base
            self.bench = self._seed(sim, options)
            targets = self._mentions(sim)
            timings = self._measure(targets)
            self._query_counts()
            self._report(timings)
        # The organization is left in place: `make bench-inbox` recreates the database at each run, and
        # deleting four million rows would take longer than the benchmark.
        if self.problems:
            for problem in self.problems[:20]:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"{len(self.problems)} requests or replies went wrong")

    # --- seeding ----------------------------------------------------------------------------------------------
    def _seed(self, sim: Any, options: dict[str, Any]) -> benchdata.BenchOrg:
        started = time.perf_counter()
        org = benchdata.organization_seed(rng=self.rng, name=f"Inbox bench {time.time():.0f}")
        connected: list[SocialAccount] = []
        for platform in SIMULATED:
            users = [{"id": u.id, "handle": u.handle, "password": u.password} for u in sim.world.brand_users(platform)]
            connected += connect_simulated(org.owner, platform, users)
        accounts = benchdata.accounts_seed(bench=org, total=ACCOUNTS, connected=connected)
        self.connected = connected
        self.stdout.write(
            f"organization: {len(accounts)} accounts ({len(connected)} connected through the simulator), "
            f"{len(org.teams)} teams, {len(org.members)} members, {len(org.queues)} queues "
            f"({time.perf_counter() - started:.1f} s)"
        )
        generator = benchdata.InboxGenerator(
            bench=org,
            conversations=options["conversations"],
            per_conversation=options["messages_per_conversation"],
            seed=options["seed"],
        )
        drop = not options["copy_with_indexes"]
        self.stdout.write(
            f"seeding {options['conversations']:,} conversations and their messages with COPY "
            f"({'indexes dropped, rebuilt after' if drop else 'into the indexed tables'})"
        )
        load = benchdata.conversations_load(generator=generator, drop_indexes=drop, out=self.stdout)
        rows = load.conversations + load.messages
        self.stdout.write(self.style.SUCCESS(
            f"seeded {load.conversations:,} conversations and {load.messages:,} messages in {load.seconds:.1f} s "
            f"({rows / load.seconds:,.0f} rows/s): COPY {load.copy_seconds:.1f} s "
            f"({rows / load.copy_seconds:,.0f} rows/s), foreign keys {load.fk_seconds:.1f} s, "
            f"indexes {load.index_seconds:.1f} s, "
            f"VACUUM ANALYZE {load.vacuum_seconds:.1f} s"
        ))  # fmt: skip
        self.first_seeded, self.last_seeded = _id_range(Conversation, org.org.id)
        return org

    def _mentions(self, sim: Any) -> list[int]:
        """Real mentions of the connected accounts, made on the simulator and polled through the listening
        pipeline: conversations with the networks' own ids, to be replied to."""
        listening_services.poll_cursors_ensure()
        cursors = list(
            PollCursor.objects.filter(account__in=self.connected, stream="mentions").values_list("id", flat=True)
        )
        for cursor_id in cursors:  # the first poll sets the cursor, as for a newly connected account
            listening_services.account_poll(cursor_id=cursor_id)
        wanted = WARMUP + self.iterations + EXPLAIN_RUNS
        per = -(-wanted // len(self.connected))
        for account in self.connected:
            answer = requests.post(
                f"{self.base}/_sim/generate",
                json={"platform": account.platform, "count": per, "kind": "mention", "target": account.handle,
                      "hostile_rate": 0},
                timeout=30,
            )  # fmt: skip
            answer.raise_for_status()
        started = time.perf_counter()
        for cursor_id in cursors:
            while (result := listening_services.account_poll(cursor_id=cursor_id)) is not None and result.stored:
                pass
        targets = list(
            Conversation.objects.filter(
                account__in=self.connected, kind=ConversationKind.MENTION, id__gt=self.last_seeded
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        self.stdout.write(
            f"{len(targets)} mentions made on the simulator and ingested through the pipeline "
            f"({time.perf_counter() - started:.1f} s)"
        )
        if len(targets) < wanted:
            raise CommandError(f"only {len(targets)} of {wanted} mentions became conversations")
        return targets

    # --- measuring --------------------------------------------------------------------------------------------
    def _client(self, membership: Any) -> Client:
        host = next((h for h in settings.ALLOWED_HOSTS if "*" not in h and not h.startswith(".")), "localhost")
        client = Client(SERVER_NAME=host)
        client.force_login(membership.user)
        return client

    def _measure(self, targets: list[int]) -> list[Timing]:
        org = self.bench
        lead, manager = org.leads[0], org.managers[0]
        self.lead_client, manager_client = self._client(lead), self._client(manager)
        queue = org.queues[1]
        assignee = org.managers[1]
        self.stdout.write(
            f"measuring {self.iterations} requests of each kind after {WARMUP} of warm-up: as team lead "
            f"{lead.user.email}, as community manager {manager.user.email} (teams "
            f"{', '.join(t.name for t in manager.teams.all())}); queue {queue.id} is {queue.name}, member "
            f"{assignee.id} is {assignee.user}"
        )
        # As smms/wsgi.py does once the app is loaded: the long-lived objects (here also the simulator and the
        # language models, which a web worker does not hold) are left out of the collector's full passes.
        gc.collect()
        gc.freeze()
        timings = []
        pages = [
            ("inbox · lead · no filter", self.lead_client, {}),
            ("inbox · lead · status=open", self.lead_client, {"status": "open"}),
            ("inbox · lead · status=new&sla=breached", self.lead_client, {"status": "new", "sla": "breached"}),
            (f"inbox · lead · queue={queue.id}", self.lead_client, {"queue": str(queue.id)}),
            ("inbox · lead · lang=fr&sentiment=negative", self.lead_client, {"lang": "fr", "sentiment": "negative"}),
            (f"inbox · lead · assignee={assignee.id}", self.lead_client, {"assignee": str(assignee.id)}),
            ("inbox · manager · no filter", manager_client, {}),
            ("inbox · manager · assignee=mine", manager_client, {"assignee": "mine"}),
        ]
        for label, client, query in pages:
            timings.append(self._time(label, partial(_same, query), partial(client.get, "/inbox/")))
        timings.append(
            self._time(
                "API list · lead · status=open",
                lambda _i: None,
                lambda _q: self.lead_client.get("/api/v1/conversations/", {"status": "open"}),
            )
        )
        timings.append(
            self._time(
                "conversation page",
                lambda _i: self._random_conversation(),
                lambda cid: self.lead_client.get(f"/inbox/conversations/{cid}/"),
            )
        )
        timings.append(self._time("assign (page form)", self._assign_prepare, self._assign_page, self._assign_check))
        timings.append(
            self._time("assign (API)", self._assign_prepare, self._assign_api, self._assign_check, ok=(200,))
        )
        timings += self._replies(targets)
        return timings

    def _time(
        self,
        label: str,
        prepare: Callable[[int], Any],
        call: Callable[[Any], Any],
        check: Callable[[Any, Any], None] | None = None,
        ok: tuple[int, ...] = (200, 302),
    ) -> Timing:
        """``call(prepare(i))`` timed alone, after a warm-up; then a few more under capture, for the slowest
        query. ``check`` looks at the outcome outside the timer."""
        timing = Timing(label)

        def once(i: int, record: bool) -> Any:
            arg = prepare(i)
            started = time.perf_counter()
            result = call(arg)
            elapsed = time.perf_counter() - started
            if isinstance(result, HttpResponse):
                if result.status_code not in ok:
                    self.problems.append(f"{label}: {result.status_code} for {arg!r}")
                self.lead_client.cookies.pop("messages", None)  # the next page would show and drop them
            if check is not None:
                check(arg, result)
            if record:
                timing.samples.append(elapsed)

        for i in range(WARMUP):
            once(i, record=False)
        with _GcMeter() as gc_meter:
            for i in range(self.iterations):
                once(i, record=True)
        timing.gc_pauses, timing.gc_ms = len(gc_meter.pauses), sum(gc_meter.pauses) * 1000
        timer = _QueryTimer()
        with connection.execute_wrapper(timer):
            for i in range(EXPLAIN_RUNS):
                once(i, record=False)
        # The few slowest by the clock here are explained; the one PostgreSQL spends longest on is shown.
        walls: dict[str, float] = {}
        for seconds, sql in timer.queries:
            walls[sql] = max(seconds, walls.get(sql, 0.0))
        for sql in sorted(walls, key=walls.__getitem__, reverse=True)[:EXPLAIN_CANDIDATES]:
            plan, server_ms = _explain(sql)
            if server_ms >= timing.slowest_ms:
                timing.slowest, timing.slowest_ms, timing.plan = sql, server_ms, plan
        self.stdout.write(
            f"  {label:<48} p50 {timing.ms(0.5):7.1f} ms  p95 {timing.ms(0.95):7.1f} ms  "
            f"max {max(timing.samples, default=0) * 1000:7.1f} ms"
        )
        return timing

    def _random_conversation(self) -> int:
        return self.rng.randint(self.first_seeded, self.last_seeded)

    def _assign_prepare(self, _i: int) -> tuple[int, int, int | None]:
        conversation_id = self._random_conversation()
        current = Conversation.objects.filter(id=conversation_id).values_list("assignee_id", flat=True).get()
        to = self.rng.choice([m for m in self.bench.managers if m.id != current])
        return conversation_id, to.id, current

    def _assign_page(self, arg: tuple[int, int, int | None]) -> Any:  # the test Client's response
        conversation_id, to, current = arg
        return self.lead_client.post(
            f"/inbox/conversations/{conversation_id}/assign/", {"assignee": to, "expected": current or ""}
        )

    def _assign_api(self, arg: tuple[int, int, int | None]) -> Any:
        conversation_id, to, _current = arg
        return self.lead_client.post(
            f"/api/v1/conversations/{conversation_id}/assign/", {"assignee": to}, content_type="application/json"
        )

    def _assign_check(self, arg: tuple[int, int, int | None], _response: Any) -> None:
        conversation_id, to, _current = arg
        now = Conversation.objects.filter(id=conversation_id).values_list("assignee_id", flat=True).get()
        if now != to:
            self.problems.append(f"assign: conversation {conversation_id} is assigned to {now}, not {to}")

    def _replies(self, targets: list[int]) -> list[Timing]:
        """Each reply is asked for through the page (the timed request queues it), then sent by the worker's
        task body in this process (timed apart: claim, HTTP call to the simulator, record), then looked for
        on the simulated network."""
        queued: deque[int] = deque()  # the actions the requests queued, in order
        pending = list(targets)
        brands = {(a.platform, a.id): a.remote_id for a in self.connected}

        def prepare_request(i: int) -> tuple[int, dict[str, Any]]:
            conversation_id = pending.pop()
            last = Message.objects.filter(conversation_id=conversation_id).order_by("-id").values_list("id").first()
            token = uuid.uuid4().hex
            text = f"Merci pour votre message, nous regardons cela tout de suite. (réf. {token[:8]})"
            return conversation_id, {"text": text, "client_token": token, "seen_message": last[0] if last else ""}

        def request(arg: tuple[int, dict[str, Any]]) -> Any:
            conversation_id, form = arg
            return self.lead_client.post(f"/inbox/conversations/{conversation_id}/reply/", form)

        def after_request(arg: tuple[int, dict[str, Any]], _response: Any) -> None:
            conversation_id, form = arg
            action = NetworkAction.objects.filter(client_token=form["client_token"]).values_list("id").first()
            if action is None:
                self.problems.append(f"reply: no action queued for conversation {conversation_id}")
                return
            queued.append(action[0])

        def prepare_send(_i: int) -> int | None:
            return queued.popleft() if queued else None

        def send(action_id: int | None) -> str:
            return outbox.network_action_run(action_id=action_id) if action_id is not None else "none queued"

        def after_send(action_id: int | None, outcome: str) -> None:
            if action_id is None:
                return  # its request already said what went wrong
            action = NetworkAction.objects.select_related("account").get(id=action_id)
            if outcome != "done" or not action.remote_id:
                self.problems.append(f"reply: action {action_id} ended {outcome}: {action.error}")
                return
            posts = requests.get(
                f"{self.base}/_sim/posts",
                params={"platform": action.account.platform, "author": brands[(action.account.platform,
                                                                                 action.account_id)]},
                timeout=30,
            ).json()["posts"]  # fmt: skip
            if not any(p["id"] == action.remote_id and p["reply_to_id"] for p in posts):
                self.problems.append(f"reply: {action.remote_id} (action {action_id}) is not on the network")

        return [
            self._time("reply · queue it (POST …/reply/)", prepare_request, request, after_request),
            self._time("reply · send it (network_action_run)", prepare_send, send, after_send),
        ]

    # --- query counts -----------------------------------------------------------------------------------------
    def _query_counts(self) -> None:
        org, lead = self.bench.org, self.bench.leads[0]
        request = self.lead_client.get("/inbox/").wsgi_request  # a signed-in request, for the templates
        rows, api = [], []
        for size in PAGE_SIZES:
            with CaptureQueriesContext(connection) as captured:
                page = selectors.conversation_page(org=org, actor=lead, filters=selectors.InboxFilters(), size=size)
                render_to_string("moderation/partials/inbox_table.html", {"page": page, "live": False}, request)
            rows.append(len(captured.captured_queries))
            with CaptureQueriesContext(connection) as captured:
                self.lead_client.get("/api/v1/conversations/", {"page_size": size})
            api.append(len(captured.captured_queries))
        with CaptureQueriesContext(connection) as captured:
            self.lead_client.get("/inbox/")
        whole = len(captured.captured_queries)
        conversation_id = (
            Conversation.objects.filter(organization=org, message_count=3, id__gte=self.first_seeded)
            .values_list("id", flat=True)
            .first()
        )
        thread = []
        if conversation_id is not None:
            with CaptureQueriesContext(connection) as captured:
                self.lead_client.get(f"/inbox/conversations/{conversation_id}/")
            thread.append(len(captured.captured_queries))
            self._lengthen(conversation_id, 27)
            with CaptureQueriesContext(connection) as captured:
                self.lead_client.get(f"/inbox/conversations/{conversation_id}/")
            thread.append(len(captured.captured_queries))
        self.stdout.write("SQL queries per request:")
        sizes = ", ".join(f"{n} rows {q}" for n, q in zip(PAGE_SIZES, rows, strict=True))
        self.stdout.write(f"  inbox page's list (conversation_page + inbox_table.html): {sizes}: {_constant(rows)}")
        self.stdout.write(f"  the whole inbox page (50 rows): {whole}")
        sizes = ", ".join(f"page_size={n} {q}" for n, q in zip(PAGE_SIZES, api, strict=True))
        self.stdout.write(f"  API list: {sizes}: {_constant(api)}")
        if thread:
            self.stdout.write(
                f"  conversation page: 3 messages {thread[0]}, 30 messages {thread[1]}: {_constant(thread)}"
            )

    def _lengthen(self, conversation_id: int, extra: int) -> None:
        """More messages in one conversation, alternately theirs and ours, as ingestion and replies add them."""
        conversation = Conversation.objects.select_related("account").get(id=conversation_id)
        last = Message.objects.filter(conversation=conversation).order_by("-created_at").first()
        assert last is not None
        account = conversation.account
        messages = []
        for i in range(extra):
            ours = i % 2 == 0
            messages.append(
                Message(
                    conversation=conversation, organization_id=conversation.organization_id,
                    platform=conversation.platform, direction=Direction.OUTBOUND if ours else Direction.INBOUND,
                    remote_id=f"{benchdata.REMOTE_PREFIX}{conversation_id}.x{i}", in_reply_to_id=last.remote_id,
                    author_id=account.remote_id if ours else conversation.author_id,
                    author_handle=account.handle if ours else conversation.author_handle,
                    text=f"message {i}", created_at=last.created_at, sent_by=self.bench.managers[0] if ours else None,
                )
            )  # fmt: skip
        with transaction.atomic():
            Message.objects.bulk_create(messages)
            Conversation.objects.filter(id=conversation_id).update(message_count=conversation.message_count + extra)

    # --- the report -------------------------------------------------------------------------------------------
    def _report(self, timings: list[Timing]) -> None:
        self.stdout.write("\nslowest query of each kind, with its plan (EXPLAIN ANALYZE, BUFFERS):")
        for timing in timings:
            self.stdout.write(f"  {timing.label}: {timing.slowest_ms:.2f} ms in PostgreSQL")
            self.stdout.write(f"    {_short(timing.slowest)}")
            for line in timing.plan:
                self.stdout.write(f"    {line}")
        self.stdout.write(f"\nserver-side latency over {self.iterations} requests each ({os.cpu_count()} CPUs):")
        self.stdout.write(
            f"  {'request':<48} {'p50':>8} {'p95':>8} {'max':>8} {'full GCs':>14}  goal p95 < {GOAL_MS:.0f} ms"
        )
        for timing in timings:
            p95 = timing.ms(0.95)
            verdict = self.style.SUCCESS("met") if p95 < GOAL_MS else self.style.ERROR("NOT met")
            pauses = f"{timing.gc_pauses}, {timing.gc_ms / timing.gc_pauses:.0f}ms each" if timing.gc_pauses else "0"
            self.stdout.write(
                f"  {timing.label:<48} {timing.ms(0.5):6.1f}ms {p95:6.1f}ms "
                f"{max(timing.samples, default=0) * 1000:6.1f}ms {pauses:>14}  {verdict}"
            )
        self.stdout.write(
            "  (full GCs: Python's generation-2 collections during the timed requests, each inside one request)"
        )


class _GcMeter:
    """Python's full garbage collections while it is open, and how long each took: they land inside requests
    and are part of what a server's clients wait for, so they are counted, not switched off."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> _GcMeter:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


class _QueryTimer:
    """Each query's own time, to the microsecond (CaptureQueriesContext rounds to the millisecond), with its
    parameters filled in, as PostgreSQL received it."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            if not many and _explainable(sql):
                self.queries.append((elapsed, connection.ops.last_executed_query(context["cursor"], sql, params)))


def _quiet_broker() -> None:
    """The requests enqueue their tasks after commit, as in production; here no worker runs, and the replies
    are sent by calling the task's body. Tasks are neither run eagerly (that would send the replies inside the
    timed request) nor sent to Redis (where an earlier run's worker could pick them up): they go to Celery's
    in-memory transport and stay there. Nothing in the code under test is patched."""
    from smms.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"


def _same(value: Any, _iteration: int) -> Any:
    return value


def _id_range(model: Any, org_id: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id) FROM {model._meta.db_table} WHERE organization_id = %s",  # noqa: S608
            [org_id],
        )
        low, high = cursor.fetchone()
    return int(low), int(high)


def _constant(counts: list[int]) -> str:
    return "constant" if len(set(counts)) == 1 else "NOT constant"


def _explainable(sql: str) -> bool:
    return sql.lstrip().split(" ", 1)[0].upper() in ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")


def _explain(sql: str) -> tuple[list[str], float]:
    """The plan's top node, its buffers, the first scans under it and the execution time (ms). Run in a
    transaction rolled back, as EXPLAIN ANALYZE executes a write."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)
    scans = [line.strip().removeprefix("-> ") for line in plan[1:] if " on " in line or " using " in line]
    buffers = [line.strip() for line in plan[1:3] if line.strip().startswith("Buffers:")]
    timing = [line for line in plan if line.startswith("Execution Time")]
    server_ms = float(timing[0].split()[2]) if timing else 0.0
    return [plan[0].strip(), *buffers[:1], *(f"-> {s}" for s in scans[:3]), *timing], server_ms


def _short(sql: str) -> str:
    """The statement without its column list, on one line."""
    sql = " ".join(sql.split())
    if sql.startswith("SELECT ") and " FROM " in sql:
        sql = "SELECT … " + sql[sql.index(" FROM ") + 1 :]  # noqa: S608 -- shown, not run
    return sql if len(sql) <= 600 else sql[:599] + "…"
