"""Bulk import of posts from a CSV file: a person uploads it, a worker checks every row, then imports them.

1. ``post_import_start`` refuses at once what cannot be a CSV of posts (too large, not UTF-8, too many
   rows) and stores the rest as a job in ``validating``.
2. ``post_import_validate`` reads every row the way the composer would take it, and reports *every* problem
   of every row (row numbers as a spreadsheet shows them: the header is row 1). Without a problem the job is
   ``validated`` and its import starts; with one it is ``invalid`` and nothing is imported, until a corrected
   file is uploaded or the person asks for the good rows only (``post_import_good_rows``).
3. ``post_import_run`` imports in ONE transaction through the composer's own services (``post_create``, then
   ``post_submit`` or ``post_schedule``), checking again each row: an account disconnected since the check
   fails the job and rolls every post back.

Each step claims the job with a conditional UPDATE (incrementing ``attempts``) and writes only while the
number is its own, so a re-delivered task does nothing twice. The rows checked are counted on the row every
PROGRESS_EVERY rows; the rows imported cannot be (the transaction hides them until it commits), so they are
counted in the cache, which the job's page reads while it imports.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import AccountGroup, Membership, Platform, SocialAccount, SocialAccountStatus, User
from accounts.roles import Perm, role_allows
from accounts.services import require
from smms.errors import Conflict, DomainError, NotFound, ValidationFailed

from . import services
from .models import Campaign, ImportMode, ImportStatus, Post, PostImport

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PROGRESS_EVERY = 50
# Past its lease a run is taken for dead and the sweep hands the job to another. Longer than the tasks' time
# limit (publishing.tasks.IMPORT_TIME_LIMIT): 5,000 rows take about two minutes to import on 2 cores.
LEASE = timedelta(minutes=20)
# A job whose runs died this many times (time limit, out of memory) fails instead of being retried forever;
# a check and an import are two attempts.
MAX_ATTEMPTS = 5
# A job no worker took within this is sent again: its on-commit enqueue was lost.
REQUEUE_AFTER = timedelta(minutes=2)
BASE_COLUMNS = ("text", "accounts", "scheduled_at", "campaign", "link")
VARIANT_COLUMNS = tuple(f"{kind}_{platform}" for platform in Platform.values for kind in ("text", "link"))
COLUMNS = (*BASE_COLUMNS, *VARIANT_COLUMNS)
ACCOUNT_SEPARATOR = re.compile(r"[;|]")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$")
HEADER_ROW = 1

EXAMPLE_CSV = (
    "text,accounts,scheduled_at,campaign,link,text_x,link_x\r\n"
    '"Our spring collection is out!",mastodon:acme;bluesky:acme.bsky.social,2030-03-01 09:30,,'
    "https://example.com/spring,,\r\n"
    '"Opening hours for the holidays",group:France,2030-12-20T10:00:00+01:00,,,"Holiday hours (short)",\r\n'
    '"A draft to finish later",x:acme,,,,,\r\n'
)


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class RowPost:
    """One row as the composer's services take it."""

    row: int
    text: str
    accounts: list[SocialAccount]
    variants: dict[str, dict[str, str]] = field(default_factory=dict)
    scheduled_at: datetime | None = None
    campaign: Campaign | None = None


# --- reading the file -------------------------------------------------------------------------------------------
def decode(data: bytes) -> str:
    """The file's text: UTF-8, with or without the byte-order mark spreadsheets write."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            _("The file is larger than %(mb)s MB: split it into smaller files.") % {"mb": MAX_BYTES // (1024 * 1024)},
            field="file",
        )
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(
            _("The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8”."), field="file"
        ) from None
    if "\x00" in content:  # a spreadsheet's own format (.xlsx, .ods), not its CSV export
        raise ValidationFailed(
            _("The file is not a CSV text file. Save it from your spreadsheet as “CSV UTF-8”."), field="file"
        )
    return content


def _records(content: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the records with their spreadsheet row numbers, comma or semicolon separated (the
    separator the header line uses most). Blank lines are skipped but keep their numbers."""
    first_line = content.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ValidationFailed(_("The file cannot be read as CSV: %(error)s") % {"error": exc}, field="file") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ValidationFailed(_("The file is empty: it needs a header row and one row per post."), field="file")
    records = [
        (number, row) for number, row in enumerate(rows[1:], start=HEADER_ROW + 1) if any(c.strip() for c in row)
    ]
    return [cell.strip().lower() for cell in rows[0]], records


