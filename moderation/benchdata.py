"""A big brand's inbox for ``make bench-inbox``: one organization with its people, accounts, teams, queues and
agents written as rows, then conversations and messages written with PostgreSQL COPY.

The distributions are meant to look like a year of a brand's inbox rather than uniform noise: recent days are
denser than old ones, a few accounts and authors are much busier than the rest, most conversations are
resolved and the ones still waiting for us are recent, and every aggregate the inbox reads on a conversation
(message count, first and last times, latest inbound language and sentiment, excerpt, first response,
resolution, response deadline) agrees with its messages.
"""

from __future__ import annotations

import bisect
import io
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership, Organization, SocialAccount, Team, User
from accounts.roles import Perm, Role, role_allows
from simulator.traffic import FIRST, HOSTILE, LAST, PRODUCTS, PRODUITS, TEXT

from . import services
from .models import Agent, AssignmentMode, Conversation, Message, Queue

# The organization's 178 accounts, in this proportion; a handful of them are real simulator accounts.
ACCOUNT_SHARE = {"x": 0.25, "instagram": 0.22, "facebook": 0.21, "mastodon": 0.16, "bluesky": 0.16}
TEAMS = ["Care FR", "Care UK", "Social media", "VIP & press", "Retail stores", "Night shift"]
# name, team, networks, languages, assignment mode, first response and resolution SLAs (minutes), priority
QUEUES = [
    ("VIP & press", 3, [], [], AssignmentMode.MANUAL, 30, 480, 1),
    ("Care FR · X", 0, ["x"], ["fr"], AssignmentMode.ROUND_ROBIN, 60, 1440, 0),
    ("Care FR · Meta", 0, ["facebook", "instagram"], ["fr"], AssignmentMode.LOAD_BALANCED, 120, 2880, 0),
    ("Care FR · Fediverse", 0, ["mastodon", "bluesky"], ["fr"], AssignmentMode.ROUND_ROBIN, 120, 2880, 0),
    ("Care UK · X", 1, ["x"], ["en"], AssignmentMode.ROUND_ROBIN, 60, 1440, 0),
    ("Care UK · Meta", 1, ["facebook", "instagram"], ["en"], AssignmentMode.LOAD_BALANCED, 120, 2880, 0),
    ("Care UK · Fediverse", 1, ["mastodon", "bluesky"], ["en"], AssignmentMode.MANUAL, 240, 4320, 0),
    ("Stores", 4, ["facebook", "instagram"], [], AssignmentMode.MANUAL, None, None, 0),
    ("Community", 2, [], [], AssignmentMode.MANUAL, None, 10080, -1),
    ("Night shift", 5, [], [], AssignmentMode.LOAD_BALANCED, 60, 1440, 0),
]
MEMBERS = 60  # the owner, one admin, LEADS team leads and community managers
LEADS = 5
STATUS_SHARE = {"resolved": 0.70, "new": 0.10, "open": 0.10, "waiting": 0.06, "spam": 0.04}
KIND_SHARE = {  # what each network brings into the inbox
    "x": {"mention": 0.55, "comments": 0.25, "message": 0.20},
    "mastodon": {"mention": 0.55, "comments": 0.25, "message": 0.20},
    "bluesky": {"mention": 0.65, "comments": 0.35},
    "facebook": {"comments": 0.75, "message": 0.25},
    "instagram": {"comments": 0.80, "message": 0.20},
}
SENTIMENT_SHARE = {"neutral": 0.45, "positive": 0.30, "negative": 0.25}
REPLIES = {
    "en": [
        "Hi {name}, thanks for reaching out! Could you send us your order number in a private message?",
        "Sorry about that, {name}. We've passed it on to the team and will get back to you today.",
        "Thank you {name}! We're so glad you like it 💛",
        "Hi {name}, yes it is: you'll find it on our website under Help.",
    ],
    "fr": [
        "Bonjour {name}, merci pour votre message ! Pouvez-vous nous envoyer votre numéro de commande en privé ?",
        "Désolés pour ce souci, {name}. Nous transmettons à l'équipe et revenons vers vous aujourd'hui.",
        "Merci {name} ! Ravis que cela vous plaise 💛",
        "Bonjour {name}, oui : vous trouverez tout dans la rubrique Aide de notre site.",
    ],
}
CONVERSATION_COLUMNS = [
    "id", "organization_id", "account_id", "platform", "kind", "thread_key", "author_id", "author_handle",
    "author_name", "author_followers", "status", "priority", "lang", "sentiment", "assignee_id", "queue_id",
    "assigned_at", "escalated_at", "sla_response_minutes", "sla_resolution_minutes", "response_due_at",
    "resolution_due_at", "breach_notified_at", "first_message_at", "last_message_at", "last_inbound_at",
    "first_response_at", "resolved_at", "message_count", "excerpt", "created_at", "updated_at",
]  # fmt: skip
MESSAGE_COLUMNS = [
    "id", "conversation_id", "organization_id", "platform", "direction", "remote_id", "mention_id",
    "in_reply_to_id", "author_id", "author_handle", "author_name", "text", "lang", "sentiment", "created_at",
    "ingested_at", "is_hidden", "is_deleted", "is_liked", "sent_by_id",
]  # fmt: skip
NULL = "\\N"
REMOTE_PREFIX = "bench-"  # no network's ids look like this: seeded messages never collide with ingested ones


