"""Writes of moderation: keyword-only functions named <noun>_<verb>, see STYLE.md.

Ingestion threads every item of an account's mentions stream into conversations with a constant number of
queries per page (see ``conversations_ingest``); status changes are checked against the actor's role and
leave an audit record.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.models import AccountGroup, Membership, NotificationKind, Platform, SocialAccount, Team
from accounts.roles import Perm, Role, role_allows, roles_with
from accounts.services import require
from crm_bridge.services import event_publish
from listening.query import QuerySyntaxError, parse
from smms.connectors.types import Interaction, InteractionKind
from smms.errors import Conflict, DomainError, NotFound, ValidationFailed
from smms.lib.db import db_datetime, update_returning

from . import routing, selectors
from .models import (
    AWAITING_US,
    Agent,
    AssignmentMode,
    CannedReply,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Direction,
    Message,
    ModerationAction,
    Note,
    Presence,
    PresenceState,
    Priority,
    Queue,
    SavedView,
    Vip,
)

EXCERPT_LENGTH = 280

# One page item for ingestion: the interaction, the listening Mention it is stored as (None when that insert
# lost a race), and its language, sentiment and sentiment score (the Mention's, when it was known before this
# page).
IngestItem = tuple[Interaction, int | None, str, str, float | None]


@dataclass
class _Thread:
    """What one page brings to one conversation."""

    key: str
    kind: str
    starter: Interaction
    first_at: datetime
    last_at: datetime
    entries: list[IngestItem] = field(default_factory=list)


def _thread_of(item: Interaction, parents: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """The (thread key, conversation kind) an item joins. The threading rules:

    - a direct message joins the conversation with its author on this account: ``dm:<author id>``;
    - a reply (or a comment answering another comment) joins the conversation of the message it replies to
      when that message is known (stored earlier, or earlier on the same page); otherwise it starts a thread
      keyed by its parent's id ``t:<parent id>``, which is the key the parent's own thread has if it arrives
      later as a top-level item;
    - a top-level comment under our post, or a mention, starts its own thread keyed by its root id when the
      connector gives one (so every comment under one post is one conversation), else by its own id.

    ``parents`` maps known remote ids to their conversation's (thread key, kind).
    """
    if item.kind == InteractionKind.MESSAGE:
        return f"dm:{item.author.id}", ConversationKind.MESSAGE
    kind = ConversationKind.COMMENTS if item.kind in (InteractionKind.COMMENT, InteractionKind.REPLY) else (
        ConversationKind.MENTION
    )  # fmt: skip
    parent = item.in_reply_to_id
    is_top_level_comment = item.kind == InteractionKind.COMMENT and parent in (None, item.root_id)
    if parent and not is_top_level_comment:
        if parent in parents:
            return parents[parent]
        return f"t:{parent}", kind
    return f"t:{item.root_id or item.remote_id}", kind


def conversations_ingest(*, account: SocialAccount, items: Sequence[IngestItem]) -> int:
    """Thread one page of the account's mentions stream into conversations; returns how many messages are new.

    Set-based, so the number of queries does not grow with the page: one lookup of the page's items and of the
    parents they reply to among the stored messages, then one statement (two on SQLite) that upserts the
    conversations (creating the new threads, adding the page's new messages to the aggregates of the others:
    count, first and last times, the latest message's excerpt, language and sentiment) and inserts the messages.
    The insert skips (ON CONFLICT DO NOTHING) what a concurrent poll stored meanwhile; only then does one more
    query recount the threads the page touched. Runs in the caller's transaction. A new inbound message reopens a
    resolved conversation; a conversation marked as spam stays spam.

    A new conversation is routed as it is inserted (``moderation.routing``: the first matching queue, its
    priority and SLA); the queues that take new conversations automatically are asked to assign them after
    commit.
    """
    unique: dict[str, IngestItem] = {}
    for entry in items:
        unique.setdefault(entry[0].remote_id[:300], entry)
    if not unique:
        return 0
    org_id, platform = account.organization_id, account.platform
    wanted = set(unique) | {e[0].in_reply_to_id[:300] for e in unique.values() if e[0].in_reply_to_id}
    stored: set[str] = set()
    parents: dict[str, tuple[str, str]] = {}
    with connection.cursor() as cursor:  # plain SQL: compiling the ORM's join cost more than running it
        cursor.execute(
            f"SELECT m.remote_id, c.thread_key, c.kind, c.account_id FROM {Message._meta.db_table} m "  # noqa: S608
            f"JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id "
            f"WHERE m.organization_id = %s AND m.platform = %s AND m.remote_id IN ({', '.join(['%s'] * len(wanted))})",
            [org_id, platform, *wanted],
        )
        for remote_id, key, kind, account_id in cursor.fetchall():
            stored.add(remote_id)
            if account_id == account.id:
                parents[remote_id] = (key, kind)
    fresh = sorted(
        (e for remote_id, e in unique.items() if remote_id not in stored),
        key=lambda e: (e[0].created_at, e[0].remote_id),
    )
    if not fresh:
        return 0
    threads: dict[str, _Thread] = {}
    placed: list[tuple[str, IngestItem]] = []
    for entry in fresh:  # oldest first, so a reply finds a parent earlier on the same page
        item = entry[0]
        key, kind = _thread_of(item, parents)
        key = key[:320]
        parents[item.remote_id[:300]] = (key, kind)
        thread = threads.get(key)
        if thread is None:
            threads[key] = thread = _Thread(key, kind, item, item.created_at, item.created_at)
        thread.last_at = max(thread.last_at, item.created_at)
        thread.entries.append(entry)
        placed.append((key, entry))
    now = timezone.now()
    rules = routing.rules_for(org_id)
    routes = {key: rules.route(_arrival(account, t)) for key, t in threads.items()}
    upsert, upsert_params = _conversations_upsert_sql(org_id, account, threads, routes, now)
    if connection.vendor == "postgresql":  # one statement: the messages join the upsert's RETURNING on the key
        inserted = _messages_insert(org_id, platform, placed, now, upsert=(upsert, upsert_params))
    else:
        with connection.cursor() as cursor:
            cursor.execute(upsert, upsert_params)
            ids = {key: conversation_id for conversation_id, key in cursor.fetchall()}
        inserted = _messages_insert(org_id, platform, [(ids[key], entry) for key, entry in placed], now)
    if inserted < len(placed):  # a concurrent poll stored some of them first: recount what this page touched
        _conversations_recount(account, sorted(threads))
    _inbox_changed(org_id)
    automatic = sorted({r.queue_id for r in routes.values() if r.automatic and r.queue_id is not None})
    if automatic:
        transaction.on_commit(lambda: _assignment_enqueue(automatic))
    return inserted


def _arrival(account: SocialAccount, thread: _Thread) -> routing.Arrival:
    first = min(thread.entries, key=lambda e: (e[0].created_at, e[0].remote_id))
    item, _mention, lang, _sentiment, score = first
    return routing.Arrival(
        network=account.platform, account_id=account.id, kind=thread.kind, lang=lang, sentiment_score=score,
        text=item.text, author_handle=item.author.handle, author_followers=item.author.followers,
    )  # fmt: skip


# A queue that just received conversations is asked to assign them once per this many seconds at most (a busy
# queue gets a page every few milliseconds); the periodic sweep catches whatever a lost enqueue leaves.
ASSIGN_DEBOUNCE_SECONDS = 1


def _assignment_enqueue(queue_ids: list[int]) -> None:
    from .tasks import queue_assign

    for queue_id in queue_ids:
        if cache.add(f"moderation:assign:{queue_id}", 1, timeout=ASSIGN_DEBOUNCE_SECONDS):
            queue_assign.apply_async((queue_id,), countdown=ASSIGN_DEBOUNCE_SECONDS)


_CONVERSATION_COLUMNS = [
    "organization_id", "account_id", "platform", "kind", "thread_key", "author_id", "author_handle", "author_name",
    "author_followers", "status", "priority", "lang", "sentiment", "first_message_at", "last_message_at",
    "last_inbound_at", "message_count", "excerpt", "created_at", "updated_at", "queue_id", "sla_response_minutes",
    "sla_resolution_minutes", "response_due_at", "resolution_due_at",
]  # fmt: skip


def _conversations_upsert_sql(
    org_id: int, account: SocialAccount, threads: dict[str, _Thread], routes: dict[str, routing.Route], now: datetime
) -> tuple[str, list[Any]]:
    """The statement that creates the page's new threads and adds the page's messages to the existing ones,
    returning (id, thread_key) of all of them."""
    rows: list[list[Any]] = []
    for key in sorted(threads):  # one order for every worker: two pages touching the same rows cannot deadlock
        t = threads[key]
        a = t.starter.author
        latest, _mention_id, lang, sentiment, _score = max(t.entries, key=lambda e: (e[0].created_at, e[0].remote_id))
        r = routes[key]
        rows.append([
            org_id, account.id, account.platform, t.kind, key, a.id[:200], a.handle[:300], a.display_name[:300],
            a.followers, ConversationStatus.NEW, r.priority, lang[:8], sentiment[:12], t.first_at, t.last_at,
            t.last_at, len(t.entries), _excerpt(latest.text), now, now, r.queue_id, r.response_minutes,
            r.resolution_minutes, r.response_due(t.first_at), r.resolution_due(t.first_at),
        ])  # fmt: skip
    postgres = connection.vendor == "postgresql"
    greatest, least = ("GREATEST", "LEAST") if postgres else ("MAX", "MIN")
    table = Conversation._meta.db_table
    newer = f"excluded.last_message_at >= {table}.last_message_at"

    def plus_minutes(moment: str, minutes: str) -> str:
        if postgres:
            return f"{moment} + {minutes} * interval '1 minute'"
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {moment}, '+' || {minutes} || ' minutes')"

    # Once we have answered (or before any SLA), a new message of theirs starts the clock of our next answer.
    awaits = (
        f"{table}.response_due_at IS NULL AND {table}.sla_response_minutes IS NOT NULL AND {table}.status <> 'spam'"
    )
    response_due = plus_minutes("excluded.first_message_at", f"{table}.sla_response_minutes")
    reopened = f"{table}.status = 'resolved' AND {table}.sla_resolution_minutes IS NOT NULL"
    resolution_due = plus_minutes("excluded.first_message_at", f"{table}.sla_resolution_minutes")
    one = "(" + ", ".join(["%s"] * len(_CONVERSATION_COLUMNS)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(_CONVERSATION_COLUMNS)}) VALUES {', '.join([one] * len(rows))} "  # noqa: S608
        "ON CONFLICT (organization_id, account_id, thread_key) DO UPDATE SET "
        f"message_count = {table}.message_count + excluded.message_count, "
        f"first_message_at = {least}({table}.first_message_at, excluded.first_message_at), "
        f"last_message_at = {greatest}({table}.last_message_at, excluded.last_message_at), "
        f"last_inbound_at = CASE WHEN {table}.last_inbound_at IS NULL THEN excluded.last_inbound_at "
        f"ELSE {greatest}({table}.last_inbound_at, excluded.last_inbound_at) END, "
        f"excerpt = CASE WHEN {newer} THEN excluded.excerpt ELSE {table}.excerpt END, "
        f"lang = CASE WHEN {newer} THEN excluded.lang ELSE {table}.lang END, "
        f"sentiment = CASE WHEN {newer} THEN excluded.sentiment ELSE {table}.sentiment END, "
        # A new inbound message reopens a resolved conversation, or one waiting for them; spam stays spam.
        f"status = CASE WHEN {table}.status IN ('resolved', 'waiting') THEN 'open' ELSE {table}.status END, "
        f"resolved_at = CASE WHEN {table}.status = 'resolved' THEN NULL ELSE {table}.resolved_at END, "
        f"response_due_at = CASE WHEN {awaits} THEN {response_due} ELSE {table}.response_due_at END, "
        f"breach_notified_at = CASE WHEN {awaits} THEN NULL ELSE {table}.breach_notified_at END, "
        f"resolution_due_at = CASE WHEN {reopened} THEN {resolution_due} ELSE {table}.resolution_due_at END, "
        "updated_at = excluded.updated_at "
        "RETURNING id, thread_key",
        [value for row in rows for value in row],
    )


_MESSAGE_COLUMNS = [
    "conversation_id", "organization_id", "platform", "direction", "remote_id", "mention_id", "in_reply_to_id",
    "author_id", "author_handle", "author_name", "text", "lang", "sentiment", "created_at", "ingested_at",
    "is_hidden", "is_deleted", "is_liked",
]  # fmt: skip


def _messages_insert(
    org_id: int,
    platform: str,
    placed: list[tuple[Any, IngestItem]],
    now: datetime,
    upsert: tuple[str, list[Any]] | None = None,
) -> int:
    """One INSERT … ON CONFLICT DO NOTHING; how many rows it added. ``placed`` pairs each item with its
    conversation's id, or with its thread key when ``upsert`` (PostgreSQL) gives the ids in the same statement."""
    rows = [
        [
            conversation, org_id, platform, Direction.INBOUND, i.remote_id[:300], mention_id,
            (i.in_reply_to_id or "")[:300], i.author.id[:200], i.author.handle[:300], i.author.display_name[:300],
            i.text, lang[:8], sentiment[:12], i.created_at, now, i.is_hidden, False, False,
        ]
        for conversation, (i, mention_id, lang, sentiment, _score) in placed
    ]  # fmt: skip
    columns = ", ".join(_MESSAGE_COLUMNS)
    conflict = "ON CONFLICT (organization_id, platform, remote_id) WHERE NOT (remote_id = '') DO NOTHING"
    params = [value for row in rows for value in row]
    if upsert is None:
        one = "(" + ", ".join(["%s"] * len(_MESSAGE_COLUMNS)) + ")"
        sql = f"INSERT INTO {Message._meta.db_table} ({columns}) VALUES {', '.join([one] * len(rows))} {conflict}"  # noqa: S608
    else:
        # The VALUES list types its columns from the literals; the mention id may be NULL in every row.
        one = "(" + ", ".join(["CAST(%s AS bigint)" if c == "mention_id" else "%s" for c in _MESSAGE_COLUMNS]) + ")"
        values = ", ".join([one] * len(rows))
        picked = ", ".join("c.id" if c == "conversation_id" else f"m.{c}" for c in _MESSAGE_COLUMNS)
        sql = (
            f"WITH c AS ({upsert[0]}) INSERT INTO {Message._meta.db_table} ({columns}) "  # noqa: S608
            f"SELECT {picked} FROM (VALUES {values}) AS m({columns.replace('conversation_id', 'thread_key')}) "
            f"JOIN c ON c.thread_key = m.thread_key {conflict}"
        )
        params = upsert[1] + params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _conversations_recount(account: SocialAccount, keys: list[str]) -> None:
    """The count and first and last times of these conversations, from their messages (after a lost race)."""
    messages = Message.objects.filter(conversation=OuterRef("pk")).order_by().values("conversation")
    Conversation.objects.filter(account=account, thread_key__in=keys).update(
        message_count=Coalesce(Subquery(messages.annotate(n=Count("id")).values("n")), 0),
        first_message_at=Coalesce(Subquery(messages.annotate(t=Min("created_at")).values("t")), F("first_message_at")),
        last_message_at=Coalesce(Subquery(messages.annotate(t=Max("created_at")).values("t")), F("last_message_at")),
    )


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"


# --- the audit log ------------------------------------------------------------------------------------------
def inbox_version(*, org_id: int) -> str:
    """A token that changes after every committed change to the organization's inbox (a page ingested, an
    assignment, a status, a reply…): the live inbox re-renders only when it differs from the one it showed."""
    return str(cache.get(_version_key(org_id), 0))


def _version_key(org_id: int) -> str:
    return f"moderation:inbox-version:{org_id}"


def _inbox_changed(org_id: int) -> None:
    """Bump the organization's inbox version once the caller's transaction commits (a poll that sees the new
    version also sees the change)."""
    transaction.on_commit(lambda: _bump(org_id))


def _bump(org_id: int) -> None:
    key = _version_key(org_id)
    try:
        cache.incr(key)
    except ValueError:  # not there yet (or evicted): any new value differs from what a page showed
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)