def row_count(content: str) -> int:
    """How many posts the file holds; refuses a file above MAX_ROWS."""
    _header, records = _records(content)
    if not records:
        raise ValidationFailed(_("The file has a header but no post."), field="file")
    if len(records) > MAX_ROWS:
        raise ValidationFailed(
            _("The file has %(rows)s rows; at most %(max)s can be imported at once: split it.")
            % {"rows": len(records), "max": MAX_ROWS},
            field="file",
        )
    return len(records)


def _header_problems(header: list[str]) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for name in header:
        if not name:
            problems.append(Problem(HEADER_ROW, "", _("A column has no name in the header row.")))
        elif name not in COLUMNS:
            problems.append(
                Problem(
                    HEADER_ROW,
                    name,
                    _("Unknown column “%(column)s”. The columns are: %(columns)s.")
                    % {"column": name, "columns": ", ".join((*BASE_COLUMNS, "text_<network>", "link_<network>"))},
                )
            )
        elif name in seen:
            problems.append(Problem(HEADER_ROW, name, _("The column “%(column)s” appears twice.") % {"column": name}))
        seen.add(name)
    if "accounts" not in header:
        problems.append(Problem(HEADER_ROW, "accounts", _("The column “accounts” is missing.")))
    return problems


# --- checking rows ----------------------------------------------------------------------------------------------
@dataclass
class _Directory:
    """The organization's accounts, groups and campaigns, read once for the whole file."""

    accounts: dict[tuple[str, str], SocialAccount]
    groups: dict[str, AccountGroup]
    campaigns: dict[str, Campaign]
    zone: zoneinfo.ZoneInfo

    @classmethod
    def of(cls, job: PostImport) -> _Directory:
        org_id = job.organization_id
        accounts = SocialAccount.objects.filter(organization_id=org_id)
        groups = AccountGroup.objects.filter(organization_id=org_id).prefetch_related("accounts")
        return cls(
            accounts={(a.platform, a.handle.lower().lstrip("@")): a for a in accounts},
            groups={g.name.strip().lower(): g for g in groups},
            campaigns={c.name.strip().lower(): c for c in Campaign.objects.filter(organization_id=org_id)},
            zone=_zone(job.uploaded_by),
        )


