"""Writes of listening: topics, and the ingestion pipeline that turns connector pages into mentions.

A page flows normalize (connector) → dedupe → language → sentiment → store, and the poll cursor advances
in the same transaction that stores the page's mentions, so a crash repeats a page (absorbed by the
unique constraint) but never skips one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from functools import lru_cache, partial

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Membership, SocialAccount, SocialAccountStatus
from accounts.platforms import capabilities
from accounts.roles import Perm
from accounts.services import require
from crm_bridge.services import event_publish
from moderation import services as moderation_services
from smms.connectors.errors import AuthRevoked, ConnectorError, RateLimited
from smms.connectors.types import Interaction, Page
from smms.errors import Conflict, ValidationFailed
from smms.lib.db import commit_without_waiting_for_disk

from . import nlp
from .models import Alert, Mention, PollCursor, QuarantinedItem, Topic, TopicBucket, TopicMention
from .query import Node, Prepared, QuerySyntaxError, networks, parse, search_terms, tokenize

logger = logging.getLogger(__name__)
BUCKET = timedelta(minutes=5)
MAX_PAGES_PER_POLL = 20


# --- topics -----------------------------------------------------------------------------------------------
def topic_save(*, actor: Membership, name: str, query: str, kind: str = "brand", topic: Topic | None = None) -> Topic:
    require(actor, Perm.MANAGE_TOPICS)
    try:
        parse(query)
    except QuerySyntaxError as exc:
        raise ValidationFailed(query_error_text(exc), field="query") from None
    from .tasks import topic_rematch

    try:
        with transaction.atomic():
            if topic is None:
                topic = Topic.objects.create(
                    organization=actor.organization, name=name, query=query, kind=kind, created_by=actor.user
                )
                changed = True
            else:
                changed = topic.query != query
                topic.name, topic.query, topic.kind = name, query, kind
                topic.save(update_fields=["name", "query", "kind", "updated_at"])
            if changed:  # what was already stored is matched again, in the background
                transaction.on_commit(partial(topic_rematch.delay, topic.id))
    except IntegrityError:
        raise Conflict(_("A topic with this name exists."), field="name") from None
    return topic


def topic_rematch(*, topic_id: int, days: int | None = None) -> int:
    """Link the topic to the organization's stored mentions of the last ``days`` that its query matches,
    replacing the links and buckets an earlier query made; returns how many mentions it links.

    Mentions stored while this runs are linked by ingestion; the buckets count only the links this call
    inserted, so a mention is never counted twice."""
    topic = Topic.objects.filter(id=topic_id).first()
    if topic is None:
        return 0
    node = _compiled(topic.id, topic.query)
    since = timezone.now() - timedelta(days=settings.SMMS_TOPIC_REMATCH_DAYS if days is None else days)
    with transaction.atomic():
        TopicMention.objects.filter(topic=topic).delete()
        TopicBucket.objects.filter(topic=topic).delete()
        if node is None:
            return 0
        mentions = (
            Mention.objects.filter(organization_id=topic.organization_id, published_at__gte=since)
            .order_by("id")
            .values_list("id", "text", "lang", "platform", "author_handle", "published_at", "sentiment",
                         "sentiment_corrected")
        )  # fmt: skip
        linked, last_id = 0, 0
        while True:
            chunk = list(mentions.filter(id__gt=last_id)[:_REMATCH_CHUNK])
            if not chunk:
                return linked
            last_id = chunk[-1][0]
            rows = [
                (mention_id, published_at, platform, lang, corrected or sentiment)
                for mention_id, text, lang, platform, handle, published_at, sentiment, corrected in chunk
                if node.evaluate(Prepared.of(_Stored(text, lang, platform, handle)))
            ]
            linked += _links_insert(topic.id, rows)


_REMATCH_CHUNK = 2000


@dataclass(frozen=True)
class _Stored:
    text: str
    lang: str
    network: str
    author_handle: str


def _links_insert(topic_id: int, rows: list[tuple[int, datetime, str, str, str]]) -> int:
    """Link (mention id, published_at, platform, lang, sentiment) rows to a topic and add the ones inserted
    now to its buckets."""
    inserted: list[tuple[int, datetime, str, str, str]] = []
    by_id = {row[0]: row for row in rows}
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), _INSERT_BATCH):
            batch = rows[offset : offset + _INSERT_BATCH]
            cursor.execute(
                f"INSERT INTO {TopicMention._meta.db_table} "  # noqa: S608
                f"(topic_id, mention_id, published_at, platform, lang, sentiment) "
                f"VALUES {', '.join(['(%s, %s, %s, %s, %s, %s)'] * len(batch))} "
                "ON CONFLICT (topic_id, mention_id) DO NOTHING RETURNING mention_id",
                [value for row in batch for value in (topic_id, *row)],
            )
            inserted += [by_id[mention_id] for (mention_id,) in cursor.fetchall()]
    buckets: dict[tuple[int, datetime], list[int]] = {}
    for _id, published_at, _platform, _lang, sentiment in inserted:
        counts = buckets.setdefault((topic_id, _bucket_start(published_at)), [0, 0, 0])
        counts[0] += 1
        counts[1] += sentiment == "negative"
        counts[2] += sentiment == "positive"
    _add_to_buckets(buckets)
    return len(inserted)


def query_error_text(exc: QuerySyntaxError) -> str:
    """A bad query's reason and where it is, as the topic editor and the API say it."""
    return _("%(reason)s (at character %(position)s)") % {"reason": exc.reason, "position": exc.position + 1}