def _audit(conversation: Conversation, actor: Membership | None, what: str, /, **detail: Any) -> ModerationAction:
    _inbox_changed(conversation.organization_id)
    return ModerationAction.objects.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        actor=actor if actor is not None and actor.pk else None,
        action=what,
        detail=detail,
    )


def _who(member: Membership | None) -> str:
    if member is None or not member.pk:
        return _("an API key")
    return str(member.user)


def _event_data(conversation: Conversation, **extra: Any) -> dict[str, Any]:
    assignee = conversation.assignee
    return {
        "conversation": conversation.id,
        "account": {"id": conversation.account_id, "platform": conversation.platform},
        "author": {"id": conversation.author_id, "handle": conversation.author_handle},
        "status": conversation.status,
        "priority": conversation.priority,
        "queue": conversation.queue_id,
        "assignee": assignee.user.email if assignee is not None else None,
        **extra,
    }


def _news(
    conversation: Conversation,
    actor: Membership | None,
    kind: str,
    recipients: Iterable[Any],
    **params: Any,
) -> None:
    """Notify members (never the actor) of something about a conversation, in the caller's transaction."""
    account_services.notifications_create(
        organization_id=conversation.organization_id,
        recipients=[r for r in recipients if r is not None],
        kind=kind,
        params={
            "actor": _who(actor),
            "author": conversation.author_name or f"@{conversation.author_handle}",
            "excerpt": account_services.excerpt(conversation.excerpt),
            **params,
        },
        link=reverse("conversation_detail", args=[conversation.id]),
        actor=actor.user if actor is not None and actor.pk else None,
    )