@dataclass
class BenchOrg:
    org: Organization
    owner: Membership
    admin: Membership
    leads: list[Membership]
    managers: list[Membership]
    teams: list[Team]
    queues: list[Queue]
    accounts: list[SocialAccount] = field(default_factory=list)
    team_members: dict[int, list[Membership]] = field(default_factory=dict)  # team id → members who reply

    @property
    def members(self) -> list[Membership]:
        return [self.owner, self.admin, *self.leads, *self.managers]


# --- people, teams, queues, accounts ----------------------------------------------------------------------------
def organization_seed(*, rng: random.Random, name: str) -> BenchOrg:
    """The organization, its members (created in bulk), teams, agents and queues (through queue_save, as the
    queue page makes them)."""
    # One hash for every member (the test settings' MD5 hasher): the benchmark signs them in with force_login.
    password = make_password("bench-inbox")
    stamp = f"{time.time_ns():x}"
    owner_user = User.objects.create(email=f"owner-{stamp}@bench.smms.test", first_name="Owner", password=password)
    org = account_services.organization_create(name=name, owner=owner_user)
    roles = [Role.ADMIN] + [Role.TEAM_LEAD] * LEADS + [Role.COMMUNITY_MANAGER] * (MEMBERS - 2 - LEADS)
    users = []
    for i, role in enumerate(roles):
        lang = "fr" if i % 2 else "en"
        users.append(
            User(email=f"{role.replace('_', '-')}{i}-{stamp}@bench.smms.test", password=password, language=lang,
                 first_name=rng.choice(FIRST[lang]), last_name=rng.choice(LAST[lang]))
        )  # fmt: skip
    User.objects.bulk_create(users)
    created = Membership.objects.bulk_create(
        [Membership(organization=org, user=user, role=role) for user, role in zip(users, roles, strict=True)]
    )
    owner = org.memberships.get(user=owner_user)
    admin, leads, managers = created[0], created[1 : 1 + LEADS], created[1 + LEADS :]
    teams = Team.objects.bulk_create([Team(organization=org, name=team) for team in TEAMS])
    links = []
    team_members: dict[int, list[Membership]] = {team.id: [] for team in teams}
    for i, lead in enumerate(leads):  # each lead leads one or two teams
        for team in {teams[i % len(teams)], teams[(i + LEADS) % len(teams)]}:
            links.append(Team.members.through(team_id=team.id, membership_id=lead.id))
            team_members[team.id].append(lead)
    for i, manager in enumerate(managers):  # one team each, a fifth of them in a second one
        chosen = {teams[i % len(teams)]} | ({rng.choice(teams)} if rng.random() < 0.2 else set())
        for team in chosen:
            links.append(Team.members.through(team_id=team.id, membership_id=manager.id))
            team_members[team.id].append(manager)
    Team.members.through.objects.bulk_create(links)
    Agent.objects.bulk_create(
        [
            Agent(membership=m, organization=org, available=rng.random() < 0.85, capacity=40)
            for m in [owner, admin, *leads, *managers]
            if role_allows(m.role, Perm.REPLY_CONVERSATIONS)
        ]
    )
    queues = []
    for position, (qname, team_index, networks, languages, mode, first, resolution, priority) in enumerate(QUEUES):
        spec = services.QueueSpec(
            name=qname, team=teams[team_index], position=position, networks=networks, languages=languages,
            assignment_mode=mode, first_response_minutes=first, resolution_minutes=resolution, priority=priority,
        )  # fmt: skip
        queues.append(services.queue_save(actor=admin, spec=spec))
    return BenchOrg(org, owner, admin, leads, managers, teams, queues, team_members=team_members)


