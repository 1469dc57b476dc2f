"""X (Twitter) API v2 as the connector and tweepy use it: OAuth 2.0 with PKCE and rotating refresh tokens,
tweets, media upload, mentions and user timelines with id-based page tokens, recent search, hide replies,
public metrics. Errors are RFC 7807 problems (``application/problem+json``), rate limits come in
``x-rate-limit-*`` headers with the reset in epoch seconds. Facts: ``shared/platforms/x.md``."""

from __future__ import annotations

import base64
import binascii
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import regex
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from simulator.platforms.base import PlatformApi, iso, json_response
from simulator.world import SimPost, SimToken, SimUser, TokenProblem, World

TWITTER_EPOCH_MS = 1288834974657
PROBLEMS = "https://api.twitter.com/2/problems/"
DEFAULT_AVATAR = "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png"
MAX_WEIGHTED = 280
MENTIONS_WINDOW = 800  # the mentions timeline serves the 800 most recent mentions
TIMELINE_WINDOW = 3200  # the user timeline serves the 3,200 most recent posts
SEARCH_WINDOW_SECONDS = 7 * 86400
BAD_TOKEN = {"error": "invalid_request", "error_description": "Value passed for the token was invalid."}

# twitter-text v3: these ranges weigh 1, everything else 2; any URL 23; an emoji sequence 2.
_LIGHT = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_URL = regex.compile(r"https?://\S+", regex.IGNORECASE)
_CLUSTER = regex.compile(r"\X")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")


def weighted_length(text: str) -> int:
    """The weighted length X counts (an implementation independent of the connector's)."""
    text = unicodedata.normalize("NFC", text)
    total = 23 * len(_URL.findall(text))
    for cluster in _CLUSTER.findall(_URL.sub("", text)):
        if _EMOJI.search(cluster):
            total += 2
        else:
            total += sum(1 if any(lo <= ord(c) <= hi for lo, hi in _LIGHT) else 2 for c in cluster)
    return total