def _leads_of(conversation: Conversation) -> list[Membership]:
    """Who answers for a conversation's queue: the team leads of its team, else every lead and admin."""
    leads: list[Membership] = []
    if conversation.queue_id is not None:
        leads = list(
            Membership.objects.filter(teams__queues=conversation.queue_id, role=Role.TEAM_LEAD).select_related("user")
        )
    if not leads:
        leads = list(
            Membership.objects.filter(
                organization_id=conversation.organization_id, role__in=[Role.TEAM_LEAD, Role.ADMIN]
            ).select_related("user")
        )
    return leads


# --- status -----------------------------------------------------------------------------------------------
# What each action sets, and the statuses it may be taken from.
STATUS_ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "open": (ConversationStatus.OPEN, frozenset({ConversationStatus.NEW, ConversationStatus.WAITING})),
    "wait": (ConversationStatus.WAITING, frozenset({ConversationStatus.NEW, ConversationStatus.OPEN})),
    "resolve": (
        ConversationStatus.RESOLVED,
        frozenset({ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.WAITING}),
    ),
    "spam": (
        ConversationStatus.SPAM,
        frozenset(
            {ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.WAITING, ConversationStatus.RESOLVED}
        ),
    ),
    "reopen": (ConversationStatus.OPEN, frozenset({ConversationStatus.RESOLVED, ConversationStatus.SPAM})),
}


