"""Rate-limit bookkeeping read from each platform's headers.

X and Bluesky give the reset as epoch seconds, Mastodon as an ISO 8601 timestamp, Meta as usage
percentages in JSON headers (with minutes to regain access). All are turned into one RateLimitInfo.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

Headers = Mapping[str, str]


@dataclass(frozen=True)
class RateLimitInfo:
    limit: int | None
    remaining: int | None
    reset_at: datetime | None

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _now() -> datetime:
    return datetime.now(UTC)


def _int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(float(value))
    except (ValueError, OverflowError):
        return None


def _epoch(value: str | None) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch_headers(prefix: str) -> Callable[[Headers], RateLimitInfo | None]:
    """X (``x-rate-limit-``) and Bluesky (``RateLimit-``): reset in epoch seconds."""

    def parse(headers: Headers) -> RateLimitInfo | None:
        remaining = _int(headers.get(f"{prefix}remaining"))
        if remaining is None:
            return None
        return RateLimitInfo(_int(headers.get(f"{prefix}limit")), remaining, _epoch(headers.get(f"{prefix}reset")))

    return parse


def iso_headers(prefix: str) -> Callable[[Headers], RateLimitInfo | None]:
    """Mastodon (``X-RateLimit-``): reset as an ISO 8601 timestamp (other fediverse servers: epoch)."""

    def parse(headers: Headers) -> RateLimitInfo | None:
        remaining = _int(headers.get(f"{prefix}Remaining"))
        if remaining is None:
            return None
        raw_reset = headers.get(f"{prefix}Reset")
        reset = parse_iso(raw_reset) or _epoch(raw_reset)
        return RateLimitInfo(_int(headers.get(f"{prefix}Limit")), remaining, reset)

    return parse


def _usage_entries(data: object) -> list[dict[str, object]]:
    """X-App-Usage is one object; X-Business-Use-Case-Usage maps ids to lists of objects."""
    if isinstance(data, dict) and "call_count" in data:
        return [data]
    if isinstance(data, dict):
        return [e for v in data.values() if isinstance(v, list) for e in v if isinstance(e, dict)]
    return []


def meta_usage(headers: Headers) -> RateLimitInfo | None:
    """Meta's X-App-Usage / X-Page-Usage / X-Business-Use-Case-Usage: percentages of the budget used.
    A header that is not the documented JSON is ignored, never an error."""
    highest = None
    regain_minutes = 0
    for name in ("X-App-Usage", "X-Page-Usage", "X-Business-Use-Case-Usage"):
        try:
            data = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        for entry in _usage_entries(data):
            pct = max((_int(str(entry.get(k, 0))) or 0) for k in ("call_count", "total_cputime", "total_time"))
            highest = pct if highest is None else max(highest, pct)
            regain_minutes = max(regain_minutes, _int(str(entry.get("estimated_time_to_regain_access", 0))) or 0)
    if highest is None:
        return None
    reset = _now() + timedelta(minutes=regain_minutes) if regain_minutes else None
    return RateLimitInfo(100, max(0, 100 - highest), reset)


def retry_after(headers: Headers, default_seconds: int = 60) -> datetime:
    """When to try again after a 429 without a usable reset header."""
    value = headers.get("Retry-After")
    if value:
        seconds = _int(value)
        if seconds is not None:
            return _now() + timedelta(seconds=seconds)
        try:
            return parsedate_to_datetime(value)
        except (TypeError, ValueError):
            pass
    return _now() + timedelta(seconds=default_seconds)


class RateLimitBook:
    """The last known state per (account, endpoint bucket), so a client waits instead of sending a request
    that is sure to get a 429. Thread-safe; shared by all calls of one connector instance."""

    def __init__(self) -> None:
        self._state: dict[tuple[str, str], RateLimitInfo] = {}
        self._lock = threading.Lock()

    def record(self, key: tuple[str, str], info: RateLimitInfo) -> None:
        with self._lock:
            self._state[key] = info

    def blocked_until(self, key: tuple[str, str]) -> datetime | None:
        with self._lock:
            info = self._state.get(key)
        if info is None or not info.exhausted or info.reset_at is None:
            return None
        return info.reset_at if info.reset_at > _now() else None

    def get(self, key: tuple[str, str]) -> RateLimitInfo | None:
        with self._lock:
            return self._state.get(key)