def wire_text(text: str) -> str:
    """v2 returns tweet text with &, < and > as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def snowflake(world: World, ms: int, low: int) -> str:
    """A 19-digit snowflake: milliseconds since the Twitter epoch, then 22 bits; strictly increasing."""
    with world.lock:
        candidate = ((ms - TWITTER_EPOCH_MS) << 22) | (1 << 17) | (low & 0xFFF)
        value = max(candidate, int(world.extra.get("x.last_id", 0)) + 1)
        world.extra["x.last_id"] = value
    return str(value)


def page_token(direction: str, boundary: int) -> str:
    """Opaque base32hex page token naming an id boundary, so new items do not shift later pages."""
    raw = f"{direction}{boundary}".encode()
    return base64.b32hexencode(raw).decode().rstrip("=").lower()


def read_page_token(token: str) -> tuple[str, int]:
    try:
        padded = token.upper() + "=" * (-len(token) % 8)
        raw = base64.b32hexdecode(padded).decode()
        direction, boundary = raw[0], int(raw[1:])
    except (ValueError, binascii.Error, IndexError, UnicodeDecodeError):
        raise ValueError(token) from None
    if direction not in "np":
        raise ValueError(token)
    return direction, boundary


def _negated(test: Callable[[SimPost], bool]) -> Callable[[SimPost], bool]:
    return lambda post: not test(post)


class XApi(PlatformApi):
    name = "x"
    authorize_path = "/i/oauth2/authorize"
    incoming_kinds = ("mention", "reply")

    def routes(self) -> list[tuple[str, Iterable[str], Callable[..., Response]]]:
        return [
            ("/2/oauth2/token", ["POST"], self.token),
            ("/2/oauth2/revoke", ["POST"], self.revoke_token),
            ("/2/users/me", ["GET"], self.me),
            ("/2/users/<user_id>/mentions", ["GET"], self.mentions),
            ("/2/users/<user_id>/tweets", ["GET"], self.user_tweets),
            ("/2/users/<user_id>/likes", ["POST"], self.like),
            ("/2/tweets", ["POST"], self.create_tweet),
            ("/2/tweets", ["GET"], self.lookup_tweets),
            ("/2/tweets/search/recent", ["GET"], self.search_recent),
            ("/2/tweets/<tweet_id>", ["GET"], self.lookup_tweet),
            ("/2/tweets/<tweet_id>", ["DELETE"], self.delete_tweet),
            ("/2/tweets/<tweet_id>/hidden", ["PUT"], self.hide_reply),
            ("/2/media/upload", ["POST"], self.upload_media),
            ("/2/media/metadata", ["POST"], self.media_metadata),
        ]

    # --- platform shapes ----------------------------------------------------------------------------------
    def error(self, status: int, kind: str, message: str) -> Response:
        if kind.endswith("_token"):
            body: dict[str, Any] = {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
            status = 401
        elif kind == "rate_limited":
            body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
        elif kind == "server_error":
            title = "Service Unavailable" if status == 503 else "Internal Server Error"
            body = {"title": title, "detail": message, "type": "about:blank", "status": status}
        elif kind == "not_found":
            body = {
                "title": "Not Found Error",
                "detail": message,
                "type": f"{PROBLEMS}resource-not-found",
                "status": 404,
            }
        elif kind in ("forbidden", "duplicate"):
            body = {"title": "Forbidden", "detail": message, "type": "about:blank", "status": 403}
        elif kind == "unsupported_auth":
            body = {
                "title": "Unsupported Authentication",
                "detail": message,
                "status": 403,
                "type": f"{PROBLEMS}unsupported-authentication",
            }
        else:  # validation, bad_request
            body = {
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": f"{PROBLEMS}invalid-request",
                "status": 400,
                "errors": [{"message": message}],
            }
        return json_response(body, status, content_type="application/problem+json")

    def rate_limit_headers(self, limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(reset_epoch)),
        }

    def make_id(self, world: World, post: SimPost) -> str:
        return snowflake(world, int(post.created_at * 1000), post.seq)

    def person_id(self, index: int) -> str:
        return str(2_000_000_000 + index * 7919)

    def mention_text(self, target: SimUser) -> str:
        return f"@{target.handle}"

    def brand_id(self, index: int) -> str:
        return str(1_591_000_000_000_000_000 + index)

    def seed(self) -> None:
        for user_id, handle, name in (
            ("1590000000000000001", "maisonlumiere", "Maison Lumière"),
            ("1590000000000000002", "maisonlumiere_uk", "Maison Lumière UK"),
        ):
            self.world.add_user(
                SimUser(
                    platform=self.name,
                    id=user_id,
                    handle=handle,
                    display_name=name,
                    followers=12_400,
                    avatar_url=f"https://pbs.twimg.com/profile_images/{user_id}/logo_normal.jpg",
                    lang="fr",
                    is_brand=True,
                )
            )

    # --- OAuth 2.0 ------------------------------------------------------------------------------------------
    def consent(self, request: Request) -> Response:
        args = request.args if request.method == "GET" else request.form
        if args.get("response_type", "code") != "code":
            return Response("response_type must be code", status=400)
        if not args.get("code_challenge"):
            return Response("PKCE is required: code_challenge is missing", status=400)
        if args.get("code_challenge_method", "plain") != "S256":
            return Response("the simulator supports code_challenge_method=S256 only", status=400)
        return super().consent(request)

    @staticmethod
    def _oauth_error(status: int, body: dict[str, str]) -> Response:
        return json_response(body, status)

    def _client_id(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (ValueError, binascii.Error, UnicodeDecodeError):
                return None
            return client_id if secret else None
        return request.form.get("client_id") or None

    def token(self, request: Request) -> Response:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token
        client_id = self._client_id(request)
        if client_id is None:
            return self._oauth_error(
                401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
            )
        grant_type = request.form.get("grant_type", "")
        if grant_type == "authorization_code":
            try:
                grant = self.world.redeem_code(
                    self.name,
                    request.form.get("code", ""),
                    request.form.get("redirect_uri", ""),
                    request.form.get("code_verifier") or None,
                )
            except TokenProblem:
                return self._oauth_error(400, BAD_TOKEN)
            if grant.client_id != client_id:
                return self._oauth_error(400, BAD_TOKEN)
            return self._grant(grant.user_id, grant.scopes, client_id, family="")
        if grant_type == "refresh_token":
            try:
                used = self.world.rotate_refresh(self.name, request.form.get("refresh_token", ""))
            except TokenProblem:
                return self._oauth_error(400, BAD_TOKEN)
            if used.client_id and used.client_id != client_id:
                return self._oauth_error(400, BAD_TOKEN)
            return self._grant(used.user_id, used.scopes, client_id, family=used.family)
        return self._oauth_error(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})

    def _grant(self, user_id: str, scopes: tuple[str, ...], client_id: str, family: str) -> Response:
        access = self.world.issue(self.name, user_id, "access", scopes=scopes, family=family, client_id=client_id)
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(access.expires_at - access.issued_at) if access.expires_at else 7200,
            "access_token": access.value,
            "scope": " ".join(scopes),
        }
        if "offline.access" in scopes:
            refresh = self.world.issue(
                self.name, user_id, "refresh", scopes=scopes, family=access.family, client_id=client_id
            )
            body["refresh_token"] = refresh.value
        return json_response(body)

    def revoke_token(self, request: Request) -> Response:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token (revoke)
        if self._client_id(request) is None:
            return self._oauth_error(
                401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"}
            )
        token = request.form.get("token", "")
        if not token:
            return self._oauth_error(400, {"error": "invalid_request", "error_description": "Missing token"})
        self.world.revoke(value=token)
        return json_response({"revoked": True})

    # --- helpers ----------------------------------------------------------------------------------------------
    def _auth(self, request: Request, *scopes: str) -> tuple[SimToken, SimUser]:
        token = self.authenticate(request)
        missing = [s for s in scopes if s not in token.scopes]
        if missing:
            raise self.fail(403, "unsupported_auth", f"Missing scope(s): {', '.join(missing)}")
        return token, self.user_of(token)

    @staticmethod
    def _fields(args: MultiDict[str, Any], name: str) -> set[str]:
        raw = ",".join(args.getlist(name))
        if name == "tweet.fields":
            raw += "," + ",".join(args.getlist("post.fields"))
        return {f.strip() for f in raw.split(",") if f.strip()}

    def _id_param(self, args: MultiDict[str, Any], name: str) -> int | None:
        value = args.get(name)
        if value is None or value == "":
            return None
        if not re.fullmatch(r"[0-9]{1,19}", str(value)):
            raise self.fail(400, "validation", f"The `{name}` query parameter value [{value}] is not valid")
        return int(value)

    def _max_results(self, args: MultiDict[str, Any], low: int, high: int, default: int) -> int:
        value = args.get("max_results")
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = -1
        if not low <= number <= high:
            raise self.fail(
                400, "validation", f"The `max_results` query parameter value [{value}] is not between {low} and {high}"
            )
        return number

    def _time_param(self, args: MultiDict[str, Any], name: str) -> float | None:
        value = args.get(name)
        if not value:
            return None
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise self.fail(400, "validation", f"Invalid '{name}': '{value}'") from None

    def user_json(self, user: SimUser, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user.id, "name": user.display_name, "username": user.handle}
        if "profile_image_url" in fields:
            data["profile_image_url"] = user.avatar_url or DEFAULT_AVATAR
        if "public_metrics" in fields:
            data["public_metrics"] = {
                "followers_count": user.followers,
                "following_count": 120,
                "tweet_count": 1500,
                "listed_count": 3,
                "like_count": 800,
            }
        if "verified" in fields:
            data["verified"] = user.is_brand
        if "protected" in fields:
            data["protected"] = False
        if "description" in fields:
            data["description"] = user.extra.get("description", "")
        if "created_at" in fields:
            data["created_at"] = "2012-03-14T09:26:53.000Z"
        return data

    def tweet_json(self, post: SimPost, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": post.id, "text": wire_text(post.text), "edit_history_tweet_ids": [post.id]}
        parent = self.world.posts.get((self.name, post.reply_to_id)) if post.reply_to_id else None
        if "created_at" in fields:
            data["created_at"] = iso(post.created_at)
        if "author_id" in fields:
            data["author_id"] = post.author_id
        if "conversation_id" in fields:
            data["conversation_id"] = post.root_id or post.id
        if "in_reply_to_user_id" in fields and parent is not None:
            data["in_reply_to_user_id"] = parent.author_id
        if "referenced_tweets" in fields and post.reply_to_id:
            data["referenced_tweets"] = [{"type": "replied_to", "id": post.reply_to_id}]
        if "lang" in fields:
            data["lang"] = post.lang or "und"
        if "attachments" in fields and post.media_ids:
            data["attachments"] = {"media_keys": [f"3_{m}" for m in post.media_ids]}
        if "public_metrics" in fields:
            counts = self.world.engagement(post)
            data["public_metrics"] = {
                "retweet_count": counts.shares,
                "reply_count": counts.replies,
                "like_count": counts.likes,
                "quote_count": counts.quotes,
                "bookmark_count": 0,
                "impression_count": counts.impressions,
            }
        if "entities" in fields:
            mentions = []
            for match in re.finditer(r"@(\w{1,15})", post.text):
                user = self.world.find_user(self.name, handle=match.group(1))
                entry: dict[str, Any] = {"start": match.start(), "end": match.end(), "username": match.group(1)}
                if user is not None:
                    entry["id"] = user.id
                mentions.append(entry)
            if mentions:
                data["entities"] = {"mentions": mentions}
        if "reply_settings" in fields:
            data["reply_settings"] = "everyone"
        if "possibly_sensitive" in fields:
            data["possibly_sensitive"] = False
        if post.malformed:  # a required field missing or of the wrong type, as a broken upstream would send
            variant = post.seq % 3
            if variant == 0:
                del data["text"]
            elif variant == 1:
                data["text"] = 42
            else:
                data["id"] = int(post.id)
        return data

    def _listing(
        self,
        request: Request,
        candidates: Iterator[SimPost],
        *,
        window: int,
        low: int,
        high: int,
        default: int,
        token_names: tuple[str, ...] = ("pagination_token",),
    ) -> Response:
        """A newest-first page with since_id/until_id/start_time/end_time and id-based page tokens."""
        args = request.args
        since_id = self._id_param(args, "since_id")
        until_id = self._id_param(args, "until_id")
        if since_id is not None and until_id is not None and since_id >= until_id:
            raise self.fail(400, "validation", "since_id must be less than until_id")
        start, end = self._time_param(args, "start_time"), self._time_param(args, "end_time")
        size = self._max_results(args, low, high, default)
        token_value = next((args[n] for n in token_names if args.get(n)), None)
        direction, boundary = "n", None
        if token_value:
            try:
                direction, boundary = read_page_token(token_value)
            except ValueError:
                raise self.fail(
                    400, "validation", f"The `pagination_token` query parameter value [{token_value}] is not valid"
                ) from None
        posts: list[SimPost] = []
        for post in candidates:
            if len(posts) >= window:
                break
            posts.append(post)
        selected = [
            p
            for p in posts
            if (since_id is None or int(p.id) > since_id)
            and (until_id is None or int(p.id) < until_id)
            and (start is None or p.created_at >= start)
            and (end is None or p.created_at < end)
        ]
        if boundary is not None and direction == "n":
            selected = [p for p in selected if int(p.id) < boundary]
            page, rest_older = selected[:size], len(selected) > size
        elif boundary is not None:
            newer = [p for p in selected if int(p.id) > boundary]
            page, rest_older = newer[-size:], True
        else:
            page, rest_older = selected[:size], len(selected) > size
        tweet_fields = self._fields(args, "tweet.fields")
        expansions = self._fields(args, "expansions")
        user_fields = self._fields(args, "user.fields")
        body: dict[str, Any] = {}
        if page:
            body["data"] = [self.tweet_json(p, tweet_fields) for p in page]
            includes = self._includes(page, expansions, user_fields, tweet_fields)
            if includes:
                body["includes"] = includes
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"], meta["oldest_id"] = page[0].id, page[-1].id
            if rest_older:
                meta["next_token"] = page_token("n", int(page[-1].id))
            if boundary is not None:
                meta["previous_token"] = page_token("p", int(page[0].id))
        body["meta"] = meta
        return json_response(body)

    def _includes(
        self, page: list[SimPost], expansions: set[str], user_fields: set[str], tweet_fields: set[str]
    ) -> dict[str, Any]:
        includes: dict[str, Any] = {}
        if "author_id" in expansions:
            seen: dict[str, dict[str, Any]] = {}
            for post in page:
                author = self.world.user(self.name, post.author_id)
                if author is not None and author.id not in seen:
                    seen[author.id] = self.user_json(author, user_fields)
            includes["users"] = list(seen.values())
        if "referenced_tweets.id" in expansions:
            refs = [self.world.post(self.name, p.reply_to_id) for p in page if p.reply_to_id]
            tweets = {r.id: self.tweet_json(r, tweet_fields) for r in refs if r is not None}
            if tweets:
                includes["tweets"] = list(tweets.values())
        return includes

    def _visible(self) -> Iterator[SimPost]:
        return (p for p in self.world.iter_posts(self.name) if not p.deleted and p.kind != "dm")

    def _post_or_404(self, tweet_id: str) -> SimPost:
        post = self.world.post(self.name, tweet_id) if re.fullmatch(r"[0-9]{1,19}", tweet_id) else None
        if post is None or post.kind == "dm":
            raise self.fail(404, "not_found", f"Could not find tweet with id: [{tweet_id}].")
        return post

    # --- users ------------------------------------------------------------------------------------------------
    def me(self, request: Request) -> Response:
        # https://docs.x.com/x-api/users/user-lookup-me
        _token, user = self._auth(request, "users.read")
        return json_response({"data": self.user_json(user, self._fields(request.args, "user.fields"))})

    def mentions(self, request: Request, user_id: str) -> Response:
        # https://docs.x.com/x-api/posts/user-mention-timeline-by-user-id
        self._auth(request, "tweet.read", "users.read")
        if self.world.user(self.name, user_id) is None:
            raise self.fail(404, "not_found", f"Could not find user with id: [{user_id}].")
        candidates = (p for p in self._visible() if user_id in p.mentions and p.author_id != user_id)
        return self._listing(request, candidates, window=MENTIONS_WINDOW, low=5, high=100, default=10)

    def user_tweets(self, request: Request, user_id: str) -> Response:
        # https://docs.x.com/x-api/posts/user-posts-timeline-by-user-id
        self._auth(request, "tweet.read", "users.read")
        if self.world.user(self.name, user_id) is None:
            raise self.fail(404, "not_found", f"Could not find user with id: [{user_id}].")
        exclude = self._fields(request.args, "exclude")
        candidates = (
            p for p in self._visible() if p.author_id == user_id and not ("replies" in exclude and p.reply_to_id)
        )
        return self._listing(request, candidates, window=TIMELINE_WINDOW, low=5, high=100, default=10)

    # --- tweets -----------------------------------------------------------------------------------------------
    def create_tweet(self, request: Request) -> Response:
        # https://docs.x.com/x-api/posts/create-post
        _token, user = self._auth(request, "tweet.read", "tweet.write", "users.read")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise self.fail(400, "validation", "Request body must be a JSON object")
        text = body.get("text")
        media = body.get("media") or {}
        reply = body.get("reply")
        if text is not None and not isinstance(text, str):
            raise self.fail(400, "validation", "$.text: string expected")
        media_ids = media.get("media_ids", []) if isinstance(media, dict) else None
        if not isinstance(media_ids, list) or not all(isinstance(m, str) for m in media_ids) or len(media_ids) > 4:
            raise self.fail(400, "validation", "$.media.media_ids: 1 to 4 media id strings expected")
        if not text and not media_ids:
            raise self.fail(400, "validation", "$.text: text or media is required")
        for media_id in media_ids:
            stored = self.world.media.get((self.name, media_id))
            if stored is None or stored["owner"] != user.id:
                raise self.fail(400, "validation", f"Your media IDs are invalid: [{media_id}].")
        text = text or ""
        length = weighted_length(text)
        if length > MAX_WEIGHTED:
            raise self.fail(400, "validation", f"$.text: weighted length {length} is over {MAX_WEIGHTED}")
        parent = None
        if reply is not None:
            parent_id = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
            if not isinstance(parent_id, str):
                raise self.fail(400, "validation", "$.reply.in_reply_to_tweet_id: string expected")
            parent = self.world.post(self.name, parent_id)
            if parent is None or parent.kind == "dm":
                raise self.fail(
                    403, "forbidden", "You attempted to reply to a Tweet that is deleted or not visible to you."
                )
        with self.world.lock:
            own = self.world.matching(self.name, f"author:{user.id}", lambda p: p.author_id == user.id)
            if text and any(p.text == text and not p.deleted for p in own):
                raise self.fail(403, "duplicate", "You are not allowed to create a Tweet with duplicate content.")
            post = SimPost(
                platform=self.name,
                id="",
                seq=0,
                author_id=user.id,
                text=text,
                created_at=self.world.now(),
                kind="reply" if parent else "post",
                reply_to_id=parent.id if parent else None,
                root_id=(parent.root_id or parent.id) if parent else None,
                media_ids=list(media_ids),
                lang=user.lang,
            )
            link = _URL.search(text)
            post.link = link.group(0) if link else None
            post.mentions = [
                u.id for h in re.findall(r"@(\w{1,15})", text) if (u := self.world.find_user(self.name, handle=h))
            ]
            self.world.add_post(post)
        return json_response(
            {"data": {"id": post.id, "text": wire_text(post.text), "edit_history_tweet_ids": [post.id]}}, 201
        )

    def delete_tweet(self, request: Request, tweet_id: str) -> Response:
        # https://docs.x.com/x-api/posts/delete-post
        _token, user = self._auth(request, "tweet.read", "tweet.write", "users.read")
        post = self._post_or_404(tweet_id)
        if post.author_id != user.id:
            raise self.fail(403, "forbidden", "You are not authorized to delete this Tweet.")
        post.deleted = True
        return json_response({"data": {"deleted": True}})

    def hide_reply(self, request: Request, tweet_id: str) -> Response:
        # https://docs.x.com/x-api/posts/hide-reply
        _token, user = self._auth(request, "tweet.read", "tweet.moderate.write", "users.read")
        post = self._post_or_404(tweet_id)
        body = request.get_json(silent=True)
        hidden = body.get("hidden") if isinstance(body, dict) else None
        if not isinstance(hidden, bool):
            raise self.fail(400, "validation", "$.hidden: boolean expected")
        root = self.world.posts.get((self.name, post.root_id or "")) if post.reply_to_id else None
        if root is None or root.author_id != user.id or post.author_id == user.id:
            raise self.fail(403, "forbidden", "You can only hide or unhide replies to conversations you authored.")
        post.hidden = hidden
        return json_response({"data": {"hidden": hidden}})

    def like(self, request: Request, user_id: str) -> Response:
        # https://docs.x.com/x-api/users/like-post
        _token, user = self._auth(request, "tweet.read", "users.read", "like.write")
        if user_id != user.id:
            raise self.fail(403, "forbidden", "You are not permitted to like on behalf of another user.")
        body = request.get_json(silent=True)
        tweet_id = body.get("tweet_id") if isinstance(body, dict) else None
        if not isinstance(tweet_id, str) or not re.fullmatch(r"[0-9]{1,19}", tweet_id):
            raise self.fail(400, "validation", "$.tweet_id: a post id string is required")
        post = self.world.post(self.name, tweet_id)
        if post is None or post.kind == "dm":
            # What X answers for a deleted or unknown post (an invalid-request problem, not a 404).
            raise self.fail(400, "validation", "This tweet cannot be found.")
        self.world.like(post, user.id)
        return json_response({"data": {"liked": True}})

    def lookup_tweet(self, request: Request, tweet_id: str) -> Response:
        # https://docs.x.com/x-api/posts/get-post-by-id
        self._auth(request, "tweet.read", "users.read")
        post = self._post_or_404(tweet_id)
        fields = self._fields(request.args, "tweet.fields")
        body: dict[str, Any] = {"data": self.tweet_json(post, fields)}
        includes = self._includes(
            [post], self._fields(request.args, "expansions"), self._fields(request.args, "user.fields"), fields
        )
        if includes:
            body["includes"] = includes
        return json_response(body)

    def lookup_tweets(self, request: Request) -> Response:
        # https://docs.x.com/x-api/posts/get-posts-by-ids
        self._auth(request, "tweet.read", "users.read")
        ids = [i.strip() for i in request.args.get("ids", "").split(",") if i.strip()]
        if not 1 <= len(ids) <= 100 or not all(re.fullmatch(r"[0-9]{1,19}", i) for i in ids):
            raise self.fail(400, "validation", "The `ids` query parameter value is not valid (1 to 100 ids)")
        fields = self._fields(request.args, "tweet.fields")
        found: list[SimPost] = []
        errors: list[dict[str, Any]] = []
        for tweet_id in ids:
            post = self.world.post(self.name, tweet_id)
            if post is None or post.kind == "dm":
                errors.append(
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with ids: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": tweet_id,
                        "type": f"{PROBLEMS}resource-not-found",
                    }
                )
            else:
                found.append(post)
        body: dict[str, Any] = {}
        if found:
            body["data"] = [self.tweet_json(p, fields) for p in found]
            includes = self._includes(
                found, self._fields(request.args, "expansions"), self._fields(request.args, "user.fields"), fields
            )
            if includes:
                body["includes"] = includes
        if errors:
            body["errors"] = errors
        return json_response(body)

    def search_recent(self, request: Request) -> Response:
        # https://docs.x.com/x-api/posts/search-recent-posts
        self._auth(request, "tweet.read", "users.read")
        query = request.args.get("query", "")
        if not query.strip() or len(query) > 512:
            raise self.fail(400, "validation", "The `query` parameter is required and at most 512 characters")
        try:
            match = self._query(query)
        except ValueError as exc:
            raise self.fail(400, "validation", f"There were errors processing your request: {exc}") from None
        oldest = self.world.now() - SEARCH_WINDOW_SECONDS
        candidates = (p for p in self._visible() if p.created_at >= oldest and match(p))
        return self._listing(
            request,
            candidates,
            window=10**9,
            low=10,
            high=100,
            default=10,
            token_names=("next_token", "pagination_token"),
        )

    def _query(self, query: str) -> Callable[[SimPost], bool]:
        """A small subset of the search operators, all ANDed: words, "phrases", @user, #tag, from:, to:,
        is:reply, lang:, conversation_id:, each negatable with a leading '-'."""
        try:
            terms = shlex.split(query)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        tests: list[Callable[[SimPost], bool]] = []
        for raw in terms:
            if raw == "OR":
                raise ValueError("OR is not supported by the simulator")
            negate = raw.startswith("-") and len(raw) > 1
            term = raw[1:] if negate else raw
            test = self._term(term)
            tests.append(_negated(test) if negate else test)
        return lambda post: all(t(post) for t in tests)

    def _term(self, term: str) -> Callable[[SimPost], bool]:
        lowered = term.lower()
        name, _, value = lowered.partition(":")
        if value and name in ("from", "to"):
            user = self.world.find_user(self.name, handle=value.lstrip("@"))
            uid = user.id if user else "-"
            if name == "from":
                return lambda p: p.author_id == uid
            return (
                lambda p: bool(p.reply_to_id)
                and getattr(self.world.posts.get((self.name, p.reply_to_id or "")), "author_id", None) == uid
            )
        if value and name == "is":
            if value == "reply":
                return lambda p: bool(p.reply_to_id)
            if value in ("retweet", "quote"):
                return lambda p: False
            raise ValueError(f"unknown operator is:{value}")
        if value and name == "lang":
            return lambda p: (p.lang or "und") == value
        if value and name == "conversation_id":
            return lambda p: (p.root_id or p.id) == value
        return lambda p: lowered in p.text.lower()

    # --- media ------------------------------------------------------------------------------------------------
    def upload_media(self, request: Request) -> Response:
        # https://docs.x.com/x-api/media/media-upload
        _token, user = self._auth(request, "media.write")
        category = "tweet_image"
        upload = request.files.get("media")
        if upload is not None:
            content = upload.read()
            mime = upload.mimetype or "application/octet-stream"
            category = request.form.get("media_category", category)
        else:
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("media"), str):
                raise self.fail(400, "validation", "$.media: the media bytes are required")
            try:
                content = base64.b64decode(body["media"], validate=True)
            except (ValueError, binascii.Error):
                raise self.fail(400, "validation", "$.media: not valid base64") from None
            mime = str(body.get("media_type", "image/jpeg"))
            category = str(body.get("media_category", category))
        if not content:
            raise self.fail(400, "validation", "media: empty upload")
        if category not in ("tweet_image", "tweet_gif", "tweet_video", "dm_image", "subtitles"):
            raise self.fail(400, "validation", f"media_category: unknown value {category}")
        if category == "tweet_image" and len(content) > 5 * 1024 * 1024:
            raise self.fail(400, "validation", "media: images are limited to 5 MB")
        media_id = snowflake(self.world, int(self.world.now() * 1000), self.world.next_seq())
        with self.world.lock:
            self.world.media[(self.name, media_id)] = {
                "owner": user.id,
                "size": len(content),
                "mime": mime,
                "category": category,
                "created_at": self.world.now(),
            }
        data: dict[str, Any] = {
            "id": media_id,
            "media_key": f"3_{media_id}",
            "size": len(content),
            "expires_after_secs": 86400,
        }
        if category == "tweet_image":
            data["image"] = {"image_type": mime, "w": 1200, "h": 675}
        return json_response({"data": data})

    def media_metadata(self, request: Request) -> Response:
        # https://docs.x.com/x-api/media/metadata-create
        _token, user = self._auth(request, "media.write")
        body = request.get_json(silent=True)
        media_id = body.get("id") if isinstance(body, dict) else None
        metadata = body.get("metadata") if isinstance(body, dict) else None
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(media_id, str) or not isinstance(text, str):
            raise self.fail(400, "validation", "$.id and $.metadata.alt_text.text are required strings")
        if len(text) > 1000:
            raise self.fail(400, "validation", "$.metadata.alt_text.text: at most 1000 characters")
        with self.world.lock:
            stored = self.world.media.get((self.name, media_id))
            if stored is None or stored["owner"] != user.id:
                raise self.fail(404, "not_found", f"Could not find media with id: [{media_id}].")
            stored["alt_text"] = text
        return json_response({"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": text}}}})


__all__ = ["XApi", "weighted_length"]