@transaction.atomic
def conversation_status_change(*, conversation: Conversation, action: str, actor: Membership) -> Conversation:
    """Open, set waiting, resolve, mark as spam or reopen a conversation, with an audit record. The change is a
    conditional UPDATE from the statuses the action allows, so of two people acting at once the second is
    told. Resolving or marking as spam stops the response clock."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if action not in STATUS_ACTIONS:
        raise ValidationFailed(_("Choose open, wait, resolve, spam or reopen."), field="action")
    target, allowed = STATUS_ACTIONS[action]
    now = timezone.now()
    before = conversation.status
    fields: dict[str, Any] = {"status": target, "updated_at": now}
    fields["resolved_at"] = now if target == ConversationStatus.RESOLVED else None
    if target in (ConversationStatus.RESOLVED, ConversationStatus.SPAM, ConversationStatus.WAITING):
        fields["response_due_at"] = None
    changed = Conversation.objects.filter(id=conversation.id, status__in=allowed).update(**fields)
    conversation.refresh_from_db()
    if not changed:
        raise ValidationFailed(
            _("This conversation is %(status)s: it cannot be changed that way.")
            % {"status": conversation.get_status_display().lower()},
            field="action",
        )
    _audit(conversation, actor, action, **{"from": before, "to": target})
    event_publish(
        organization_id=conversation.organization_id,
        event="conversation.status_changed",
        data=_event_data(conversation, previous_status=before),
    )
    return conversation


# --- assignment -------------------------------------------------------------------------------------------
class _Any:
    """``expected_assignee`` not given: assign whoever holds the conversation now."""


ANYONE = _Any()


def _check_agent(conversation: Conversation, to: Membership) -> None:
    if to.organization_id != conversation.organization_id:
        raise NotFound(_("No such member."))
    if not role_allows(to.role, Perm.REPLY_CONVERSATIONS):
        raise ValidationFailed(
            _("%(who)s cannot reply to conversations (their role: %(role)s).")
            % {"who": to.user, "role": to.get_role_display()},
            field="assignee",
        )


@transaction.atomic
def conversation_assign(
    *,
    conversation: Conversation,
    to: Membership | None,
    actor: Membership,
    expected_assignee: Membership | None | _Any = ANYONE,
) -> Conversation:
    """Assign a conversation to a member who may reply (or unassign it, with ``to=None``): team leads and above.
    With ``expected_assignee`` (who the lead saw holding it), the change is made only if nobody changed the
    assignee meanwhile; otherwise the lead is told who did."""
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    if to is not None:
        _check_agent(conversation, to)
    now = timezone.now()
    rows = Conversation.objects.filter(id=conversation.id)
    if not isinstance(expected_assignee, _Any):
        rows = rows.filter(assignee=expected_assignee)
    before = conversation.assignee_id
    changed = rows.update(assignee=to, assigned_at=now if to is not None else None, updated_at=now)
    conversation.refresh_from_db()
    if not changed:
        holder = conversation.assignee
        raise Conflict(
            _("Someone changed this conversation's assignee meanwhile: it is now %(who)s.")
            % {"who": holder.user if holder is not None else _("unassigned")}
        )
    if to is not None:
        Agent.objects.filter(membership=to).update(last_assigned_at=now)
    _audit(conversation, actor, "assign", **{"from": before, "to": to.pk if to is not None else None})
    if to is not None and to.pk != actor.pk:
        _news(conversation, actor, NotificationKind.CONVERSATION_ASSIGNED, [to.user])
    event_publish(
        organization_id=conversation.organization_id, event="conversation.assigned", data=_event_data(conversation)
    )
    return conversation


@transaction.atomic
def conversation_take(*, conversation: Conversation, actor: Membership) -> Conversation:
    """An agent takes an unassigned conversation. Of two agents taking it at once, one gets it (the UPDATE is
    conditional on nobody holding it) and the other is told who was first."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if not actor.pk:
        raise ValidationFailed(_("An API key cannot take a conversation: assign it to a member."), field="assignee")
    now = timezone.now()
    changed = Conversation.objects.filter(id=conversation.id, assignee__isnull=True).update(
        assignee=actor, assigned_at=now, updated_at=now
    )
    conversation.refresh_from_db()
    if not changed:
        if conversation.assignee_id == actor.pk:
            return conversation
        raise Conflict(
            _("%(who)s took this conversation first.") % {"who": conversation.assignee.user}  # type: ignore[union-attr]
        )
    Agent.objects.filter(membership=actor).update(last_assigned_at=now)
    _audit(conversation, actor, "take", to=actor.pk)
    event_publish(
        organization_id=conversation.organization_id, event="conversation.assigned", data=_event_data(conversation)
    )
    return conversation


@transaction.atomic
def conversation_release(*, conversation: Conversation, actor: Membership) -> Conversation:
    """Give one's own conversation back to its queue (automatic assignment may then give it to someone else)."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if not actor.pk:
        raise ValidationFailed(_("An API key holds no conversation: unassign it instead."), field="assignee")
    changed = Conversation.objects.filter(id=conversation.id, assignee=actor).update(
        assignee=None, assigned_at=None, updated_at=timezone.now()
    )
    conversation.refresh_from_db()
    if not changed:
        raise Conflict(_("This conversation is not assigned to you."))
    _audit(conversation, actor, "release", **{"from": actor.pk})
    event_publish(
        organization_id=conversation.organization_id, event="conversation.assigned", data=_event_data(conversation)
    )
    if conversation.queue_id is not None:
        queue_id = conversation.queue_id
        transaction.on_commit(lambda: _assignment_enqueue([queue_id]))
    return conversation


def _queue_fields(queue: Queue | None, conversation: Conversation, now: datetime) -> dict[str, Any]:
    """What moving a conversation into ``queue`` sets: the queue's SLA, a response clock if one of their
    messages waits for us, and no assignee (the new queue assigns it)."""
    response = queue.first_response_minutes if queue is not None else None
    resolution = queue.resolution_minutes if queue is not None else None
    awaiting = conversation.status in AWAITING_US
    since = conversation.last_inbound_at or conversation.first_message_at
    return {
        "queue": queue,
        "sla_response_minutes": response,
        "sla_resolution_minutes": resolution,
        "response_due_at": since + timedelta(minutes=response) if awaiting and response is not None else None,
        "resolution_due_at": conversation.first_message_at + timedelta(minutes=resolution)
        if resolution is not None
        else None,
        "breach_notified_at": None,
        "assignee": None,
        "assigned_at": None,
        "updated_at": now,
    }


@transaction.atomic
def conversation_move(*, conversation: Conversation, queue: Queue | None, actor: Membership) -> Conversation:
    """Move a conversation to another queue (team leads and above): it takes that queue's SLA and leaves its
    assignee, so the new queue's team picks it up."""
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    if queue is not None and queue.organization_id != conversation.organization_id:
        raise NotFound(_("No such queue."))
    before = conversation.queue_id
    Conversation.objects.filter(id=conversation.id).update(**_queue_fields(queue, conversation, timezone.now()))
    conversation.refresh_from_db()
    _audit(conversation, actor, "move", **{"from": before, "to": queue.pk if queue is not None else None})
    if queue is not None and queue.assignment_mode != AssignmentMode.MANUAL:
        queue_id = queue.id
        transaction.on_commit(lambda: _assignment_enqueue([queue_id]))
    return conversation


