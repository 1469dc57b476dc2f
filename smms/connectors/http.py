"""The one HTTP layer every connector uses: timeouts, retries only where safe, rate-limit bookkeeping and the
mapping of failures onto the normalized errors. Platform modules supply two small functions: how to read
their rate-limit headers and how to turn an error response into a ConnectorError."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import requests

from .errors import (
    AuthExpired,
    ConnectorError,
    MalformedPayload,
    NotFound,
    PermissionDenied,
    RateLimited,
    Transient,
    ValidationError,
)
from .ratelimit import Headers, RateLimitBook, RateLimitInfo, retry_after

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "SMMS/1.0 (+https://github.com/smms)"


@dataclass
class Response:
    status: int
    headers: Headers
    data: Any
    url: str
    links: dict[str, str] = field(default_factory=dict)
    text: str = ""


ErrorMapper = Callable[[Response], ConnectorError]
RateLimitParser = Callable[[Headers], RateLimitInfo | None]


def default_error(response: Response, platform: str, message: str | None = None) -> ConnectorError:
    """Map by status alone; platform mappers call this for what their bodies do not refine."""
    status = response.status
    text = message or f"unexpected answer {status}"
    kwargs: dict[str, Any] = {"platform": platform, "status": status, "raw": response.data}
    if status == 401:
        return AuthExpired(message or "access token rejected", **kwargs)
    if status == 403:
        return PermissionDenied(message or "not allowed", **kwargs)
    if status == 404:
        return NotFound(message or "not found", **kwargs)
    if status == 429:
        return RateLimited(message or "rate limited", retry_at=retry_after(response.headers), **kwargs)
    if status in (400, 409, 413, 422):
        return ValidationError(text, **kwargs)
    if status >= 500:
        return Transient(message or f"server error {status}", **kwargs)
    return ConnectorError(text, **kwargs)


def _parse_links(header: str | None) -> dict[str, str]:
    links: dict[str, str] = {}
    if not header:
        return links
    for part in header.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip().strip("<>")
        for param in section[1:]:
            name, _, value = param.strip().partition("=")
            if name == "rel":
                links[value.strip('"')] = url
    return links


class HttpClient:
    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        map_error: ErrorMapper,
        parse_rate_limit: RateLimitParser,
        timeout: float = 20.0,
        max_retries: int = 2,
        session: requests.Session | None = None,
        rate_limits: RateLimitBook | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/") + "/"
        self.map_error = map_error
        self.parse_rate_limit = parse_rate_limit
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.rate_limits = rate_limits or RateLimitBook()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        bucket: str | None = None,
        account: str = "",
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
        idempotent: bool | None = None,
    ) -> Response:
        """Send one request and return the parsed answer, or raise a ConnectorError.

        Retries happen only when a repeat cannot apply a write twice: safe methods, or a write that carries
        an idempotency key (``idempotent=True``). A write whose answer is lost raises
        ``Transient(unknown_outcome=True)`` so the caller reconciles before trying again.
        """
        method = method.upper()
        bucket_key = (account, bucket or f"{method} {path.split('?')[0]}")
        blocked = self.rate_limits.blocked_until(bucket_key)
        if blocked is not None:
            raise RateLimited("rate limit exhausted; waiting for reset", retry_at=blocked, platform=self.platform)
        retryable = idempotent if idempotent is not None else method in SAFE_METHODS
        send_headers = {"Accept": "application/json", **(headers or {})}
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        attempt = 0
        while True:
            attempt += 1
            try:
                raw = self.session.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json_body,
                    data=data,
                    files=files,
                    headers=send_headers,
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                error: ConnectorError = Transient(
                    f"no answer: {type(exc).__name__}", platform=self.platform, unknown_outcome=not retryable
                )
            else:
                response = self._wrap(raw, expect_json)
                info = self.parse_rate_limit(response.headers)
                if info is not None:
                    self.rate_limits.record(bucket_key, info)
                if response.status < 400:
                    return response
                error = self.map_error(response)
            if not isinstance(error, Transient) or not retryable or attempt > self.max_retries:
                raise error
            # Exponential backoff with full jitter, small: callers retry later through their own schedule.
            time.sleep(random.uniform(0, min(2.0, 0.25 * 2**attempt)))  # noqa: S311

    def _wrap(self, raw: requests.Response, expect_json: bool) -> Response:
        text = raw.text
        data: Any = None
        if text:
            try:
                data = json.loads(text)
            except ValueError:
                if expect_json and raw.status_code < 400:
                    raise MalformedPayload(
                        "answer is not JSON", platform=self.platform, status=raw.status_code, raw=text[:2000]
                    ) from None
                data = None
        return Response(
            status=raw.status_code,
            headers=raw.headers,
            data=data,
            url=raw.url,
            links=_parse_links(raw.headers.get("Link")),
            text=text[:2000] if data is None else "",
        )


def expect(data: Any, kind: type | tuple[type, ...], platform: str, what: str) -> Any:
    """Check the shape of a parsed answer; raise MalformedPayload rather than a KeyError later."""
    if not isinstance(data, kind):
        raise MalformedPayload(f"{what}: expected {kind}, got {type(data).__name__}", platform=platform, raw=data)
    return data


def field_of(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], platform: str, what: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        raise MalformedPayload(f"{what}: missing {key!r}", platform=platform, raw=data)
    return expect(data[key], kind, platform, f"{what}.{key}")


def in_seconds(seconds: float | None) -> datetime | None:
    if seconds is None:
        return None
    return datetime.now(UTC) + timedelta(seconds=float(seconds))
