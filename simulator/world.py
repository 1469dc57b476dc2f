"""The simulator's state: users, posts, tokens, OAuth codes, media and idempotency keys, in memory behind
one lock. Deterministic for a given seed: ids come from counters, randomness from one seeded RNG."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

PLATFORMS = ("x", "facebook", "instagram", "mastodon", "bluesky")

# Token lifetimes in seconds (None = never expires), as the platforms document them. Tests shorten them.
DEFAULT_TTL: dict[str, dict[str, float | None]] = {
    "x": {"access": 7200, "refresh": 180 * 86400},
    "facebook": {"access": 60 * 86400, "refresh": None},  # long-lived user token; Page tokens never expire
    "instagram": {"access": 60 * 86400, "refresh": None},
    "mastodon": {"access": None, "refresh": None},
    "bluesky": {"access": 7200, "refresh": 90 * 86400},
}
REFRESH_GRACE = {"bluesky": 7200.0}  # a rotated Bluesky refresh token keeps working for 2 hours

# Fixed-window request budgets per (platform, token, endpoint bucket): (requests, window seconds).
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "x": (300, 900),
    "facebook": (200, 3600),
    "instagram": (200, 3600),
    "mastodon": (300, 300),
    "bluesky": (3000, 300),
}


class TokenProblem(Exception):
    """Why a token was refused: missing, invalid, expired or revoked."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class SimUser:
    platform: str
    id: str
    handle: str
    display_name: str
    followers: int = 0
    avatar_url: str = ""
    lang: str = "en"
    is_brand: bool = False
    password: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimPost:
    platform: str
    id: str
    seq: int
    author_id: str
    text: str
    created_at: float
    kind: str = "post"  # post | comment | reply | dm
    reply_to_id: str | None = None
    root_id: str | None = None
    target_id: str | None = None  # the brand account an incoming item addresses (mention, comment, DM)
    mentions: list[str] = field(default_factory=list)
    media_ids: list[str] = field(default_factory=list)
    link: str | None = None
    lang: str | None = None
    hidden: bool = False
    deleted: bool = False
    malformed: bool = False
    likes: int = 0
    shares: int = 0
    replies: int = 0
    quotes: int = 0
    impressions: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    liked_by: list[str] = field(default_factory=list)  # the accounts that liked it through the API, each once


@dataclass(frozen=True)
class Engagement:
    """What a post's counters read as now, organic growth included."""

    likes: int
    shares: int
    replies: int
    quotes: int
    impressions: int


# A brand's own post earns most of its engagement in its first hours: counters follow 1 - exp(-age / this).
ORGANIC_GROWTH_SECONDS = 2 * 3600.0


@dataclass
class SimToken:
    value: str
    platform: str
    user_id: str
    kind: str  # access | refresh
    issued_at: float
    expires_at: float | None
    scopes: tuple[str, ...] = ()
    revoked: bool = False
    rotated_at: float | None = None  # a used refresh token
    family: str = ""  # tokens issued by one grant, revoked together
    client_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class OAuthCode:
    code: str
    platform: str
    user_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    expires_at: float
    used: bool = False