@transaction.atomic
def conversation_escalate(*, conversation: Conversation, actor: Membership, reason: str = "") -> Conversation:
    """Escalate a conversation: it becomes urgent, moves to its queue's escalation queue if it has one, and the
    team leads who answer for it are told (with the reason)."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    reason = reason.strip()
    if len(reason) > 1000:
        raise ValidationFailed(_("Keep the reason under 1,000 characters."), field="reason")
    now = timezone.now()
    fields: dict[str, Any] = {"priority": Priority.URGENT, "escalated_at": now, "updated_at": now}
    target = conversation.queue.escalate_to if conversation.queue_id is not None else None  # type: ignore[union-attr]
    if target is not None and target.is_active:
        fields.update(_queue_fields(target, conversation, now))
        fields.update(priority=Priority.URGENT, escalated_at=now)
    Conversation.objects.filter(id=conversation.id).update(**fields)
    conversation.refresh_from_db()
    _audit(
        conversation, actor, "escalate", reason=reason, to_queue=conversation.queue_id if target is not None else None
    )
    _news(conversation, actor, NotificationKind.CONVERSATION_ESCALATED, [m.user for m in _leads_of(conversation)])
    event_publish(
        organization_id=conversation.organization_id,
        event="conversation.escalated",
        data=_event_data(conversation, reason=reason),
    )
    if target is not None and target.assignment_mode != AssignmentMode.MANUAL:
        queue_id = target.id
        transaction.on_commit(lambda: _assignment_enqueue([queue_id]))
    return conversation


def conversation_priority_set(*, conversation: Conversation, priority: int, actor: Membership) -> Conversation:
    require(actor, Perm.REPLY_CONVERSATIONS)
    if priority not in Priority.values:
        raise ValidationFailed(_("Choose low, normal, high or urgent."), field="priority")
    before = conversation.priority
    with transaction.atomic():
        Conversation.objects.filter(id=conversation.id).update(priority=priority, updated_at=timezone.now())
        conversation.refresh_from_db()
        _audit(conversation, actor, "priority", **{"from": before, "to": priority})
    return conversation


@dataclass(frozen=True)
class BulkResult:
    done: int
    problems: list[str]


BULK_ACTIONS = ("open", "wait", "resolve", "spam", "reopen", "take", "assign", "move")


def conversations_bulk(
    *,
    conversations: Sequence[Conversation],
    action: str,
    actor: Membership,
    to: Membership | None = None,
    queue: Queue | None = None,
) -> BulkResult:
    """One action on several conversations, each in its own transaction: one that cannot be changed (taken by
    someone else meanwhile, already resolved) is reported and the others are done."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(_("Choose an action for the selected conversations."), field="action")
    if action in ("assign", "move"):
        require(actor, Perm.ASSIGN_CONVERSATIONS)
    else:
        require(actor, Perm.REPLY_CONVERSATIONS)
    done, problems = 0, []
    for conversation in conversations:
        try:
            if action == "take":
                conversation_take(conversation=conversation, actor=actor)
            elif action == "assign":
                conversation_assign(conversation=conversation, to=to, actor=actor)
            elif action == "move":
                conversation_move(conversation=conversation, queue=queue, actor=actor)
            else:
                conversation_status_change(conversation=conversation, action=action, actor=actor)
        except DomainError as exc:
            problems.append(f"{conversation.author_name or '@' + conversation.author_handle}: {exc.message}")
        else:
            done += 1
    return BulkResult(done, problems)


# --- automatic assignment -----------------------------------------------------------------------------------
def _pick_round_robin(order: list[int], free: dict[int, int], last: int | None) -> int | None:
    """The next agent after ``last`` (by member id, wrapping around) who has room."""
    if not order:
        return None
    start = 0
    if last is not None:
        start = next((i for i, member_id in enumerate(order) if member_id > last), 0)
    for step in range(len(order)):
        member_id = order[(start + step) % len(order)]
        if free[member_id] > 0:
            return member_id
    return None


def _pick_least_loaded(
    order: list[int], free: dict[int, int], loads: dict[int, int], since: dict[int, float]
) -> int | None:
    """The agent with the fewest open conversations who has room; ties go to who waited longest for one."""
    candidates = [m for m in order if free[m] > 0]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (loads[m], since[m], m))


