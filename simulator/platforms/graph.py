"""What the simulated Facebook Pages and Instagram (Facebook Login) APIs share: the Graph API itself.

Both live on Meta's Graph host, take the same Facebook user and Page tokens, answer errors in the same
``{"error": {...}}`` object, report usage in ``X-App-Usage`` / ``X-Business-Use-Case-Usage``, select fields with
``?fields=a,b.limit(0).summary(true){c,d}`` and page with ``paging.cursors.before/after`` + ``paging.next``.
Paths may carry any ``v<N>.0`` version prefix or none, so each platform serves one catch-all route per method
and dispatches on the unversioned path segments itself (``graph_routes``).
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from simulator.platforms.base import ApiError, Handler, PlatformApi, iso, json_response
from simulator.world import SimPost, SimToken, SimUser, TokenProblem

VERSION_RE = re.compile(r"^v\d+\.0$")
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
APP_BUSINESS_ID = "1000000000000001"  # the key of X-Business-Use-Case-Usage (the sim's one business)

# The seeded Facebook side: one person administers two Pages; each Page links to an Instagram business account.
ADMIN_ID = "100081234567890"
ADMIN_NAME = "Camille Durand"
PAGES: tuple[dict[str, str], ...] = (
    {
        "id": "104812345678901",
        "name": "Lumière Café",
        "username": "lumierecafe",
        "category": "Coffee shop",
        "ig_id": "17841400000000001",
        "ig_username": "lumiere.cafe",
    },
    {
        "id": "104812345678902",
        "name": "Lumière Store",
        "username": "lumierestore",
        "category": "Electronics store",
        "ig_id": "17841400000000002",
        "ig_username": "lumiere.store",
    },
)

# Error kinds of PlatformApi.error → (Graph code, subcode, type, default message).
ERRORS: dict[str, tuple[int, int | None, str, str]] = {
    "missing_token": (104, None, "OAuthException", "An access token is required to request this resource."),
    "invalid_token": (190, None, "OAuthException", "Invalid OAuth access token - Cannot parse access token"),
    "expired_token": (190, 463, "OAuthException", "Error validating access token: Session has expired."),
    "revoked_token": (
        190,
        460,
        "OAuthException",
        "Error validating access token: The session has been invalidated because the user changed their "
        "password or Facebook has changed the session for security reasons.",
    ),
    "rate_limited": (4, None, "OAuthException", "(#4) Application request limit reached"),
    "server_error": (2, None, "OAuthException", "An unexpected error has occurred. Please retry your request later."),
    "not_found": (100, 33, "GraphMethodException", "Unsupported request: the object does not exist."),
    "forbidden": (200, None, "OAuthException", "(#200) Permissions error"),
    "validation": (100, None, "OAuthException", "(#100) Invalid parameter"),
    "duplicate": (506, None, "OAuthException", "(#506) Duplicate status message"),
    "bad_request": (100, None, "OAuthException", "(#100) Invalid parameter"),
    "quota": (9, 2207042, "OAuthException", "Application request limit reached"),
}


def graph_time(ts: float) -> str:
    """Graph timestamps: ``2019-09-16T21:07:51+0000``."""
    return iso(ts, millis=False, offset="+0000")


# --- field selection ------------------------------------------------------------------------------------
@dataclass
class Field:
    name: str
    mods: dict[str, str] = field(default_factory=dict)
    sub: list[Field] | None = None

    def mod_int(self, name: str, default: int) -> int:
        try:
            return max(0, int(self.mods.get(name, default)))
        except ValueError:
            return default


_NAME_RE = re.compile(r"[A-Za-z0-9_]+")


def parse_fields(text: str) -> list[Field]:
    """``id,comments.limit(0).summary(true){id,from{name}}`` → a tree of Field. Raises ValueError."""
    fields, position = _parse_list(text.replace(" ", ""), 0, top=True)
    if position != len(text.replace(" ", "")):
        raise ValueError(f"unexpected {text[position:]!r} in fields")
    return fields


def _parse_list(text: str, position: int, *, top: bool) -> tuple[list[Field], int]:
    fields: list[Field] = []
    while position < len(text):
        match = _NAME_RE.match(text, position)
        if match is None:
            raise ValueError(f"bad field syntax at {position}")
        current = Field(match.group())
        position = match.end()
        while position < len(text) and text[position] == ".":
            mod = _NAME_RE.match(text, position + 1)
            if mod is None or text[mod.end() : mod.end() + 1] != "(":
                raise ValueError(f"bad modifier at {position}")
            close = text.find(")", mod.end())
            if close < 0:
                raise ValueError("unclosed modifier")
            current.mods[mod.group()] = text[mod.end() + 1 : close]
            position = close + 1
        if position < len(text) and text[position] == "{":
            current.sub, position = _parse_list(text, position + 1, top=False)
            if position >= len(text) or text[position] != "}":
                raise ValueError("unclosed {")
            position += 1
        fields.append(current)
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        if not top and position < len(text) and text[position] == "}":
            return fields, position
        if position < len(text):
            raise ValueError(f"unexpected {text[position]!r}")
    return fields, position


EdgeRenderer = Callable[[Field], Any]


def project(full: dict[str, Any], fields: list[Field], edges: dict[str, EdgeRenderer] | None = None) -> dict[str, Any]:
    """Keep the requested fields of a node (``id`` always), render the requested edges."""
    out: dict[str, Any] = {}
    for wanted in fields:
        if edges and wanted.name in edges:
            value = edges[wanted.name](wanted)
            if value is None:
                continue
        elif wanted.name in full:
            value = full[wanted.name]
        else:
            continue  # an unset field is omitted, as the Graph API does
        if wanted.sub is not None and isinstance(value, dict) and not (edges and wanted.name in edges):
            inner = value.get("data")
            if isinstance(inner, dict):  # {"data": {...}} nodes such as picture
                value = {**value, "data": project(inner, wanted.sub)}
            else:
                value = project(value, wanted.sub)
        out[wanted.name] = value
    if "id" in full:
        out["id"] = full["id"]
    return out


def cursor_of(item_id: str) -> str:
    return base64.b64encode(item_id.encode()).decode()


def id_of_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


# --- the shared API ---------------------------------------------------------------------------------------
class GraphApi(PlatformApi):
    """Base of FacebookApi and InstagramApi: routing, errors, usage headers, tokens, paging, Pages."""

    incoming_kinds = ("comment",)

    def __init__(self, sim: Any) -> None:
        super().__init__(sim)
        self._indexed = 0
        self._indexed_list: list[SimPost] | None = None
        self._by_parent: dict[str, list[SimPost]] = {}
        self._by_root: dict[str, list[SimPost]] = {}

    def _index(self) -> None:
        """Children by parent and by root post, grown incrementally (the world only appends posts; a world
        restored from its state file brings a new list, indexed afresh)."""
        with self.world.lock:
            order = self.world.post_order[self.name]
            if order is not self._indexed_list:
                self._indexed_list, self._indexed = order, 0
                self._by_parent, self._by_root = {}, {}
            for item in order[self._indexed :]:
                if item.reply_to_id:
                    self._by_parent.setdefault(item.reply_to_id, []).append(item)
                if item.root_id:
                    self._by_root.setdefault(item.root_id, []).append(item)
            self._indexed = len(order)

    def children(self, parent_id: str) -> list[SimPost]:
        self._index()
        return [p for p in self._by_parent.get(parent_id, []) if not p.deleted]

    def thread(self, root_id: str) -> list[SimPost]:
        self._index()
        return [p for p in self._by_root.get(root_id, []) if not p.deleted]

    # --- routing ----------------------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, Iterable[str], Handler]]:
        methods = ["GET", "POST", "DELETE"]
        return [("/<path:rest>", methods, self.dispatch), ("/", methods, self.dispatch_root)]

    def graph_routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        """(method, segments, handler): ``"*"`` matches one node id (``me`` included). First match wins.
        The network's own edges come first, then what every Graph node has."""
        return [*self.edge_routes(), *self.common_routes()]

    def edge_routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        raise NotImplementedError

    def seed(self) -> None:
        seed_graph_accounts(self)

    def common_routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        return [
            ("GET", ("debug_token",), self.debug_token),
            ("GET", ("*", "accounts"), lambda request, node: self.me_accounts(request)),
            ("DELETE", ("*", "permissions"), self.revoke_permissions),
            ("GET", ("*", "comments"), self.list_comments),
            ("POST", ("*", "comments"), self.create_comment),
            ("GET", ("*", "insights"), self.insights),
            ("GET", ("*",), self.get_node),
            ("POST", ("*",), self.update_node),
            ("DELETE", ("*",), self.delete_node),
        ]

    def dispatch_root(self, request: Request) -> Response:
        return self.dispatch(request, "")

    def dispatch(self, request: Request, rest: str) -> Response:
        segments = [s for s in rest.split("/") if s]
        if segments and VERSION_RE.match(segments[0]):
            segments = segments[1:]
        elif segments and re.match(r"^v\d", segments[0]):
            raise self.fail(400, "bad_request", f"Unknown path components: /{segments[0]}")
        for method, pattern, handler in self.graph_routes():
            if method != request.method or len(pattern) != len(segments):
                continue
            if all(p == "*" or p == s for p, s in zip(pattern, segments, strict=True)):
                wildcards = [s for p, s in zip(pattern, segments, strict=True) if p == "*"]
                return handler(request, *wildcards)
        raise self.fail(400, "bad_request", f"(#100) Unknown path components: /{'/'.join(segments)}")

    # --- errors and usage headers -----------------------------------------------------------------------
    def error(self, status: int, kind: str, message: str) -> Response:
        code, subcode, kind_type, default = ERRORS.get(kind, ERRORS["bad_request"])
        body: dict[str, Any] = {
            "message": message if message and message != "token refused" else default,
            "type": kind_type,
            "code": code,
            "fbtrace_id": "A" + secrets.token_urlsafe(15),
        }
        if subcode is not None:
            body["error_subcode"] = subcode
        if kind == "server_error":
            body["is_transient"] = True
        return json_response({"error": body}, status)

    def token_error(self, kind: str) -> Response:
        # Graph answers token problems with HTTP 400 and code 190 (104 when the token is missing).
        return self.error(400, f"{kind}_token", "")

    def rate_limit_headers(self, limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        used = 100 if limit <= 0 else min(100, math.ceil(100 * (limit - remaining) / limit))
        regain = 0 if remaining > 0 else max(1, math.ceil((reset_epoch - time.time()) / 60))
        app = {"call_count": used, "total_cputime": used // 2, "total_time": used // 2}
        buc = {
            APP_BUSINESS_ID: [
                {
                    "type": "pages" if self.name == "facebook" else "instagram",
                    **app,
                    "estimated_time_to_regain_access": regain,
                    "ads_api_access_tier": "development_access",
                }
            ]
        }
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}

    # --- tokens -----------------------------------------------------------------------------------------
    def authenticate(self, request: Request, kind: str = "access") -> SimToken:
        # Instagram (Facebook Login) takes Facebook user and Page tokens.
        try:
            return self.world.check("facebook", self.bearer(request), kind)
        except TokenProblem as problem:
            raise ApiError(self.token_error(problem.kind)) from None

    def me(self, token: SimToken, node: str) -> str:
        return token.user_id if node == "me" else node

    def page(self, page_id: str) -> SimUser | None:
        user = self.world.user("facebook", page_id)
        return user if user is not None and user.is_brand else None

    def can_manage_page(self, token: SimToken, page_id: str) -> bool:
        page = self.page(page_id)
        return page is not None and (token.user_id == page_id or token.user_id in page.extra.get("admins", []))

    # --- request helpers --------------------------------------------------------------------------------
    def fields(self, request: Request, default: str) -> list[Field]:
        try:
            return parse_fields(self.params(request).get("fields") or default)
        except ValueError as exc:
            raise self.fail(400, "bad_request", f"(#100) Syntax error in fields: {exc}") from None

    def limit(self, request: Request) -> int:
        try:
            return max(0, min(MAX_LIMIT, int(self.params(request).get("limit", DEFAULT_LIMIT))))
        except ValueError:
            raise self.fail(400, "bad_request", "(#100) Param limit must be an integer") from None

    def time_filters(self, request: Request, items: list[SimPost]) -> list[SimPost]:
        params = self.params(request)
        for name, keep in (("since", lambda t, b: t >= b), ("until", lambda t, b: t <= b)):
            raw = params.get(name)
            if raw:
                try:
                    bound = int(float(raw))
                except ValueError:
                    bound = self._iso_bound(raw, name)
                items = [p for p in items if keep(int(p.created_at), bound)]
        return items

    def _iso_bound(self, raw: str, name: str) -> int:
        """Graph also takes ``since``/``until`` as dates (``2024-01-31`` or ISO 8601 times)."""
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(400, "bad_request", f"(#100) Param {name} must be a Unix time or a date") from None
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())

    def paged(
        self,
        request: Request,
        items: list[SimPost],
        render: Callable[[SimPost], dict[str, Any]],
        *,
        newest_first: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One page of ``items`` (already in their order) with id-based cursors: an item inserted meanwhile
        never shifts a page."""
        params = self.params(request)
        limit = self.limit(request)
        after, before = params.get("after"), params.get("before")
        start, stop = 0, len(items)
        if after or before:
            anchor = self.world.posts.get((self.name, id_of_cursor(after or before or "")))
            if anchor is None:
                raise self.fail(400, "bad_request", "(#100) Invalid cursor")
            key = (anchor.created_at, anchor.seq)

            def beyond(p: SimPost) -> bool:
                return ((p.created_at, p.seq) < key) == newest_first

            if after:
                start = next((i for i, p in enumerate(items) if beyond(p)), len(items))
                stop = min(len(items), start + limit)
            else:
                stop = next((i for i, p in enumerate(items) if beyond(p) or (p.created_at, p.seq) == key), len(items))
                start = max(0, stop - limit)
        else:
            stop = min(len(items), limit)
        page = items[start:stop]
        body: dict[str, Any] = {"data": [render(p) for p in page]}
        if extra:
            body.update(extra)
        if page:
            paging: dict[str, Any] = {"cursors": {"before": cursor_of(page[0].id), "after": cursor_of(page[-1].id)}}
            base = {k: v for k, v in request.args.items() if k not in ("after", "before")}
            url = f"{request.base_url}?"
            if stop < len(items):
                paging["next"] = url + urlencode({**base, "limit": limit, "after": cursor_of(page[-1].id)})
            if start > 0:
                paging["previous"] = url + urlencode({**base, "limit": limit, "before": cursor_of(page[0].id)})
            body["paging"] = paging
        else:
            body["paging"] = {"cursors": {}} if (after or before) else {}
            if not body["paging"]:
                del body["paging"]
        return body

    @staticmethod
    def flag(value: Any) -> bool:
        return str(value).lower() in ("true", "1", "yes")

    # --- Pages (both APIs list them: /me/accounts and /{page-id}) ------------------------------------------
    def page_full(self, page: SimUser) -> dict[str, Any]:
        return {
            "id": page.id,
            "name": page.display_name,
            "username": page.handle,
            "category": page.extra.get("category", ""),
            "fan_count": page.followers,
            "link": f"https://www.facebook.com/{page.handle}",
            "picture": {"data": {"url": page.avatar_url, "is_silhouette": False}},
            "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        }

    def render_page(self, page: SimUser, fields: list[Field], token: str | None = None) -> dict[str, Any]:
        full = self.page_full(page)
        if token:
            full["access_token"] = token

        def instagram(wanted: Field) -> Any:
            ig = self.world.user("instagram", page.extra.get("ig_user_id", ""))
            if ig is None:
                return None
            ig_full = {
                "id": ig.id,
                "username": ig.handle,
                "name": ig.display_name,
                "profile_picture_url": ig.avatar_url,
                "followers_count": ig.followers,
            }
            return project(ig_full, wanted.sub or [Field("id")])

        return project(full, fields, {"instagram_business_account": instagram})

    def page_token(self, user_token: SimToken, page: SimUser) -> SimToken:
        """A Page token from a user token: never expires when the user token is long-lived, else it ends with it."""
        cache: dict[tuple[str, str], str] = self.world.extra.setdefault("facebook_page_tokens", {})
        key = (user_token.value, page.id)
        with self.world.lock:
            value = cache.get(key)
            if value is not None:
                try:
                    return self.world.check("facebook", value)
                except TokenProblem:
                    pass
            ttl: float | None = None
            if not user_token.extra.get("long_lived") and user_token.expires_at is not None:
                ttl = max(0.0, user_token.expires_at - self.world.now())
            token = self.world.issue(
                "facebook",
                page.id,
                scopes=user_token.scopes,
                family=user_token.family,
                client_id=user_token.client_id,
                ttl=ttl,
                extra={"type": "PAGE", "admin": user_token.user_id},
            )
            cache[key] = token.value
            return token

    def me_accounts(self, request: Request) -> Response:
        """``GET /me/accounts``: the Pages the person administers, each with its Page token."""
        token = self.authenticate(request)
        fields = self.fields(request, "id,name,access_token,category,tasks")
        pages = [
            u
            for u in self.world.brand_users("facebook")
            if token.user_id in u.extra.get("admins", []) or token.user_id == u.id
        ]
        data = []
        for page in pages:
            page_token = self.page_token(token, page).value if token.user_id != page.id else None
            data.append(self.render_page(page, fields, page_token))
        return json_response({"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}})

    def debug_token(self, request: Request) -> Response:
        self.authenticate(request)
        value = self.params(request).get("input_token")
        token = self.world.tokens.get(value or "")
        if token is None or token.platform != "facebook":
            return json_response({"data": {"is_valid": False}})
        valid = not token.revoked and (token.expires_at is None or token.expires_at > self.world.now())
        return json_response(
            {
                "data": {
                    "app_id": token.client_id,
                    "type": token.extra.get("type", "USER"),
                    "expires_at": int(token.expires_at or 0),
                    "is_valid": valid,
                    "scopes": list(token.scopes),
                    "user_id": token.extra.get("admin", token.user_id),
                    **({"profile_id": token.user_id} if token.extra.get("type") == "PAGE" else {}),
                }
            }
        )

    def revoke_permissions(self, request: Request, node: str) -> Response:
        """``DELETE /me/permissions``: the person removes the app; every token of that login stops working."""
        token = self.authenticate(request)
        self.world.revoke(value=token.value)
        return json_response({"success": True})


def seed_graph_accounts(api: PlatformApi) -> None:
    """The Pages (Facebook) and their Instagram business accounts; each API seeds its own side."""
    world = api.world
    if api.name == "facebook":
        world.add_user(
            SimUser(
                platform="facebook",
                id=ADMIN_ID,
                handle="camille.durand",
                display_name=ADMIN_NAME,
                extra={"page_admin": True, "pages": [p["id"] for p in PAGES]},
            )
        )
        for number, spec in enumerate(PAGES):
            world.add_user(
                SimUser(
                    platform="facebook",
                    id=spec["id"],
                    handle=spec["username"],
                    display_name=spec["name"],
                    followers=12_400 + 5_000 * number,
                    is_brand=True,
                    avatar_url=f"https://scontent.example/pages/{spec['id']}.jpg",
                    extra={"admins": [ADMIN_ID], "ig_user_id": spec["ig_id"], "category": spec["category"]},
                )
            )
    else:
        for number, spec in enumerate(PAGES):
            world.add_user(
                SimUser(
                    platform="instagram",
                    id=spec["ig_id"],
                    handle=spec["ig_username"],
                    display_name=spec["name"],
                    followers=8_300 + 4_000 * number,
                    is_brand=True,
                    avatar_url=f"https://scontent.example/ig/{spec['ig_id']}.jpg",
                    extra={"page_id": spec["id"]},
                )
            )