class World:
    def __init__(self, seed: int = 42) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.users: dict[tuple[str, str], SimUser] = {}
        self.posts: dict[tuple[str, str], SimPost] = {}
        self.post_order: dict[str, list[SimPost]] = {p: [] for p in PLATFORMS}
        self.tokens: dict[str, SimToken] = {}
        self.codes: dict[str, OAuthCode] = {}
        self.media: dict[tuple[str, str], dict[str, Any]] = {}
        self.idempotency: dict[tuple[str, str, str], tuple[str, float]] = {}
        self.extra: dict[str, Any] = {}  # per-platform odds and ends (threadgates, notification ids...)
        # Search results by (platform, query), extended as posts arrive; a cache, not part of the state.
        self.search_index: dict[tuple[str, str], tuple[int, list[SimPost]]] = {}
        self.ttl = {p: dict(v) for p, v in DEFAULT_TTL.items()}
        self.rate_limits = dict(DEFAULT_RATE_LIMITS)
        self.id_makers: dict[str, Callable[[World, SimPost], str]] = {}
        self._seq = 0
        self.clock_offset = 0.0  # tests move time forward without sleeping

    # --- time and ids ---------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def next_seq(self) -> int:
        with self.lock:
            self._seq += 1
            return self._seq

    def token_value(self, prefix: str) -> str:
        return f"{prefix}{secrets.token_urlsafe(24)}"

    # --- users ------------------------------------------------------------------------------------------
    def add_user(self, user: SimUser) -> SimUser:
        with self.lock:
            self.users[(user.platform, user.id)] = user
        return user

    def user(self, platform: str, user_id: str) -> SimUser | None:
        return self.users.get((platform, user_id))

    def find_user(self, platform: str, **match: Any) -> SimUser | None:
        for (p, _), user in self.users.items():
            if p == platform and all(getattr(user, k, user.extra.get(k)) == v for k, v in match.items()):
                return user
        return None

    def brand_users(self, platform: str) -> list[SimUser]:
        return [u for (p, _), u in self.users.items() if p == platform and u.is_brand]

    def people(self, platform: str) -> list[SimUser]:
        return [u for (p, _), u in self.users.items() if p == platform and not u.is_brand]

    # --- posts ------------------------------------------------------------------------------------------
    def add_post(self, post: SimPost) -> SimPost:
        """Store a post; its id comes from the platform's id maker (set ``post.id`` to "" to ask for one)."""
        with self.lock:
            if not post.seq:
                post.seq = self.next_seq()
            if not post.id:
                post.id = self.id_makers[post.platform](self, post)
            self.posts[(post.platform, post.id)] = post
            self.post_order[post.platform].append(post)
            if post.reply_to_id:
                parent = self.posts.get((post.platform, post.reply_to_id))
                if parent is not None:
                    parent.replies += 1
        return post

    def post(self, platform: str, post_id: str) -> SimPost | None:
        post = self.posts.get((platform, post_id))
        return None if post is None or post.deleted else post

    def like(self, post: SimPost, user_id: str) -> bool:
        """``user_id`` likes the post: counted once however often it is asked (as the networks do). Returns
        whether this was a new like."""
        with self.lock:
            if user_id in post.liked_by:
                return False
            post.liked_by.append(user_id)
            post.likes += 1
            return True

    def engagement(self, post: SimPost) -> Engagement:
        """The post's counters as served. A brand's own top-level post (what SMMS publishes) gains likes,
        reposts, replies, quotes and impressions as it ages, on a saturating curve whose size is seeded by
        the post's id: the same post at the same age always reads the same, and never goes down."""
        likes, shares, replies, quotes = post.likes, post.shares, post.replies, post.quotes
        impressions = post.impressions
        author = self.user(post.platform, post.author_id)
        if post.kind == "post" and not post.reply_to_id and author is not None and author.is_brand:
            seed = int(hashlib.sha256(f"{post.platform}:{post.id}".encode()).hexdigest()[:8], 16)
            size = 40 + seed % 160  # the likes it ends with
            grown = 1 - math.exp(-max(0.0, self.now() - post.created_at) / ORGANIC_GROWTH_SECONDS)
            likes += round(size * grown)
            shares += round(size * (0.1 + seed % 7 / 40) * grown)
            replies += round(size * 0.08 * grown)
            quotes += round(size * 0.02 * grown)
            impressions += round(size * (25 + seed % 30) * grown)
        return Engagement(likes, shares, replies, quotes, impressions)

    def matching(self, platform: str, query: str, test: Callable[[SimPost], bool]) -> list[SimPost]:
        """The posts of ``platform`` that ``test`` (the search for ``query``) keeps, oldest first. Posts are
        only ever appended, so each call tests only the posts added since the previous call with the same
        query: a search walked page by page costs the page, not the whole network."""
        with self.lock:
            key = (platform, query)
            order = self.post_order[platform]
            upto, found = self.search_index.get(key, (0, []))
            found = found + [post for post in order[upto:] if test(post)]
            if len(self.search_index) > 1000:  # many one-off queries: start afresh
                self.search_index.clear()
            self.search_index[key] = (len(order), found)
            return found

    def iter_posts(self, platform: str, newest_first: bool = True) -> Iterator[SimPost]:
        with self.lock:
            order = list(self.post_order[platform])
        return reversed(order) if newest_first else iter(order)  # type: ignore[return-value]

    # --- tokens -----------------------------------------------------------------------------------------
    def issue(
        self,
        platform: str,
        user_id: str,
        kind: str = "access",
        *,
        scopes: tuple[str, ...] = (),
        family: str = "",
        client_id: str = "",
        ttl: float | None | str = "default",
        value: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> SimToken:
        lifetime = self.ttl[platform][kind] if ttl == "default" else ttl
        now = self.now()
        token = SimToken(
            value=value or self.token_value(f"{platform[:2]}{kind[0]}_"),
            platform=platform,
            user_id=user_id,
            kind=kind,
            issued_at=now,
            expires_at=None if lifetime is None else now + float(lifetime),  # type: ignore[arg-type]
            scopes=scopes,
            family=family or secrets.token_hex(6),
            client_id=client_id,
            extra=extra or {},
        )
        with self.lock:
            self.tokens[token.value] = token
        return token

    def check(self, platform: str, value: str | None, kind: str = "access") -> SimToken:
        if not value:
            raise TokenProblem("missing")
        token = self.tokens.get(value)
        if token is None or token.platform != platform or token.kind != kind:
            raise TokenProblem("invalid")
        if token.revoked:
            raise TokenProblem("revoked")
        if token.expires_at is not None and token.expires_at <= self.now():
            raise TokenProblem("expired")
        return token

    def rotate_refresh(self, platform: str, value: str) -> SimToken:
        """Use a refresh token. Rotating platforms invalidate it (after a grace period where one applies)."""
        with self.lock:
            token = self.check(platform, value, "refresh")
            now = self.now()
            if token.rotated_at is not None:
                grace = REFRESH_GRACE.get(platform, 0.0)
                if now - token.rotated_at > grace:
                    raise TokenProblem("revoked")
            else:
                token.rotated_at = now
            return token

    def revoke(self, *, value: str | None = None, platform: str | None = None, user_id: str | None = None) -> int:
        """Revoke one token, or every token of a user (as when they remove the app). Returns the count."""
        count = 0
        with self.lock:
            family = self.tokens[value].family if value and value in self.tokens else None
            for token in self.tokens.values():
                hit = (family is not None and token.family == family) or (
                    value is None and token.platform == platform and token.user_id == user_id
                )
                if hit and not token.revoked:
                    token.revoked = True
                    count += 1
        return count

    def expire(self, *, platform: str, user_id: str | None = None, value: str | None = None) -> int:
        count = 0
        with self.lock:
            for token in self.tokens.values():
                if token.kind != "access" or token.platform != platform:
                    continue
                if (value and token.value == value) or (user_id and token.user_id == user_id):
                    token.expires_at = self.now() - 1
                    count += 1
        return count

    # --- OAuth codes ------------------------------------------------------------------------------------
    def new_code(self, **kwargs: Any) -> OAuthCode:
        code = OAuthCode(code=secrets.token_urlsafe(24), expires_at=self.now() + 600, **kwargs)
        with self.lock:
            self.codes[code.code] = code
        return code

    def redeem_code(self, platform: str, code: str, redirect_uri: str, verifier: str | None) -> OAuthCode:
        with self.lock:
            grant = self.codes.get(code)
            if grant is None or grant.platform != platform or grant.used or grant.expires_at < self.now():
                raise TokenProblem("invalid_grant")
            if grant.redirect_uri != redirect_uri:
                raise TokenProblem("invalid_grant")
            if grant.challenge and (not verifier or s256(verifier) != grant.challenge):
                raise TokenProblem("invalid_grant")
            grant.used = True
            return grant

    # --- idempotency --------------------------------------------------------------------------------------
    def remember(self, platform: str, user_id: str, key: str, post_id: str) -> None:
        with self.lock:
            self.idempotency[(platform, user_id, key)] = (post_id, self.now())

    def recall(self, platform: str, user_id: str, key: str, ttl: float = 3600) -> str | None:
        entry = self.idempotency.get((platform, user_id, key))
        if entry and self.now() - entry[1] < ttl:
            return entry[0]
        return None

    # --- inspection ---------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "seed": self.seed,
                "users": {p: sum(1 for k in self.users if k[0] == p) for p in PLATFORMS},
                "posts": {p: len(self.post_order[p]) for p in PLATFORMS},
                "tokens": len(self.tokens),
            }


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