@lru_cache(maxsize=4096)
def _compiled(topic_id: int, query: str) -> Node | None:
    try:
        return parse(query)
    except QuerySyntaxError:
        return None


# --- ingestion --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int
    duplicates: int
    quarantined: int
    matched: int


def mentions_ingest(*, account: SocialAccount, stream: str, page: Page) -> IngestResult:
    """Store one page of interactions for ``account`` and advance its cursor, in one transaction.

    Items already stored (a search stream and the mentions stream see the same posts) are dropped before
    the costly language and sentiment steps; the insert itself skips any a concurrent poll stored meanwhile,
    so the unique constraint, not this read, is what keeps a mention single."""
    unique: dict[str, Interaction] = {}
    for item in page.items:
        unique.setdefault(item.remote_id[:300], item)  # a page may repeat an item (a reply also seen as a mention)
    org_id = account.organization_id
    known = {
        external_id: (mention_id, lang, corrected or sentiment, score)
        for external_id, mention_id, lang, sentiment, corrected, score in Mention.objects.filter(
            organization_id=org_id, platform=account.platform, external_id__in=list(unique)
        ).values_list("external_id", "id", "lang", "sentiment", "sentiment_corrected", "sentiment_score")
    } if unique else {}  # fmt: skip
    fresh = [(remote_id, item) for remote_id, item in unique.items() if remote_id not in known]
    analysed = nlp.analyse([i.text for _, i in fresh], [i.lang for _, i in fresh]) if fresh else []
    now = timezone.now()
    # The account's own stream is addressed to us: every item of it is also threaded into the inbox, the known
    # ones included (a search stream may have stored it first). Search streams are not addressed to us.
    to_inbox = stream == "mentions" and bool(unique)
    if not fresh and not page.quarantined and not to_inbox:  # nothing new (a search re-reading known posts)
        _cursor_advance(account, stream, page, now)
        return IngestResult(len(page.items), 0, len(unique), 0, 0)
    rows = [
        _MentionRow(
            organization_id=org_id, platform=account.platform, external_id=remote_id, account_id=account.id,
            kind=str(i.kind), author_id=i.author.id[:200], author_handle=i.author.handle[:300],
            author_name=i.author.display_name[:300], author_followers=i.author.followers, text=i.text,
            permalink=i.permalink[:1000], in_reply_to_id=(i.in_reply_to_id or "")[:300], lang=lang[:8],
            sentiment=label, sentiment_score=value, sentiment_corrected="", published_at=i.created_at,
            ingested_at=now,
        )
        for (remote_id, i), (lang, label, value) in zip(fresh, analysed, strict=True)
    ]  # fmt: skip
    with transaction.atomic():
        # The page and its cursor commit together, so a crash of PostgreSQL right after an unflushed commit
        # loses both and the page is fetched again: waiting for the disk buys nothing here.
        commit_without_waiting_for_disk()
        created = _mentions_insert(rows)
        matched = _match_topics(org_id, created)
        if to_inbox:
            _conversations_thread(account, unique, known, fresh, analysed, created)
        if page.quarantined:
            QuarantinedItem.objects.bulk_create(
                [
                    QuarantinedItem(
                        organization_id=org_id, account=account, platform=account.platform,
                        payload=_jsonable(raw), reason=reason[:2000],
                    )
                    for raw, reason in page.quarantined
                ]
            )  # fmt: skip
        _cursor_advance(account, stream, page, now)
    return IngestResult(len(page.items), len(created), len(unique) - len(created), len(page.quarantined), matched)


