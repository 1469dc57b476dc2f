"""The normalized connector errors. Every platform's failures map onto these, so callers decide once:
permanent errors stop and tell a person, transient ones retry with backoff, RateLimited waits until retry_at."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class ConnectorError(Exception):
    """Base of every connector failure. ``permanent`` says whether retrying the same call can succeed."""

    permanent = True

    def __init__(self, message: str, *, platform: str = "", status: int | None = None, raw: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.platform = platform
        self.status = status
        self.raw = raw

    def __str__(self) -> str:
        where = f"{self.platform} " if self.platform else ""
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{where}{self.message}{status}"


class AuthExpired(ConnectorError):
    """The access token expired: refresh it once and retry."""

    permanent = False


class AuthRevoked(ConnectorError):
    """The user or platform revoked access: the account needs reconnecting."""


class RateLimited(ConnectorError):
    permanent = False

    def __init__(self, message: str, *, retry_at: datetime, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class QuotaExhausted(ConnectorError):
    """A daily or monthly quota is used up; nothing succeeds before reset_at."""

    permanent = False

    def __init__(self, message: str, *, reset_at: datetime | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class PermissionDenied(ConnectorError):
    """A scope, role or access tier is missing."""


class NotFound(ConnectorError):
    pass


class ValidationError(ConnectorError):
    """The platform refused the content (too long, bad media, missing text)."""


class Duplicate(ConnectorError):
    """The platform refused a duplicate of an existing post."""


class Transient(ConnectorError):
    """5xx, timeouts, resets. ``unknown_outcome`` is True when a write may have been applied anyway (the
    response was lost): reconcile with the platform before retrying it."""

    permanent = False

    def __init__(self, message: str, *, unknown_outcome: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.unknown_outcome = unknown_outcome


class MalformedPayload(ConnectorError):
    """The platform answered something we cannot parse; it is kept in ``raw`` for inspection."""

    permanent = False


class NotSupported(ConnectorError):
    """The platform has no such operation (see the connector's capabilities)."""
