"""Writes of listening's CSV exports: a person asks for the topic page's mentions as a file, a worker writes
it in chunks while the page shows its progress, and a week later it is deleted.

A run claims its row by incrementing ``attempts`` and writes to the row only while the number is still its
own, so a run that lost its claim (a sweep restarted it after its lease ran out) stops without touching the
row or storage. The CSV goes to a local temporary file and reaches storage in one piece at the end: a run that
dies leaves nothing half-written where downloads read (a file stored just before a run died, which no row
points to, is deleted by the weekly purge like any other).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Perm
from accounts.services import require
from smms.errors import NotFound

from . import selectors
from .models import ExportStatus, Mention, MentionExport, Topic, TopicMention
from .selectors import MentionFilters

logger = logging.getLogger(__name__)

COLUMNS = ["published_at", "network", "author", "lang", "sentiment", "text", "url"]
CHUNK_SIZE = 2000
# A run extends its lease at every chunk (a few seconds apart); one that stops doing so has died.
LEASE = timedelta(minutes=2)
# A queued export no worker took within this is re-sent: its on-commit enqueue was lost.
REQUEUE_AFTER = timedelta(minutes=2)
# An export that killed its worker this many times (out of memory, time limit) is given up, not retried forever.
MAX_ATTEMPTS = 3
RETENTION = timedelta(days=7)
# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MENTION_COLUMNS = ("id", "published_at", "platform", "author_handle", "lang", "sentiment", "sentiment_corrected",
                    "text", "permalink")  # fmt: skip


def filters_to_json(filters: MentionFilters) -> dict[str, str]:
    """The topic page's filters as the export row keeps them; the live stream's ``after_id`` is not a filter."""
    data: dict[str, str] = {}
    for field in fields(MentionFilters):
        value = getattr(filters, field.name)
        if field.name == "after_id" or value in (None, ""):
            continue
        data[field.name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return data


def filters_from_json(data: dict[str, Any]) -> MentionFilters:
    def moment(key: str) -> datetime | None:
        return datetime.fromisoformat(data[key]) if data.get(key) else None

    return MentionFilters(
        network=data.get("network", ""),
        lang=data.get("lang", ""),
        sentiment=data.get("sentiment", ""),
        author=data.get("author", ""),
        since=moment("since"),
        until=moment("until"),
    )


def export_start(*, actor: Membership, topic: Topic, filters: MentionFilters) -> MentionExport:
    """Queue an export of the topic's mentions that pass ``filters``; the same export still under way (a
    double-click, a colleague asking at the same moment) is shared rather than written twice."""
    require(actor, Perm.VIEW)  # analysts export reports too
    if topic.organization_id != actor.organization_id:
        raise NotFound("topic")
    stored = filters_to_json(replace(filters, after_id=None))
    for _attempt in range(3):  # the live export may finish between the insert and the look-up: look again
        try:
            with transaction.atomic():
                export = MentionExport.objects.create(
                    organization=topic.organization, topic=topic, requested_by=actor.user, filters=stored
                )
        except IntegrityError:
            live = MentionExport.objects.filter(
                topic=topic, filters=stored, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]
            ).first()
            if live is not None:
                return live
            continue
        _enqueue(export.id)
        return export
    raise RuntimeError(f"could not queue an export of topic {topic.id}")


def _enqueue(export_id: int) -> None:
    from .export_tasks import export_run as task

    transaction.on_commit(partial(task.delay, export_id))


def export_run(*, export_id: int, chunk_size: int = CHUNK_SIZE) -> bool:
    """Count the export's rows, write them newest first in chunks, then store the file.

    Returns True when this run finished the export. A done or failed export, one that another run holds, or
    one that was deleted is left as it is (False): the task can be delivered twice. A run that died is
    restarted from the first row by the next delivery or the sweep, once its lease has run out.
    """
    now = timezone.now()
    claimed = (
        MentionExport.objects.filter(
            id=export_id, status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING], attempts__lt=MAX_ATTEMPTS
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(
            status=ExportStatus.RUNNING, attempts=F("attempts") + 1, claimed_until=now + LEASE,
            rows_done=0, rows_total=None, error="",
        )
    )  # fmt: skip
    if not claimed:
        return False
    export = MentionExport.objects.select_related("topic").get(id=export_id)
    mine = MentionExport.objects.filter(id=export_id, status=ExportStatus.RUNNING, attempts=export.attempts)
    try:
        return _write(export, mine, chunk_size)
    except Exception as exc:  # a bug, storage or the time limit: say so on the page rather than spin forever
        logger.exception("export %s failed", export_id)
        mine.update(status=ExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000],
                    finished_at=timezone.now(), claimed_until=None)  # fmt: skip
        return False


def _write(export: MentionExport, mine: QuerySet[MentionExport], chunk_size: int) -> bool:
    links = selectors.topic_mention_links(topic=export.topic, filters=filters_from_json(export.filters))
    # One pass counts the rows and notes the newest link: mentions that arrive while the file is written are
    # left out, so the count and the rows agree.
    seen = links.aggregate(total=Count("id"), last=Max("id"))
    links = links.filter(id__lte=seen["last"] or 0)
    if not mine.update(rows_total=seen["total"], claimed_until=timezone.now() + LEASE):
        return False
    done = 0
    with tempfile.TemporaryFile() as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")  # the BOM makes Excel read UTF-8
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for chunk in _chunks(links, chunk_size):
            writer.writerows(_row(mention) for mention in chunk)
            done += len(chunk)
            if not mine.update(rows_done=done, claimed_until=timezone.now() + LEASE):
                return False  # another run took over; it writes its own file
        out.flush()
        out.detach()
        raw.seek(0)
        name = default_storage.save(_storage_name(export), File(raw, name=export.download_name()))
    # A sentiment corrected during the run can move a row in or out of the filter: the total is what was written.
    finished = mine.update(status=ExportStatus.DONE, file=name, rows_done=done, rows_total=done,
                           finished_at=timezone.now(), claimed_until=None)  # fmt: skip
    if not finished:
        _file_delete(name)
        return False
    return True


def _storage_name(export: MentionExport) -> str:
    """Under the organization's folder and a random one: no file's name can be guessed from another's."""
    return f"exports/{export.organization_id}/{secrets.token_urlsafe(16)}/{export.download_name()}"