def accounts_seed(*, bench: BenchOrg, total: int, connected: list[SocialAccount]) -> list[SocialAccount]:
    """Accounts up to ``total`` as rows (the ones connected through the simulator count in it), in the
    proportions of ACCOUNT_SHARE."""
    wanted = {platform: round(total * share) for platform, share in ACCOUNT_SHARE.items()}
    wanted["x"] += total - sum(wanted.values())
    for account in connected:
        wanted[account.platform] -= 1
    rows = []
    for platform, count in wanted.items():
        for i in range(max(0, count)):
            rows.append(
                SocialAccount(
                    organization=bench.org, platform=platform, remote_id=f"{REMOTE_PREFIX}{platform}-{i}",
                    handle=f"lumiere_{platform}_{i}", display_name=f"Lumière {platform.title()} {i}",
                )
            )  # fmt: skip
    bench.accounts = [*connected, *SocialAccount.objects.bulk_create(rows)]
    return bench.accounts


# --- conversations and messages ---------------------------------------------------------------------------------
def _escape(text: str) -> str:
    """A value for COPY's text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_DAYS: dict[int, str] = {}


def _stamp(moment: float) -> str:
    """A UTC time to the second, for COPY: datetime.isoformat for every value took a fifth of the load."""
    day, second = divmod(int(moment), 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}+00"


class _Shares:
    """A weighted choice, faster than random.choices for one value at a time."""

    def __init__(self, shares: dict[str, float]) -> None:
        self.values = list(shares)
        total, self.bounds = 0.0, []
        for share in shares.values():
            total += share
            self.bounds.append(total)

    def pick(self, rng: random.Random) -> str:
        return self.values[min(bisect.bisect(self.bounds, rng.random() * self.bounds[-1]), len(self.values) - 1)]


class _Texts:
    """Every text a seeded message may have, escaped for COPY once, with its conversation excerpt."""

    def __init__(self) -> None:
        self.inbound: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for (lang, sentiment), templates in TEXT.items():
            products = PRODUITS if lang == "fr" else PRODUCTS
            self.inbound[(lang, sentiment)] = [self._pair(t.format(p=p)) for t in templates for p in products]
        self.hostile = [self._pair(t.format(p=p)) for t in HOSTILE for p in PRODUCTS]
        self.replies = REPLIES
        self.written: dict[tuple[str, str], tuple[str, str]] = {}

    @staticmethod
    def _pair(text: str) -> tuple[str, str]:
        return _escape(text), _escape(services._excerpt(text))

    def reply(self, rng: random.Random, lang: str, name: str) -> tuple[str, str]:
        template = rng.choice(self.replies[lang])
        pair = self.written.get((template, name))
        if pair is None:  # names repeat: each reply is written once
            pair = self.written[(template, name)] = self._pair(template.format(name=name))
        return pair


@dataclass
class _Author:
    id: str
    handle: str
    name: str
    followers: str
    lang: str


class InboxGenerator:
    """Conversation rows (and, on the side, their message rows) for COPY, in id order."""

    def __init__(self, *, bench: BenchOrg, conversations: int, per_conversation: int, seed: int) -> None:
        self.bench = bench
        self.count = conversations
        self.per = per_conversation
        self.rng = random.Random(seed)  # noqa: S311 -- test data
        self.now = timezone.now().timestamp()
        self.texts = _Texts()
        self.org_id = str(bench.org.id)
        rng = self.rng
        self.authors = []
        for n in range(max(1000, conversations // 5)):
            lang = "fr" if rng.random() < 0.55 else "en"
            first, last = rng.choice(FIRST[lang]), rng.choice(LAST[lang])
            handle = f"{first}{last}{n}".lower().replace("é", "e").replace("è", "e").replace("ï", "i").replace("ë", "e")
            self.authors.append(
                _Author(f"{REMOTE_PREFIX}p{n}", _escape(handle), _escape(f"{first} {last}"),
                        str(int(2.718 ** rng.gauss(5.0, 1.8))), lang)
            )  # fmt: skip
        self.accounts = [
            (str(a.id), a.platform, _escape(a.remote_id), _escape(a.handle), _escape(a.display_name))
            for a in bench.accounts
        ]
        # Routing as the queues' rules would have done it: the queues whose networks and languages match.
        self.routes: dict[tuple[str, str], list[Queue]] = {}
        for platform in ACCOUNT_SHARE:
            for lang in ("en", "fr"):
                self.routes[(platform, lang)] = [
                    q for q in bench.queues
                    if (not q.networks or platform in q.networks) and (not q.languages or lang in q.languages)
                ]  # fmt: skip
        self.repliers = bench.team_members
        self.managers = bench.managers
        self.dm_seen: set[tuple[int, int]] = set()

    def _message_counts(self, block: int) -> list[int]:
        """Message counts of ``block`` conversations that add up to block times per: most threads are short, a few
        run long (weights from a Pareto law, capped so that the longest threads have tens of messages, not
        thousands)."""
        rng = self.rng
        weights = [min(rng.paretovariate(1.5), 100.0) for _ in range(block)]
        counts = [1] * block
        for i in rng.choices(range(block), weights=weights, k=block * (self.per - 1)):
            counts[i] += 1
        return counts

    def rows(self, first_id: int, first_message_id: int, messages_out: Callable[[str], Any]) -> Iterator[str]:
        """Conversation lines (COPY text format) from id ``first_id``; the messages of each go to
        ``messages_out`` before the conversation's own line is yielded."""
        rng, now, org_id, texts = self.rng, self.now, self.org_id, self.texts
        message_id = first_message_id
        counts: list[int] = []
        statuses, sentiments = _Shares(STATUS_SHARE), _Shares(SENTIMENT_SHARE)
        kinds = {platform: _Shares(shares) for platform, shares in KIND_SHARE.items()}
        n_accounts, n_authors = len(self.accounts), len(self.authors)
        for n in range(self.count):
            if not counts:
                counts = self._message_counts(min(1000, self.count - n))
            k = counts.pop()
            conversation_id = first_id + n
            account_index = int(n_accounts * rng.random() ** 2)  # a few accounts are much busier
            account_id, platform, account_remote, account_handle, account_name = self.accounts[account_index]
            author_index = int(n_authors * rng.random() ** 1.5)  # and a few people write much more
            author = self.authors[author_index]
            kind = kinds[platform].pick(rng)
            if kind == "message":  # direct messages: one conversation per correspondent and account
                if (account_index, author_index) in self.dm_seen:
                    kind = "mention" if platform in ("x", "mastodon") else "comments"
                else:
                    self.dm_seen.add((account_index, author_index))
            thread_key = f"dm:{author.id}" if kind == "message" else f"t:{REMOTE_PREFIX}{conversation_id}"
            status = statuses.pick(rng)
            if status == "waiting" and k == 1:  # waiting for them means we answered last: a longer thread
                longer = next((i for i in range(len(counts) - 1, -1, -1) if counts[i] > 1), None)
                if longer is None:
                    status = "open"
                else:
                    k, counts[longer] = counts[longer], k
            # Age in days: conversations still waiting for us are recent, the rest spread over the year.
            awaiting = status in ("new", "open", "waiting")
            age = 365 * rng.random() ** (4 if awaiting else 2)
            last_at = now - age * 86400 - rng.random() * 60
            gaps = [min(rng.expovariate(1 / 5400), 3 * 86400) for _ in range(k - 1)]
            first_at = last_at - sum(gaps)
            lang = author.lang if rng.random() < 0.9 else ("en" if author.lang == "fr" else "fr")
            # Who wrote each message: they start; we answer where the status says we did.
            if status in ("new", "spam"):
                outbound = [False] * k
            elif status == "waiting":
                outbound = [False] + [rng.random() < 0.5 for _ in range(k - 2)] + [True]
            elif status == "open":
                outbound = [False] + [rng.random() < 0.5 for _ in range(k - 2)] + ([False] if k > 1 else [])
            else:  # resolved: usually after an answer of ours
                outbound = [False] + [rng.random() < 0.55 for _ in range(k - 1)]
                if k > 1 and not any(outbound) and rng.random() < 0.8:
                    outbound[-1] = True
            queue = None
            if rng.random() < 0.9:
                candidates = self.routes[(platform, lang)]
                queue = candidates[0] if rng.random() < 0.5 else rng.choice(candidates)
            assignee = None
            if rng.random() < 0.8:
                pool = self.repliers.get(queue.team_id) if queue is not None else None
                assignee = rng.choice(pool or self.managers)
            replier = assignee or rng.choice(self.managers)
            # The messages, oldest first.
            at = first_at
            previous = ""
            last_inbound = first_at
            first_response = None
            sentiment = "neutral"
            excerpt = ""
            for j in range(k):
                if j:
                    at += gaps[j - 1]
                remote = f"{REMOTE_PREFIX}{conversation_id}.{j}"
                stamp = _stamp(at)
                if outbound[j]:
                    text, excerpt = texts.reply(rng, lang, author.name)
                    if first_response is None:
                        first_response = at
                    line = (
                        f"{message_id}\t{conversation_id}\t{org_id}\t{platform}\tout\t{remote}\t{NULL}\t{previous}\t"
                        f"{account_remote}\t{account_handle}\t{account_name}\t{text}\t\t\t{stamp}\t{stamp}\tf\tf\tf\t"
                        f"{replier.id}\n"
                    )
                else:
                    sentiment = sentiments.pick(rng)
                    pool_texts = texts.hostile if rng.random() < 0.01 else texts.inbound[(lang, sentiment)]
                    text, excerpt = rng.choice(pool_texts)
                    last_inbound = at
                    hidden = "t" if status == "spam" and rng.random() < 0.3 else "f"
                    liked = "t" if sentiment == "positive" and rng.random() < 0.2 else "f"
                    line = (
                        f"{message_id}\t{conversation_id}\t{org_id}\t{platform}\tin\t{remote}\t{NULL}\t{previous}\t"
                        f"{author.id}\t{author.handle}\t{author.name}\t{text}\t{lang}\t{sentiment}\t{stamp}\t"
                        f"{_stamp(at + 20)}\t{hidden}\tf\t{liked}\t{NULL}\n"
                    )
                messages_out(line)
                message_id += 1
                previous = remote
            # The conversation's aggregates, consistent with its messages and status.
            sla_response = queue.first_response_minutes if queue is not None else None
            sla_resolution = queue.resolution_minutes if queue is not None else None
            response_due = resolution_due = breach_notified = resolved = None
            if status in ("new", "open") and sla_response is not None:
                response_due = last_inbound + sla_response * 60
                if response_due < now:
                    breach_notified = response_due + 60  # the sweep told the lead a minute later
            if awaiting and sla_resolution is not None:
                resolution_due = first_at + sla_resolution * 60
            if status == "resolved":
                resolved = min(now, last_at + rng.uniform(60, 7200))
            assigned_at = min(first_at + rng.uniform(30, 1800), last_at) if assignee is not None else None
            escalated = first_at + 600 if queue is not None and queue.priority > 0 and rng.random() < 0.2 else None
            priority = (queue.priority if queue is not None else 0) + (1 if rng.random() < 0.03 else 0)
            yield "\t".join(
                (
                    str(conversation_id), org_id, account_id, platform, kind, thread_key, author.id, author.handle,
                    author.name, author.followers, status, str(min(priority, 2)), lang, sentiment,
                    str(assignee.id) if assignee is not None else NULL, str(queue.id) if queue is not None else NULL,
                    _opt(assigned_at), _opt(escalated), _opt_int(sla_response), _opt_int(sla_resolution),
                    _opt(response_due), _opt(resolution_due), _opt(breach_notified), _stamp(first_at),
                    _stamp(last_at), _stamp(last_inbound), _opt(first_response), _opt(resolved), str(k), excerpt,
                    _stamp(first_at + 20), _stamp(max(last_at, resolved or 0) + 20),
                )
            ) + "\n"  # fmt: skip


