"""Writes of moderation: keyword-only functions named <noun>_<verb>, see STYLE.md.

Ingestion threads every item of an account's mentions stream into conversations with a constant number of
queries per page (see ``conversations_ingest``); status changes are checked against the actor's role and
leave an audit record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, SocialAccount
from accounts.roles import Perm
from accounts.services import require
from smms.connectors.types import Interaction, InteractionKind
from smms.errors import ValidationFailed

from .models import Conversation, ConversationKind, ConversationStatus, Direction, Message, ModerationAction

EXCERPT_LENGTH = 280

# One page item for ingestion: the interaction, the listening Mention it is stored as (None when that insert
# lost a race), and its language and sentiment (the Mention's, when it was known before this page).
IngestItem = tuple[Interaction, int | None, str, str]


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
    upsert, upsert_params = _conversations_upsert_sql(org_id, account, threads, now)
    if connection.vendor == "postgresql":  # one statement: the messages join the upsert's RETURNING on the key
        inserted = _messages_insert(org_id, platform, placed, now, upsert=(upsert, upsert_params))
    else:
        with connection.cursor() as cursor:
            cursor.execute(upsert, upsert_params)
            ids = {key: conversation_id for conversation_id, key in cursor.fetchall()}
        inserted = _messages_insert(org_id, platform, [(ids[key], entry) for key, entry in placed], now)
    if inserted < len(placed):  # a concurrent poll stored some of them first: recount what this page touched
        _conversations_recount(account, sorted(threads))
    return inserted


_CONVERSATION_COLUMNS = [
    "organization_id", "account_id", "platform", "kind", "thread_key", "author_id", "author_handle", "author_name",
    "author_followers", "status", "priority", "lang", "sentiment", "first_message_at", "last_message_at",
    "last_inbound_at", "message_count", "excerpt", "created_at", "updated_at",
]  # fmt: skip


def _conversations_upsert_sql(
    org_id: int, account: SocialAccount, threads: dict[str, _Thread], now: datetime
) -> tuple[str, list[Any]]:
    """The statement that creates the page's new threads and adds the page's messages to the existing ones,
    returning (id, thread_key) of all of them."""
    rows: list[list[Any]] = []
    for key in sorted(threads):  # one order for every worker: two pages touching the same rows cannot deadlock
        t = threads[key]
        a = t.starter.author
        latest, _mention_id, lang, sentiment = max(t.entries, key=lambda e: (e[0].created_at, e[0].remote_id))
        rows.append([
            org_id, account.id, account.platform, t.kind, key, a.id[:200], a.handle[:300], a.display_name[:300],
            a.followers, ConversationStatus.NEW, 0, lang[:8], sentiment[:12], t.first_at, t.last_at, t.last_at,
            len(t.entries), _excerpt(latest.text), now, now,
        ])  # fmt: skip
    greatest, least = ("GREATEST", "LEAST") if connection.vendor == "postgresql" else ("MAX", "MIN")
    table = Conversation._meta.db_table
    newer = f"excluded.last_message_at >= {table}.last_message_at"
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
        # A new inbound message reopens a resolved conversation; spam stays spam.
        f"status = CASE WHEN {table}.status = 'resolved' THEN 'open' ELSE {table}.status END, "
        f"resolved_at = CASE WHEN {table}.status = 'resolved' THEN NULL ELSE {table}.resolved_at END, "
        "updated_at = excluded.updated_at "
        "RETURNING id, thread_key",
        [value for row in rows for value in row],
    )


_MESSAGE_COLUMNS = [
    "conversation_id", "organization_id", "platform", "direction", "remote_id", "mention_id", "in_reply_to_id",
    "author_id", "author_handle", "author_name", "text", "lang", "sentiment", "created_at", "ingested_at",
    "is_hidden", "is_deleted",
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
            i.text, lang[:8], sentiment[:12], i.created_at, now, i.is_hidden, False,
        ]
        for conversation, (i, mention_id, lang, sentiment) in placed
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


# --- status -----------------------------------------------------------------------------------------------
# What each action sets, and the statuses it may be taken from.
STATUS_ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "open": (ConversationStatus.OPEN, frozenset({ConversationStatus.NEW, ConversationStatus.WAITING})),
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
    """Open, resolve, mark as spam or reopen a conversation, with an audit record. The change is a conditional
    UPDATE from the statuses the action allows, so of two people acting at once the second is told."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if action not in STATUS_ACTIONS:
        raise ValidationFailed(_("Choose open, resolve, spam or reopen."), field="action")
    target, allowed = STATUS_ACTIONS[action]
    now = timezone.now()
    before = conversation.status
    changed = Conversation.objects.filter(id=conversation.id, status__in=allowed).update(
        status=target, resolved_at=now if target == ConversationStatus.RESOLVED else None, updated_at=now
    )
    conversation.refresh_from_db()
    if not changed:
        raise ValidationFailed(
            _("This conversation is %(status)s: it cannot be changed that way.")
            % {"status": conversation.get_status_display().lower()},
            field="action",
        )
    ModerationAction.objects.create(
        organization_id=conversation.organization_id,
        conversation=conversation,
        actor=actor if actor.pk else None,
        action=action,
        detail={"from": before, "to": target},
    )
    return conversation