def queue_assign_waiting(*, queue_id: int, limit: int = 500) -> int:
    """Give a queue's unassigned new and open conversations (most urgent, then oldest, first) to its team's
    available agents below their capacity, by the queue's mode: round-robin (each in turn, the place kept on
    the queue) or load-balanced (the fewest open conversations first). Returns how many were assigned.

    Concurrent runs for one queue are serialized by a row lock on the queue (taken by an UPDATE of it); every
    UPDATE is also conditional on the conversation still being unassigned, so a conversation an agent took
    meanwhile is left to them."""
    with transaction.atomic():
        # The lock is taken by a write, not SELECT … FOR UPDATE: on SQLite (the embedded default) a transaction
        # that read first cannot wait for the write lock ("database is locked"), one that writes first can.
        if not Queue.objects.filter(id=queue_id, is_active=True).update(rr_last_id=F("rr_last_id")):
            return 0
        queue = Queue.objects.get(id=queue_id)
        if queue.assignment_mode == AssignmentMode.MANUAL:
            return 0
        # The agents are locked too (in one order for every run): two queues of one team assigning at once must
        # not both fill the same agent's last free place.
        agents = list(
            Agent.objects.select_for_update(of=("self",))
            .filter(
                membership__teams=queue.team_id,
                available=True,
                membership__role__in=roles_with(Perm.REPLY_CONVERSATIONS),
            )
            .order_by("membership_id")
        )
        if not agents:
            return 0
        order = [a.membership_id for a in agents]
        loads = selectors.agent_loads(order)
        free = {a.membership_id: a.capacity - loads[a.membership_id] for a in agents}
        room = sum(max(0, n) for n in free.values())
        if room == 0:
            return 0
        waiting = list(
            Conversation.objects.filter(queue_id=queue.id, assignee__isnull=True, status__in=AWAITING_US)
            .order_by("-priority", "first_message_at", "id")
            .values_list("id", flat=True)[: min(room, limit)]
        )
        since = {a.membership_id: a.last_assigned_at.timestamp() if a.last_assigned_at else 0.0 for a in agents}
        picks: dict[int, list[int]] = {}
        last = queue.rr_last_id
        for conversation_id in waiting:
            if queue.assignment_mode == AssignmentMode.ROUND_ROBIN:
                member_id = _pick_round_robin(order, free, last)
            else:
                member_id = _pick_least_loaded(order, free, loads, since)
            if member_id is None:
                break
            picks.setdefault(member_id, []).append(conversation_id)
            free[member_id] -= 1
            loads[member_id] += 1
            since[member_id] = time.time()
            last = member_id
        now = timezone.now()
        assigned: list[tuple[int, int]] = []
        for member_id, ids in picks.items():
            got = update_returning(
                f"UPDATE {Conversation._meta.db_table} SET assignee_id = %s, assigned_at = %s, updated_at = %s "  # noqa: S608
                f"WHERE id IN ({', '.join(['%s'] * len(ids))}) AND assignee_id IS NULL",
                [member_id, db_datetime(now), db_datetime(now), *ids],
            )
            assigned += [(conversation_id, member_id) for conversation_id in got]
        if not assigned:
            return 0
        ModerationAction.objects.bulk_create(
            ModerationAction(
                organization_id=queue.organization_id, conversation_id=conversation_id, actor=None, action="assign",
                detail={"from": None, "to": member_id, "mode": queue.assignment_mode, "queue": queue.id},
            )
            for conversation_id, member_id in assigned
        )  # fmt: skip
        Agent.objects.filter(membership_id__in=list(picks)).update(last_assigned_at=now)
        _inbox_changed(queue.organization_id)
        if queue.assignment_mode == AssignmentMode.ROUND_ROBIN and last != queue.rr_last_id:
            Queue.objects.filter(id=queue.id).update(rr_last_id=last)
    return len(assigned)


def queues_with_waiting() -> list[int]:
    """Automatic queues that hold unassigned conversations, for the periodic sweep."""
    return list(
        Queue.objects.filter(is_active=True)
        .exclude(assignment_mode=AssignmentMode.MANUAL)
        .filter(conversations__assignee__isnull=True, conversations__status__in=AWAITING_US)
        .values_list("id", flat=True)
        .distinct()
    )


# --- SLA ----------------------------------------------------------------------------------------------------
def sla_breaches_notify(*, limit: int = 500) -> int:
    """Tell the assignee (or, unassigned, the leads who answer for the queue) of each conversation whose
    response is overdue, once per due date; webhooks receive ``conversation.sla_breached``."""
    now = timezone.now()
    ids = list(
        Conversation.objects.filter(
            response_due_at__lte=now, breach_notified_at__isnull=True, status__in=AWAITING_US
        ).values_list("id", flat=True)[:limit]
    )
    told = 0
    for conversation_id in ids:
        with transaction.atomic():
            still_late = Conversation.objects.filter(
                id=conversation_id, breach_notified_at__isnull=True, response_due_at__lte=now, status__in=AWAITING_US
            )
            if not still_late.update(breach_notified_at=now):
                continue  # another sweep told them
            conversation = Conversation.objects.select_related("queue", "assignee__user").get(id=conversation_id)
            due = conversation.response_due_at
            recipients = [conversation.assignee.user] if conversation.assignee is not None else []
            recipients += [m.user for m in _leads_of(conversation)]
            _news(
                conversation,
                None,
                NotificationKind.SLA_BREACHED,
                recipients,
                queue=conversation.queue.name if conversation.queue is not None else "—",
                due=due.strftime("%Y-%m-%d %H:%M") if due is not None else "",
            )
            _audit(conversation, None, "sla_breached", due=due.isoformat() if due is not None else None)
            event_publish(
                organization_id=conversation.organization_id,
                event="conversation.sla_breached",
                data=_event_data(conversation, response_due_at=due),
            )
            told += 1
    return told


# --- queues, VIPs, agents -------------------------------------------------------------------------------------
QUEUE_LANGUAGES = ("en", "fr", "es", "de", "it", "pt", "nl")


@dataclass
class QueueSpec:
    """What a team lead sets on a queue (forms and the API both build one)."""

    name: str
    team: Team
    position: int = 0
    is_active: bool = True
    networks: list[str] = field(default_factory=list)
    accounts: list[SocialAccount] = field(default_factory=list)
    account_groups: list[AccountGroup] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sentiment_below: float | None = None
    keywords: str = ""
    min_followers: int | None = None
    vip_only: bool = False
    priority: int = Priority.NORMAL
    assignment_mode: str = AssignmentMode.MANUAL
    first_response_minutes: int | None = None
    resolution_minutes: int | None = None
    escalate_to: Queue | None = None


def _queue_problems(org_id: int, spec: QueueSpec, queue: Queue | None) -> None:
    if not spec.name.strip():
        raise ValidationFailed(_("Give the queue a name."), field="name")
    if spec.team.organization_id != org_id:
        raise NotFound(_("No such team."))
    for account in spec.accounts:
        if account.organization_id != org_id:
            raise NotFound(_("No such account."))
    for group in spec.account_groups:
        if group.organization_id != org_id:
            raise NotFound(_("No such account group."))
    if unknown := set(spec.networks) - set(Platform.values):
        raise ValidationFailed(_("Unknown network: %(name)s.") % {"name": ", ".join(sorted(unknown))}, field="networks")
    if unknown := set(spec.languages) - set(QUEUE_LANGUAGES):
        raise ValidationFailed(
            _("Unknown language: %(name)s.") % {"name": ", ".join(sorted(unknown))}, field="languages"
        )
    if unknown := set(spec.kinds) - set(ConversationKind.values):
        raise ValidationFailed(_("Unknown kind: %(name)s.") % {"name": ", ".join(sorted(unknown))}, field="kinds")
    if spec.sentiment_below is not None and not -1 <= spec.sentiment_below <= 1:
        raise ValidationFailed(_("A sentiment score is between -1 and 1."), field="sentiment_below")
    if spec.keywords.strip():
        try:
            parse(spec.keywords)
        except QuerySyntaxError as exc:
            raise ValidationFailed(
                _("Keywords: %(reason)s (at character %(position)s)")
                % {"reason": exc.reason, "position": exc.position + 1},
                field="keywords",
            ) from None
    if spec.priority not in Priority.values:
        raise ValidationFailed(_("Choose low, normal, high or urgent."), field="priority")
    if spec.assignment_mode not in AssignmentMode.values:
        raise ValidationFailed(_("Choose manual, round-robin or load-balanced."), field="assignment_mode")
    for name in ("first_response_minutes", "resolution_minutes"):
        value = getattr(spec, name)
        if value is not None and not 1 <= value <= 60 * 24 * 90:
            raise ValidationFailed(_("Give between 1 minute and 90 days, in minutes."), field=name)
    target = spec.escalate_to
    if target is not None:
        if target.organization_id != org_id:
            raise NotFound(_("No such queue."))
        if queue is not None and target.id == queue.id:
            raise ValidationFailed(_("A queue cannot escalate to itself."), field="escalate_to")


