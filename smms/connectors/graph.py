"""What the Facebook Pages and Instagram (Facebook Login) connectors share: Meta's Graph API.

- Errors are ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` with HTTP 400 for most
  failures; the code decides (190/463 expired, 190/other revoked, 4/17/32/613/80001/80002 throttled, 506
  duplicate, 100 invalid, 100/33 no such object, 1/2 transient).
- Usage is reported as percentages in ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` (the latter with
  ``estimated_time_to_regain_access`` in minutes).
- Lists are ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next"}}``; ``next`` is absent on the
  last page.
- Facebook Login: code → short-lived user token → long-lived (60-day) user token → Page tokens that do not
  expire. Nothing can be refreshed: an expired token means logging in again.

Mentions on both platforms are comments on the account's recent posts; ``GraphConnector.fetch_mentions``
walks them with the cursor contract of ``base.Connector`` (see ``_walk_comments``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from . import errors, oauth
from . import types as t
from .base import Connector, decode_cursor, encode_cursor, parse_time, text_field
from .http import Response, default_error, expect, field_of
from .ratelimit import Headers, RateLimitInfo, meta_usage

THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80005, 80006})
PERMISSION_CODES = frozenset({3, 10, 368})
VALIDATION_CODES = frozenset({100, 324, 1609005, 9004, 36003, 2207026})
TRANSIENT_CODES = frozenset({1, 2, 9007})
# Without a usage header Meta gives no time; its throttles last "up to an hour" as usage decays.
DEFAULT_THROTTLE_WAIT = timedelta(minutes=5)
# Instagram's publishing quota is a rolling 24 h window; the first slot frees when the oldest post ages out.
QUOTA_RETRY = timedelta(hours=1)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def graph_retry_at(headers: Headers) -> datetime:
    """When a throttled caller may try again: ``Retry-After`` if a proxy sent one, else the longest
    ``estimated_time_to_regain_access`` of the usage headers, else a default wait."""
    now = datetime.now(UTC)
    retry_after = _int(headers.get("Retry-After"))
    if retry_after is not None and retry_after >= 0:
        return now + timedelta(seconds=retry_after)
    info = meta_usage(headers)
    if info is not None and info.reset_at is not None:
        return info.reset_at
    return now + DEFAULT_THROTTLE_WAIT


def graph_error(response: Response, platform: str) -> errors.ConnectorError:
    """A Graph error answer as a normalized error (status alone when the body is not a Graph error)."""
    body = response.data.get("error") if isinstance(response.data, Mapping) else None
    if not isinstance(body, Mapping):
        if response.status == 429:
            return errors.RateLimited("rate limited", retry_at=graph_retry_at(response.headers), platform=platform,
                                      status=429, raw=response.data)  # fmt: skip
        return default_error(response, platform)
    code, subcode = _int(body.get("code")), _int(body.get("error_subcode"))
    raw_message = body.get("message")
    message = raw_message if isinstance(raw_message, str) else f"Graph error {code}"
    kwargs: dict[str, Any] = {"platform": platform, "status": response.status, "raw": response.data}
    if code == 190:
        if subcode == 463:
            return errors.AuthExpired(message, **kwargs)
        return errors.AuthRevoked(message, **kwargs)
    if code in (102, 104):
        return errors.AuthRevoked(message, **kwargs)
    if code in THROTTLE_CODES or response.status == 429:
        return errors.RateLimited(message, retry_at=graph_retry_at(response.headers), **kwargs)
    if code == 9 and subcode == 2207042:
        return errors.QuotaExhausted(message, reset_at=datetime.now(UTC) + QUOTA_RETRY, **kwargs)
    if code == 506:
        return errors.Duplicate(message, **kwargs)
    if (code == 100 and subcode == 33) or code == 803:
        return errors.NotFound(message, **kwargs)
    if code in PERMISSION_CODES or (code is not None and 200 <= code <= 299):
        return errors.PermissionDenied(message, **kwargs)
    if code in VALIDATION_CODES:
        return errors.ValidationError(message, **kwargs)
    if code in TRANSIENT_CODES or body.get("is_transient") is True or response.status >= 500:
        return errors.Transient(message, **kwargs)
    return default_error(response, platform, message)


def graph_list(response: Response, platform: str, what: str) -> tuple[list[Any], str | None]:
    """``data`` of a Graph list and the ``after`` cursor of the next page (None on the last page)."""
    data = field_of(expect(response.data, Mapping, platform, what), "data", list, platform, what)
    paging = response.data.get("paging")
    if not isinstance(paging, Mapping) or not paging.get("next"):
        return data, None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, Mapping) else None
    return data, after if isinstance(after, str) and after else None


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def time_field(item: Mapping[str, Any], key: str, platform: str, what: str) -> datetime:
    """A required Graph timestamp (``2019-09-16T21:07:51+0000``) of an item, or MalformedPayload."""
    try:
        return parse_time(item.get(key))
    except (ValueError, TypeError, OverflowError, OSError):
        raise errors.MalformedPayload(f"{what}: {key} is not a time", platform=platform, raw=item) from None


def comment_interaction(
    item: Mapping[str, Any],
    platform: str,
    *,
    comment_id: str,
    author: t.Author,
    text: str,
    created: datetime,
    parent_id: str | None,
    post_id: str,
    hidden_key: str,
    permalink: str = "",
) -> t.Interaction:
    """A comment on a post (a reply when it has a parent comment) as an Interaction; its ``hidden_key`` field,
    when there, must be a boolean."""
    hidden = item.get(hidden_key, False)
    if not isinstance(hidden, bool):
        raise errors.MalformedPayload(f"comment.{hidden_key} is not a boolean", platform=platform, raw=item)
    return t.Interaction(
        platform=platform,
        remote_id=comment_id,
        kind=t.InteractionKind.REPLY if parent_id else t.InteractionKind.COMMENT,
        author=author,
        text=text,
        created_at=created,
        in_reply_to_id=parent_id or post_id,
        root_id=post_id,
        permalink=permalink,
        is_hidden=hidden,
        raw=item,
    )


def _read_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[list[Any]], dict[str, Any] | None]:
    """The walker's state from a decoded cursor; whatever does not have the expected shape is dropped
    (a cursor from an older version starts over rather than failing)."""

    def is_bound(value: Any) -> bool:
        return (
            isinstance(value, dict)
            and isinstance(value.get("m", ""), str)
            and (value.get("t") is None or type(value.get("t")) is int)
            and isinstance(value.get("k", []), list)
        )

    raw_bounds = state.get("b")
    bounds = {k: v for k, v in raw_bounds.items() if is_bound(v)} if isinstance(raw_bounds, dict) else {}
    raw_queue = state.get("q")
    queue = [
        list(entry)
        for entry in (raw_queue if isinstance(raw_queue, list) else [])
        if isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and (entry[1] is None or isinstance(entry[1], str))
    ]
    walk = state.get("w")
    maybe_str, maybe_int = (str, type(None)), (int, type(None))
    keys: dict[str, type | tuple[type, ...]] = {
        "p": str, "m": maybe_str, "a": maybe_str, "t": maybe_int, "k": list, "nt": maybe_int, "nk": list,
    }  # fmt: skip
    if not (isinstance(walk, dict) and all(isinstance(walk.get(k), kind) for k, kind in keys.items())):
        walk = None
    return bounds, queue, walk


class GraphConnector(Connector):
    """Facebook Login, Graph errors and usage headers, paging, the calls on posts and comments and the comment
    walker of both connectors.

    The two platforms make the same calls under other field and edge names: subclasses name them in the class
    attributes below, and give ``_comment`` (a raw comment as an Interaction).
    """

    bucket: ClassVar[str] = "graph"  # Meta budgets by app and Page, not by endpoint
    text_key: ClassVar[str]  # the text of a post
    time_key: ClassVar[str]  # the creation time of a post or a comment
    permalink_key: ClassVar[str]  # the public address of a post
    posts_edge: ClassVar[str]  # the account's own posts (``find_post``)
    threads_edge: ClassVar[str]  # the recent posts whose comments are watched (``_threads``)
    thread_fields: ClassVar[str]  # id and newest comment of a post in that edge
    reply_edge: ClassVar[str]  # the edge that answers a comment (``reply``)
    reply_what: ClassVar[str]  # what ``reply`` creates, in error messages
    hide_key: ClassVar[str]  # the parameter that hides a comment (``hide``)
    comment_text_key: ClassVar[str]  # the text of a comment
    answer_edges: ClassVar[tuple[str, ...]]  # where a target's answers are listed, the first it has (``find_reply``)
    answer_fields: ClassVar[str]  # what ``find_reply`` reads of each answer
    comment_fields: ClassVar[str]
    comment_filter: ClassVar[Mapping[str, str]]  # extra parameters of the comments edge
    comment_since: ClassVar[bool]  # whether the comments edge takes ``since``
    recent_posts: ClassVar[int] = 10
    comment_page_size: ClassVar[int] = 50
    kept_bounds: ClassVar[int] = 20

    # --- errors and usage ---------------------------------------------------------------------------------
    def map_error(self, response: Response) -> errors.ConnectorError:
        return graph_error(response, self.platform)

    def parse_rate_limit(self, headers: Headers) -> RateLimitInfo | None:
        return meta_usage(headers)

    # --- Facebook Login -----------------------------------------------------------------------------------
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        # https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
        # The code flow of a confidential client needs no PKCE; the verifier is not sent.
        return oauth.authorization_url(self.config, redirect_uri=redirect_uri, state=state, scope_separator=",")

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> t.TokenSet:
        # https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow#confirm
        short = oauth.exchange_code(
            self.config, platform=self.platform, code=code, redirect_uri=redirect_uri, method="GET", basic_auth=False
        )
        return self._long_lived(short)

    def _long_lived(self, short: t.TokenSet) -> t.TokenSet:
        # https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
        response = self.http.request(
            "GET",
            self.config.token_url,
            bucket="oauth",
            params={
                "grant_type": "fb_exchange_token",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
                "fb_exchange_token": short.access_token,
            },
        )
        tokens = oauth.token_set(response.data, self.platform)
        return t.TokenSet(tokens.access_token, "", tokens.expires_at, tokens.scopes or self._granted(tokens))

    def _granted(self, tokens: t.TokenSet) -> tuple[str, ...]:
        """The permissions the person granted (the token answer does not say): best effort, () if unknown."""
        try:
            # https://developers.facebook.com/docs/graph-api/reference/debug_token
            response = self.http.request(
                "GET", "debug_token", token=tokens.access_token, bucket="oauth",
                params={"input_token": tokens.access_token},
            )  # fmt: skip
        except errors.ConnectorError:
            return ()
        data = response.data.get("data") if isinstance(response.data, Mapping) else None
        scopes = data.get("scopes") if isinstance(data, Mapping) else None
        return tuple(s for s in scopes if isinstance(s, str)) if isinstance(scopes, list) else ()

    def revoke(self, account: t.AccountRef) -> None:
        # https://developers.facebook.com/docs/facebook-login/guides/permissions/request-revoke#revokelogin
        # Meta revokes per person (DELETE /{user-id}/permissions with the user token, which we do not keep):
        # it would cut every Page and Instagram account of that person, not just this one.
        raise errors.NotSupported(
            "Meta revokes an app for the whole person, not one Page; forget the token or remove the app in "
            "Facebook's Business Integrations settings",
            platform=self.platform,
        )

    def _pages(self, tokens: t.TokenSet, fields: str) -> list[Mapping[str, Any]]:
        """The Pages the signed-in person manages (``/me/accounts``), every page of the list."""
        # https://developers.facebook.com/docs/graph-api/reference/user/accounts/
        pages: list[Mapping[str, Any]] = []
        after: str | None = None
        for _ in range(20):
            params = {"fields": fields, "limit": 100, **({"after": after} if after else {})}
            response = self.http.request("GET", "me/accounts", token=tokens.access_token, bucket=self.bucket,
                                         params=params)  # fmt: skip
            data, after = graph_list(response, self.platform, "me/accounts")
            pages.extend(p for p in data if isinstance(p, Mapping) and isinstance(p.get("id"), str))
            if after is None:
                break
        return pages

    # --- requests ---------------------------------------------------------------------------------------
    def _request(self, account: t.AccountRef, method: str, path: str, **kwargs: Any) -> Response:
        return self.call(account, lambda token: self.http.request(
            method, path, token=token, bucket=self.bucket, account=account.remote_id, **kwargs))  # fmt: skip

    def _created_id(self, response: Response, what: str, key: str = "id") -> str:
        return str(field_of(response.data, key, str, self.platform, what))

    # --- posts --------------------------------------------------------------------------------------------
    def _permalink(self, post_id: str) -> str:
        """The address of a post whose answer gives none; "" where it cannot be told from the id."""
        return ""

    def _remote_post(self, node: Mapping[str, Any], post_id: str, text: str) -> t.RemotePost:
        """A post as the Graph API reads it back (``id``, the time and the permalink fields)."""
        try:
            created: datetime | None = parse_time(node.get(self.time_key))
        except ValueError:
            created = None
        url = text_field(node.get(self.permalink_key)) or self._permalink(post_id)
        return t.RemotePost(id=post_id, url=url, created_at=created, text=text, raw=node)

    def delete(self, account: t.AccountRef, remote_id: str) -> None:
        # https://developers.facebook.com/docs/graph-api/reference/post/#deleting
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media#deleting
        self._request(account, "DELETE", remote_id)

    def find_post(self, account: t.AccountRef, *, text: str, since: datetime) -> t.RemotePost | None:
        # https://developers.facebook.com/docs/graph-api/reference/page/feed/#read (the /posts edge)
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
        found = self._find_in_list(
            account,
            f"{account.remote_id}/{self.posts_edge}",
            fields=f"id,{self.text_key},{self.time_key},{self.permalink_key}",
            since=since,
            matches=lambda item: self.same_text(item.get(self.text_key), text),
        )
        return None if found is None else self._remote_post(found, found["id"], text)

    # --- comments ---------------------------------------------------------------------------------------
    def reply(
        self, account: t.AccountRef, target_id: str, text: str, *, idempotency_key: str | None = None
    ) -> t.RemotePost:
        # The Graph API takes no idempotency key; a lost answer is reconciled with find_reply.
        if not text.strip():
            raise errors.ValidationError("a reply needs text", platform=self.platform)
        # https://developers.facebook.com/docs/graph-api/reference/object/comments/#publish
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
        response = self._request(account, "POST", f"{target_id}/{self.reply_edge}", data={"message": text})
        return t.RemotePost(id=self._created_id(response, self.reply_what), text=text, in_reply_to_id=target_id)

    def comment(self, account: t.AccountRef, post_id: str, text: str) -> t.RemotePost:
        """A top-level comment by the account on its own post (the "first comment" under a new post)."""
        if not text.strip():
            raise errors.ValidationError("a comment needs text", platform=self.platform)
        # https://developers.facebook.com/docs/graph-api/reference/object/comments/#publish
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments#creating
        response = self._request(account, "POST", f"{post_id}/comments", data={"message": text})
        return t.RemotePost(id=self._created_id(response, "comment"), text=text)

    def hide(self, account: t.AccountRef, comment_id: str, hidden: bool = True) -> None:
        # https://developers.facebook.com/docs/graph-api/reference/comment/#updating
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment#updating
        self._request(account, "POST", comment_id, data={self.hide_key: "true" if hidden else "false"})

    def delete_comment(self, account: t.AccountRef, comment_id: str) -> None:
        # https://developers.facebook.com/docs/graph-api/reference/comment/#deleting
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment#deleting
        self._request(account, "DELETE", comment_id)

    # --- mentions: comments on the account's recent posts -------------------------------------------------
    def _threads(self, account: t.AccountRef) -> list[tuple[str, str | None]]:
        """(post id, marker) of the recent posts, newest first. The marker (the newest comment's id) changes
        when a comment arrives; "" means no comments, None unknown (walk it)."""
        # https://developers.facebook.com/docs/graph-api/reference/page/feed/#read
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
        params = {"fields": self.thread_fields, "limit": self.recent_posts}
        response = self._request(account, "GET", f"{account.remote_id}/{self.threads_edge}", params=params)
        data, _after = graph_list(response, self.platform, self.threads_edge)
        return [
            (post["id"], newest_comment_marker(post.get("comments")))
            for post in data
            if isinstance(post, Mapping) and isinstance(post.get("id"), str)
        ]

    def _comment_page(
        self, account: t.AccountRef, post_id: str, after: str | None, since: int | None
    ) -> tuple[list[Any], str | None]:
        """One page of a post's comments, newest first: (raw items, after cursor or None at the end)."""
        params: dict[str, Any] = {**self.comment_filter, "fields": self.comment_fields, "limit": self.comment_page_size}
        if after:
            params["after"] = after
        if since is not None and self.comment_since:
            params["since"] = since
        # https://developers.facebook.com/docs/graph-api/reference/object/comments/#read
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
        response = self._request(account, "GET", f"{post_id}/comments", params=params)
        return graph_list(response, self.platform, "comments")

    def _expand(self, raw: Any) -> list[Any]:
        """The items one listed comment stands for (Instagram nests replies in their comment)."""
        return [raw]

    def _comment(self, account: t.AccountRef, post_id: str, raw: Any) -> t.Interaction | None:
        raise NotImplementedError

    def _time_of(self, raw: Any) -> int | None:
        if not isinstance(raw, Mapping):
            return None
        try:
            return unix(parse_time(raw.get(self.time_key)))
        except (ValueError, TypeError, OverflowError, OSError):
            return None

    def fetch_mentions(self, account: t.AccountRef, cursor: str | None) -> t.Page:
        """One page of new comments. The cursor keeps, per recent post, a bound: the newest second seen and
        the ids seen at that second. A poll lists the recent posts, queues those whose newest comment changed,
        then walks each newest-first with the platform's id-based ``after`` cursor until it reaches the
        bound; the bound moves to the walk's own newest item only when the walk ends. Comments arriving
        during a walk sort before its first page, so the next poll finds them above the new bound: no
        duplicate, no gap."""
        bounds, queue, walk = _read_state(decode_cursor(cursor))
        if walk is None and not queue:
            threads = self._threads(account)
            listed = [pid for pid, _ in reversed(threads)]  # oldest first, as the bounds are kept
            # Bounds of posts that left the window are kept a while: a post comes back when a newer one is
            # deleted, and walking it from scratch would repeat its comments.
            kept = [pid for pid in bounds if pid not in listed]
            kept = kept[max(0, len(kept) - self.kept_bounds) :]
            bounds = {pid: bounds[pid] for pid in [*kept, *(p for p in listed if p in bounds)]}
            for pid, marker in threads:
                if marker == "" and pid not in bounds:
                    bounds[pid] = {"m": ""}  # no comment yet: nothing to walk
                elif marker is None or bounds.get(pid, {}).get("m") != marker:
                    queue.append([pid, marker])
        if walk is None and queue:
            pid, marker = queue.pop(0)
            old = bounds.get(pid, {})
            walk = {"p": pid, "m": marker, "a": None, "t": old.get("t"), "k": old.get("k", []), "nt": None, "nk": []}
        if walk is None:
            return t.Page([], encode_cursor({"b": bounds}), has_more=False)
        items, quarantined, done = self._walk_comments(account, walk)
        if done:
            new_t, new_k = walk["nt"], walk["nk"]
            if new_t is None:
                new_t, new_k = walk["t"], walk["k"]
            elif new_t == walk["t"]:
                new_k = sorted(set(walk["k"]) | set(new_k))
            bounds[walk["p"]] = {"m": walk["m"], "t": new_t, "k": new_k}
            walk = None
        state = {"b": bounds, "q": queue, "w": walk}
        return t.Page(items, encode_cursor(state), has_more=bool(queue) or walk is not None, quarantined=quarantined)

    def _walk_comments(
        self, account: t.AccountRef, walk: dict[str, Any]
    ) -> tuple[list[t.Interaction], list[tuple[Mapping[str, Any], str]], bool]:
        """One page of the walk over one post's comments; updates ``walk`` in place. Returns (items,
        quarantined, walk finished)."""
        post_id, bound, seen = walk["p"], walk["t"], set(walk["k"])
        try:
            raw_items, after = self._comment_page(account, post_id, walk["a"], bound)
        except errors.NotFound:
            return [], [], True  # the post was deleted meanwhile
        fresh: list[Any] = []
        done = after is None
        for raw in raw_items:
            moment = self._time_of(raw)
            raw_id = raw.get("id") if isinstance(raw, Mapping) else None
            if moment is not None and bound is not None and moment < bound:
                done = True  # older than what the previous walks returned
                break
            if moment is not None and isinstance(raw_id, str):
                if walk["nt"] is None or moment > walk["nt"]:
                    walk["nt"], walk["nk"] = moment, [raw_id]
                elif moment == walk["nt"] and raw_id not in walk["nk"]:
                    walk["nk"].append(raw_id)
                if moment == bound and raw_id in seen:
                    continue
            fresh.extend(self._expand(raw))
        walk["a"] = after
        items, quarantined = self.normalize_page(fresh, lambda raw: self._comment(account, post_id, raw))
        return items, quarantined, done

    # --- reconciliation -----------------------------------------------------------------------------------
    def find_reply(self, account: t.AccountRef, *, target_id: str, text: str, since: datetime) -> t.RemotePost | None:
        """Our answer to ``target_id``, from the target's own list of answers (the first of
        ``answer_edges`` the target has): one by the account, with this text, created since ``since``."""
        answered = self._answered(account, target_id)
        for edge in self.answer_edges:
            # https://developers.facebook.com/docs/graph-api/reference/object/comments/#read
            # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment/replies
            # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments
            try:
                found = self._find_in_list(
                    account, f"{answered}/{edge}", fields=self.answer_fields, since=since,
                    matches=lambda item: self._ours(account, item)
                    and self.same_text(item.get(self.comment_text_key), text)
                    and (self._time_of(item) or 0) >= unix(since),
                )  # fmt: skip
            except (errors.NotFound, errors.ValidationError):
                continue  # the target has no such edge (a media has no replies, only comments)
            if found is None:
                return None
            return t.RemotePost(
                id=found["id"], created_at=parse_time(found.get(self.time_key)),
                text=text_field(found.get(self.comment_text_key)), raw=found, in_reply_to_id=target_id,
            )  # fmt: skip
        return None

    def _answered(self, account: t.AccountRef, target_id: str) -> str:
        """The node whose answers list a reply to ``target_id``: the target itself unless the network moves
        the reply elsewhere."""
        return target_id

    def _ours(self, account: t.AccountRef, item: Mapping[str, Any]) -> bool:
        """Whether a listed comment is by the account."""
        author = item.get("from")
        return isinstance(author, Mapping) and author.get("id") == account.remote_id

    @staticmethod
    def same_text(published: Any, text: str) -> bool:
        """Our post's text as the platform shows it: the draft's text, perhaps followed by the link we added."""
        if not isinstance(published, str):
            return False
        published, text = published.strip(), text.strip()
        return published == text or published.startswith(text + "\n\n")

    def _find_in_list(
        self,
        account: t.AccountRef,
        path: str,
        *,
        fields: str,
        since: datetime,
        matches: Callable[[Mapping[str, Any]], bool],
        max_pages: int = 5,
    ) -> Mapping[str, Any] | None:
        after: str | None = None
        for _ in range(max_pages):
            params: dict[str, Any] = {"fields": fields, "since": unix(since), "limit": 50}
            if after:
                params["after"] = after
            data, after = graph_list(self._request(account, "GET", path, params=params), self.platform, path)
            for item in data:
                if isinstance(item, Mapping) and isinstance(item.get("id"), str) and matches(item):
                    return item
            if after is None:
                break
        return None


def insight_value(data: list[Any], metric: str) -> int | None:
    """The lifetime value of ``metric`` in an insights answer (``data[].values[-1].value``)."""
    for entry in data:
        if not isinstance(entry, Mapping) or entry.get("name") != metric:
            continue
        values = entry.get("values")
        if isinstance(values, list) and values and isinstance(values[-1], Mapping):
            value = values[-1].get("value")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def newest_comment_marker(comments: Any) -> str | None:
    """The id of the newest comment in a ``comments.limit(1)`` expansion: "" without comments, None unreadable."""
    if comments is None:
        return ""
    data = comments.get("data") if isinstance(comments, Mapping) else None
    if not isinstance(data, list):
        return None
    if not data:
        return ""
    first = data[0]
    return first["id"] if isinstance(first, Mapping) and isinstance(first.get("id"), str) else None
