"""The common connector interface and the behaviour every platform shares: one refresh-and-retry on an
expired token, persistence of rotated tokens through a callback, per-item normalization that quarantines
malformed items instead of failing the page, and helpers to read timestamps and HTML safely."""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, TypeVar

import requests

from .errors import AuthExpired, AuthRevoked, ConnectorError, MalformedPayload, NotSupported
from .http import HttpClient, Response
from .ratelimit import Headers, RateLimitInfo
from .types import (
    AccountCandidate,
    AccountRef,
    Capabilities,
    Draft,
    Interaction,
    Metrics,
    Page,
    PlatformConfig,
    RemotePost,
    TextCheck,
    TokenSet,
)

T = TypeVar("T")
TokensSaved = Callable[[AccountRef, TokenSet], None]


class Connector:
    """Base class of the platform connectors. Subclasses set ``platform`` and ``capabilities`` and implement
    ``map_error`` and ``parse_rate_limit``, plus the operations their platform has; the others raise
    NotSupported (and ``capabilities`` says so, so the UI can hide them)."""

    platform: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(
        self,
        config: PlatformConfig,
        *,
        session: requests.Session | None = None,
        on_tokens: TokensSaved | None = None,
    ) -> None:
        self.config = config
        self.on_tokens = on_tokens
        self.http = HttpClient(
            platform=self.platform,
            base_url=config.api_base,
            map_error=self.map_error,
            parse_rate_limit=self.parse_rate_limit,
            timeout=config.timeout,
            session=session,
        )

    # --- what each platform supplies -------------------------------------------------------------------
    def map_error(self, response: Response) -> ConnectorError:
        raise NotImplementedError

    def parse_rate_limit(self, headers: Headers) -> RateLimitInfo | None:
        raise NotImplementedError

    # --- authorization ----------------------------------------------------------------------------------
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        raise NotSupported("no OAuth flow", platform=self.platform)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        raise NotSupported("no OAuth flow", platform=self.platform)

    def login(self, *, identifier: str, password: str) -> TokenSet:
        raise NotSupported("no password login", platform=self.platform)

    def list_accounts(self, tokens: TokenSet) -> list[AccountCandidate]:
        """The accounts these user tokens may manage (the user's profile, or their Pages)."""
        raise NotImplementedError

    def refresh(self, account: AccountRef) -> TokenSet:
        raise AuthRevoked("the platform cannot refresh this token; reconnect the account", platform=self.platform)

    def can_refresh(self, account: AccountRef) -> bool:
        return bool(account.tokens.refresh_token)

    def revoke(self, account: AccountRef) -> None:
        raise NotSupported("revocation is not offered by the platform", platform=self.platform)

    # --- operations -------------------------------------------------------------------------------------
    def publish(self, account: AccountRef, draft: Draft) -> RemotePost:
        raise NotSupported("publishing", platform=self.platform)

    def delete(self, account: AccountRef, remote_id: str) -> None:
        raise NotSupported("deleting posts", platform=self.platform)

    def fetch_mentions(self, account: AccountRef, cursor: str | None) -> Page:
        raise NotSupported("reading mentions", platform=self.platform)

    def search(self, account: AccountRef, query: str, cursor: str | None) -> Page:
        raise NotSupported("search", platform=self.platform)

    def reply(
        self, account: AccountRef, target_id: str, text: str, *, idempotency_key: str | None = None
    ) -> RemotePost:
        """Answer a comment, mention or message. ``idempotency_key`` is sent where the platform de-duplicates
        on it (``capabilities.idempotency_key``) and ignored elsewhere: there, a reply whose answer was lost
        is reconciled with ``find_reply``."""
        raise NotSupported("replies", platform=self.platform)

    def like(self, account: AccountRef, remote_id: str) -> None:
        """Like a post, comment or reply as the account; liking what is already liked changes nothing."""
        raise NotSupported("likes", platform=self.platform)

    def hide(self, account: AccountRef, comment_id: str, hidden: bool = True) -> None:
        raise NotSupported("hiding comments", platform=self.platform)

    def delete_comment(self, account: AccountRef, comment_id: str) -> None:
        raise NotSupported("deleting comments", platform=self.platform)

    def metrics(self, account: AccountRef, remote_ids: list[str]) -> dict[str, Metrics]:
        raise NotSupported("metrics", platform=self.platform)

    def followers(self, account: AccountRef) -> int | None:
        """The account's follower count, None when the network's answer has none."""
        raise NotSupported("followers", platform=self.platform)

    def find_post(self, account: AccountRef, *, text: str, since: datetime) -> RemotePost | None:
        """Our own post with this text published since ``since``, if any: how a write whose answer was
        lost is reconciled on platforms without idempotency keys."""
        raise NotSupported("looking up own posts", platform=self.platform)

    def find_reply(self, account: AccountRef, *, target_id: str, text: str, since: datetime) -> RemotePost | None:
        """Our reply to ``target_id`` with this text published since ``since``, if any: how a reply whose
        answer was lost is reconciled.

        This default relies on ``find_post``: the post it finds counts when its ``in_reply_to_id`` is
        ``target_id``, or when it is None, because then the connector cannot tell what the post answers and
        the text alone decides. Every connector here does better and overrides it: X, Mastodon and Bluesky
        look for a reply to ``target_id`` in the account's own timeline (the same words may answer several
        people), Facebook and Instagram in the target's own list of answers."""
        post = self.find_post(account, text=text, since=since)
        if post is None or post.in_reply_to_id not in (None, target_id):
            return None
        return post

    def validate_text(self, text: str) -> TextCheck:
        raise NotImplementedError

    # --- shared behaviour -------------------------------------------------------------------------------
    def call(self, account: AccountRef, request: Callable[[str], T]) -> T:
        """Run ``request(access_token)``; on an expired token refresh once, save the new tokens, retry."""
        try:
            return request(account.tokens.access_token)
        except AuthExpired:
            if not self.can_refresh(account):
                raise AuthRevoked(
                    "access expired and cannot be refreshed; reconnect the account", platform=self.platform
                ) from None
        tokens = self.refresh(account)
        account.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(account, tokens)
        try:
            return request(tokens.access_token)
        except AuthExpired as exc:
            raise AuthRevoked("a fresh token was refused too", platform=self.platform, status=exc.status) from exc

    def normalize_page(
        self, raw_items: Iterable[Any], normalize: Callable[[Any], Interaction | None]
    ) -> tuple[list[Interaction], list[tuple[Mapping[str, Any], str]]]:
        """Normalize each item alone: a malformed one is quarantined with its reason, never the batch."""
        items: list[Interaction] = []
        quarantined: list[tuple[Mapping[str, Any], str]] = []
        for raw in raw_items:
            try:
                item = normalize(raw)
            except (KeyError, TypeError, ValueError, AttributeError, MalformedPayload) as exc:
                reason = exc.message if isinstance(exc, MalformedPayload) else f"{type(exc).__name__}: {exc}"
                quarantined.append((raw if isinstance(raw, Mapping) else {"value": repr(raw)[:2000]}, reason))
                continue
            if item is not None:
                items.append(item)
        return items, quarantined


