"""Bluesky (AT Protocol) over XRPC: ``GET``/``POST`` on ``<PDS>/xrpc/<NSID>``.

Sessions come from an app password (``com.atproto.server.createSession``), not an OAuth consent page: the
access JWT lives about two hours, the refresh JWT ninety days and rotates on use. Posts are records in the
account's repo, identified by their AT-URI (``at://<did>/app.bsky.feed.post/<rkey>``) plus a CID; links,
mentions and hashtags are facets with UTF-8 byte offsets that the client computes. Replies are hidden through
the root post's threadgate. Reference: https://docs.bsky.app/docs/category/http-reference
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import jwt
import regex

from . import errors
from . import types as t
from .base import Connector, count_of, decode_cursor, encode_cursor, metrics_from, parse_time, text_field
from .http import Response, default_error, expect, field_of
from .ratelimit import Headers, RateLimitInfo, epoch_headers, retry_after
from .text import URL_RE, check_bluesky, graphemes

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
THREADGATE = "app.bsky.feed.threadgate"
PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 25
GET_POSTS_MAX = 25
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000
MAX_HIDDEN_REPLIES = 300
MAX_TAG_GRAPHEMES = 64
FIND_POST_PAGES = 5
NOTIFICATION_KINDS = {
    "mention": t.InteractionKind.MENTION,
    "reply": t.InteractionKind.REPLY,
    "quote": t.InteractionKind.QUOTE,
}
# The patterns of Bluesky's own rich-text detection (packages/api/src/rich-text/util.ts), simplified.
MENTION_RE = regex.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_NOT_TAG = r"\s\u00AD\u2060\u200A\u200B\u200C\u200D\u20e2"
# As the reference client (@atproto/api): a tag is not only digits, where a digit is 0-9 (JavaScript's \d).
TAG_RE = regex.compile(rf"(?:^|(?<=\s))[#\uff03]((?!\ufe0f)[^{_NOT_TAG}]*[^0-9\p{{P}}{_NOT_TAG}]+[^{_NOT_TAG}]*)")
TRAILING_PUNCTUATION = regex.compile(r"\p{P}+$")
_rate_limit_headers = epoch_headers("RateLimit-")


def split_uri(uri: str) -> tuple[str, str, str]:
    """(repo DID, collection, rkey) of an AT-URI."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise errors.ValidationError(f"not an AT-URI: {uri!r}", platform="bluesky")
    parts = uri[5:].split("/")
    if len(parts) != 3 or not all(parts):
        raise errors.ValidationError(f"not a record AT-URI: {uri!r}", platform="bluesky")
    return parts[0], parts[1], parts[2]


