"""Bluesky: an AT Protocol PDS with its AppView, over XRPC (``/xrpc/<NSID>``): app-password sessions with
JWTs, repo writes (posts, threadgates, blobs), notifications, search, post views and profiles.

Reference: https://docs.bsky.app/docs/category/http-reference and the Lexicons
(https://github.com/bluesky-social/atproto/tree/main/lexicons). Errors are ``{"error", "message"}``; an
expired access token is HTTP 400 ``ExpiredToken`` as in the reference PDS; rate-limit headers are
``RateLimit-*`` with the reset in epoch seconds.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

import jwt
from werkzeug.wrappers import Request, Response

from simulator.world import SimPost, SimToken, SimUser, TokenProblem, World
from smms.connectors.base import parse_time
from smms.connectors.text import check_bluesky

from .base import ApiError, Handler, PlatformApi, iso, json_response

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
THREADGATE = "app.bsky.feed.threadgate"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000
MAX_BLOB_BYTES = 50_000_000
MAX_HIDDEN_REPLIES = 300
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]")
BRANDS = (
    ("lumiere.bsky.social", "Maison Lumière", 8400, "fr", "abcd-efgh-ijkl-mnop"),
    ("lumiere-uk.bsky.social", "Maison Lumière UK", 2100, "en", "qrst-uvwx-yz23-4567"),
)
XRPC_NAMES = {
    "invalid_token": "InvalidToken",
    "expired_token": "ExpiredToken",
    "revoked_token": "ExpiredToken",
    "missing_token": "AuthMissing",
    "rate_limited": "RateLimitExceeded",
    "server_error": "InternalServerError",
    "not_found": "NotFound",
    "forbidden": "Forbidden",
    "validation": "InvalidRequest",
    "duplicate": "InvalidRequest",
    "bad_request": "InvalidRequest",
}
XRPC_MESSAGES = {
    "rate_limited": "Rate Limit Exceeded",
    "server_error": "Internal Server Error",
    "missing_token": "Authentication Required",
}


def did_for(seed: str) -> str:
    """``did:plc:`` and 24 base32 characters, as PLC identifiers are."""
    digest = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower()
    return f"did:plc:{digest[:24]}"


def cid_for(data: bytes, codec: int = 0x71) -> str:
    """A CIDv1 (sha2-256) in base32: ``bafyrei...`` for dag-cbor records, ``bafkrei...`` for raw blobs."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def tid(micros: int, clock_id: int = 0) -> str:
    """A 13-character timestamp identifier: 53 bits of microseconds then 10 bits of clock id, base32-sortable."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * (12 - i))) & 31] for i in range(13))


def sniff_mime(data: bytes) -> str | None:
    """The PDS sniffs a blob's type from its first bytes (clients often send ``*/*``)."""
    signatures = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
    for magic, mime in signatures.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def handle_of(user: SimUser) -> str:
    return user.handle if "." in user.handle else f"{user.handle}.bsky.social"


def byte_span(text: str, start: int, end: int) -> dict[str, int]:
    return {"byteStart": len(text[:start].encode()), "byteEnd": len(text[:end].encode())}


