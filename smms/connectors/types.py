"""Plain dataclasses shared by every connector: what goes in and what comes out, free of platform JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()


@dataclass
class AccountRef:
    """Everything a connector needs to act as one social account. ``tokens`` is replaced in place when a
    refresh happens during a call; ``extra`` holds platform ids (page id, DID, PDS URL, instance URL)."""

    remote_id: str
    handle: str
    tokens: TokenSet
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountCandidate:
    """An account the user may manage after signing in: a profile, a Page, an Instagram business account.
    Its tokens are the ones to store for it (a Page has its own Page token)."""

    remote_id: str
    handle: str
    display_name: str
    avatar_url: str
    tokens: TokenSet
    extra: Mapping[str, Any] = field(default_factory=dict)


class InteractionKind(StrEnum):
    MENTION = "mention"
    COMMENT = "comment"
    REPLY = "reply"
    QUOTE = "quote"
    TAG = "tag"
    MESSAGE = "message"


@dataclass(frozen=True)
class Author:
    id: str
    handle: str
    display_name: str = ""
    avatar_url: str = ""
    followers: int | None = None


@dataclass(frozen=True)
class Interaction:
    """A mention, comment, reply or message, normalized. ``text`` is plain text (HTML stripped), never
    markup; ``raw`` keeps the platform's JSON for debugging and reprocessing."""

    platform: str
    remote_id: str
    kind: InteractionKind
    author: Author
    text: str
    created_at: datetime
    in_reply_to_id: str | None = None
    root_id: str | None = None
    permalink: str = ""
    is_hidden: bool = False
    lang: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class MediaItem:
    content: bytes
    mime_type: str
    alt_text: str = ""
    # Meta fetches media from a public URL instead of an upload; the caller provides one when it has it.
    public_url: str = ""


@dataclass(frozen=True)
class Draft:
    text: str
    media: tuple[MediaItem, ...] = ()
    link: str | None = None
    reply_to: str | None = None
    # Sent where the platform de-duplicates on it (Mastodon's Idempotency-Key).
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RemotePost:
    id: str
    url: str = ""
    created_at: datetime | None = None
    text: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The post this one answers, where the connector knows it (None: not a reply, or not told).
    in_reply_to_id: str | None = None


@dataclass(frozen=True)
class Metrics:
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None
    quotes: int | None = None
    impressions: int | None = None
    views: int | None = None


@dataclass(frozen=True)
class Page:
    """One page of interactions and the cursor to store once they are saved. ``has_more`` says whether the
    caller should ask again right away with ``cursor``."""

    items: list[Interaction]
    cursor: str | None
    has_more: bool = False
    quarantined: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)


@dataclass(frozen=True)
class TextCheck:
    length: int
    limit: int
    ok: bool
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    publish: bool = True
    media: bool = True
    text_only_posts: bool = True
    link: bool = True
    reply: bool = True
    delete: bool = True
    like: bool = False
    hide: bool = False
    delete_comment: bool = False
    search: bool = False
    metrics: bool = True
    impressions: bool = False
    idempotency_key: bool = False
    max_media: int = 4
    oauth: bool = True  # False: connected with a login form (Bluesky app password)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class PlatformConfig:
    """Where a platform lives and the app credentials registered with it."""

    api_base: str
    authorize_url: str = ""
    token_url: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: tuple[str, ...] = ()
    timeout: float = 20.0