def _opt(moment: float | None) -> str:
    return NULL if moment is None else _stamp(moment)


def _opt_int(value: int | None) -> str:
    return NULL if value is None else str(value)


class _Stream(io.RawIOBase):
    """A file COPY reads from, filled on demand from an iterator of lines: PostgreSQL parses one chunk while
    Python writes the next, and memory stays flat."""

    def __init__(self, lines: Iterator[str], on_line: Callable[[], None]) -> None:
        self.lines = lines
        self.on_line = on_line
        self.pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts, length = [self.pending], len(self.pending)
        for line in self.lines:
            data = line.encode()
            parts.append(data)
            length += len(data)
            self.on_line()
            if length >= size > 0:
                break
        chunk = b"".join(parts)
        if size > 0:
            chunk, self.pending = chunk[:size], chunk[size:]
        else:
            self.pending = b""
        return chunk


class Progress:
    """Rows done, rows/s and the time left: one line refreshed in a terminal, a line every 5 s otherwise."""

    def __init__(self, total: int, out: Any) -> None:
        self.total, self.out, self.tty = total, out, out.isatty()
        self.done = 0
        self.started = self.last = time.perf_counter()

    def add(self, n: int = 1) -> None:
        self.done += n
        if n == 1 and self.done & 1023:  # the clock is read once per 1,024 rows
            return
        now = time.perf_counter()
        if now - self.last >= (0.5 if self.tty else 5):
            self.last = now
            self.show(now)

    def show(self, now: float, end: str = "") -> None:
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else float("inf")
        line = f"  {self.done:,}/{self.total:,} rows, {rate:,.0f} rows/s, about {left:,.0f} s left"
        if self.tty:
            self.out.write(f"\r{line:<78}", ending=end)
            self.out.flush()
        else:
            self.out.write(line)

    def finish(self) -> float:
        elapsed = time.perf_counter() - self.started
        if self.tty:
            self.show(time.perf_counter(), end="\n")
        return elapsed