def _conversations_thread(
    account: SocialAccount,
    unique: dict[str, Interaction],
    known: dict[str, tuple[int, str, str, float | None]],
    fresh: list[tuple[str, Interaction]],
    analysed: list[tuple[str, str, float | None]],
    created: list[_MentionRow],
) -> None:
    stored = {row.external_id: row.id for row in created}
    scored = {remote_id: (lang, label, v) for (remote_id, _i), (lang, label, v) in zip(fresh, analysed, strict=True)}
    items = [
        (item, *known[remote_id]) if remote_id in known else (item, stored.get(remote_id), *scored[remote_id])
        for remote_id, item in unique.items()
    ]
    moderation_services.conversations_ingest(account=account, items=items)


def _cursor_advance(account: SocialAccount, stream: str, page: Page, now: datetime) -> None:
    """The stream's cursor moves past the page (in the caller's transaction when it stores items)."""
    PollCursor.objects.filter(account=account, stream=stream).update(
        cursor=page.cursor or "", last_polled_at=now, last_error="", consecutive_errors=0
    )


@dataclass
class _MentionRow:
    """A mention as ingestion inserts it: the columns of listening_mention without a model instance per
    row (at thousands of mentions a second, building and compiling model instances was a main cost)."""

    organization_id: int
    platform: str
    external_id: str
    account_id: int
    kind: str
    author_id: str
    author_handle: str
    author_name: str
    author_followers: int | None
    text: str
    permalink: str
    in_reply_to_id: str
    lang: str
    sentiment: str
    sentiment_score: float | None
    sentiment_corrected: str
    published_at: datetime
    ingested_at: datetime
    id: int | None = None

    @property
    def network(self) -> str:  # what the query language calls the platform
        return self.platform


_MENTION_COLUMNS = [f.name for f in fields(_MentionRow) if f.name != "id"]
_INSERT_BATCH = 500  # rows per INSERT: 18 columns each stays far below SQLite's 32,766 parameters


def _mentions_insert(rows: list[_MentionRow]) -> list[_MentionRow]:
    """One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per batch (PostgreSQL, and SQLite ≥ 3.35):
    the rows that come back are the ones this call created."""
    created: list[_MentionRow] = []
    columns = ", ".join(connection.ops.quote_name(c) for c in _MENTION_COLUMNS)
    one = "(" + ", ".join(["%s"] * len(_MENTION_COLUMNS)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_BATCH):
            batch = rows[start : start + _INSERT_BATCH]
            by_id = {row.external_id: row for row in batch}
            cursor.execute(
                f"INSERT INTO {Mention._meta.db_table} ({columns}) VALUES {', '.join([one] * len(batch))} "  # noqa: S608
                "ON CONFLICT (organization_id, platform, external_id) DO NOTHING RETURNING id, external_id",
                [getattr(row, column) for row in batch for column in _MENTION_COLUMNS],
            )
            for mention_id, external_id in cursor.fetchall():
                row = by_id[external_id]
                row.id = mention_id
                created.append(row)
    return created


def _jsonable(raw: object) -> object:
    import json

    try:
        return json.loads(json.dumps(raw, default=str))
    except (TypeError, ValueError):
        return {"unreadable": repr(raw)[:2000]}