def parse_time(value: Any) -> datetime:
    """ISO 8601 with Z or +0000 offsets, or Unix seconds, to an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError) as exc:  # 1e20 and friends: a bad value, not a crash
            raise ValueError(f"not a time: {value!r}") from exc
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a time: {value!r}")
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of platform HTML (Mastodon statuses): tags dropped, entities decoded. The result is data
    to escape when shown, never markup."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return html.unescape("".join(parser.parts)).strip()


def text_field(value: Any, *, default: str = "") -> str:
    return value if isinstance(value, str) else default


LEADING_MENTIONS = re.compile(r"^(?:@[\w.@-]+\s+)+")


def without_leading_mentions(text: str) -> str:
    """The text after the ``@handle`` (or ``@user@instance``) addresses a reply starts with, spaces
    normalized: what to compare when the network, or the connector itself, puts the author's handle first."""
    return " ".join(LEADING_MENTIONS.sub("", text.strip()).split())


def encode_cursor(state: Mapping[str, Any]) -> str:
    """A connector's polling state as the opaque string the caller stores (URL-safe base64 of JSON)."""
    return base64.urlsafe_b64encode(json.dumps(dict(state), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The state behind a stored cursor; an empty or unreadable cursor starts over (a first poll)."""
    if not cursor:
        return {}
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return {}
    return state if isinstance(state, dict) else {}


def count_of(data: Mapping[str, Any], key: str) -> int | None:
    """A counter from a platform's JSON: an int, or None when absent or not a number."""
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def metrics_from(data: Mapping[str, Any], **keys: str) -> Metrics:
    """Metrics read from the platform's counter names: ``metrics_from(status, likes="favourites_count")``."""
    return Metrics(**{name: count_of(data, key) for name, key in keys.items()})