# --- indexes ----------------------------------------------------------------------------------------------------
def _secondary(model: Any) -> tuple[list[Any], list[Any]]:
    """The model's indexes and unique constraints, as its migrations define them (the primary key and the check
    constraints stay: they cost little during a load)."""
    from django.db.models import UniqueConstraint

    return list(model._meta.indexes), [c for c in model._meta.constraints if isinstance(c, UniqueConstraint)]


def _indexes_apply(models: list[Any], *, create: bool) -> None:
    with connection.schema_editor() as editor:
        for model in models:
            indexes, uniques = _secondary(model)
            for index in indexes:
                (editor.add_index if create else editor.remove_index)(model, index)
            for constraint in uniques:
                (editor.add_constraint if create else editor.remove_constraint)(model, constraint)


def indexes_drop(models: list[Any]) -> None:
    _indexes_apply(models, create=False)


def indexes_create(models: list[Any]) -> None:
    with connection.cursor() as cursor:  # an index build sorts in memory what fits there
        cursor.execute("SET maintenance_work_mem TO '1GB'")
    _indexes_apply(models, create=True)
    with connection.cursor() as cursor:
        cursor.execute("RESET maintenance_work_mem")


# --- the load ---------------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    conversations: int
    messages: int
    copy_seconds: float
    fk_seconds: float  # checking the rows' foreign keys
    index_seconds: float
    vacuum_seconds: float

    @property
    def seconds(self) -> float:
        return self.copy_seconds + self.fk_seconds + self.index_seconds + self.vacuum_seconds


