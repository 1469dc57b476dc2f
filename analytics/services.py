"""Writes of analytics: keyword-only functions named <noun>_<verb>, see STYLE.md.

The metrics engine fetches every published post's figures on FETCH_SCHEDULE (see definitions.py):

1. ``metrics_rows_ensure`` gives each published delivery its DeliveryMetrics row, in bounded batches with
   INSERT … ON CONFLICT DO NOTHING: a delivery published by a worker that died right after is caught too.
2. ``metrics_due`` hands out the rows whose next fetch has come, leased for DISPATCH_LEASE with a conditional
   UPDATE under ``skip_locked``, so two dispatchers never hand out the same row.
3. ``metrics_fetch`` claims the rows of a batch (moving their next fetch out of reach of anyone else), asks
   each account's connector for all its posts at once (capped per network), and records a snapshot and the
   next time on the schedule. A rate limit defers to the network's reset time; a revoked token stops the
   account's rows with a reason; a post the network no longer returns stops after MAX_MISSES fetches; an
   unreadable answer is noted and tried again later. No transaction is held during a call to a network.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import SocialAccount, SocialAccountStatus
from publishing.models import Delivery, DeliveryState
from smms.connectors import errors as cx
from smms.connectors.base import Connector
from smms.connectors.types import AccountRef, Metrics
from smms.lib.db import db_datetime, update_returning

from .definitions import FETCH_SCHEDULE, next_fetch
from .models import AccountAudience, DeliveryMetrics, MetricsSnapshot, StopReason

logger = logging.getLogger(__name__)

# The dispatcher does not hand a row out again for this long, unless its fetch ends first.
DISPATCH_LEASE = timedelta(seconds=90)
# A worker fetching holds its rows until then; past it (the worker died) the rows come due again.
FETCH_CLAIM = timedelta(minutes=5)
# After an error that is not the post's fault (5xx, timeout, unreadable answer), try again this much later.
RETRY_AFTER = timedelta(minutes=10)
# A post absent from this many answers in a row is taken as deleted on the network.
MAX_MISSES = 2
# Posts asked for in one call of a connector's metrics(): the networks' batch lookups (X 100 ids, Mastodon 40,
# Bluesky 25) and, for the networks asked post by post (Facebook, Instagram), a bound on one task's calls.
BATCH_CAP = {"x": 100, "mastodon": 40, "bluesky": 25, "facebook": 25, "instagram": 25}
# An account's follower count is fetched again after this long.
AUDIENCE_MAX_AGE = timedelta(days=1)
TABLE = DeliveryMetrics._meta.db_table
COUNTERS = ("likes", "shares", "replies", "quotes", "impressions", "views")


def first_fetch_delay() -> timedelta:
    """The first step of the schedule: FETCH_SCHEDULE's unless SMMS_METRICS_FIRST_FETCH_MINUTES says sooner."""
    return min(FETCH_SCHEDULE[0], timedelta(minutes=max(0, settings.SMMS_METRICS_FIRST_FETCH_MINUTES)))


def metrics_rows_ensure(*, limit: int = 1000) -> int:
    """Give up to ``limit`` published deliveries without one their metrics row. Returns how many lacked one: a
    row another caller made meanwhile is skipped by ON CONFLICT DO NOTHING, not made twice."""
    first = first_fetch_delay()
    missing = list(
        Delivery.objects.filter(state=DeliveryState.PUBLISHED, metrics__isnull=True, published_at__isnull=False)
        .exclude(remote_id="")
        .order_by("published_at")
        .values_list("id", "published_at")[:limit]
    )
    DeliveryMetrics.objects.bulk_create(
        [DeliveryMetrics(delivery_id=delivery_id, next_fetch_at=at + first) for delivery_id, at in missing if at],
        ignore_conflicts=True,
    )
    return len(missing)


def metrics_rows_resume(*, limit: int = 1000) -> int:
    """Take up again the figures that stopped because an account lost its access, once the account is
    connected again and the post still within its schedule. Returns how many rows resumed."""
    now = timezone.now()
    lost_access = [StopReason.AUTH_REVOKED, StopReason.ACCOUNT_GONE]
    ids = list(
        DeliveryMetrics.objects.filter(
            stop_reason__in=lost_access,
            delivery__account__status=SocialAccountStatus.CONNECTED,
            delivery__published_at__gt=now - FETCH_SCHEDULE[-1],
        ).values_list("delivery_id", flat=True)[:limit]
    )
    return DeliveryMetrics.objects.filter(delivery_id__in=ids, stop_reason__in=lost_access).update(
        stop_reason="", next_fetch_at=now, leased_until=None, note=_("Resumed: the account is connected again.")
    )


