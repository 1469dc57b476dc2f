"""Routing rules: which queue a new conversation goes to, evaluated in Python as each page is ingested.

The organization's active queues are read once into a ``Rules`` snapshot (their conditions, the accounts their
groups stand for, the VIP list) and kept per process for ``SMMS_ROUTING_CACHE_SECONDS``, so routing a page
costs no query; a change saved in this process is seen at once, in other processes within those seconds.
A queue matches when every condition it sets holds (one that sets none takes everything); the first queue by
position that matches takes the conversation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from listening.query import Node, QuerySyntaxError, parse

from .models import AssignmentMode, Priority, Queue, Vip


@dataclass(frozen=True)
class QueueRule:
    id: int
    name: str
    team_id: int
    networks: frozenset[str]
    restricts_accounts: bool  # the queue names accounts or groups (then only theirs, even if none is left)
    account_ids: frozenset[int]  # the queue's accounts and its groups' accounts
    languages: frozenset[str]
    kinds: frozenset[str]
    sentiment_below: float | None
    keywords: Node | None
    min_followers: int | None
    vip_only: bool
    priority: int
    assignment_mode: str
    first_response_minutes: int | None
    resolution_minutes: int | None

    @property
    def automatic(self) -> bool:
        return self.assignment_mode != AssignmentMode.MANUAL


@dataclass(frozen=True)
class Arrival:
    """What routing knows of a conversation when it arrives: its first message and its author."""

    network: str
    account_id: int
    kind: str
    lang: str
    sentiment_score: float | None
    text: str
    author_handle: str
    author_followers: int | None


@dataclass(frozen=True)
class _Searchable:
    text: str
    lang: str | None
    network: str
    author_handle: str


@dataclass(frozen=True)
class Route:
    queue_id: int | None
    priority: int
    response_minutes: int | None
    resolution_minutes: int | None
    automatic: bool = False

    def response_due(self, first_at: datetime) -> datetime | None:
        return None if self.response_minutes is None else first_at + timedelta(minutes=self.response_minutes)

    def resolution_due(self, first_at: datetime) -> datetime | None:
        return None if self.resolution_minutes is None else first_at + timedelta(minutes=self.resolution_minutes)


UNROUTED = Route(None, Priority.NORMAL, None, None)


def normal_handle(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


@dataclass(frozen=True)
class Rules:
    queues: tuple[QueueRule, ...]
    vips: frozenset[tuple[str, str]]  # (platform or "", handle)

    def is_vip(self, network: str, handle: str) -> bool:
        handle = normal_handle(handle)
        return (network, handle) in self.vips or ("", handle) in self.vips

    def route(self, arrival: Arrival) -> Route:
        vip = self.is_vip(arrival.network, arrival.author_handle)
        searchable = None
        for q in self.queues:
            if q.networks and arrival.network not in q.networks:
                continue
            if q.restricts_accounts and arrival.account_id not in q.account_ids:
                continue
            if q.languages and arrival.lang not in q.languages:
                continue
            if q.kinds and arrival.kind not in q.kinds:
                continue
            if q.sentiment_below is not None and (
                arrival.sentiment_score is None or arrival.sentiment_score >= q.sentiment_below
            ):
                continue
            if q.min_followers is not None and (arrival.author_followers or 0) < q.min_followers:
                continue
            if q.vip_only and not vip:
                continue
            if q.keywords is not None:
                searchable = searchable or _Searchable(
                    arrival.text, arrival.lang or None, arrival.network, arrival.author_handle
                )
                if not q.keywords.matches(searchable):
                    continue
            priority = max(q.priority, Priority.HIGH) if vip else q.priority
            return Route(q.id, priority, q.first_response_minutes, q.resolution_minutes, q.automatic)
        return Route(None, Priority.HIGH if vip else Priority.NORMAL, None, None)


def keywords_node(query: str) -> Node | None:
    """The parsed keywords of a queue; None when it sets none (a stored query is valid: services check it)."""
    if not query.strip():
        return None
    try:
        return parse(query)
    except QuerySyntaxError:
        return None


def rules_load(org_id: int) -> Rules:
    """The organization's routing rules, read from the database (3 queries)."""
    queues = list(
        Queue.objects.filter(organization_id=org_id, is_active=True).prefetch_related(
            "accounts", "account_groups__accounts"
        )
    )
    rules = []
    for q in queues:
        account_ids = {a.id for a in q.accounts.all()}
        groups = list(q.account_groups.all())
        for group in groups:
            account_ids |= {a.id for a in group.accounts.all()}
        rules.append(
            QueueRule(
                id=q.id,
                name=q.name,
                team_id=q.team_id,
                networks=frozenset(q.networks),
                restricts_accounts=bool(account_ids or groups),
                account_ids=frozenset(account_ids),
                languages=frozenset(q.languages),
                kinds=frozenset(q.kinds),
                sentiment_below=q.sentiment_below,
                keywords=keywords_node(q.keywords),
                min_followers=q.min_followers,
                vip_only=q.vip_only,
                priority=q.priority,
                assignment_mode=q.assignment_mode,
                first_response_minutes=q.first_response_minutes,
                resolution_minutes=q.resolution_minutes,
            )
        )
    vips = frozenset(Vip.objects.filter(organization_id=org_id).values_list("platform", "handle"))
    return Rules(tuple(rules), vips)


_cache: dict[int, tuple[float, Rules]] = {}


def rules_for(org_id: int) -> Rules:
    """The organization's rules, from this process's cache while it is fresh."""
    now = time.monotonic()
    hit = _cache.get(org_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    rules = rules_load(org_id)
    _cache[org_id] = (now + settings.SMMS_ROUTING_CACHE_SECONDS, rules)
    return rules


def forget(org_id: int) -> None:
    """Drop the cached rules after a change, so this process routes with the new ones at once."""
    _cache.pop(org_id, None)
