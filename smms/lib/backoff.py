"""When to try a failed call to a network again: exponential backoff with jitter, never before the network's
own reset time. Shared by everything SMMS sends (scheduled posts, replies and moderation actions)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from smms.connectors import errors as cx

MAX_BACKOFF = timedelta(minutes=30)


def retry_at(attempts: int, exc: cx.ConnectorError, *, base_seconds: float, now: datetime | None = None) -> datetime:
    """The time of the next attempt after ``attempts`` failed ones: half of the delay fixed, half random, the
    delay doubling from ``base_seconds`` up to 30 minutes; a rate limit or quota waits for its reset."""
    now = now or timezone.now()
    delay = min(MAX_BACKOFF.total_seconds(), base_seconds * 2 ** max(0, attempts - 1))
    when = now + timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))  # noqa: S311
    reset = None
    if isinstance(exc, cx.RateLimited):
        reset = exc.retry_at
    elif isinstance(exc, cx.QuotaExhausted):
        reset = exc.reset_at
    if reset is not None:
        when = max(when, reset + timedelta(seconds=random.uniform(0, 5)))  # noqa: S311
    return when


def outcome_unknown(exc: cx.ConnectorError) -> bool:
    """Whether a failed write may have been applied anyway: no answer, or a success we could not read. Such a
    write is looked for on the network before it is sent again."""
    if isinstance(exc, cx.MalformedPayload):
        return True
    return isinstance(exc, cx.Transient) and (exc.unknown_outcome or exc.status is None)


def attempt_failed(attempt: int, exc: cx.ConnectorError, when: datetime) -> str:
    """What the trail and the page say of a failed attempt that will be tried again."""
    return _("Attempt %(attempt)s failed (%(detail)s); SMMS tries again at %(when)s UTC.") % {
        "attempt": attempt,
        "detail": exc,
        "when": when.strftime("%H:%M:%S"),
    }