def metrics_due(*, limit: int = 500) -> list[int]:
    """Delivery ids whose metrics fetch has come, leased to the caller for DISPATCH_LEASE."""
    now = timezone.now()
    # PostgreSQL skips rows another dispatcher is leasing; the outer conditions are checked again on rows it
    # waited for, so a row is never leased twice. SQLite has one writer at a time anyway.
    skip = " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    due = "next_fetch_at <= %s AND (leased_until IS NULL OR leased_until <= %s)"
    at = db_datetime(now)
    return _claimed(
        f"UPDATE {TABLE} SET leased_until = %s WHERE delivery_id IN ("  # noqa: S608 -- constant names only
        f"SELECT delivery_id FROM {TABLE} WHERE {due} ORDER BY next_fetch_at LIMIT %s{skip}) AND {due}",
        [db_datetime(now + DISPATCH_LEASE), at, at, limit, at, at],
    )


def _claimed(sql: str, params: list[Any]) -> list[int]:
    """The delivery ids a claiming UPDATE changed, in order."""
    return sorted(update_returning(sql, params, "delivery_id"))


def metrics_due_by_account(*, limit: int = 500) -> list[list[int]]:
    """``metrics_due`` grouped per account and cut at the account's network batch size: one task each."""
    ids = metrics_due(limit=limit)
    rows = Delivery.objects.filter(id__in=ids).values_list("id", "account_id", "account__platform")
    groups: dict[int, list[int]] = defaultdict(list)
    caps: dict[int, int] = {}
    for delivery_id, account_id, platform in rows:
        groups[account_id].append(delivery_id)
        caps[account_id] = BATCH_CAP.get(platform, 25)
    batches = []
    for account_id, delivery_ids in groups.items():
        delivery_ids.sort()
        cap = caps[account_id]
        batches += [delivery_ids[start : start + cap] for start in range(0, len(delivery_ids), cap)]
    return batches


@dataclass
class _Row:
    delivery_id: int
    remote_id: str
    published_at: datetime
    misses: int


def metrics_fetch(*, delivery_ids: list[int]) -> dict[str, int]:
    """Fetch the figures of these deliveries' posts, if they are due and no one else holds them. Returns how
    many rows ended each way: "fetched", "deferred" (rate limit, error, missing from the answer) and "stopped"."""
    now = timezone.now()
    ids = [int(delivery_id) for delivery_id in delivery_ids]
    if not ids:
        return {}
    # One statement: of two workers given the same rows, the second finds them no longer due.
    claimed = _claimed(
        f"UPDATE {TABLE} SET next_fetch_at = %s WHERE next_fetch_at <= %s "  # noqa: S608 -- placeholders only
        f"AND delivery_id IN ({', '.join(['%s'] * len(ids))})",
        [db_datetime(now + FETCH_CLAIM), db_datetime(now), *ids],
    )
    if not claimed:
        return {}
    by_account: dict[int, list[_Row]] = defaultdict(list)
    rows = DeliveryMetrics.objects.filter(delivery_id__in=claimed).values_list(
        "delivery_id", "delivery__account_id", "delivery__remote_id", "delivery__published_at", "misses"
    )
    for delivery_id, account_id, remote_id, published_at, misses in rows:
        assert published_at is not None  # rows are only made for deliveries published at a known time
        by_account[account_id].append(_Row(delivery_id, remote_id, published_at, misses))
    outcome: Counter[str] = Counter()
    for account in SocialAccount.objects.filter(id__in=by_account):
        outcome.update(_fetch_account(account, by_account[account.id]))
    return dict(outcome)


def _fetch_account(account: SocialAccount, rows: list[_Row]) -> Counter[str]:
    network = account.get_platform_display()
    if account.status != SocialAccountStatus.CONNECTED:
        reason = _("%(account)s is not connected any more: its figures are no longer fetched.") % {"account": account}
        return _stop(rows, StopReason.ACCOUNT_GONE, reason)
    connector, ref = account_services.social_account_connector(account=account)
    outcome: Counter[str] = Counter()
    cap = BATCH_CAP.get(account.platform, 25)
    for start in range(0, len(rows), cap):
        chunk = rows[start : start + cap]
        try:
            answer = connector.metrics(ref, [row.remote_id for row in chunk])
        except cx.RateLimited as exc:
            rest = rows[start:]
            note = _("%(network)s asked to wait (rate limit): the next fetch waits for its reset.") % {
                "network": network
            }
            return outcome + _defer(rest, max(exc.retry_at, timezone.now() + timedelta(seconds=5)), note)
        except cx.QuotaExhausted as exc:
            note = _("%(network)s's quota is used up: the next fetch waits for its reset.") % {"network": network}
            return outcome + _defer(rows[start:], exc.reset_at or timezone.now() + RETRY_AFTER, note)
        except cx.AuthRevoked as exc:
            account_services.social_account_mark_revoked(account_id=account.id, reason=str(exc))
            reason = _("%(account)s no longer lets SMMS read its figures (access revoked): reconnect it.") % {
                "account": account
            }
            return outcome + _stop(rows[start:], StopReason.AUTH_REVOKED, reason)
        except cx.AuthExpired:
            reason = _("%(account)s needs reconnecting: its access has expired.") % {"account": account}
            return outcome + _stop(rows[start:], StopReason.AUTH_REVOKED, reason)
        except cx.NotSupported:
            reason = _("%(network)s does not give SMMS the figures of posts.") % {"network": network}
            return outcome + _stop(rows[start:], StopReason.NOT_SUPPORTED, reason)
        except cx.NotFound:
            outcome += _missed(chunk, network)
            continue
        except cx.MalformedPayload as exc:
            note = _("%(network)s sent an answer SMMS could not read (%(detail)s); trying again later.") % {
                "network": network,
                "detail": exc,
            }
            outcome += _defer(chunk, timezone.now() + RETRY_AFTER, note)
            continue
        except cx.ConnectorError as exc:
            logger.warning("metrics of account %s failed: %s", account.id, exc)
            note = _("%(network)s did not answer (%(detail)s); trying again later.") % {
                "network": network,
                "detail": exc,
            }
            outcome += _defer(chunk, timezone.now() + RETRY_AFTER, note)
            continue
        if start == 0:
            _audience_refresh(account, connector, ref)
        found = [row for row in chunk if row.remote_id in answer]
        for row in found:
            outcome[_record(row, answer[row.remote_id])] += 1
        outcome += _missed([row for row in chunk if row.remote_id not in answer], network)
    return outcome


