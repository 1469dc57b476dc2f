"""Mastodon REST API (one instance): apps, OAuth, statuses, media, notifications, search, instance info.

Reference: https://docs.joinmastodon.org/methods/ — shapes follow the entity docs
(https://docs.joinmastodon.org/entities/Status/, /Account/, /Notification/).
"""

from __future__ import annotations

import base64
import bisect
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from html import escape
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator.world import SimPost, SimUser, TokenProblem, World
from smms.connectors.text import mastodon_length

from .base import Handler, PlatformApi, iso, json_response

STATUS_BASE = 109_000_000_000_000_000
MAX_CHARS = 500
VISIBILITIES = ("public", "unlisted", "private", "direct")


class MastodonApi(PlatformApi):
    name = "mastodon"
    authorize_path = "/oauth/authorize"
    incoming_kinds = ("mention", "reply", "dm")

    def routes(self) -> list[tuple[str, Iterable[str], Handler]]:
        return [
            ("/api/v1/apps", ["POST"], self.create_app),
            ("/oauth/token", ["POST"], self.token),
            ("/oauth/revoke", ["POST"], self.revoke),
            ("/api/v1/instance", ["GET"], self.instance_v1),
            ("/api/v2/instance", ["GET"], self.instance_v2),
            ("/api/v1/accounts/verify_credentials", ["GET"], self.verify_credentials),
            ("/api/v1/accounts/<account_id>/statuses", ["GET"], self.account_statuses),
            ("/api/v1/statuses", ["POST"], self.create_status),
            ("/api/v1/statuses", ["GET"], self.statuses),
            ("/api/v1/statuses/<status_id>", ["GET"], self.status),
            ("/api/v1/statuses/<status_id>", ["DELETE"], self.delete_status),
            ("/api/v1/statuses/<status_id>/context", ["GET"], self.context),
            ("/api/v1/statuses/<status_id>/favourite", ["POST"], self.favourite),
            ("/api/v2/media", ["POST"], self.upload_media),
            ("/api/v1/media/<media_id>", ["GET"], self.media),
            ("/api/v1/notifications", ["GET"], self.notifications),
            ("/api/v2/search", ["GET"], self.search),
        ]

    # --- shapes -----------------------------------------------------------------------------------------
    def error(self, status: int, kind: str, message: str) -> Response:
        text = {
            "missing_token": "The access token is invalid",
            "invalid_token": "The access token is invalid",
            "expired_token": "The access token is invalid",
            "revoked_token": "The access token is invalid",
            "rate_limited": "Too many requests",
            "not_found": "Record not found",
            "forbidden": "This action is outside the authorized scopes",
            "server_error": "We're sorry, but something went wrong on our end.",
        }.get(kind, message)
        response = json_response({"error": text}, status)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="Doorkeeper", error="invalid_token"'
        return response

    def rate_limit_headers(self, limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        reset = datetime.fromtimestamp(reset_epoch, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": reset}

    def make_id(self, world: World, post: SimPost) -> str:
        return str(STATUS_BASE + post.seq)

    def person_id(self, index: int) -> str:
        return str(110_000_000 + index)

    def brand_id(self, index: int) -> str:
        return str(109_500_000 + index)

    def seed(self) -> None:
        self.world.add_user(
            SimUser(platform="mastodon", id="109000000", handle="maisonlumiere", display_name="Maison Lumière",
                    followers=12800, lang="fr", is_brand=True)
        )  # fmt: skip
        self.world.add_user(
            SimUser(platform="mastodon", id="109000001", handle="lumiere_uk", display_name="Maison Lumière UK",
                    followers=3100, lang="en", is_brand=True)
        )  # fmt: skip

    def account_json(self, request: Request, user: SimUser) -> dict[str, Any]:
        base = self.base_url(request)
        return {
            "id": user.id,
            "username": user.handle,
            "acct": user.handle,
            "display_name": user.display_name,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2020-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{base}/@{user.handle}",
            "uri": f"{base}/users/{user.handle}",
            "avatar": f"{base}/avatars/{user.id}.png",
            "avatar_static": f"{base}/avatars/{user.id}.png",
            "header": f"{base}/headers/missing.png",
            "header_static": f"{base}/headers/missing.png",
            "followers_count": user.followers,
            "following_count": 100,
            "statuses_count": 42,
            "last_status_at": "2026-11-01",
            "emojis": [],
            "fields": [],
        }

    @staticmethod
    def visibility(post: SimPost) -> str:
        return "direct" if post.kind == "dm" else str(post.extra.get("visibility", "public"))

    def viewer(self, request: Request) -> str | None:
        """The account whose token the request carries (what ``favourited`` is relative to)."""
        token = self.world.tokens.get(self.bearer(request) or "")
        return token.user_id if token is not None and token.platform == self.name else None

    def status_json(self, request: Request, post: SimPost) -> dict[str, Any]:
        author = self.world.user(self.name, post.author_id)
        base = self.base_url(request)
        mentions = [self.world.user(self.name, uid) for uid in post.mentions]
        counts = self.world.engagement(post)
        data: dict[str, Any] = {
            "id": post.id,
            "uri": f"{base}/users/{author.handle if author else 'x'}/statuses/{post.id}",
            "url": f"{base}/@{author.handle if author else 'x'}/{post.id}",
            "created_at": iso(post.created_at),
            "edited_at": None,
            "account": self.account_json(request, author) if author else None,
            "content": "".join(f"<p>{escape(line)}</p>" for line in post.text.split("\n")),
            "visibility": self.visibility(post),
            "sensitive": False,
            "spoiler_text": "",
            "media_attachments": [self._media_json(request, mid) for mid in post.media_ids],
            "application": {"name": "Web", "website": None},
            "mentions": [
                {"id": u.id, "username": u.handle, "acct": u.handle, "url": f"{base}/@{u.handle}"}
                for u in mentions
                if u
            ],
            "tags": [],
            "emojis": [],
            "reblogs_count": counts.shares,
            "favourites_count": counts.likes,
            "replies_count": counts.replies,
            "quotes_count": counts.quotes,
            "in_reply_to_id": post.reply_to_id,
            "in_reply_to_account_id": self._author_of(post.reply_to_id),
            "reblog": None,
            "poll": None,
            "card": None,
            "language": post.lang,
            "favourited": self.viewer(request) in post.liked_by,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
        }
        if post.malformed:
            data["account"] = "not-an-account"
            data["created_at"] = "yesterday-ish"
        return data

    def _author_of(self, status_id: str | None) -> str | None:
        parent = self.world.post(self.name, status_id) if status_id else None
        return parent.author_id if parent else None

    def _media_json(self, request: Request, media_id: str) -> dict[str, Any]:
        media = self.world.media.get((self.name, media_id), {})
        return {
            "id": media_id,
            "type": "image",
            "url": f"{self.base_url(request)}/media/{media_id}",
            "preview_url": f"{self.base_url(request)}/media/{media_id}/small",
            "remote_url": None,
            "description": media.get("description"),
            "blurhash": None,
            "meta": {},
        }

    # --- apps and OAuth ------------------------------------------------------------------------------------
    def create_app(self, request: Request) -> Response:
        params = self.params(request)
        if not params.get("client_name") or not params.get("redirect_uris"):
            raise self.fail(422, "validation", "Validation failed: Name can't be blank")
        client_id, client_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        redirect = params.get("redirect_uris")
        apps = self.world.extra.setdefault("mastodon_apps", {})
        apps[client_id] = client_secret
        return json_response({
            "id": str(len(apps)), "name": params["client_name"], "website": params.get("website"),
            "scopes": str(params.get("scopes", "read")).split(), "redirect_uri": redirect,
            "redirect_uris": [redirect] if isinstance(redirect, str) else redirect,
            "client_id": client_id, "client_secret": client_secret, "client_secret_expires_at": 0,
        })  # fmt: skip

    def _client_ok(self, request: Request, params: Any) -> bool:
        client_id, secret = params.get("client_id"), params.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id, secret = request.authorization.username, request.authorization.password
        known = self.world.extra.get("mastodon_apps", {})
        # Apps registered through /api/v1/apps must match; pre-configured clients (tests, demo) are trusted.
        return bool(client_id) and (client_id not in known or known[client_id] == secret)

    def token(self, request: Request) -> Response:
        params = self.params(request)
        if not self._client_ok(request, params):
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if params.get("grant_type") != "authorization_code":
            return json_response({"error": "unsupported_grant_type"}, 400)
        try:
            grant = self.world.redeem_code(
                self.name, params.get("code", ""), params.get("redirect_uri", ""), params.get("code_verifier")
            )
        except TokenProblem:
            return json_response(
                {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid"}, 400
            )
        token = self.world.issue(self.name, grant.user_id, scopes=grant.scopes, client_id=grant.client_id)
        return json_response({"access_token": token.value, "token_type": "Bearer",
                              "scope": " ".join(grant.scopes), "created_at": int(token.issued_at)})  # fmt: skip

    def revoke(self, request: Request) -> Response:
        params = self.params(request)
        if params.get("token"):
            self.world.revoke(value=params["token"])
        return json_response({})

    def instance_v1(self, request: Request) -> Response:
        return json_response({
            "uri": request.host, "title": "Simulated Mastodon", "version": "4.4.0", "languages": ["en", "fr"],
            "urls": {"streaming_api": ""}, "stats": {"user_count": 1, "status_count": 1, "domain_count": 1},
            "configuration": {"statuses": {"max_characters": MAX_CHARS, "max_media_attachments": 4,
                                           "characters_reserved_per_url": 23}},
        })  # fmt: skip

    def instance_v2(self, request: Request) -> Response:
        return json_response({
            "domain": request.host, "title": "Simulated Mastodon", "version": "4.4.0",
            "source_url": "https://github.com/mastodon/mastodon", "description": "", "languages": ["en", "fr"],
            "usage": {"users": {"active_month": 1}}, "thumbnail": {"url": ""}, "rules": [],
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "", "account": None},
            "configuration": {
                "urls": {"streaming": ""},
                "statuses": {"max_characters": MAX_CHARS, "max_media_attachments": 4,
                             "characters_reserved_per_url": 23},
                "media_attachments": {"supported_mime_types": ["image/png", "image/jpeg", "image/gif"],
                                      "image_size_limit": 16777216},
                "accounts": {"max_featured_tags": 10}, "translation": {"enabled": False},
            },
        })  # fmt: skip

    def verify_credentials(self, request: Request) -> Response:
        user = self.user_of(self.authenticate(request))
        return json_response({**self.account_json(request, user), "source": {"privacy": "public", "note": ""}})

    # --- statuses -----------------------------------------------------------------------------------------
    def create_status(self, request: Request) -> Response:
        token = self.authenticate(request)
        user = self.user_of(token)
        params = self.params(request)
        key = request.headers.get("Idempotency-Key")
        if key:
            existing = self.world.recall(self.name, user.id, key)
            if existing and self.world.post(self.name, existing):
                return json_response(self.status_json(request, self.world.post(self.name, existing)))  # type: ignore[arg-type]
        text = str(params.get("status") or "")
        media_ids = params.getlist("media_ids[]") or params.getlist("media_ids")
        if media_ids and isinstance(media_ids[0], list):
            media_ids = media_ids[0]
        if not text.strip() and not media_ids:
            raise self.fail(422, "validation", "Validation failed: Text can't be blank")
        if mastodon_length(text, str(params.get("spoiler_text") or "")) > MAX_CHARS:
            raise self.fail(422, "validation", f"Validation failed: Text character limit of {MAX_CHARS} exceeded")
        for media_id in media_ids:
            if (self.name, str(media_id)) not in self.world.media:
                raise self.fail(422, "validation", "Validation failed: Media attachment not found")
        visibility = params.get("visibility") or "public"
        if visibility not in VISIBILITIES:
            raise self.fail(422, "validation", "Validation failed: Visibility is not included in the list")
        reply_to = params.get("in_reply_to_id") or None
        parent = self.world.post(self.name, str(reply_to)) if reply_to else None
        if reply_to and parent is None:
            raise self.fail(404, "not_found", "Record not found")
        post = SimPost(platform=self.name, id="", seq=0, author_id=user.id, text=text, created_at=self.world.now(),
                       kind="reply" if parent else "post", reply_to_id=parent.id if parent else None,
                       root_id=(parent.root_id or parent.id) if parent else None,
                       media_ids=[str(m) for m in media_ids], lang=params.get("language") or None)  # fmt: skip
        post.extra["visibility"] = visibility
        post.extra["idempotency_key"] = key
        self.world.add_post(post)
        if key:
            self.world.remember(self.name, user.id, key, post.id)
        return json_response(self.status_json(request, post))

    def _visible(self, status_id: str) -> SimPost:
        post = self.world.post(self.name, status_id)
        if post is None:
            raise self.fail(404, "not_found", "Record not found")
        return post

    def status(self, request: Request, status_id: str) -> Response:
        self.authenticate(request)
        return json_response(self.status_json(request, self._visible(status_id)))

    def statuses(self, request: Request) -> Response:
        self.authenticate(request)
        ids = request.args.getlist("id[]") or request.args.getlist("id")
        posts = [p for p in (self.world.post(self.name, i) for i in ids) if p is not None]
        return json_response([self.status_json(request, p) for p in posts])

    def favourite(self, request: Request, status_id: str) -> Response:
        """``POST /api/v1/statuses/:id/favourite`` (scope ``write:favourites``): the Status, favourited once
        however often it is asked."""
        token = self.authenticate(request)
        if not {"write", "write:favourites"} & set(token.scopes):
            raise self.fail(403, "forbidden", "This action is outside the authorized scopes")
        user = self.user_of(token)
        post = self._visible(status_id)
        self.world.like(post, user.id)
        return json_response(self.status_json(request, post))

    def delete_status(self, request: Request, status_id: str) -> Response:
        user = self.user_of(self.authenticate(request))
        post = self._visible(status_id)
        if post.author_id != user.id:
            raise self.fail(404, "not_found", "Record not found")
        post.deleted = True
        return json_response({**self.status_json(request, post), "text": post.text})

    def context(self, request: Request, status_id: str) -> Response:
        self.authenticate(request)
        root = self._visible(status_id)
        descendants = [p for p in self.world.iter_posts(self.name, newest_first=False)
                       if p.root_id == (root.root_id or root.id) and p.id != root.id and not p.deleted]  # fmt: skip
        return json_response({"ancestors": [], "descendants": [self.status_json(request, p) for p in descendants]})

    def account_statuses(self, request: Request, account_id: str) -> Response:
        """The account's statuses, newest first: all of them for their author, direct messages and replies
        included; others do not see the direct ones. ``exclude_replies`` leaves replies out."""
        token = self.authenticate(request)
        limit = min(int(request.args.get("limit", 20)), 40)
        max_id = request.args.get("max_id")
        author = token.user_id == account_id
        no_replies = request.args.get("exclude_replies") in ("true", "1")
        posts = [p for p in self.world.iter_posts(self.name)
                 if p.author_id == account_id and not p.deleted and (author or self.visibility(p) != "direct")
                 and not (no_replies and p.reply_to_id)
                 and (max_id is None or int(p.id) < int(max_id))][:limit]  # fmt: skip
        return self._page(request, [self.status_json(request, p) for p in posts], [int(p.id) for p in posts])

    # --- media --------------------------------------------------------------------------------------------
    def upload_media(self, request: Request) -> Response:
        user = self.user_of(self.authenticate(request))
        upload = request.files.get("file")
        if upload is None:
            raise self.fail(422, "validation", "Validation failed: File can't be blank")
        content = upload.read()
        if not (upload.mimetype or "").startswith("image/"):
            raise self.fail(422, "validation", "Validation failed: File content type is invalid")
        media_id = str(STATUS_BASE // 10 + self.world.next_seq())
        self.world.media[(self.name, media_id)] = {
            "owner": user.id, "size": len(content), "mime": upload.mimetype,
            "description": request.form.get("description"), "sha": base64.b64encode(content[:32]).decode(),
        }  # fmt: skip
        return json_response(self._media_json(request, media_id))

    def media(self, request: Request, media_id: str) -> Response:
        self.authenticate(request)
        if (self.name, media_id) not in self.world.media:
            raise self.fail(404, "not_found", "Record not found")
        return json_response(self._media_json(request, media_id))

    # --- reading ------------------------------------------------------------------------------------------
    def _page(self, request: Request, items: list[Any], ids: list[int]) -> Response:
        response = json_response(items)
        if ids:
            path = f"{request.host_url.rstrip('/')}{request.path}"
            keep = "&".join(
                f"{k}={v}" for k, v in request.args.items(multi=True) if k not in ("max_id", "min_id", "since_id")
            )
            keep = f"{keep}&" if keep else ""
            response.headers["Link"] = (
                f'<{path}?{keep}max_id={min(ids)}>; rel="next", <{path}?{keep}min_id={max(ids)}>; rel="prev"'
            )
        return response

    def _mention_seqs(self, user_id: str) -> list[int]:
        """Sequence numbers of the posts that notify ``user_id`` (mentions, replies, direct messages),
        ascending. Indexed incrementally: posts are only ever appended, so each request reads only the
        posts added since the last one."""
        with self.world.lock:
            index = self.world.extra.setdefault("mastodon_notification_index", {"upto": 0, "by_user": {}})
            order = self.world.post_order[self.name]
            for post in order[index["upto"] :]:
                targets = set(post.mentions)
                if post.kind == "dm" and post.target_id:
                    targets.add(post.target_id)
                for target in targets:
                    index["by_user"].setdefault(target, []).append(post.seq)
            index["upto"] = len(order)
            return list(index["by_user"].get(user_id, []))

    def notifications(self, request: Request) -> Response:
        user = self.user_of(self.authenticate(request))
        types = set(request.args.getlist("types[]") or request.args.getlist("types")) or {"mention"}
        if "mention" not in types:
            return json_response([])
        seqs = self._mention_seqs(user.id)
        chosen = sorted(self._bisect_window(request.args, seqs, key=int), reverse=True)
        items = []
        for seq in chosen:
            post = self.world.post(self.name, str(STATUS_BASE + seq))
            if post is None:  # deleted since
                continue
            author = self.world.user(self.name, post.author_id)
            items.append({
                "id": str(seq), "type": "mention", "created_at": iso(post.created_at), "group_key": f"ungrouped-{seq}",
                "account": self.account_json(request, author) if author else None,
                "status": self.status_json(request, post),
            })  # fmt: skip
        return self._page(request, items, chosen)

    def search(self, request: Request) -> Response:
        self.authenticate(request)
        query = (request.args.get("q") or "").strip().lower()
        if not query:
            raise self.fail(400, "bad_request", "Missing parameter q")
        kind = request.args.get("type")
        terms = [t for t in query.replace('"', " ").split() if t]  # a quoted phrase: all its words
        matches = self.world.matching(
            self.name,
            " ".join(terms),
            lambda p: self.visibility(p) != "direct" and all(t in p.text.lower() for t in terms),
        )
        statuses = []
        if kind in (None, "statuses"):
            window = self._bisect_window(request.args, matches, key=lambda p: int(p.id))  # oldest first
            statuses = [self.status_json(request, p) for p in reversed(window) if not p.deleted]
        return json_response({"accounts": [], "hashtags": [], "statuses": statuses})

    @staticmethod
    def _bisect_window(args: Any, ascending: list[Any], key: Callable[[Any], int]) -> list[Any]:
        """Mastodon's id paging over an ascending list, by bisection: min_id (the ones immediately newer),
        else the newest below max_id and above since_id; at most ``limit``."""
        limit = max(1, min(int(args.get("limit", 40)), 80))
        max_id, since_id, min_id = (int(args[k]) if args.get(k) else None for k in ("max_id", "since_id", "min_id"))
        if min_id is not None:
            start = bisect.bisect_right(ascending, min_id, key=key)
            return ascending[start : start + limit]
        high = bisect.bisect_left(ascending, max_id, key=key) if max_id is not None else len(ascending)
        low = bisect.bisect_right(ascending, since_id, key=key) if since_id is not None else 0
        return ascending[max(low, high - limit) : high]