def permalink(handle: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{uri.rsplit('/', 1)[-1]}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_facets(text: str, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Link, mention and hashtag facets of ``text`` with UTF-8 byte offsets (start inclusive, end exclusive).
    ``resolve`` turns a handle into a DID; a mention whose handle does not resolve gets no facet."""
    spans: list[tuple[int, int, dict[str, Any]]] = []
    for match in URL_RE.finditer(text):
        spans.append((match.start(), match.end(), {"$type": "app.bsky.richtext.facet#link", "uri": match.group()}))
    for match in MENTION_RE.finditer(text):
        did = resolve(match.group(1).lower())
        if did:
            spans.append((match.start(), match.end(), {"$type": "app.bsky.richtext.facet#mention", "did": did}))
    for match in TAG_RE.finditer(text):
        tag = TRAILING_PUNCTUATION.sub("", match.group(1))
        if tag and graphemes(tag) <= MAX_TAG_GRAPHEMES:
            end = match.start(1) + len(tag)
            spans.append((match.start(), end, {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    facets: list[dict[str, Any]] = []
    last_end = -1
    for start, end, feature in sorted(spans, key=lambda span: (span[0], -span[1])):
        if start < last_end:  # facets must not overlap
            continue
        last_end = end
        index = {"byteStart": len(text[:start].encode()), "byteEnd": len(text[:end].encode())}
        facets.append({"index": index, "features": [feature]})
    return facets


def _time(value: Any, what: str) -> datetime:
    try:
        return parse_time(value)
    except (ValueError, TypeError, OverflowError, OSError):
        raise errors.MalformedPayload(f"{what}: not a time: {value!r}"[:200], platform="bluesky", raw=value) from None


# --- polling markers: the newest item returned so far, as (indexedAt, uris sharing that instant) ----------
Marker = dict[str, Any]
Mark = tuple[datetime, set[str]]


def _item_mark(raw: Any) -> tuple[datetime, str] | None:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("uri"), str):
        return None
    try:
        return parse_time(raw.get("indexedAt")), raw["uri"]
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def _marker(value: Any) -> Mark | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("uris"), list):
        return None
    try:
        return parse_time(value.get("at")), {u for u in value["uris"] if isinstance(u, str)}
    except (ValueError, TypeError, OverflowError, OSError):
        return None


def _newer(mark: Mark | None, other: Mark | None) -> Mark | None:
    """The later of two marks; at the same instant, both sets of URIs."""
    if mark is None or other is None:
        return mark or other
    if mark[0] == other[0]:
        return mark[0], mark[1] | other[1]
    return mark if mark[0] > other[0] else other


def _dump(mark: Mark | None) -> Marker | None:
    return None if mark is None else {"at": mark[0].isoformat(), "uris": sorted(mark[1])}


class BlueskyConnector(Connector):
    platform: ClassVar[str] = "bluesky"
    capabilities: ClassVar[t.Capabilities] = t.Capabilities(
        like=True,  # an app.bsky.feed.like record in our repo
        hide=True,  # threadgate hiddenReplies, in our own threads only
        delete_comment=False,  # nobody deletes someone else's record
        search=True,
        impressions=False,  # post views carry likes, reposts, replies and quotes only
        max_media=MAX_IMAGES,
        oauth=False,  # app-password sessions
    )

    # --- errors and limits ------------------------------------------------------------------------------
    def map_error(self, response: Response) -> errors.ConnectorError:
        data = response.data if isinstance(response.data, Mapping) else {}
        name = text_field(data.get("error"))
        message = text_field(data.get("message"))
        text = f"{name}: {message}" if name else None
        kwargs: dict[str, Any] = {"platform": self.platform, "status": response.status, "raw": response.data}
        if response.status == 429 or name == "RateLimitExceeded":
            info = self.parse_rate_limit(response.headers)
            reset = info.reset_at if info is not None and info.reset_at is not None else None
            return errors.RateLimited(text or "rate limited", retry_at=reset or retry_after(response.headers), **kwargs)
        if response.status >= 500:
            return errors.Transient(text or f"server error {response.status}", **kwargs)
        if name == "ExpiredToken" and "revoked" in message.lower():
            return errors.AuthRevoked(text or "session revoked", **kwargs)
        if name in ("ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"):
            return errors.AuthExpired(text or "session expired", **kwargs)
        if name in ("AccountTakedown", "AccountDeactivated", "AccountNotFound"):
            return errors.AuthRevoked(text or "account unavailable", **kwargs)
        if name in ("RecordNotFound", "NotFound") or "not found" in message.lower():
            return errors.NotFound(text or "not found", **kwargs)
        if name == "Forbidden":
            return errors.PermissionDenied(text or "not allowed", **kwargs)
        return default_error(response, self.platform, text)

    def parse_rate_limit(self, headers: Headers) -> RateLimitInfo | None:
        return _rate_limit_headers(headers)

    # --- XRPC plumbing ----------------------------------------------------------------------------------
    def _get(self, account: t.AccountRef, nsid: str, params: list[tuple[str, Any]]) -> Mapping[str, Any]:
        answer = self.call(
            account,
            lambda token: self.http.request(
                "GET", f"xrpc/{nsid}", token=token, bucket=nsid, account=account.remote_id, params=params
            ),
        )
        return expect(answer.data, Mapping, self.platform, nsid)

    def _post(self, account: t.AccountRef, nsid: str, body: Any = None, **kwargs: Any) -> Any:
        answer = self.call(
            account,
            lambda token: self.http.request(
                "POST", f"xrpc/{nsid}", token=token, bucket=nsid, account=account.remote_id, json_body=body, **kwargs
            ),
        )
        return answer.data

    def _token_set(self, data: Any) -> t.TokenSet:
        data = expect(data, Mapping, self.platform, "session")
        access = field_of(data, "accessJwt", str, self.platform, "session")
        refresh = field_of(data, "refreshJwt", str, self.platform, "session")
        try:
            claims = jwt.decode(access, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise errors.MalformedPayload(f"access token is not a JWT: {exc}", platform=self.platform) from exc
        exp = claims.get("exp")
        expires_at = datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) and exp > 0 else None
        scope = claims.get("scope")
        return t.TokenSet(access, refresh, expires_at, (scope,) if isinstance(scope, str) else ())

    # --- sessions -----------------------------------------------------------------------------------------
    def login(self, *, identifier: str, password: str) -> t.TokenSet:
        # https://docs.bsky.app/docs/api/com-atproto-server-create-session
        try:
            answer = self.http.request(
                "POST",
                "xrpc/com.atproto.server.createSession",
                bucket="com.atproto.server.createSession",
                account=identifier,
                json_body={"identifier": identifier.strip().lstrip("@"), "password": password.strip()},
            )
        except errors.AuthExpired as exc:  # 401 AuthenticationRequired: wrong identifier or app password
            raise errors.AuthRevoked(
                "invalid identifier or app password", platform=self.platform, status=exc.status, raw=exc.raw
            ) from exc
        return self._token_set(answer.data)

    def refresh(self, account: t.AccountRef) -> t.TokenSet:
        # https://docs.bsky.app/docs/api/com-atproto-server-refresh-session (Bearer = the refresh JWT)
        try:
            answer = self.http.request(
                "POST",
                "xrpc/com.atproto.server.refreshSession",
                token=account.tokens.refresh_token,
                bucket="com.atproto.server.refreshSession",
                account=account.remote_id,
            )
        except errors.AuthExpired as exc:
            raise errors.AuthRevoked(
                "the session cannot be refreshed; sign in again with an app password",
                platform=self.platform,
                status=exc.status,
                raw=exc.raw,
            ) from exc
        return self._token_set(answer.data)

    def revoke(self, account: t.AccountRef) -> None:
        # https://docs.bsky.app/docs/api/com-atproto-server-delete-session (Bearer = the refresh JWT)
        try:
            self.http.request(
                "POST",
                "xrpc/com.atproto.server.deleteSession",
                token=account.tokens.refresh_token,
                bucket="com.atproto.server.deleteSession",
                account=account.remote_id,
                expect_json=False,
            )
        except (errors.AuthExpired, errors.AuthRevoked):
            return  # already ended

    def list_accounts(self, tokens: t.TokenSet) -> list[t.AccountCandidate]:
        # https://docs.bsky.app/docs/api/com-atproto-server-get-session
        session = self.http.request(
            "GET", "xrpc/com.atproto.server.getSession", token=tokens.access_token, bucket="getSession"
        ).data
        did = field_of(session, "did", str, self.platform, "session")
        handle = field_of(session, "handle", str, self.platform, "session")
        display_name, avatar = handle, ""
        try:
            # https://docs.bsky.app/docs/api/app-bsky-actor-get-profile
            profile = self.http.request(
                "GET",
                "xrpc/app.bsky.actor.getProfile",
                token=tokens.access_token,
                bucket="app.bsky.actor.getProfile",
                account=did,
                params={"actor": did},
            ).data
        except errors.NotFound:
            profile = {}
        if isinstance(profile, Mapping):
            display_name = text_field(profile.get("displayName")) or handle
            avatar = text_field(profile.get("avatar"))
        return [
            t.AccountCandidate(
                remote_id=did, handle=handle, display_name=display_name, avatar_url=avatar, tokens=tokens,
                extra={"did": did},
            )
        ]  # fmt: skip

    # --- text -----------------------------------------------------------------------------------------------
    def validate_text(self, text: str) -> t.TextCheck:
        return check_bluesky(text)

    @staticmethod
    def compose_text(draft: t.Draft) -> str:
        """The post text: the draft's, with its link appended when the text does not carry it already."""
        text = draft.text
        if draft.link and draft.link not in text:
            text = f"{text.rstrip()}\n{draft.link}" if text.strip() else draft.link
        return text

    def _resolver(self, account: t.AccountRef) -> Callable[[str], str | None]:
        cache: dict[str, str | None] = {}

        def resolve(handle: str) -> str | None:
            if handle not in cache:
                try:
                    # https://docs.bsky.app/docs/api/com-atproto-identity-resolve-handle
                    data = self._get(account, "com.atproto.identity.resolveHandle", [("handle", handle)])
                    did = data.get("did")
                    cache[handle] = did if isinstance(did, str) and did.startswith("did:") else None
                except (errors.ValidationError, errors.NotFound):
                    cache[handle] = None
            return cache[handle]

        return resolve

    # --- publishing -----------------------------------------------------------------------------------------
    def publish(self, account: t.AccountRef, draft: t.Draft) -> t.RemotePost:
        text = self.compose_text(draft)
        check = self.validate_text(text)
        if not check.ok:
            raise errors.ValidationError("; ".join(check.problems), platform=self.platform)
        if not text.strip() and not draft.media:
            raise errors.ValidationError("a post needs text or an image", platform=self.platform)
        if len(draft.media) > MAX_IMAGES:
            raise errors.ValidationError(f"at most {MAX_IMAGES} images per post", platform=self.platform)
        for item in draft.media:
            if not item.mime_type.startswith("image/"):
                raise errors.ValidationError(f"{item.mime_type}: only images can be attached", platform=self.platform)
            if len(item.content) > MAX_IMAGE_BYTES:
                raise errors.ValidationError(f"image over {MAX_IMAGE_BYTES} bytes", platform=self.platform)
        created = now_iso()
        record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": created}
        facets = build_facets(text, self._resolver(account))
        if facets:
            record["facets"] = facets
        if draft.reply_to:
            record["reply"] = self._reply_refs(account, draft.reply_to)
        if draft.media:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [{"alt": item.alt_text, "image": self._upload(account, item.content, item.mime_type)}
                           for item in draft.media],
            }  # fmt: skip
        elif draft.link:
            record["embed"] = {
                "$type": "app.bsky.embed.external",
                "external": {"uri": draft.link, "title": "", "description": ""},
            }
        # https://docs.bsky.app/docs/api/com-atproto-repo-create-record
        data = self._post(
            account, "com.atproto.repo.createRecord", {"repo": account.remote_id, "collection": POST, "record": record}
        )
        uri = field_of(data, "uri", str, self.platform, "createRecord")
        field_of(data, "cid", str, self.platform, "createRecord")
        return t.RemotePost(
            id=uri, url=permalink(account.handle, uri), created_at=parse_time(created), text=text, raw=dict(data)
        )

    def _upload(self, account: t.AccountRef, content: bytes, mime_type: str) -> dict[str, Any]:
        # https://docs.bsky.app/docs/api/com-atproto-repo-upload-blob (content-addressed: safe to repeat)
        data = self._post(
            account,
            "com.atproto.repo.uploadBlob",
            data=content,
            headers={"Content-Type": mime_type},
            idempotent=True,
        )
        return dict(field_of(data, "blob", Mapping, self.platform, "uploadBlob"))

    def _post_view(self, account: t.AccountRef, uri: str) -> Mapping[str, Any]:
        # https://docs.bsky.app/docs/api/app-bsky-feed-get-posts
        data = self._get(account, "app.bsky.feed.getPosts", [("uris", uri)])
        posts = field_of(data, "posts", list, self.platform, "getPosts")
        view = next((p for p in posts if isinstance(p, Mapping) and p.get("uri") == uri), None)
        if view is None:
            raise errors.NotFound(f"no such post: {uri}", platform=self.platform)
        return view

    def _strong_ref(self, view: Mapping[str, Any], uri: str) -> dict[str, str]:
        """A post's ``{uri, cid}``: how a reply or a like names the exact version it refers to."""
        return {"uri": uri, "cid": field_of(view, "cid", str, self.platform, "post")}

    def _reply_refs(self, account: t.AccountRef, parent_uri: str) -> dict[str, Any]:
        """``{root, parent}`` strongRefs: the parent itself, and its own root when it is a reply."""
        split_uri(parent_uri)
        view = self._post_view(account, parent_uri)
        parent = self._strong_ref(view, parent_uri)
        record = view.get("record")
        reply = record.get("reply") if isinstance(record, Mapping) else None
        root = reply.get("root") if isinstance(reply, Mapping) else None
        if isinstance(root, Mapping) and isinstance(root.get("uri"), str) and isinstance(root.get("cid"), str):
            return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent}
        return {"root": parent, "parent": parent}

    def reply(
        self, account: t.AccountRef, target_id: str, text: str, *, idempotency_key: str | None = None
    ) -> t.RemotePost:
        # XRPC takes no idempotency key; a lost answer is reconciled with find_reply.
        return self.publish(account, t.Draft(text=text, reply_to=target_id))

    def like(self, account: t.AccountRef, remote_id: str) -> None:
        """Create an ``app.bsky.feed.like`` record for the post, unless the post view says we already like
        it (the repo would take a second record; the AppView counts one like per account anyway)."""
        split_uri(remote_id)
        view = self._post_view(account, remote_id)
        viewer = view.get("viewer")
        if isinstance(viewer, Mapping) and isinstance(viewer.get("like"), str):
            return
        record = {"$type": LIKE, "subject": self._strong_ref(view, remote_id), "createdAt": now_iso()}
        # https://docs.bsky.app/docs/api/com-atproto-repo-create-record
        data = self._post(
            account, "com.atproto.repo.createRecord", {"repo": account.remote_id, "collection": LIKE, "record": record}
        )
        field_of(data, "uri", str, self.platform, "createRecord")

    def delete(self, account: t.AccountRef, remote_id: str) -> None:
        repo, collection, rkey = split_uri(remote_id)
        if repo != account.remote_id:
            raise errors.PermissionDenied("only the account's own posts can be deleted", platform=self.platform)
        # https://docs.bsky.app/docs/api/com-atproto-repo-delete-record (deleting twice succeeds: safe to repeat)
        self._post(
            account,
            "com.atproto.repo.deleteRecord",
            {"repo": repo, "collection": collection, "rkey": rkey},
            idempotent=True,
        )

    def hide(self, account: t.AccountRef, comment_id: str, hidden: bool = True) -> None:
        """Add the reply to (or take it out of) the ``hiddenReplies`` of its root post's threadgate."""
        view = self._post_view(account, comment_id)
        record = view.get("record")
        reply = record.get("reply") if isinstance(record, Mapping) else None
        root = reply.get("root") if isinstance(reply, Mapping) else None
        root_uri = root.get("uri") if isinstance(root, Mapping) else None
        if not isinstance(root_uri, str):
            raise errors.ValidationError("only replies can be hidden", platform=self.platform)
        repo, _, rkey = split_uri(root_uri)
        if repo != account.remote_id:
            raise errors.PermissionDenied(
                "only replies in the account's own threads can be hidden", platform=self.platform
            )
        try:
            # https://docs.bsky.app/docs/api/com-atproto-repo-get-record
            gate = self._get(
                account, "com.atproto.repo.getRecord", [("repo", repo), ("collection", THREADGATE), ("rkey", rkey)]
            ).get("value")
        except errors.NotFound:
            gate = None
        value = (
            dict(gate) if isinstance(gate, Mapping) else {"$type": THREADGATE, "post": root_uri, "createdAt": now_iso()}
        )
        current = value.get("hiddenReplies")
        replies = [u for u in current if isinstance(u, str)] if isinstance(current, list) else []
        if hidden and comment_id not in replies:
            replies.append(comment_id)
        elif not hidden:
            replies = [u for u in replies if u != comment_id]
        if len(replies) > MAX_HIDDEN_REPLIES:
            raise errors.ValidationError(f"a thread hides at most {MAX_HIDDEN_REPLIES} replies", platform=self.platform)
        value["hiddenReplies"] = replies
        # https://docs.bsky.app/docs/api/com-atproto-repo-put-record (same record again: safe to repeat)
        self._post(
            account,
            "com.atproto.repo.putRecord",
            {"repo": repo, "collection": THREADGATE, "rkey": rkey, "record": value},
            idempotent=True,
        )

    # --- reading --------------------------------------------------------------------------------------------
    def fetch_mentions(self, account: t.AccountRef, cursor: str | None) -> t.Page:
        """Mentions, replies and quotes from the notification list (newest first, opaque page cursor, no
        "since"): each walk pages back from the newest until an item returned by an earlier walk."""
        # https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications
        params = [("limit", PAGE_SIZE), *(("reasons", reason) for reason in NOTIFICATION_KINDS)]
        return self._walk(
            account, cursor, "app.bsky.notification.listNotifications", params, "notifications",
            self.normalize_notification,
        )  # fmt: skip

    def search(self, account: t.AccountRef, query: str, cursor: str | None) -> t.Page:
        # https://docs.bsky.app/docs/api/app-bsky-feed-search-posts
        params = [("q", query), ("sort", "latest"), ("limit", SEARCH_PAGE_SIZE)]
        return self._walk(account, cursor, "app.bsky.feed.searchPosts", params, "posts", self.normalize_post_view)

    def _walk(
        self,
        account: t.AccountRef,
        cursor: str | None,
        nsid: str,
        params: list[tuple[str, Any]],
        key: str,
        normalize: Callable[[Any], t.Interaction | None],
    ) -> t.Page:
        """One page of a newest-first list, remembering the newest item returned (its ``indexedAt`` and the
        URIs sharing that instant). A first poll takes the latest page only; later polls page back from the
        newest item until one already returned, so items arriving during a walk wait for the next walk."""
        state = decode_cursor(cursor)
        first_poll = "bound" not in state
        bound = _marker(state.get("bound"))
        raw_walk = state.get("walk")
        walk: Mapping[str, Any] = raw_walk if isinstance(raw_walk, Mapping) else {}
        top = _marker(walk.get("top"))
        query = list(params)
        if isinstance(walk.get("page"), str):
            query.append(("cursor", walk["page"]))
        data = self._get(account, nsid, query)
        raw_items = field_of(data, key, list, self.platform, nsid)
        next_page = data.get("cursor") if isinstance(data.get("cursor"), str) and data.get("cursor") else None
        fresh: list[Any] = []
        reached = False
        for raw in raw_items:
            mark = _item_mark(raw)
            seen = (
                mark is not None
                and bound is not None
                and (mark[0] < bound[0] or (mark[0] == bound[0] and mark[1] in bound[1]))
            )
            if seen:
                reached = True
                continue
            if reached and mark is None:
                continue  # past the newest known item; without a time it cannot be placed
            fresh.append(raw)
            if mark is not None:
                top = _newer(top, (mark[0], {mark[1]}))
        items, quarantined = self.normalize_page(fresh, normalize)
        if first_poll or reached or next_page is None or not raw_items:
            state = {"bound": _dump(_newer(top, bound))}
            return t.Page(items=items, cursor=encode_cursor(state), has_more=False, quarantined=quarantined)
        state = {"bound": _dump(bound), "walk": {"top": _dump(top), "page": next_page}}
        return t.Page(items=items, cursor=encode_cursor(state), has_more=True, quarantined=quarantined)

    def normalize_notification(self, raw: Any) -> t.Interaction | None:
        """A ``listNotifications`` item as an Interaction; likes, follows and reposts are not ours (None)."""
        raw = expect(raw, Mapping, self.platform, "notification")
        reason = raw.get("reason")
        kind = NOTIFICATION_KINDS.get(reason) if isinstance(reason, str) else None
        if kind is None:
            return None
        return self._interaction(raw, kind)

    def normalize_post_view(self, raw: Any) -> t.Interaction:
        """A postView (search results) as an Interaction: a reply when its record replies, else a mention."""
        raw = expect(raw, Mapping, self.platform, "post")
        record = field_of(raw, "record", Mapping, self.platform, "post")
        kind = t.InteractionKind.REPLY if isinstance(record.get("reply"), Mapping) else t.InteractionKind.MENTION
        return self._interaction(raw, kind)

    def _interaction(self, raw: Mapping[str, Any], kind: t.InteractionKind) -> t.Interaction:
        uri = field_of(raw, "uri", str, self.platform, "post")
        if not uri.startswith("at://"):
            raise errors.MalformedPayload(f"not an AT-URI: {uri[:100]!r}", platform=self.platform, raw=raw)
        field_of(raw, "cid", str, self.platform, "post")
        author = field_of(raw, "author", Mapping, self.platform, "post")
        record = field_of(raw, "record", Mapping, self.platform, "post")
        did = field_of(author, "did", str, self.platform, "author")
        handle = field_of(author, "handle", str, self.platform, "author")
        text = field_of(record, "text", str, self.platform, "record")
        created = record.get("createdAt")
        created_at = _time(created if created is not None else raw.get("indexedAt"), "record.createdAt")
        reply = record.get("reply") if isinstance(record.get("reply"), Mapping) else {}
        parent, root = reply.get("parent"), reply.get("root")
        langs = record.get("langs")
        return t.Interaction(
            platform=self.platform,
            remote_id=uri,
            kind=kind,
            author=t.Author(
                id=did,
                handle=handle,
                display_name=text_field(author.get("displayName")),
                avatar_url=text_field(author.get("avatar")),
            ),
            text=text,
            created_at=created_at,
            in_reply_to_id=text_field(parent.get("uri")) or None if isinstance(parent, Mapping) else None,
            root_id=text_field(root.get("uri")) or None if isinstance(root, Mapping) else None,
            permalink=permalink(handle, uri),
            lang=langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None,
            raw=dict(raw),
        )

    def metrics(self, account: t.AccountRef, remote_ids: list[str]) -> dict[str, t.Metrics]:
        """Likes, reposts, replies and quotes from post views; Bluesky publishes no impressions or views."""
        out: dict[str, t.Metrics] = {}
        for start in range(0, len(remote_ids), GET_POSTS_MAX):
            chunk = remote_ids[start : start + GET_POSTS_MAX]
            # https://docs.bsky.app/docs/api/app-bsky-feed-get-posts
            data = self._get(account, "app.bsky.feed.getPosts", [("uris", uri) for uri in chunk])
            for view in field_of(data, "posts", list, self.platform, "getPosts"):
                if not isinstance(view, Mapping) or not isinstance(view.get("uri"), str):
                    continue
                out[view["uri"]] = metrics_from(
                    view, likes="likeCount", shares="repostCount", replies="replyCount", quotes="quoteCount"
                )
        return out

    def followers(self, account: t.AccountRef) -> int | None:
        # https://docs.bsky.app/docs/api/app-bsky-actor-get-profile
        profile = self._get(account, "app.bsky.actor.getProfile", [("actor", account.remote_id)])
        return count_of(profile, "followersCount")

    def find_post(self, account: t.AccountRef, *, text: str, since: datetime) -> t.RemotePost | None:
        """Our post with this text since ``since``, from the account's own feed (newest first)."""
        return self._find_own(account, since, lambda posted, _parent: self._same_text(posted, text))

    def find_reply(self, account: t.AccountRef, *, target_id: str, text: str, since: datetime) -> t.RemotePost | None:
        """Our post replying to ``target_id`` (its record's ``reply.parent``) with this text."""
        return self._find_own(
            account, since, lambda posted, parent: parent == target_id and self._same_text(posted, text)
        )

    def _find_own(
        self, account: t.AccountRef, since: datetime, matches: Callable[[str, str | None], bool]
    ) -> t.RemotePost | None:
        """The newest of the account's posts since ``since`` for which ``matches(text, parent URI)``, from its
        author feed with replies (``posts_with_replies``)."""
        page: str | None = None
        for _ in range(FIND_POST_PAGES):
            params: list[tuple[str, Any]] = [("actor", account.remote_id), ("limit", PAGE_SIZE),
                                             ("filter", "posts_with_replies")]  # fmt: skip
            if page:
                params.append(("cursor", page))
            # https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed
            data = self._get(account, "app.bsky.feed.getAuthorFeed", params)
            older = False
            for entry in field_of(data, "feed", list, self.platform, "getAuthorFeed"):
                view = entry.get("post") if isinstance(entry, Mapping) else None
                record = view.get("record") if isinstance(view, Mapping) else None
                if not isinstance(record, Mapping) or not isinstance(view.get("uri"), str):  # type: ignore[union-attr]
                    continue
                try:
                    created = parse_time(record.get("createdAt"))
                except (ValueError, TypeError, OverflowError, OSError):
                    continue
                if created < since:
                    older = True
                    continue
                posted = text_field(record.get("text"))
                reply = record.get("reply")
                parent = reply.get("parent") if isinstance(reply, Mapping) else None
                parent_uri = text_field(parent.get("uri")) or None if isinstance(parent, Mapping) else None
                if matches(posted, parent_uri):
                    uri = view["uri"]  # type: ignore[index]
                    return t.RemotePost(id=uri, url=permalink(account.handle, uri), created_at=created, text=posted,
                                        raw=dict(view), in_reply_to_id=parent_uri)  # type: ignore[arg-type]  # fmt: skip
            page = data.get("cursor") if isinstance(data.get("cursor"), str) else None
            if older or not page:
                return None
        return None

    @staticmethod
    def _same_text(posted: str, text: str) -> bool:
        """The text we sent: the draft's own, or the draft's with its link appended (``compose_text``)."""
        if posted.strip() == text.strip():
            return True
        head, _, tail = posted.rpartition("\n")
        return head.strip() == text.strip() and bool(URL_RE.fullmatch(tail.strip()))