def _audience_refresh(account: SocialAccount, connector: Connector, ref: AccountRef) -> None:
    """Keep the account's follower count at most AUDIENCE_MAX_AGE old, where the network tells it. A failure
    only leaves the older count (or none): the posts' figures matter more."""
    now = timezone.now()
    if AccountAudience.objects.filter(account=account, fetched_at__gt=now - AUDIENCE_MAX_AGE).exists():
        return
    try:
        followers = connector.followers(ref)
    except cx.ConnectorError as exc:
        if not isinstance(exc, cx.NotSupported):
            logger.info("followers of account %s: %s", account.id, exc)
        return
    if followers is None or followers < 0:
        return
    # Single statements, not update_or_create: its read-then-write waits on no lock under SQLite (make run).
    if not AccountAudience.objects.filter(account=account).update(followers=followers, fetched_at=now):
        AccountAudience.objects.bulk_create(
            [AccountAudience(account=account, followers=followers, fetched_at=now)], ignore_conflicts=True
        )


def _clean(metrics: Metrics) -> dict[str, int | None]:
    """The counters as stored: a negative or non-integer value from a network is unknown, not a crash."""
    values: dict[str, int | None] = {}
    for name in COUNTERS:
        value = getattr(metrics, name, None)
        values[name] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
    return values


def _record(row: _Row, metrics: Metrics) -> str:
    now = timezone.now()
    counts = _clean(metrics)
    upcoming = next_fetch(published_at=row.published_at, after=now, first=first_fetch_delay())
    with transaction.atomic():
        MetricsSnapshot.objects.create(delivery_id=row.delivery_id, at=now, **counts)
        DeliveryMetrics.objects.filter(delivery_id=row.delivery_id).update(
            **counts,
            fetched_at=now,
            fetch_count=F("fetch_count") + 1,
            misses=0,
            note="",
            leased_until=None,
            next_fetch_at=upcoming,
            stop_reason="" if upcoming is not None else StopReason.SCHEDULE_DONE,
        )
    return "fetched" if upcoming is not None else "stopped"


def _missed(rows: list[_Row], network: str) -> Counter[str]:
    """Posts the network's answer left out: deleted, or an item too broken to read. Tried again soon; after
    MAX_MISSES answers in a row without them, taken as deleted."""
    outcome: Counter[str] = Counter()
    gone = [row for row in rows if row.misses + 1 >= MAX_MISSES]
    retry = [row for row in rows if row.misses + 1 < MAX_MISSES]
    if gone:
        reason = _("%(network)s no longer returns this post: it was probably deleted.") % {"network": network}
        outcome += _stop(gone, StopReason.NOT_FOUND, reason)
    if retry:
        note = _("%(network)s left this post out of its answer (deleted, or unreadable); trying again later.") % {
            "network": network
        }
        DeliveryMetrics.objects.filter(delivery_id__in=[row.delivery_id for row in retry]).update(
            misses=F("misses") + 1, note=note, leased_until=None, next_fetch_at=timezone.now() + RETRY_AFTER
        )
        outcome["deferred"] += len(retry)
    return outcome


def _defer(rows: list[_Row], at: datetime, note: str) -> Counter[str]:
    DeliveryMetrics.objects.filter(delivery_id__in=[row.delivery_id for row in rows]).update(
        next_fetch_at=at, leased_until=None, note=note[:2000]
    )
    return Counter({"deferred": len(rows)})


def _stop(rows: list[_Row], reason: str, note: str) -> Counter[str]:
    DeliveryMetrics.objects.filter(delivery_id__in=[row.delivery_id for row in rows]).update(
        next_fetch_at=None, leased_until=None, stop_reason=reason, note=note[:2000]
    )
    return Counter({"stopped": len(rows)})