def queue_save(*, actor: Membership, spec: QueueSpec, queue: Queue | None = None) -> Queue:
    """Create or change a queue (team leads and above). Routing uses the new rules at once in this process,
    and within SMMS_ROUTING_CACHE_SECONDS in the workers."""
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    org_id = actor.organization_id
    if queue is not None and queue.organization_id != org_id:
        raise NotFound(_("No such queue."))
    _queue_problems(org_id, spec, queue)
    if (
        Queue.objects.filter(organization_id=org_id, name=spec.name.strip())
        .exclude(id=queue.id if queue is not None else 0)
        .exists()
    ):
        raise ValidationFailed(_("Another queue has that name."), field="name")
    values = {
        "name": spec.name.strip(), "team": spec.team, "position": spec.position, "is_active": spec.is_active,
        "networks": sorted(set(spec.networks)), "languages": sorted(set(spec.languages)),
        "kinds": sorted(set(spec.kinds)), "sentiment_below": spec.sentiment_below, "keywords": spec.keywords.strip(),
        "min_followers": spec.min_followers, "vip_only": spec.vip_only, "priority": spec.priority,
        "assignment_mode": spec.assignment_mode, "first_response_minutes": spec.first_response_minutes,
        "resolution_minutes": spec.resolution_minutes, "escalate_to": spec.escalate_to,
    }  # fmt: skip
    with transaction.atomic():
        if queue is None:
            queue = Queue.objects.create(organization_id=org_id, **values)
        else:
            for name, value in values.items():
                setattr(queue, name, value)
            queue.save()
        queue.accounts.set(spec.accounts)
        queue.account_groups.set(spec.account_groups)
        transaction.on_commit(lambda: routing.forget(org_id))
    routing.forget(org_id)
    return queue


def queue_delete(*, actor: Membership, queue: Queue) -> None:
    """Delete a queue; its conversations stay, unrouted (their assignees keep them)."""
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    if queue.organization_id != actor.organization_id:
        raise NotFound(_("No such queue."))
    queue.delete()
    routing.forget(actor.organization_id)


def vip_add(*, actor: Membership, handle: str, platform: str = "", note: str = "") -> Vip:
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    handle = routing.normal_handle(handle)
    if not handle or len(handle) > 300 or any(c.isspace() for c in handle):
        raise ValidationFailed(_("Give a handle, such as @journalist."), field="handle")
    if platform and platform not in Platform.values:
        raise ValidationFailed(_("Unknown network: %(name)s.") % {"name": platform}, field="platform")
    vip, _created = Vip.objects.get_or_create(
        organization_id=actor.organization_id,
        platform=platform,
        handle=handle,
        defaults={"note": note.strip()[:200], "added_by": actor if actor.pk else None},
    )
    routing.forget(actor.organization_id)
    return vip


def vip_remove(*, actor: Membership, vip: Vip) -> None:
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    if vip.organization_id != actor.organization_id:
        raise NotFound(_("No such VIP."))
    vip.delete()
    routing.forget(actor.organization_id)


def agent_for(*, membership: Membership) -> Agent:
    """The member's inbox state (made on first use: away, the default capacity)."""
    agent, _created = Agent.objects.get_or_create(
        membership=membership, defaults={"organization_id": membership.organization_id}
    )
    return agent


def agent_update(
    *, actor: Membership, membership: Membership, available: bool | None = None, capacity: int | None = None
) -> Agent:
    """Set a member's availability (themselves, or a team lead for anyone) or capacity (team leads and above).
    An agent becoming available is offered the waiting conversations of their teams' automatic queues."""
    if membership.organization_id != actor.organization_id:
        raise NotFound(_("No such member."))
    if membership.pk != actor.pk or capacity is not None:
        require(actor, Perm.ASSIGN_CONVERSATIONS)
    else:
        require(actor, Perm.REPLY_CONVERSATIONS)
    if capacity is not None and not 1 <= capacity <= 500:
        raise ValidationFailed(_("Give a capacity between 1 and 500 open conversations."), field="capacity")
    agent = agent_for(membership=membership)
    changed: list[str] = []
    if available is not None and available != agent.available:
        agent.available = available
        changed.append("available")
    if capacity is not None and capacity != agent.capacity:
        agent.capacity = capacity
        changed.append("capacity")
    if changed:
        agent.save(update_fields=[*changed, "updated_at"])
        if agent.available:
            queue_ids = list(
                Queue.objects.filter(team__members=membership, is_active=True)
                .exclude(assignment_mode=AssignmentMode.MANUAL)
                .values_list("id", flat=True)
            )
            transaction.on_commit(lambda: _assignment_enqueue(queue_ids))
    return agent