def _chunks(links: QuerySet[TopicMention], size: int) -> Iterator[list[Mention]]:
    """The links' mentions newest first, ``size`` at a time, by keyset: each chunk is one short indexed query
    that starts after the previous chunk's last row, however deep into millions of rows it is."""
    ordered = links.order_by("-published_at", "-id")
    after: tuple[datetime, int] | None = None
    while True:
        page = ordered
        if after is not None:
            # (published_at, id) < after; the plain bound on published_at lets the index range scan start there.
            page = page.filter(published_at__lte=after[0]).exclude(published_at=after[0], id__gte=after[1])
        keys = list(page.values_list("published_at", "id", "mention_id")[:size])
        if not keys:
            return
        after = keys[-1][0], keys[-1][1]
        by_id = Mention.objects.only(*_MENTION_COLUMNS).in_bulk([k[2] for k in keys])
        yield [by_id[k[2]] for k in keys if k[2] in by_id]  # a mention deleted meanwhile is skipped


def _row(mention: Mention) -> list[str]:
    cells = [mention.published_at.isoformat(), mention.platform, mention.author_handle, mention.lang,
             mention.effective_sentiment, mention.text, mention.permalink]  # fmt: skip
    return [_cell(cell) for cell in cells]


def _cell(value: str) -> str:
    """Text from the networks, made inert for spreadsheets: a leading quote stops a cell being a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def exports_sweep(*, now: datetime | None = None) -> list[int]:
    """Re-send exports whose enqueue was lost or whose run died; give up on those that died too often.
    Returns the ids re-sent."""
    now = now or timezone.now()
    dead = Q(status=ExportStatus.RUNNING, claimed_until__lt=now)
    MentionExport.objects.filter(dead, attempts__gte=MAX_ATTEMPTS).update(
        status=ExportStatus.FAILED, error=f"stopped after {MAX_ATTEMPTS} attempts", finished_at=now,
        claimed_until=None,
    )  # fmt: skip
    ids = list(
        MentionExport.objects.filter(dead | Q(status=ExportStatus.QUEUED, created_at__lt=now - REQUEUE_AFTER))
        .filter(attempts__lt=MAX_ATTEMPTS)
        .values_list("id", flat=True)
    )
    for export_id in ids:
        _enqueue(export_id)
    return ids


def exports_purge(*, now: datetime | None = None) -> int:
    """Delete exports older than a week, file and row, and files left without a row (their topic or
    organization was deleted). Returns the number of exports deleted."""
    now = now or timezone.now()
    cutoff = now - RETENTION
    old = MentionExport.objects.filter(created_at__lt=cutoff).exclude(claimed_until__gt=now)
    deleted = 0
    for export in old.only("id", "file").iterator(chunk_size=500):
        if export.file:
            _file_delete(export.file.name)
        deleted += MentionExport.objects.filter(id=export.id).delete()[0]
    _orphans_delete(cutoff)
    return deleted


def _orphans_delete(cutoff: datetime) -> None:
    try:
        orgs, _files = default_storage.listdir("exports")
    except FileNotFoundError:
        return
    for org in orgs:
        folders, _files = default_storage.listdir(f"exports/{org}")
        for folder in folders:
            _dirs, names = default_storage.listdir(f"exports/{org}/{folder}")
            for name in names:
                path = f"exports/{org}/{folder}/{name}"
                if default_storage.get_modified_time(path) >= cutoff:
                    continue
                if not MentionExport.objects.filter(file=path).exists():
                    _file_delete(path)


def _file_delete(name: str) -> None:
    default_storage.delete(name)
    # The random folder it lived in, on a local disk (object stores have no folders to leave behind).
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(str(PurePosixPath(name).parent)))