def _zone(user: User | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(user.timezone if user else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _accounts(cell: str, directory: _Directory, problem: Callable[[str], None]) -> list[SocialAccount]:
    found: dict[int, SocialAccount] = {}
    tokens = [token.strip() for token in ACCOUNT_SEPARATOR.split(cell) if token.strip()]
    if not tokens:
        problem(_("Name at least one account, as network:handle (mastodon:acme) or group:<name>."))
    for token in tokens:
        prefix, sep, name = token.partition(":")
        prefix, name = prefix.strip().lower(), name.strip()
        if not sep or not name:
            problem(_("“%(token)s” is not an account: write network:handle or group:<name>.") % {"token": token})
            continue
        if prefix == "group":
            group = directory.groups.get(name.lower())
            if group is None:
                problem(_("No account group is named “%(name)s”.") % {"name": name})
                continue
            members = list(group.accounts.all())
            if not members:
                problem(_("The account group “%(name)s” has no account.") % {"name": name})
            found.update((account.id, account) for account in members)
            continue
        if prefix not in Platform.values:
            problem(
                _("Unknown network “%(network)s” (known: %(networks)s).")
                % {"network": prefix, "networks": ", ".join(Platform.values)}
            )
            continue
        account = directory.accounts.get((prefix, name.lower().lstrip("@")))
        if account is None:
            problem(
                _("No %(network)s account @%(handle)s in this organization.")
                % {"network": Platform(prefix).label, "handle": name.lstrip("@")}
            )
            continue
        found[account.id] = account
    for account in found.values():
        if account.status != SocialAccountStatus.CONNECTED:
            problem(_("%(account)s needs reconnecting before anything can be published on it.") % {"account": account})
    return list(found.values())


def _moment(cell: str, zone: zoneinfo.ZoneInfo, problem: Callable[[str], None]) -> datetime | None:
    if not cell:
        return None
    try:
        at = datetime.fromisoformat(cell)
    except ValueError:
        at = None
    if at is None or (at.tzinfo is None and not LOCAL_TIME.match(cell)):
        problem(
            _(
                "“%(value)s” is not a date and time: write 2030-03-01 09:30 (in your time zone, %(zone)s) "
                "or 2030-03-01T09:30:00+01:00."
            )
            % {"value": cell, "zone": zone.key}
        )
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    if at < timezone.now() - services.SCHEDULE_GRACE:
        problem(
            _("%(time)s is in the past: choose a time in the future, or leave it empty for a draft.")
            % {"time": timezone.localtime(at, zone).strftime("%Y-%m-%d %H:%M %Z")}
        )
        return None
    return at


def _link(cell: str, problem: Callable[[str], None]) -> str:
    if not cell:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(cell)
    except DjangoValidationError:
        problem(_("“%(value)s” is not a web address (https://…).") % {"value": cell})
        return ""
    return cell


def _check_row(number: int, cells: dict[str, str], directory: _Directory) -> tuple[RowPost | None, list[Problem]]:
    """The row as a post, or every problem it has (None and the problems)."""
    problems: list[Problem] = []

    def problem_in(column: str) -> Callable[[str], None]:
        return lambda message: problems.append(Problem(number, column, message))

    accounts = _accounts(cells.get("accounts", ""), directory, problem_in("accounts"))
    at = _moment(cells.get("scheduled_at", ""), directory.zone, problem_in("scheduled_at"))
    campaign = None
    if cells.get("campaign"):
        campaign = directory.campaigns.get(cells["campaign"].lower())
        if campaign is None:
            problem_in("campaign")(_("No campaign is named “%(name)s”.") % {"name": cells["campaign"]})
    text = cells.get("text", "")
    link = _link(cells.get("link", ""), problem_in("link"))
    variants: dict[str, dict[str, str]] = {}
    networks = sorted({account.platform for account in accounts})
    for platform in networks:  # columns of networks the row does not post to are not its business
        variant_text = cells.get(f"text_{platform}", "")
        variant_link = _link(cells.get(f"link_{platform}", ""), problem_in(f"link_{platform}"))
        if variant_text or variant_link or link:
            variants[platform] = {"text": variant_text or text, "link": variant_link or link}
    own_texts = [p for p in Platform.values if cells.get(f"text_{p}")]
    if not text and (any(not variants.get(p, {}).get("text") for p in networks) or not (networks or own_texts)):
        problem_in("text")(_("The text is empty, and not every network of the row has its own text_<network>."))
    elif accounts:
        for platform, message in services.post_text_problems(
            text=text, accounts=accounts, variants=variants, campaign=campaign
        ):
            problems.append(Problem(number, f"text_{platform}" if cells.get(f"text_{platform}") else "text", message))
    if problems:
        return None, problems
    return RowPost(number, text, accounts, variants, at, campaign), []


def _checked(
    content: str, directory: _Directory, progress: Callable[[int, int], None] | None = None
) -> Iterator[tuple[int, RowPost | None, list[Problem]]]:
    """(row number, post, problems) of every row, duplicates included; the header's problems first (row 1)."""
    header, records = _records(content)
    header_problems = _header_problems(header)
    if header_problems:
        yield HEADER_ROW, None, header_problems
    seen: dict[tuple[tuple[str, str], ...], int] = {}
    good = 0
    for index, (number, row) in enumerate(records, start=1):
        cells = {name: value.strip() for name, value in zip(header, row, strict=False) if name in COLUMNS}
        post, problems = _check_row(number, cells, directory)
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            problems.append(Problem(number, "", _("The row has more cells than the header has columns.")))
            post = None
        key = tuple(sorted((name, value) for name, value in cells.items() if value))
        if key in seen:
            problems.append(Problem(number, "", _("Same post as row %(row)s.") % {"row": seen[key]}))
            post = None
        else:
            seen[key] = number
        good += post is not None
        yield number, post, problems
        if progress is not None and (index % PROGRESS_EVERY == 0 or index == len(records)):
            progress(index, good)


# --- the job ------------------------------------------------------------------------------------------------------
def post_import_start(*, actor: Membership, file_name: str, data: bytes, mode: str = ImportMode.ALL) -> PostImport:
    """Store an uploaded CSV of posts as a job and queue its check. A file that cannot be one is refused
    here, with what to do about it, and nothing is stored."""
    require(actor, Perm.COMPOSE_POSTS)
    if mode not in ImportMode.values:
        raise ValidationFailed(_("Unknown import mode."), field="mode")
    content = decode(data)
    total = row_count(content)
    job = PostImport.objects.create(
        organization_id=actor.organization_id,
        uploaded_by=actor.user,
        file_name=(file_name or "posts.csv")[:255],
        content=content,
        mode=mode,
        rows_total=total,
    )
    transaction.on_commit(lambda: _enqueue_validate(job.id))
    return job


def _enqueue_validate(import_id: int) -> None:
    from .tasks import post_import_validate

    post_import_validate.delay(import_id)


def _enqueue_run(import_id: int) -> None:
    from .tasks import post_import_run

    post_import_run.delay(import_id)


def _claim(import_id: int, from_status: str, **changes: Any) -> tuple[PostImport, QuerySet[PostImport]] | None:
    """Claim the job if it is in ``from_status`` and no live run holds it: the job, and the queryset through which
    this run writes (empty once another run has claimed it)."""
    now = timezone.now()
    claimed = (
        PostImport.objects.filter(id=import_id, status=from_status)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(attempts=F("attempts") + 1, claimed_until=now + LEASE, updated_at=now, **changes)
    )
    if not claimed:
        return None
    job = PostImport.objects.select_related("uploaded_by", "organization").get(id=import_id)
    return job, PostImport.objects.filter(id=import_id, attempts=job.attempts)


def post_import_validate(*, import_id: int) -> str:
    """Check every row; the job ends ``validated`` (and its import is queued) or ``invalid``. Returns the
    status, or "skipped" when another run has it or it was done."""
    claim = _claim(import_id, ImportStatus.VALIDATING, rows_checked=0, rows_good=0)
    if claim is None:
        return "skipped"
    job, mine = claim
    with translation.override(job.uploaded_by.language if job.uploaded_by else None):

        def progress(checked: int, good: int) -> None:
            mine.filter(status=ImportStatus.VALIDATING).update(
                rows_checked=checked, rows_good=good, claimed_until=timezone.now() + LEASE
            )

        problems: list[Problem] = []
        good = checked = 0
        header_bad = False
        for number, post, row_problems in _checked(job.content, _Directory.of(job), progress):
            problems.extend(row_problems)
            header_bad = header_bad or number == HEADER_ROW
            if number != HEADER_ROW:
                checked += 1
                good += post is not None
    if header_bad:
        good = 0  # a misnamed column would silently lose what is under it: no row is imported
    importable = not problems or (job.mode == ImportMode.GOOD_ROWS and good > 0)
    status = ImportStatus.VALIDATED if importable else ImportStatus.INVALID
    with transaction.atomic():
        done = mine.filter(status=ImportStatus.VALIDATING).update(
            status=status,
            rows_total=checked,
            rows_checked=checked,
            rows_good=good,
            report=[p.as_json() for p in problems],
            claimed_until=None,
            updated_at=timezone.now(),
            finished_at=None if importable else timezone.now(),
        )
        if not done:
            return "skipped"
        if importable:
            transaction.on_commit(lambda: _enqueue_run(import_id))
    return status


def post_import_good_rows(*, post_import: PostImport, actor: Membership) -> PostImport:
    """Import the rows that had no problem of a file that has some: the person chose to leave the bad ones."""
    require(actor, Perm.COMPOSE_POSTS)
    if post_import.organization_id != actor.organization_id:
        raise NotFound(_("No such import."))
    with transaction.atomic():
        changed = PostImport.objects.filter(id=post_import.id, status=ImportStatus.INVALID, rows_good__gt=0).update(
            status=ImportStatus.VALIDATED,
            mode=ImportMode.GOOD_ROWS,
            claimed_until=None,
            finished_at=None,
            updated_at=timezone.now(),
        )
        if not changed:
            raise Conflict(_("Only a checked file with problems and some good rows can have its good rows imported."))
        transaction.on_commit(lambda: _enqueue_run(post_import.id))
    post_import.refresh_from_db()
    return post_import


def progress_key(import_id: int) -> str:
    return f"publishing:post-import:{import_id}:imported"


class _ClaimLost(Exception):
    """Another run took the job over: this one's posts are rolled back."""


def post_import_run(*, import_id: int) -> str:
    """Import the job's rows (every row, or the good ones in GOOD_ROWS mode) in one transaction. Each row is
    checked again and goes through post_create, then post_schedule (a member who may approve, with a time)
    or post_submit (one who needs approval, with a time); a row without a time stays a draft. A problem now
    fails the job and nothing is imported."""
    claim = _claim(import_id, ImportStatus.VALIDATED, status=ImportStatus.IMPORTING, rows_imported=0)
    if claim is None:
        return "skipped"
    job, mine = claim
    user = job.uploaded_by
    with translation.override(user.language if user else None):
        try:
            _import(job, mine)
        except _ClaimLost:
            return "skipped"
        except (DomainError, PermissionDenied, Http404) as exc:
            message = getattr(exc, "message", None) or str(exc)
            mine.filter(status=ImportStatus.IMPORTING).update(
                status=ImportStatus.FAILED,
                error=_("Nothing was imported: %(reason)s") % {"reason": message},
                claimed_until=None,
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            cache.delete(progress_key(import_id))
            return ImportStatus.FAILED
    cache.delete(progress_key(import_id))
    return ImportStatus.IMPORTED


def _import(job: PostImport, mine: QuerySet[PostImport]) -> int:
    """Every row to import is checked again as it comes, inside the transaction: the first that has become
    bad (an account disconnected since the check) rolls back the posts of the rows before it."""
    bad_rows = {problem["row"] for problem in job.report}
    if job.mode == ImportMode.ALL and bad_rows:
        raise ValidationFailed(_("the file has problems; import its good rows only, or upload a corrected file."))
    actor = Membership.objects.filter(organization_id=job.organization_id, user=job.uploaded_by).first()
    if actor is None:
        raise ValidationFailed(_("the person who uploaded the file is no longer a member of the organization."))
    may_approve = role_allows(actor.role, Perm.APPROVE_POSTS)
    ids: list[int] = []
    with transaction.atomic():
        for number, row, problems in _checked(job.content, _Directory.of(job)):
            if number in bad_rows:
                continue
            if problems or row is None:
                first = problems[0]
                raise ValidationFailed(
                    _("row %(row)s (%(column)s) has changed since the file was checked: %(message)s")
                    % {"row": first.row, "column": first.column or "—", "message": first.message}
                )
            ids.append(_row_import(row, actor, may_approve).id)
            if len(ids) % PROGRESS_EVERY == 0:
                cache.set(progress_key(job.id), len(ids), timeout=int(LEASE.total_seconds()))
                if not mine.filter(status=ImportStatus.IMPORTING).exists():
                    raise _ClaimLost
        Post.objects.filter(id__in=ids).update(post_import=job)
        now = timezone.now()
        done = mine.filter(status=ImportStatus.IMPORTING).update(
            status=ImportStatus.IMPORTED,
            rows_imported=len(ids),
            claimed_until=None,
            finished_at=now,
            updated_at=now,
        )
        if not done:
            raise _ClaimLost
    return len(ids)


def _row_import(row: RowPost, actor: Membership, may_approve: bool) -> Post:
    """One row through the composer's services: a draft, then scheduled (a member who may approve) or sent
    for approval (one who may not) when the row has a time."""
    try:
        post = services.post_create(
            actor=actor, text=row.text or next(iter(row.variants.values()))["text"], accounts=row.accounts,
            variants=row.variants, scheduled_at=row.scheduled_at, campaign=row.campaign,
        )  # fmt: skip
        if row.scheduled_at is not None and may_approve:
            return services.post_schedule(post=post, actor=actor, at=row.scheduled_at)
        if row.scheduled_at is not None:
            return services.post_submit(post=post, actor=actor)
    except DomainError as exc:
        raise ValidationFailed(_("row %(row)s: %(message)s") % {"row": row.row, "message": exc.message}) from exc
    return post


def rows_imported_so_far(job: PostImport) -> int:
    """The rows imported, counted live while the job imports."""
    if job.status == ImportStatus.IMPORTING:
        return min(int(cache.get(progress_key(job.id)) or 0), job.rows_good)
    return job.rows_imported


def post_imports_recover(*, now: datetime | None = None) -> list[int]:
    """Send again the jobs whose run died (lease expired) or whose enqueue was lost. A dead import rolled its
    transaction back: it goes back to ``validated`` and starts over. Returns the ids sent."""
    now = now or timezone.now()
    stale = Q(claimed_until__lt=now) | Q(claimed_until__isnull=True, updated_at__lt=now - REQUEUE_AFTER)
    live = [ImportStatus.VALIDATING, ImportStatus.VALIDATED, ImportStatus.IMPORTING]
    jobs = list(PostImport.objects.filter(stale, status__in=live).values_list("id", "status", "attempts"))
    sent = []
    for job_id, status, attempts in jobs:
        if attempts >= MAX_ATTEMPTS:
            PostImport.objects.filter(stale, id=job_id, status=status).update(
                status=ImportStatus.FAILED,
                error=_("Nothing was imported: the import stopped %(n)s times. Split the file and try again.")
                % {"n": attempts},
                claimed_until=None,
                finished_at=now,
                updated_at=now,
            )
            continue
        if status == ImportStatus.IMPORTING:
            restarted = PostImport.objects.filter(id=job_id, status=status, claimed_until__lt=now).update(
                status=ImportStatus.VALIDATED, claimed_until=None, updated_at=now
            )
            if not restarted:
                continue
        elif PostImport.objects.filter(stale, id=job_id, status=status).update(updated_at=now) == 0:
            continue  # a run claimed it meanwhile
        (_enqueue_validate if status == ImportStatus.VALIDATING else _enqueue_run)(job_id)
        sent.append(job_id)
    return sent
