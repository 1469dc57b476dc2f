"""The one family of domain errors. Services and selectors raise these; the edges (views, API handlers,
tasks) map them to HTTP answers or retries. NotFound and Forbidden subclass Django's own exceptions, so
every edge that already knows Django maps them to 404 and 403 without extra code."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    code = "invalid"


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotFound(Http404):
    """An object does not exist *for this actor*: other organizations' objects are NotFound too."""


class Forbidden(PermissionDenied):
    pass