def _match_topics(org_id: int, mentions: list[_MentionRow]) -> int:
    if not mentions:
        return 0
    topics = list(Topic.objects.filter(organization_id=org_id, is_active=True).only("id", "query"))
    rows: dict[int, list[tuple[int, datetime, str, str, str]]] = {}
    for mention in mentions:
        prepared = Prepared.of(mention)
        for topic in topics:
            node = _compiled(topic.id, topic.query)
            if node is not None and node.evaluate(prepared):
                assert mention.id is not None
                row = (mention.id, mention.published_at, mention.platform, mention.lang, mention.sentiment)
                rows.setdefault(topic.id, []).append(row)
    return sum(_links_insert(topic_id, links) for topic_id, links in sorted(rows.items()))


def _bucket_start(moment: datetime) -> datetime:
    seconds = int(BUCKET.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=moment.tzinfo)


def _add_to_buckets(buckets: dict[tuple[int, datetime], list[int]]) -> None:
    """Add counts with one upsert per bucket: concurrent workers add, never overwrite."""
    if not buckets:
        return
    # One order for every worker, so two batches touching the same buckets cannot deadlock.
    rows = [(topic_id, start, v, n, p) for (topic_id, start), (v, n, p) in sorted(buckets.items())]
    sql = (
        "INSERT INTO listening_topicbucket (topic_id, start, volume, negative, positive) VALUES "  # noqa: S608
        f"{', '.join(['(%s, %s, %s, %s, %s)'] * len(rows))} "
        "ON CONFLICT (topic_id, start) DO UPDATE SET "
        "volume = listening_topicbucket.volume + excluded.volume, "
        "negative = listening_topicbucket.negative + excluded.negative, "
        "positive = listening_topicbucket.positive + excluded.positive"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


# --- polling ----------------------------------------------------------------------------------------------
SEARCH_PREFIX = "search:"


def poll_cursors_ensure() -> int:
    """Every connected account has a mentions stream; every distinct search the active topics need has a
    search stream on each network that offers search (run through one of the organization's accounts
    there), unless a topic's query rules that network out. Topics asking a network the same thing share
    one stream: their mentions are told apart locally. A new search stream starts with no cursor: its first
    poll backfills. Search streams no topic needs any more are dropped."""
    now = timezone.now()
    connected = list(SocialAccount.objects.filter(status=SocialAccountStatus.CONNECTED).order_by("id"))
    cursors = [PollCursor(account=a, stream="mentions", next_poll_at=now) for a in connected]
    searchers: dict[tuple[int, str], SocialAccount] = {}
    for account in connected:
        if capabilities(account.platform).search:
            searchers.setdefault((account.organization_id, account.platform), account)
    wanted: set[tuple[int, str]] = set()
    for topic in Topic.objects.filter(is_active=True):
        node = _compiled(topic.id, topic.query)
        if node is None:
            continue
        allowed = networks(node)
        for (org_id, platform), account in searchers.items():
            if org_id == topic.organization_id and (allowed is None or platform in allowed):
                query = _search_query(topic.query, platform)
                stream = search_stream(query)
                if (account.id, stream) not in wanted:
                    wanted.add((account.id, stream))
                    cursors.append(PollCursor(account=account, stream=stream, query=query, next_poll_at=now))
    created = PollCursor.objects.bulk_create(cursors, ignore_conflicts=True)
    stale = [
        cursor_id
        for cursor_id, account_id, stream in PollCursor.objects.filter(stream__startswith=SEARCH_PREFIX).values_list(
            "id", "account_id", "stream"
        )
        if (account_id, stream) not in wanted
    ]
    PollCursor.objects.filter(id__in=stale).delete()
    return len(created)


def search_stream(query: str) -> str:
    """The stream name of a search: its query's digest (queries can be longer than the column)."""
    return SEARCH_PREFIX + hashlib.sha256(query.encode()).hexdigest()[:32]


def _search_query(topic_query: str, platform: str) -> str:
    """What the network's search is asked: its positive terms (X takes an OR of them; the others the most
    specific one). Results are then matched against the whole query locally."""
    terms = _positive_terms(topic_query) or [search_terms(parse(topic_query))[0]]
    if platform == "x":
        return " OR ".join(terms)
    return max(terms, key=len)


def _positive_terms(query: str) -> list[str]:
    """The query's words and phrases as written (accents kept: networks' search engines fold them),
    leaving out operators, filters and negated terms."""
    out, negate = [], False
    for token in tokenize(query):
        if token.kind in ("NOT", "MINUS"):
            negate = True
            continue
        if token.kind in ("TERM", "PHRASE") and not negate and ":" not in token.text:
            out.append(f'"{token.text}"' if token.kind == "PHRASE" else token.text.rstrip("*"))
        negate = False
    return list(dict.fromkeys(t for t in out if t.strip('"')))


def polls_due(*, limit: int = 500) -> list[int]:
    """The streams due for a poll, leased for ``SMMS_POLL_DISPATCH_LEASE`` seconds so the next dispatch
    does not queue them again while they wait for a worker; a poll sets the next due time itself, and a
    lost task only delays its stream by the lease."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            PollCursor.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(next_poll_at__lte=now, account__status=SocialAccountStatus.CONNECTED)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_poll_at")
            .values_list("id", flat=True)[:limit]
        )
        PollCursor.objects.filter(id__in=ids).update(
            next_poll_at=now + timedelta(seconds=settings.SMMS_POLL_DISPATCH_LEASE)
        )
    return ids


def account_poll(*, cursor_id: int) -> IngestResult | None:
    """Poll one stream: claim it, fetch pages until the network has no more, ingest each page."""
    now = timezone.now()
    claimed = (
        PollCursor.objects.filter(id=cursor_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=settings.SMMS_POLL_CLAIM_SECONDS))
    )
    if not claimed:
        return None
    state = PollCursor.objects.select_related("account").get(id=cursor_id)
    account = state.account
    interval = timedelta(seconds=settings.SMMS_POLL_INTERVAL)
    totals = [0, 0, 0, 0, 0]
    if account.status != SocialAccountStatus.CONNECTED:
        PollCursor.objects.filter(id=cursor_id).update(claimed_until=None)
        return None
    search = None
    if state.stream.startswith(SEARCH_PREFIX):
        if not state.query:  # a stream of an earlier version, named after its topic: ensure makes its successor
            PollCursor.objects.filter(id=cursor_id).delete()
            return None
        search = state.query
    try:
        connector, ref = account_services.social_account_connector(account=account)
        cursor = state.cursor or None
        for _page_number in range(MAX_PAGES_PER_POLL):
            if search is not None:
                page = connector.search(ref, search, cursor)
            else:
                page = connector.fetch_mentions(ref, cursor)
            result = mentions_ingest(account=account, stream=state.stream, page=page)
            totals = [a + b for a, b in zip(totals, result.__dict__.values(), strict=True)]
            cursor = page.cursor
            if not page.has_more:
                break
        PollCursor.objects.filter(id=cursor_id).update(next_poll_at=timezone.now() + interval, claimed_until=None)
        return IngestResult(*totals)
    except RateLimited as exc:
        PollCursor.objects.filter(id=cursor_id).update(
            next_poll_at=exc.retry_at, claimed_until=None, last_error=str(exc)
        )
        logger.info("poll of %s (%s) rate limited until %s", account.id, state.stream, exc.retry_at)
    except AuthRevoked as exc:
        account_services.social_account_mark_revoked(account_id=account.id, reason=str(exc))
        PollCursor.objects.filter(id=cursor_id).update(claimed_until=None, last_error=str(exc))
    except ConnectorError as exc:
        errors = state.consecutive_errors + 1
        backoff = min(timedelta(minutes=30), interval * 2**errors)
        PollCursor.objects.filter(id=cursor_id).update(
            next_poll_at=timezone.now() + backoff, claimed_until=None, last_error=str(exc)[:2000],
            consecutive_errors=errors,
        )  # fmt: skip
        logger.warning("poll of %s (%s) failed: %s", account.id, state.stream, exc)
    except Exception:  # a bug or a database error: let the next dispatch retry at once
        PollCursor.objects.filter(id=cursor_id).update(claimed_until=None)
        raise
    return None


# --- fires ------------------------------------------------------------------------------------------------
def fires_detect(*, now: datetime | None = None) -> list[int]:
    """Check every active topic that had mentions in the last window; returns the ids of alerts opened."""
    from . import fire

    now = now or timezone.now()
    active = Topic.objects.filter(is_active=True, topic_mentions__published_at__gte=now - fire.WINDOW).distinct()
    from .tasks import alert_notify

    opened = []
    for topic in active:
        with transaction.atomic():  # the alert and its webhook deliveries are stored together
            for alert in fire.detect(topic, now=now):
                event_publish(organization_id=alert.organization_id, event="alert.opened", data=alert_payload(alert))
                transaction.on_commit(partial(alert_notify.delay, alert.id))
                opened.append(alert.id)
    return opened


def alert_payload(alert: Alert) -> dict[str, object]:
    """What webhooks are told about an alert (the API's shape, with a link to the topic page)."""
    return {
        "id": alert.id,
        "topic": {"id": alert.topic_id, "name": alert.topic.name},
        "kind": alert.kind,
        "status": alert.status,
        "signals": alert.explanation.get("signals", [alert.kind]),
        "started_at": alert.started_at,
        "resolved_at": alert.resolved_at,
        "observed": alert.observed,
        "expected": alert.expected,
        "explanation": alert.explanation,
        "url": settings.SMMS_BASE_URL.rstrip("/") + reverse("topic_detail", args=[alert.topic_id]),
    }


def alert_notify(*, alert_id: int) -> int:
    """E-mail the organization's owners, admins and team leads about a new fire."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation

    from accounts.models import Membership
    from accounts.roles import Role

    from .models import Alert

    alert = Alert.objects.select_related("topic", "organization").filter(id=alert_id).first()
    if alert is None:
        return 0
    people = Membership.objects.filter(
        organization=alert.organization, role__in=[Role.OWNER, Role.ADMIN, Role.TEAM_LEAD]
    ).select_related("user")
    for membership in people:
        with translation.override(membership.user.language):
            subject = _("Fire on %(topic)s: %(kind)s is rising") % {
                "topic": alert.topic.name,
                "kind": _("negativity") if alert.kind == "negativity" else _("volume"),
            }
            body = render_to_string(
                "listening/email/alert.txt",
                {"alert": alert, "why": alert.explanation, "link": f"{settings.SMMS_BASE_URL.rstrip('/')}/listening/"},
            )
        send_mail(subject, body, None, [membership.user.email])
    return people.count()


# --- people acting on alerts and mentions -------------------------------------------------------------------
def alert_acknowledge(*, alert: Alert, actor: Membership) -> Alert:
    require(actor, Perm.MANAGE_TOPICS)
    Alert.objects.filter(id=alert.id, status="open").update(
        status="acknowledged", acknowledged_by=actor.user, acknowledged_at=timezone.now()
    )
    alert.refresh_from_db()
    return alert


@transaction.atomic
def alert_resolve(*, alert: Alert, actor: Membership) -> Alert:
    require(actor, Perm.MANAGE_TOPICS)
    live = Alert.objects.filter(id=alert.id).exclude(status="resolved")
    changed = live.update(status="resolved", resolved_at=timezone.now())
    alert.refresh_from_db()
    if changed:
        event_publish(organization_id=alert.organization_id, event="alert.resolved", data=alert_payload(alert))
    return alert


def topic_delete(*, topic: Topic, actor: Membership) -> None:
    require(actor, Perm.MANAGE_TOPICS)
    topic.delete()


@transaction.atomic
def mention_correct_sentiment(*, mention: Mention, sentiment: str, actor: Membership) -> Mention:
    """A person's reading wins over the model's; the topic links and charts follow it."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if sentiment not in ("positive", "neutral", "negative"):
        raise ValidationFailed(_("Choose positive, neutral or negative."), field="sentiment")
    mention.sentiment_corrected = sentiment
    mention.corrected_by = actor.user
    mention.save(update_fields=["sentiment_corrected", "corrected_by"])
    TopicMention.objects.filter(mention=mention).update(sentiment=sentiment)
    return mention