PERSISTED = ("users", "posts", "tokens", "codes", "media", "idempotency", "extra", "ttl", "rate_limits",
             "_seq", "clock_offset", "seed")  # fmt: skip


def save_world(world: World, path: str) -> None:
    """Write the world to its own state file (atomically), so a restarted simulator keeps its accounts,
    tokens and posts, and ids never repeat."""
    import os
    import pickle

    with world.lock:
        state = {name: getattr(world, name) for name in PERSISTED}
        state["rng"] = world.rng.getstate()
        data = pickle.dumps(state)
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def load_world(world: World, path: str) -> bool:
    import os
    import pickle

    if not os.path.exists(path):
        return False
    with open(path, "rb") as handle:
        state = pickle.load(handle)  # noqa: S301 -- the simulator's own file in var/, written by save_world
    with world.lock:
        world.rng.setstate(state.pop("rng"))
        for name, value in state.items():
            setattr(world, name, value)
        world.post_order = {p: [] for p in PLATFORMS}
        for post in sorted(world.posts.values(), key=lambda p: p.seq):
            _add_missing_fields(post)
            world.post_order.setdefault(post.platform, []).append(post)
    return True


def _add_missing_fields(post: SimPost) -> None:
    """Give a post from an older state file the fields added since (``liked_by``...), at their defaults."""
    for spec in fields(SimPost):
        if spec.name in post.__dict__:
            continue
        if spec.default_factory is not MISSING:
            setattr(post, spec.name, spec.default_factory())
        elif spec.default is not MISSING:
            setattr(post, spec.name, spec.default)