def _copy(cursor: Any, model: Any, columns: list[str], source: Any) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", source, size=1 << 20)


class _Counted(io.RawIOBase):
    """A spooled COPY file that reports the rows PostgreSQL has been sent."""

    def __init__(self, source: Any, on_rows: Callable[[int], None]) -> None:
        self.source, self.on_rows = source, on_rows

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self.source.read(size)
        self.on_rows(chunk.count(b"\n"))
        return chunk


def _check_columns(model: Any, columns: list[str]) -> None:
    """A column added to the model since this was written must be seeded too, or the COPY would leave it NULL."""
    missing = {f.column for f in model._meta.concrete_fields} - set(columns)
    if missing:
        raise RuntimeError(f"{model.__name__}: the benchmark does not seed {sorted(missing)}; add them to benchdata")


def _max_id(model: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def conversations_load(*, generator: InboxGenerator, drop_indexes: bool, out: Any) -> LoadResult:
    """Conversations, then their messages (spooled to a temporary file while the conversations stream), with
    COPY in one transaction; with ``drop_indexes`` the two tables' secondary indexes are dropped first and
    rebuilt after. Then VACUUM ANALYZE, so the planner knows the tables and index-only scans work.

    Dropping the indexes is the faster way, measured on the benchmark's 2-CPU machine: at 1,000,000
    conversations and 3,000,000 messages, COPY into the indexed tables took 71.9 s, COPY without them 40.9 s and
    rebuilding them 12.8 s (53.7 s); at 200,000 the two ways were even (11.3 s and 11.6 s), as the indexes still
    fitted in memory. Checking the foreign keys takes about 34 s either way at 1,000,000."""
    import tempfile

    _check_columns(Conversation, CONVERSATION_COLUMNS)
    _check_columns(Message, MESSAGE_COLUMNS)
    models = [Conversation, Message]
    first_id, first_message_id = _max_id(Conversation) + 1, _max_id(Message) + 1
    progress = Progress(generator.count * (1 + generator.per), out)
    with tempfile.TemporaryFile("w+b") as spool, transaction.atomic():
        if drop_indexes:
            indexes_drop(models)
        raw = connection.cursor().cursor  # psycopg2's own cursor: Django's wrapper has no copy_expert
        raw.execute("SET LOCAL synchronous_commit TO OFF")  # the load is redone, never recovered
        buffer: list[str] = []

        def spool_message(line: str) -> None:
            buffer.append(line)
            if len(buffer) >= 10_000:
                spool.write("".join(buffer).encode())
                buffer.clear()

        lines = generator.rows(first_id, first_message_id, spool_message)
        _copy(raw, Conversation, CONVERSATION_COLUMNS, _Stream(lines, progress.add))
        spool.write("".join(buffer).encode())
        spool.seek(0)
        _copy(raw, Message, MESSAGE_COLUMNS, _Counted(spool, progress.add))
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            raw.execute(sql)
        copy_seconds = progress.finish()
        checked = time.perf_counter()
        # The foreign keys are checked at commit (they are deferrable, as Django makes them); an index cannot be
        # built while those checks are pending, so they are run now.
        raw.execute("SET CONSTRAINTS ALL IMMEDIATE")
        fk_seconds = time.perf_counter() - checked
        rebuilt = time.perf_counter()
        if drop_indexes:
            out.write("  rebuilding the indexes")
            indexes_create(models)
        index_seconds = time.perf_counter() - rebuilt
    vacuumed = time.perf_counter()
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    vacuum_seconds = time.perf_counter() - vacuumed
    messages = _max_id(Message) - first_message_id + 1
    return LoadResult(generator.count, messages, copy_seconds, fk_seconds, index_seconds, vacuum_seconds)