class BlueskyApi(PlatformApi):
    name = "bluesky"
    authorize_path = ""  # app-password sessions: no consent page
    incoming_kinds = ("mention", "reply")

    def routes(self) -> list[tuple[str, Iterable[str], Handler]]:
        x = "/xrpc/"
        return [
            (x + "com.atproto.server.createSession", ["POST"], self.create_session),
            (x + "com.atproto.server.refreshSession", ["POST"], self.refresh_session),
            (x + "com.atproto.server.deleteSession", ["POST"], self.delete_session),
            (x + "com.atproto.server.getSession", ["GET"], self.get_session),
            (x + "com.atproto.identity.resolveHandle", ["GET"], self.resolve_handle),
            (x + "com.atproto.repo.uploadBlob", ["POST"], self.upload_blob),
            (x + "com.atproto.repo.createRecord", ["POST"], self.create_record),
            (x + "com.atproto.repo.putRecord", ["POST"], self.put_record),
            (x + "com.atproto.repo.deleteRecord", ["POST"], self.delete_record),
            (x + "com.atproto.repo.getRecord", ["GET"], self.get_record),
            (x + "app.bsky.actor.getProfile", ["GET"], self.get_profile),
            (x + "app.bsky.notification.listNotifications", ["GET"], self.list_notifications),
            (x + "app.bsky.notification.updateSeen", ["POST"], self.update_seen),
            (x + "app.bsky.feed.searchPosts", ["GET"], self.search_posts),
            (x + "app.bsky.feed.getPosts", ["GET"], self.get_posts),
            (x + "app.bsky.feed.getAuthorFeed", ["GET"], self.get_author_feed),
            (x + "<path:nsid>", ["GET", "POST"], self.not_implemented),
        ]

    # --- shapes -----------------------------------------------------------------------------------------
    def error(self, status: int, kind: str, message: str) -> Response:
        name = XRPC_NAMES.get(kind, kind)
        text = XRPC_MESSAGES.get(kind, message)
        response = json_response({"error": name, "message": text}, status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="bsky.social"'
        return response

    def token_error(self, kind: str) -> Response:
        # The reference PDS answers a bad or expired JWT with 400 (InvalidRequest family), missing auth with 401.
        if kind == "missing":
            return self.error(401, "missing_token", "Authentication Required")
        if kind == "expired":
            return self.error(400, "expired_token", "Token has expired")
        if kind == "revoked":
            return self.error(400, "revoked_token", "Token has been revoked")
        return self.error(400, "invalid_token", "Token could not be verified")

    def rate_limit_headers(self, limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        window = self.world.rate_limits[self.name][1]
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(int(reset_epoch)),
            "RateLimit-Policy": f"{limit};w={window}",
        }

    def make_id(self, world: World, post: SimPost) -> str:
        with world.lock:
            now = world.now()
            last_us = int(world.extra.get("bluesky_last_us", 0))
            micros = max(int(now * 1_000_000), last_us + 1)
            world.extra["bluesky_last_us"] = micros
        post.extra.setdefault("indexed_at", micros / 1_000_000)
        uri = f"at://{post.author_id}/{POST}/{tid(micros, world.seed % 1024)}"
        post.extra.setdefault("cid", cid_for(f"{uri}\n{post.text}".encode()))
        return uri

    def person_id(self, index: int) -> str:
        return did_for(f"bluesky-person-{index}")

    def brand_id(self, index: int) -> str:
        return did_for(f"bluesky-brand-added-{index}")

    def brand_handle(self, index: int) -> str:
        return f"lumiere-{index:03d}.bsky.social"

    def seed(self) -> None:
        for handle, name, followers, lang, password in BRANDS:
            self.world.add_user(
                SimUser(platform=self.name, id=did_for(f"bluesky-brand-{handle}"), handle=handle, display_name=name,
                        followers=followers, lang=lang, is_brand=True, password=password,
                        extra={"email": f"social+{handle.split('.')[0]}@lumiere.example"})
            )  # fmt: skip

    def mention_text(self, target: SimUser) -> str:
        return f"@{handle_of(target)}"

    # --- helpers ----------------------------------------------------------------------------------------
    def _fail(self, status: int, name: str, message: str) -> ApiError:
        return ApiError(json_response({"error": name, "message": message}, status))

    def _body(self, request: Request) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise self._fail(400, "InvalidRequest", "Request body must be a JSON object")
        return body

    def _user(self, actor: str) -> SimUser | None:
        actor = actor.lower().lstrip("@")
        if actor.startswith("did:"):
            return self.world.user(self.name, actor)
        return next((u for (p, _), u in self.world.users.items() if p == self.name and handle_of(u) == actor), None)

    def _me(self, request: Request) -> SimUser:
        return self.user_of(self.authenticate(request))

    def _own_repo(self, me: SimUser, repo: Any) -> None:
        if not isinstance(repo, str) or self._user(repo) is not me:
            raise self._fail(403, "Forbidden", "Can only write to the repo of the session's account")

    def _limit(self, request: Request, default: int) -> int:
        raw = request.args.get("limit", str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            raise self._fail(400, "InvalidRequest", "limit must be an integer between 1 and 100")
        return int(raw)

    def _after(self, request: Request) -> int | None:
        """The seq behind an opaque cursor ``<indexedAt ms>::<seq>``: keyset paging, not an offset."""
        cursor = request.args.get("cursor")
        if not cursor:
            return None
        _, _, seq = cursor.partition("::")
        if not seq.isdigit():
            raise self._fail(400, "InvalidRequest", "Malformed cursor")
        return int(seq)

    @staticmethod
    def _cursor(post: SimPost) -> str:
        return f"{int(post.extra.get('indexed_at', post.created_at) * 1000)}::{post.seq}"

    def _page(
        self, request: Request, default: int, keep: Callable[[SimPost], bool], order: list[SimPost] | None = None
    ) -> tuple[list[SimPost], str | None]:
        """Newest first from just below the cursor's post (a keyset, so inserts never shift a page), among
        ``order`` (oldest first; all the network's posts unless given)."""
        limit = self._limit(request, default)
        after = self._after(request)
        if order is None:
            with self.world.lock:
                order = list(self.world.post_order[self.name])
        end = len(order) if after is None else bisect.bisect_left(order, after, key=lambda p: p.seq)
        page: list[SimPost] = []
        for index in range(end - 1, -1, -1):
            post = order[index]
            if not keep(post):
                continue
            if len(page) == limit:
                return page, self._cursor(page[-1])
            page.append(post)
        return page, None

    @staticmethod
    def cid_of(post: SimPost) -> str:
        return str(post.extra.get("cid") or cid_for(f"{post.id}\n{post.text}".encode()))

    def _jwt(self, user: SimUser, kind: str, request: Request) -> tuple[str, float | None]:
        lifetime = self.world.ttl[self.name][kind]
        now = self.world.now()
        claims: dict[str, Any] = {
            "scope": "com.atproto.appPass" if kind == "access" else "com.atproto.refresh",
            "sub": user.id,
            "aud": f"did:web:{request.host.split(':')[0]}",
            "iat": int(now),
            "jti": secrets.token_urlsafe(18),
        }
        if lifetime is not None:
            claims["exp"] = int(now + float(lifetime))
        headers = {"typ": "at+jwt" if kind == "access" else "refresh+jwt"}
        secret = f"bluesky-simulator-signing-key-{self.world.seed:08d}"
        return jwt.encode(claims, secret, algorithm="HS256", headers=headers), lifetime

    def _issue_pair(self, request: Request, user: SimUser, family: str = "") -> tuple[SimToken, SimToken]:
        family = family or secrets.token_hex(6)
        access_value, _ = self._jwt(user, "access", request)
        refresh_value, _ = self._jwt(user, "refresh", request)
        access = self.world.issue(self.name, user.id, "access", scopes=("com.atproto.appPass",), family=family,
                                  value=access_value)  # fmt: skip
        refresh = self.world.issue(self.name, user.id, "refresh", scopes=("com.atproto.refresh",), family=family,
                                   value=refresh_value)  # fmt: skip
        return access, refresh

    def _session_json(self, user: SimUser, access: str | None = None, refresh: str | None = None) -> dict[str, Any]:
        # No didDoc: clients (the atproto SDK) would switch their base URL to the PDS it names.
        data: dict[str, Any] = {
            "handle": handle_of(user),
            "did": user.id,
            "email": user.extra.get("email", f"{user.handle}@example.com"),
            "emailConfirmed": True,
            "emailAuthFactor": False,
            "active": True,
        }
        if access is not None:
            data = {"accessJwt": access, "refreshJwt": refresh, **data}
        return data

    def profile_basic(self, user: SimUser) -> dict[str, Any]:
        data: dict[str, Any] = {
            "did": user.id,
            "handle": handle_of(user),
            "displayName": user.display_name,
            "labels": [],
            "createdAt": "2023-04-12T09:30:00.000Z",
        }
        if user.avatar_url:
            data["avatar"] = user.avatar_url
        return data

    def profile_view(self, user: SimUser) -> dict[str, Any]:
        return {
            **self.profile_basic(user),
            "indexedAt": "2024-01-01T00:00:00.000Z",
            "viewer": {"muted": False, "blockedBy": False},
        }

    def record_of(self, post: SimPost) -> dict[str, Any]:
        """The post record as stored in the author's repo: what the client wrote, or one built for traffic."""
        stored = post.extra.get("record")
        if isinstance(stored, dict):
            return stored
        record: dict[str, Any] = {"$type": POST, "text": post.text, "createdAt": iso(post.created_at)}
        if post.lang:
            record["langs"] = [post.lang]
        facets = []
        for did in post.mentions:
            user = self.world.user(self.name, did)
            at = post.text.find(f"@{handle_of(user)}") if user else -1
            if user and at >= 0:
                span = byte_span(post.text, at, at + len(handle_of(user)) + 1)
                facets.append({"index": span, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]})
        for match in URL_RE.finditer(post.text):
            facets.append({"index": byte_span(post.text, match.start(), match.end()),
                           "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group()}]})  # fmt: skip
        if facets:
            record["facets"] = sorted(facets, key=lambda f: f["index"]["byteStart"])
        if post.reply_to_id:
            parent = self.world.posts.get((self.name, post.reply_to_id))
            root = self.world.posts.get((self.name, post.root_id or post.reply_to_id))
            if parent is not None and root is not None:
                record["reply"] = {
                    "root": {"uri": root.id, "cid": self.cid_of(root)},
                    "parent": {"uri": parent.id, "cid": self.cid_of(parent)},
                }
        return record

    def post_view(self, post: SimPost, viewer: SimUser | None = None) -> dict[str, Any]:
        """The AppView's postView; ``viewer.like`` names the viewer's like record when they like the post."""
        author = self.world.user(self.name, post.author_id)
        counts = self.world.engagement(post)
        view: dict[str, Any] = {
            "uri": post.id,
            "cid": self.cid_of(post),
            "author": self.profile_basic(author) if author else {"did": post.author_id, "handle": "handle.invalid"},
            "record": self.record_of(post),
            "replyCount": counts.replies,
            "repostCount": counts.shares,
            "likeCount": counts.likes,
            "quoteCount": counts.quotes,
            "bookmarkCount": 0,
            "indexedAt": iso(post.extra.get("indexed_at", post.created_at)),
            "viewer": {"threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        like = self._likes().get(f"{viewer.id} {post.id}") if viewer is not None else None
        if like is not None:
            view["viewer"]["like"] = like
        embed = self._embed_view(post)
        if embed:
            view["embed"] = embed
        gate = self._threadgates().get(post.id)
        if gate:
            view["threadgate"] = {"uri": gate["uri"], "cid": gate["cid"], "record": gate["value"], "lists": []}
        if post.malformed:  # a broken AppView answer: required fields missing or of the wrong type
            view.pop("author")
            view["record"] = {"$type": POST, "text": 404, "createdAt": None}
        return view

    def _embed_view(self, post: SimPost) -> dict[str, Any] | None:
        embed = self.record_of(post).get("embed")
        if not isinstance(embed, dict):
            return None
        if embed.get("$type") == "app.bsky.embed.images":
            images = []
            for image in embed.get("images", []):
                link = image["image"]["ref"]["$link"]
                cdn = f"https://cdn.bsky.app/img/%s/plain/{post.author_id}/{link}@jpeg"
                images.append({"thumb": cdn % "feed_thumbnail", "fullsize": cdn % "feed_fullsize",
                               "alt": image.get("alt", "")})  # fmt: skip
            return {"$type": "app.bsky.embed.images#view", "images": images}
        if embed.get("$type") == "app.bsky.embed.external":
            return {"$type": "app.bsky.embed.external#view", "external": dict(embed.get("external", {}))}
        return None

    def _threadgates(self) -> dict[str, dict[str, Any]]:
        return self.world.extra.setdefault("bluesky_threadgates", {})

    def _likes(self) -> dict[str, str]:
        """The AT-URI of each account's like record of a post, by ``"<did> <post uri>"``."""
        return self.world.extra.setdefault("bluesky_likes", {})

    def _commit(self) -> dict[str, str]:
        return {"cid": cid_for(secrets.token_bytes(16)), "rev": tid(int(self.world.now() * 1_000_000), 7)}

    # --- sessions (https://docs.bsky.app/docs/api/com-atproto-server-create-session) ---------------------
    def create_session(self, request: Request) -> Response:
        body = self._body(request)
        identifier, password = body.get("identifier"), body.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            raise self._fail(400, "InvalidRequest", "Input must have the properties identifier and password")
        user = self._user(identifier)
        if user is None:
            user = next((u for u in self.world.brand_users(self.name) if u.extra.get("email") == identifier), None)
        if user is None or not user.password or not secrets.compare_digest(user.password, password):
            raise self._fail(401, "AuthenticationRequired", "Invalid identifier or password")
        access, refresh = self._issue_pair(request, user)
        return json_response(self._session_json(user, access.value, refresh.value))

    def refresh_session(self, request: Request) -> Response:
        value = self.bearer(request)
        try:
            old = self.world.rotate_refresh(self.name, value or "")
        except TokenProblem as problem:
            if not value:
                raise ApiError(self.token_error("missing")) from None
            raise ApiError(self.token_error(problem.kind)) from None
        user = self.user_of(old)
        with self.world.lock:
            # Inside the grace period a reused refresh token gets the same successor back.
            successor = self.world.tokens.get(str(old.extra.get("next", "")))
            if successor is not None and not successor.revoked:
                access_value, _ = self._jwt(user, "access", request)
                access = self.world.issue(self.name, user.id, "access", scopes=("com.atproto.appPass",),
                                          family=old.family, value=access_value)  # fmt: skip
                return json_response(self._session_json(user, access.value, successor.value))
            access, refresh = self._issue_pair(request, user, old.family)
            old.extra["next"] = refresh.value
        return json_response(self._session_json(user, access.value, refresh.value))

    def delete_session(self, request: Request) -> Response:
        token = self.authenticate(request, "refresh")
        self.world.revoke(value=token.value)
        return Response(status=200)

    def get_session(self, request: Request) -> Response:
        return json_response(self._session_json(self._me(request)))

    def resolve_handle(self, request: Request) -> Response:
        user = self._user(request.args.get("handle", ""))
        if user is None:
            raise self._fail(400, "InvalidRequest", "Unable to resolve handle")
        return json_response({"did": user.id})

    def not_implemented(self, request: Request, nsid: str) -> Response:
        raise self._fail(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    # --- repo writes (https://docs.bsky.app/docs/api/com-atproto-repo-create-record) ---------------------
    def upload_blob(self, request: Request) -> Response:
        me = self._me(request)
        data = request.get_data()
        if not data:
            raise self._fail(400, "InvalidRequest", "Request body is empty")
        if len(data) > MAX_BLOB_BYTES:
            raise self._fail(413, "PayloadTooLarge", "request entity too large")
        mime = sniff_mime(data) or request.mimetype or "application/octet-stream"
        link = cid_for(data, codec=0x55)
        with self.world.lock:
            self.world.media[(self.name, link)] = {"mimeType": mime, "size": len(data), "owner": me.id}
        return json_response({"blob": {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": len(data)}})

    def _invalid(self, message: str) -> ApiError:
        return self._fail(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {message}")

    def _check_post_record(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise self._invalid("Record must be an object")
        text = record.get("text")
        if not isinstance(text, str):
            raise self._invalid('Record must have the property "text"')
        if not isinstance(record.get("createdAt"), str):
            raise self._invalid('Record must have the property "createdAt"')
        verdict = check_bluesky(text)
        if verdict.length > 300:
            raise self._invalid("Record/text must not be longer than 300 graphemes")
        if not verdict.ok:
            raise self._invalid("Record/text must not be longer than 3000 characters")
        facets = record.get("facets", [])
        if not isinstance(facets, list):
            raise self._invalid("Record/facets must be an array")
        for i, facet in enumerate(facets):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict) or not all(isinstance(index.get(k), int) for k in ("byteStart", "byteEnd")):
                raise self._invalid(f"Record/facets/{i}/index must have byteStart and byteEnd integers")
            if not isinstance(facet.get("features"), list):
                raise self._invalid(f"Record/facets/{i}/features must be an array")
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not isinstance(ref, dict) or not all(isinstance(ref.get(k), str) for k in ("uri", "cid")):
                    raise self._invalid(f"Record/reply/{part} must be a strongRef {{uri, cid}}")
        langs = record.get("langs", [])
        if not isinstance(langs, list) or len(langs) > 3:
            raise self._invalid("Record/langs must not have more than 3 elements")
        self._check_embed(record.get("embed"))
        return record

    def _check_embed(self, embed: Any) -> None:
        if embed is None:
            return
        if not isinstance(embed, dict):
            raise self._invalid("Record/embed must be an object")
        if embed.get("$type") == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
                raise self._invalid(f"Record/embed/images must have between 1 and {MAX_IMAGES} elements")
            for i, image in enumerate(images):
                blob = image.get("image") if isinstance(image, dict) else None
                ref = blob.get("ref") if isinstance(blob, dict) else None
                link = ref.get("$link") if isinstance(ref, dict) else None
                if not isinstance(link, str) or not isinstance(image.get("alt"), str):
                    raise self._invalid(f"Record/embed/images/{i} must have image (blob) and alt")
                stored = self.world.media.get((self.name, link))
                if stored is None:
                    raise self._fail(400, "InvalidRequest", f"Could not find blob: {link}")
                if stored["size"] > MAX_IMAGE_BYTES:
                    raise self._invalid(
                        f"Record/embed/images/{i}/image file too large ({stored['size']} bytes). "
                        f"Maximum is {MAX_IMAGE_BYTES}"
                    )
                if not str(stored["mimeType"]).startswith("image/"):
                    raise self._invalid(f"Record/embed/images/{i}/image has an unsupported mime type")
        elif embed.get("$type") == "app.bsky.embed.external":
            external = embed.get("external")
            if not isinstance(external, dict) or not all(
                isinstance(external.get(k), str) for k in ("uri", "title", "description")
            ):
                raise self._invalid("Record/embed/external must have uri, title and description")

    def create_record(self, request: Request) -> Response:
        me = self._me(request)
        body = self._body(request)
        self._own_repo(me, body.get("repo"))
        if body.get("collection") == LIKE:
            return self._create_like(me, body.get("record"))
        if body.get("collection") != POST:
            raise self._fail(400, "InvalidRequest", f"Unsupported collection: {body.get('collection')}")
        record = self._check_post_record(body.get("record"))
        text: str = record["text"]
        facets = record.get("facets", [])
        mentions = [
            f["did"]
            for facet in facets
            for f in facet.get("features", [])
            if isinstance(f, dict)
            and f.get("$type") == "app.bsky.richtext.facet#mention"
            and isinstance(f.get("did"), str)
        ]
        links = [
            f["uri"]
            for facet in facets
            for f in facet.get("features", [])
            if isinstance(f, dict)
            and f.get("$type") == "app.bsky.richtext.facet#link"
            and isinstance(f.get("uri"), str)
        ]
        embed = record.get("embed") or {}
        media = [i["image"]["ref"]["$link"] for i in embed.get("images", [])] if isinstance(embed, dict) else []
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.external":
            links.insert(0, embed["external"]["uri"])
        reply = record.get("reply")
        langs = record.get("langs") or []
        post = SimPost(
            platform=self.name, id="", seq=0, author_id=me.id, text=text, created_at=self.world.now(),
            kind="reply" if reply else "post",
            reply_to_id=reply["parent"]["uri"] if reply else None,
            root_id=reply["root"]["uri"] if reply else None,
            mentions=mentions, media_ids=media, link=links[0] if links else None,
            lang=langs[0] if langs and isinstance(langs[0], str) else None,
            extra={"record": record},
        )  # fmt: skip
        self.world.add_post(post)
        return json_response(
            {"uri": post.id, "cid": self.cid_of(post), "commit": self._commit(), "validationStatus": "valid"}
        )

    def _create_like(self, me: SimUser, record: Any) -> Response:
        """An ``app.bsky.feed.like`` record. The repo takes any well-formed like, even of a post it cannot see
        or a second one of the same post; the AppView counts one like per account, of posts that exist."""
        subject = record.get("subject") if isinstance(record, dict) else None
        if not isinstance(record, dict) or not isinstance(record.get("createdAt"), str):
            raise self._fail(400, "InvalidRequest", 'Invalid app.bsky.feed.like record: Record must have the '
                             'properties "subject" and "createdAt"')  # fmt: skip
        if not isinstance(subject, dict) or not all(isinstance(subject.get(k), str) for k in ("uri", "cid")):
            raise self._fail(400, "InvalidRequest", "Invalid app.bsky.feed.like record: Record/subject must be a "
                             "strongRef {uri, cid}")  # fmt: skip
        uri = f"at://{me.id}/{LIKE}/{tid(int(self.world.now() * 1_000_000), self.world.next_seq())}"
        with self.world.lock:
            self._likes().setdefault(f"{me.id} {subject['uri']}", uri)
            liked = self.world.post(self.name, subject["uri"])
            if liked is not None:
                self.world.like(liked, me.id)
        cid = cid_for(repr(sorted(record.items(), key=str)).encode())
        return json_response({"uri": uri, "cid": cid, "commit": self._commit(), "validationStatus": "valid"})

    def put_record(self, request: Request) -> Response:
        me = self._me(request)
        body = self._body(request)
        self._own_repo(me, body.get("repo"))
        if body.get("collection") != THREADGATE:
            raise self._fail(400, "InvalidRequest", f"Unsupported collection for putRecord: {body.get('collection')}")
        rkey, record = body.get("rkey"), body.get("record")
        root_uri = f"at://{me.id}/{POST}/{rkey}"
        root = self.world.post(self.name, root_uri)
        if not isinstance(record, dict) or record.get("post") != root_uri:
            raise self._fail(400, "InvalidRequest", "Invalid app.bsky.feed.threadgate record: post must be the rkey's")
        if root is None:
            raise self._fail(400, "InvalidRequest", f"Could not locate record: {root_uri}")
        hidden = record.get("hiddenReplies", [])
        if not isinstance(hidden, list) or not all(isinstance(h, str) for h in hidden):
            raise self._fail(400, "InvalidRequest", "Invalid app.bsky.feed.threadgate record: hiddenReplies")
        if len(hidden) > MAX_HIDDEN_REPLIES:
            raise self._fail(400, "InvalidRequest", "hiddenReplies must not have more than 300 elements")
        gate_uri = f"at://{me.id}/{THREADGATE}/{rkey}"
        gate_cid = cid_for(repr(sorted(record.items(), key=str)).encode())
        with self.world.lock:
            previous = self._threadgates().get(root_uri)
            self._set_hidden(previous["value"].get("hiddenReplies", []) if previous else [], False)
            self._set_hidden(hidden, True)
            self._threadgates()[root_uri] = {"uri": gate_uri, "cid": gate_cid, "value": record}
        return json_response({"uri": gate_uri, "cid": gate_cid, "commit": self._commit(), "validationStatus": "valid"})

    def _set_hidden(self, uris: list[str], hidden: bool) -> None:
        for uri in uris:
            post = self.world.posts.get((self.name, uri))
            if post is not None:
                post.hidden = hidden

    def delete_record(self, request: Request) -> Response:
        me = self._me(request)
        body = self._body(request)
        self._own_repo(me, body.get("repo"))
        collection, rkey = body.get("collection"), body.get("rkey")
        with self.world.lock:
            if collection == POST:
                post = self.world.posts.get((self.name, f"at://{me.id}/{POST}/{rkey}"))
                if post is not None and not post.deleted:
                    post.deleted = True
                    parent = self.world.posts.get((self.name, post.reply_to_id or ""))
                    if parent is not None and parent.replies > 0:
                        parent.replies -= 1
            elif collection == THREADGATE:
                gate = self._threadgates().pop(f"at://{me.id}/{POST}/{rkey}", None)
                if gate:
                    self._set_hidden(gate["value"].get("hiddenReplies", []), False)
            else:
                raise self._fail(400, "InvalidRequest", f"Unsupported collection: {collection}")
        return json_response({"commit": self._commit()})  # deleting a missing record succeeds too

    def get_record(self, request: Request) -> Response:
        repo_user = self._user(request.args.get("repo", ""))
        collection, rkey = request.args.get("collection", ""), request.args.get("rkey", "")
        did = repo_user.id if repo_user else request.args.get("repo", "")
        uri = f"at://{did}/{collection}/{rkey}"
        if collection == POST:
            post = self.world.post(self.name, uri)
            if post is not None:
                return json_response({"uri": uri, "cid": self.cid_of(post), "value": self.record_of(post)})
        elif collection == THREADGATE:
            gate = self._threadgates().get(f"at://{did}/{POST}/{rkey}")
            if gate is not None:
                return json_response(dict(gate))
        raise self._fail(400, "RecordNotFound", f"Could not locate record: {uri}")

    # --- reads (AppView) --------------------------------------------------------------------------------
    def get_profile(self, request: Request) -> Response:
        # https://docs.bsky.app/docs/api/app-bsky-actor-get-profile
        self._me(request)
        user = self._user(request.args.get("actor", ""))
        if user is None:
            raise self._fail(400, "InvalidRequest", "Profile not found")
        posts = sum(1 for p in self.world.iter_posts(self.name) if p.author_id == user.id and not p.deleted)
        return json_response(
            {**self.profile_view(user), "description": "", "followersCount": user.followers, "followsCount": 120,
             "postsCount": posts, "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False}}
        )  # fmt: skip

    def _reason(self, post: SimPost, me: SimUser) -> str | None:
        if post.deleted or post.author_id == me.id or post.kind not in ("post", "reply"):
            return None
        parent = self.world.posts.get((self.name, post.reply_to_id)) if post.reply_to_id else None
        if parent is not None and parent.author_id == me.id:
            return "reply"
        if me.id in post.mentions:
            return "mention"
        return None

    def list_notifications(self, request: Request) -> Response:
        # https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications
        me = self._me(request)
        wanted = set(request.args.getlist("reasons"))
        seen_at = float(self.world.extra.get("bluesky_seen", {}).get(me.id, 0.0))

        def keep(post: SimPost) -> bool:
            reason = self._reason(post, me)
            return reason is not None and (not wanted or reason in wanted)

        page, cursor = self._page(request, 50, keep)
        reasons = {post.seq: self._reason(post, me) for post in page}
        items = []
        for post in page:
            indexed = float(post.extra.get("indexed_at", post.created_at))
            item: dict[str, Any] = {
                "uri": post.id,
                "cid": self.cid_of(post),
                "author": self.profile_view(self.world.user(self.name, post.author_id) or me),
                "reason": reasons[post.seq],
                "record": self.record_of(post),
                "isRead": indexed <= seen_at,
                "indexedAt": iso(indexed),
                "labels": [],
            }
            if reasons[post.seq] == "reply" and post.reply_to_id:
                item["reasonSubject"] = post.reply_to_id
            if post.malformed:
                item.pop("author")
                item["record"] = {"$type": POST, "text": 404, "createdAt": None}
            items.append(item)
        data: dict[str, Any] = {"notifications": items, "priority": False}
        if seen_at:
            data["seenAt"] = iso(seen_at)
        if cursor:
            data["cursor"] = cursor
        return json_response(data)

    def update_seen(self, request: Request) -> Response:
        me = self._me(request)
        seen = self._body(request).get("seenAt")
        if not isinstance(seen, str):
            raise self._fail(400, "InvalidRequest", 'Input must have the property "seenAt"')
        try:
            moment = parse_time(seen).timestamp()
        except ValueError:
            raise self._fail(400, "InvalidRequest", "seenAt must be a valid datetime") from None
        self.world.extra.setdefault("bluesky_seen", {})[me.id] = moment
        return Response(status=200)

    def search_posts(self, request: Request) -> Response:
        # https://docs.bsky.app/docs/api/app-bsky-feed-search-posts
        me = self._me(request)
        query = request.args.get("q", "").strip()
        if not query:
            raise self._fail(400, "InvalidRequest", 'Params must have the property "q"')
        terms = query.lower().split()
        kinds = ("post", "reply")
        matches = self.world.matching(
            self.name, " ".join(terms), lambda p: p.kind in kinds and all(t in p.text.lower() for t in terms)
        )
        page, cursor = self._page(request, 25, lambda post: not post.deleted, order=matches)
        hits = len(matches)  # an estimate, as Bluesky's own (deleted posts included)
        data: dict[str, Any] = {"posts": [self.post_view(p, me) for p in page], "hitsTotal": hits}
        if cursor:
            data["cursor"] = cursor
        return json_response(data)

    def get_posts(self, request: Request) -> Response:
        # https://docs.bsky.app/docs/api/app-bsky-feed-get-posts
        me = self._me(request)
        uris = request.args.getlist("uris")
        if len(uris) > 25:
            raise self._fail(400, "InvalidRequest", "uris must not have more than 25 elements")
        posts = [p for uri in uris if (p := self.world.post(self.name, uri)) is not None]
        return json_response({"posts": [self.post_view(p, me) for p in posts]})

    def get_author_feed(self, request: Request) -> Response:
        # https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed
        me = self._me(request)
        user = self._user(request.args.get("actor", ""))
        if user is None:
            raise self._fail(400, "InvalidRequest", "Profile not found")
        no_replies = request.args.get("filter") == "posts_no_replies"

        def own(post: SimPost) -> bool:
            return post.author_id == user.id and not post.deleted and not (no_replies and post.reply_to_id)

        page, cursor = self._page(request, 50, own)
        data: dict[str, Any] = {"feed": [{"post": self.post_view(p, me)} for p in page]}
        if cursor:
            data["cursor"] = cursor
        return json_response(data)