# --- notes -----------------------------------------------------------------------------------------------------
MENTION_RE = re.compile(r"(?<![\w.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def _mentioned(conversation: Conversation, text: str) -> list[Membership]:
    """Members named in a note: @ and their e-mail address, or its part before the @ (``@agent1``); only those
    who may see the conversation (a community manager of another team is not told of it)."""
    names = {m.lower().rstrip(".") for m in MENTION_RE.findall(text)}
    if not names:
        return []
    members = Membership.objects.filter(organization_id=conversation.organization_id).select_related("user")
    named = [m for m in members if m.user.email.lower() in names or m.user.email.lower().split("@")[0] in names]
    return [m for m in named if _may_see(m, conversation)]


def _may_see(member: Membership, conversation: Conversation) -> bool:
    """The inbox's one visibility rule (selectors.conversation_queryset), asked of one conversation."""
    visible = selectors.conversation_queryset(org=conversation.organization, actor=member)
    return visible.filter(id=conversation.id).exists()


@transaction.atomic
def note_add(*, conversation: Conversation, actor: Membership, text: str) -> Note:
    """An internal note (never sent to the network); members it @mentions are notified."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    text = text.strip()
    if not text:
        raise ValidationFailed(_("Write the note."), field="text")
    if len(text) > 5000:
        raise ValidationFailed(_("Keep a note under 5,000 characters."), field="text")
    note = Note.objects.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        author=actor if actor.pk else None,
        text=text,
    )
    Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now())  # the live thread shows it
    mentioned = [m for m in _mentioned(conversation, text) if m.pk != actor.pk]
    note.mentioned.set(mentioned)
    _audit(conversation, actor, "note", note=note.id, mentioned=[m.pk for m in mentioned])
    if mentioned:
        _news(
            conversation,
            actor,
            NotificationKind.NOTE_MENTION,
            [m.user for m in mentioned],
            excerpt=account_services.excerpt(text),
        )
    return note


# --- canned replies ---------------------------------------------------------------------------------------------
VARIABLE_RE = re.compile(r"\{(\w+)\}")
VARIABLES = {
    "author_name": gettext_lazy("the person's name (their handle when they show none)"),
    "author_handle": gettext_lazy("the person's handle, with its @"),
    "agent_name": gettext_lazy("your first name (your full name, or e-mail, when there is none)"),
    "account_name": gettext_lazy("the name of our account that received the message"),
    "network": gettext_lazy("the network: X, Mastodon…"),
}


def canned_reply_save(
    *, actor: Membership, name: str, language: str, text: str, canned: CannedReply | None = None
) -> CannedReply:
    """Create or change a canned reply (team leads and above). Variables are written {author_name}; an unknown
    one is refused with the list of those that exist."""
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    name, text = name.strip(), text.strip()
    if canned is not None and canned.organization_id != actor.organization_id:
        raise NotFound(_("No such canned reply."))
    if not name or len(name) > 80:
        raise ValidationFailed(_("Give the canned reply a name (at most 80 characters)."), field="name")
    if language not in ("en", "fr"):
        raise ValidationFailed(_("Choose English or French."), field="language")
    if not text or len(text) > 5000:
        raise ValidationFailed(_("Write the reply (at most 5,000 characters)."), field="text")
    if unknown := sorted(set(VARIABLE_RE.findall(text)) - set(VARIABLES)):
        raise ValidationFailed(
            _("Unknown variable %(unknown)s: use %(known)s.")
            % {
                "unknown": ", ".join(f"{{{v}}}" for v in unknown),
                "known": ", ".join(f"{{{v}}}" for v in VARIABLES),
            },
            field="text",
        )
    clash = CannedReply.objects.filter(organization_id=actor.organization_id, name=name, language=language)
    if canned is not None:
        clash = clash.exclude(id=canned.id)
    if clash.exists():
        raise ValidationFailed(_("A canned reply in that language already has that name."), field="name")
    if canned is None:
        return CannedReply.objects.create(
            organization_id=actor.organization_id, name=name, language=language, text=text,
            created_by=actor if actor.pk else None,
        )  # fmt: skip
    canned.name, canned.language, canned.text = name, language, text
    canned.save(update_fields=["name", "language", "text", "updated_at"])
    return canned


def canned_reply_delete(*, actor: Membership, canned: CannedReply) -> None:
    require(actor, Perm.ASSIGN_CONVERSATIONS)
    if canned.organization_id != actor.organization_id:
        raise NotFound(_("No such canned reply."))
    canned.delete()


def canned_reply_render(*, canned: CannedReply, conversation: Conversation, actor: Membership) -> str:
    """The canned reply with its variables filled in for this conversation and agent."""
    user = actor.user if actor.pk else None
    account = conversation.account
    values = {
        "author_name": conversation.author_name or conversation.author_handle,
        "author_handle": f"@{conversation.author_handle}",
        "agent_name": (user.first_name or str(user)) if user is not None else "",
        "account_name": account.display_name or account.handle,
        "network": account.get_platform_display(),
    }
    return VARIABLE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), canned.text)


# --- saved views ----------------------------------------------------------------------------------------------
def saved_view_save(*, actor: Membership, name: str, query: str, shared: bool = False) -> SavedView:
    """Save the inbox's current filters under a name (shared ones: team leads and above)."""
    require(actor, Perm.VIEW)
    if shared:
        require(actor, Perm.ASSIGN_CONVERSATIONS)
    name = name.strip()
    if not name or len(name) > 60:
        raise ValidationFailed(_("Give the view a name (at most 60 characters)."), field="name")
    params = QueryDict(query, mutable=True)
    for key in list(params):
        if key not in SAVED_VIEW_KEYS:
            del params[key]
    clean = params.urlencode()
    if len(clean) > 500:
        raise ValidationFailed(_("These filters are too long to save."), field="query")
    view, _created = SavedView.objects.update_or_create(
        owner=actor, name=name, defaults={"organization_id": actor.organization_id, "query": clean, "shared": shared}
    )
    return view


SAVED_VIEW_KEYS = ("status", "network", "account", "assignee", "queue", "lang", "sentiment", "priority", "sla")


def saved_view_delete(*, actor: Membership, view: SavedView) -> None:
    if view.owner_id != actor.pk:
        require(actor, Perm.ASSIGN_CONVERSATIONS)
    if view.organization_id != actor.organization_id:
        raise NotFound(_("No such view."))
    view.delete()


# --- presence (collision detection) -----------------------------------------------------------------------------
def presence_touch(*, conversation: Conversation, actor: Membership, state: str) -> None:
    """Record that a member has the conversation open (viewing) or is writing a reply in it, now: one upsert."""
    if not actor.pk or state not in PresenceState.values:
        return
    Presence.objects.bulk_create(
        [Presence(conversation=conversation, membership=actor, state=state, seen_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["conversation", "membership"],
        update_fields=["state", "seen_at"],
    )


def presence_leave(*, conversation: Conversation, actor: Membership) -> None:
    Presence.objects.filter(conversation=conversation, membership=actor).delete()


def presence_purge(*, older_than: timedelta = timedelta(hours=1)) -> int:
    deleted, _rows = Presence.objects.filter(seen_at__lt=timezone.now() - older_than).delete()
    return deleted
