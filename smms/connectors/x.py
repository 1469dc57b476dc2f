"""X (Twitter) API v2: OAuth 2.0 with PKCE and rotating refresh tokens, posts with media, mentions with
``since_id`` + ``pagination_token``, recent search, hide replies, public metrics.

API facts: ``shared/platforms/x.md``; reference: https://docs.x.com/x-api/introduction
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from . import errors, oauth
from . import types as t
from .base import (
    Connector,
    decode_cursor,
    encode_cursor,
    metrics_from,
    parse_time,
    without_leading_mentions,
)
from .http import Response, default_error, expect, field_of
from .ratelimit import Headers, RateLimitInfo, epoch_headers, retry_after
from .text import URL_RE, check_x

TWITTER_EPOCH_MS = 1288834974657
ID_RE = re.compile(r"[0-9]{1,19}")
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,entities"
USER_FIELDS = "profile_image_url,public_metrics"
PAGE_SIZE = 100
FIND_POST_PAGES = 5
MEDIA_CATEGORY = {"image/gif": "tweet_gif"}

_parse_x_rate_limit = epoch_headers("x-rate-limit-")


def x_text(value: str) -> str:
    """v2 sends &, < and > as entities; undo exactly those (the text stays data, never markup)."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def snowflake_time(tweet_id: str) -> datetime | None:
    """The creation time carried in a snowflake id."""
    if not ID_RE.fullmatch(tweet_id) or int(tweet_id) < 1 << 22:
        return None
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, UTC)


def _comparable(text: str) -> str:
    # X wraps every URL in t.co and may normalize; compare texts with URLs masked.
    return URL_RE.sub("<url>", unicodedata.normalize("NFC", x_text(text))).strip()


class XConnector(Connector):
    platform = "x"
    capabilities: ClassVar[t.Capabilities] = t.Capabilities(
        like=True, hide=True, delete_comment=False, search=True, impressions=True, max_media=4
    )

    # --- errors and rate limits ------------------------------------------------------------------------
    def parse_rate_limit(self, headers: Headers) -> RateLimitInfo | None:
        return _parse_x_rate_limit(headers)

    def map_error(self, response: Response) -> errors.ConnectorError:
        data = response.data if isinstance(response.data, Mapping) else {}
        detail = _problem_detail(data)
        kwargs: dict[str, Any] = {"platform": self.platform, "status": response.status, "raw": response.data}
        problem_type = str(data.get("type", ""))
        if response.status == 429:
            info = self.parse_rate_limit(response.headers)
            reset = info.reset_at if info is not None and info.reset_at is not None else None
            if problem_type.endswith("/usage-capped"):
                return errors.QuotaExhausted(detail or "usage cap reached", reset_at=reset, **kwargs)
            now = datetime.now(UTC)
            retry_at = reset if reset is not None and reset > now else retry_after(response.headers)
            return errors.RateLimited(detail or "rate limited", retry_at=retry_at, **kwargs)
        if response.status == 403 and "duplicate" in detail.lower():
            return errors.Duplicate(detail, **kwargs)
        if response.status == 403 and "deleted or not visible" in detail.lower():
            return errors.NotFound(detail, **kwargs)
        if response.status == 400 and "cannot be found" in detail.lower():
            # Liking a deleted post: an invalid-request problem whose error says "This tweet cannot be found."
            return errors.NotFound(detail, **kwargs)
        if response.status == 400:
            return errors.ValidationError(detail or "invalid request", **kwargs)
        return default_error(response, self.platform, detail or None)

    # --- authorization -----------------------------------------------------------------------------------
    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token
        return oauth.authorization_url(self.config, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> t.TokenSet:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token (POST /2/oauth2/token)
        return oauth.exchange_code(
            self.config, platform=self.platform, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier
        )

    def refresh(self, account: t.AccountRef) -> t.TokenSet:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token (refresh_token)
        # The refresh token is single-use: the new one must be persisted (Connector.call does, via on_tokens).
        return oauth.refresh(self.config, platform=self.platform, refresh_token=account.tokens.refresh_token)

    def revoke(self, account: t.AccountRef) -> None:
        # https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/user-access-token (POST /2/oauth2/revoke)
        url = self.config.token_url.rsplit("/", 1)[0] + "/revoke"
        basic = base64.b64encode(f"{self.config.client_id}:{self.config.client_secret}".encode()).decode()
        tokens = account.tokens
        for value, hint in ((tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")):
            if value:
                self.http.request(
                    "POST",
                    url,
                    data={"token": value, "token_type_hint": hint},
                    headers={"Authorization": f"Basic {basic}"},
                    bucket="oauth2.revoke",
                    account=account.remote_id,
                    idempotent=True,
                )

    def list_accounts(self, tokens: t.TokenSet) -> list[t.AccountCandidate]:
        # https://docs.x.com/x-api/users/user-lookup-me
        response = self.http.request(
            "GET", "/2/users/me", token=tokens.access_token, params={"user.fields": USER_FIELDS}, bucket="users.me"
        )
        user = field_of(expect(response.data, dict, self.platform, "users/me"), "data", dict, self.platform, "users/me")
        user_id = field_of(user, "id", str, self.platform, "user")
        return [
            t.AccountCandidate(
                remote_id=user_id,
                handle=field_of(user, "username", str, self.platform, "user"),
                display_name=str(user.get("name") or ""),
                avatar_url=str(user.get("profile_image_url") or ""),
                tokens=tokens,
            )
        ]

    # --- publishing ----------------------------------------------------------------------------------------
    def publish(self, account: t.AccountRef, draft: t.Draft) -> t.RemotePost:
        if len(draft.media) > self.capabilities.max_media:
            raise errors.ValidationError(
                f"at most {self.capabilities.max_media} images per post", platform=self.platform
            )
        text = draft.text
        if draft.link and draft.link not in text:
            text = f"{text}\n{draft.link}" if text else draft.link
        media_ids = [self._upload(account, item) for item in draft.media]
        body: dict[str, Any] = {"text": text} if text else {}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if draft.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": self._id(draft.reply_to)}

        # https://docs.x.com/x-api/posts/create-post
        response = self.call(
            account,
            lambda token: self.http.request(
                "POST", "/2/tweets", token=token, json_body=body, bucket="tweets.create", account=account.remote_id
            ),
        )
        data = field_of(expect(response.data, dict, self.platform, "tweet"), "data", dict, self.platform, "tweet")
        tweet_id = field_of(data, "id", str, self.platform, "tweet")
        return t.RemotePost(
            id=tweet_id,
            url=self.permalink(account.handle, tweet_id),
            created_at=snowflake_time(tweet_id),
            text=x_text(str(data.get("text", text))),
            raw=data,
        )

    def _upload(self, account: t.AccountRef, item: t.MediaItem) -> str:
        mime_type = item.mime_type
        category = MEDIA_CATEGORY.get(mime_type, "tweet_video" if mime_type.startswith("video/") else "tweet_image")
        extension = mime_type.rsplit("/", 1)[-1] or "bin"

        # https://docs.x.com/x-api/media/media-upload
        response = self.call(
            account,
            lambda token: self.http.request(
                "POST",
                "/2/media/upload",
                token=token,
                data={"media_category": category},
                files={"media": (f"upload.{extension}", item.content, mime_type)},
                bucket="media.upload",
                account=account.remote_id,
            ),
        )
        data = field_of(expect(response.data, dict, self.platform, "media"), "data", dict, self.platform, "media")
        media_id = str(field_of(data, "id", str, self.platform, "media"))
        if item.alt_text:
            body = {"id": media_id, "metadata": {"alt_text": {"text": item.alt_text[:1000]}}}
            # https://docs.x.com/x-api/media/metadata-create
            self.call(
                account,
                lambda token: self.http.request(
                    "POST",
                    "/2/media/metadata",
                    token=token,
                    json_body=body,
                    bucket="media.metadata",
                    account=account.remote_id,
                    idempotent=True,
                ),
            )
        return media_id

    def reply(
        self, account: t.AccountRef, target_id: str, text: str, *, idempotency_key: str | None = None
    ) -> t.RemotePost:
        # X takes no idempotency key; a lost answer is reconciled with find_reply.
        return self.publish(account, t.Draft(text=text, reply_to=target_id))

    def like(self, account: t.AccountRef, remote_id: str) -> None:
        tweet_id = self._id(remote_id)
        # https://docs.x.com/x-api/users/like-post (liking a liked post answers liked: true again: safe to repeat)
        response = self._send(
            account, "POST", f"/2/users/{self._id(account.remote_id)}/likes", "users.likes",
            json_body={"tweet_id": tweet_id}, idempotent=True,
        )  # fmt: skip
        if self._data(response, "like").get("liked") is not True:
            raise errors.ConnectorError(f"X did not record the like of {tweet_id}", platform=self.platform,
                                        raw=response.data)  # fmt: skip

    def delete(self, account: t.AccountRef, remote_id: str) -> None:
        tweet_id = self._id(remote_id)
        # https://docs.x.com/x-api/posts/delete-post
        response = self._send(account, "DELETE", f"/2/tweets/{tweet_id}", "tweets.delete")
        if self._data(response, "delete").get("deleted") is not True:
            raise errors.NotFound(f"tweet {tweet_id} was not deleted", platform=self.platform, raw=response.data)

    def hide(self, account: t.AccountRef, comment_id: str, hidden: bool = True) -> None:
        tweet_id = self._id(comment_id)
        # https://docs.x.com/x-api/posts/hide-reply
        self._send(account, "PUT", f"/2/tweets/{tweet_id}/hidden", "tweets.hide", json_body={"hidden": hidden})

    # --- reading ----------------------------------------------------------------------------------------------
    def fetch_mentions(self, account: t.AccountRef, cursor: str | None) -> t.Page:
        # https://docs.x.com/x-api/posts/user-mention-timeline-by-user-id
        path = f"/2/users/{self._id(account.remote_id)}/mentions"
        return self._walk(account, path, {}, cursor, page_param="pagination_token", bucket="users.mentions")

    def search(self, account: t.AccountRef, query: str, cursor: str | None) -> t.Page:
        # https://docs.x.com/x-api/posts/search-recent-posts
        state = decode_cursor(cursor)
        if state.get("query") not in (None, query):
            cursor = None  # a different query starts over
        return self._walk(
            account,
            "/2/tweets/search/recent",
            {"query": query},
            cursor,
            page_param="next_token",
            bucket="tweets.search",
            extra_state={"query": query},
        )

    def _walk(
        self,
        account: t.AccountRef,
        path: str,
        params: dict[str, Any],
        cursor: str | None,
        *,
        page_param: str,
        bucket: str,
        extra_state: dict[str, Any] | None = None,
    ) -> t.Page:
        """One page of a newest-first walk over (since, top]: ``since`` is the newest id of the previous
        complete walk, ``top`` the newest id seen when this walk started. Older pages come through the
        platform's id-based page token, so items arriving mid-walk are left for the next walk."""
        state = decode_cursor(cursor)
        since = state.get("since") if isinstance(state.get("since"), str) else None
        page_token = state.get("token") if isinstance(state.get("token"), str) else None
        top = state.get("top") if isinstance(state.get("top"), str) else None
        query: dict[str, Any] = {
            **params,
            "max_results": PAGE_SIZE,
            "tweet.fields": TWEET_FIELDS,
            "expansions": "author_id",
            "user.fields": USER_FIELDS,
        }
        if since:
            query["since_id"] = since
        if page_token:
            query[page_param] = page_token
        response = self._get(account, path, query, bucket)
        body = expect(response.data, dict, self.platform, "timeline")
        meta = field_of(body, "meta", dict, self.platform, "timeline")
        raw_items = body.get("data", [])
        expect(raw_items, list, self.platform, "timeline.data")
        users = _users_by_id(body.get("includes"))
        items, quarantined = self.normalize_page(raw_items, lambda raw: self.normalize_tweet(raw, users))
        newest = meta.get("newest_id")
        if page_token is None and isinstance(newest, str) and ID_RE.fullmatch(newest):
            top = newest
        next_token = meta.get("next_token")
        if isinstance(next_token, str) and next_token:
            new_state: dict[str, Any] = {"since": since, "top": top, "token": next_token}
            has_more = True
        else:
            new_state = {"since": top or since}
            has_more = False
        new_state.update(extra_state or {})
        return t.Page(items, cursor=encode_cursor(new_state), has_more=has_more, quarantined=quarantined)

    def normalize_tweet(self, raw: Any, users: Mapping[str, t.Author] | None = None) -> t.Interaction:
        """One v2 tweet object as an Interaction; anything malformed raises MalformedPayload."""
        what = "tweet"
        expect(raw, dict, self.platform, what)
        tweet_id = field_of(raw, "id", str, self.platform, what)
        if not ID_RE.fullmatch(tweet_id):
            raise errors.MalformedPayload(f"tweet id {tweet_id[:40]!r} is not numeric", platform=self.platform, raw=raw)
        text = field_of(raw, "text", str, self.platform, what)
        author_id = field_of(raw, "author_id", str, self.platform, what)
        try:
            created_at = parse_time(raw.get("created_at"))
        except (ValueError, TypeError, OverflowError, OSError) as exc:
            raise errors.MalformedPayload(f"tweet created_at: {exc}", platform=self.platform, raw=raw) from None
        kind = t.InteractionKind.MENTION
        in_reply_to = None
        references = raw.get("referenced_tweets", [])
        for ref in expect(references, list, self.platform, "tweet.referenced_tweets"):
            ref_type = field_of(ref, "type", str, self.platform, "referenced_tweet")
            ref_id = field_of(ref, "id", str, self.platform, "referenced_tweet")
            if ref_type == "replied_to":
                kind, in_reply_to = t.InteractionKind.REPLY, ref_id
            elif ref_type == "quoted" and kind is t.InteractionKind.MENTION:
                kind = t.InteractionKind.QUOTE
        conversation = raw.get("conversation_id")
        author = (users or {}).get(author_id) or t.Author(id=author_id, handle="")
        lang = raw.get("lang")
        return t.Interaction(
            platform=self.platform,
            remote_id=tweet_id,
            kind=kind,
            author=author,
            text=x_text(text),
            created_at=created_at,
            in_reply_to_id=in_reply_to,
            root_id=conversation if isinstance(conversation, str) else None,
            permalink=self.permalink(author.handle, tweet_id),
            lang=lang if isinstance(lang, str) and lang != "und" else None,
            raw=raw,
        )

    def metrics(self, account: t.AccountRef, remote_ids: list[str]) -> dict[str, t.Metrics]:
        ids = [self._id(i) for i in remote_ids]
        out: dict[str, t.Metrics] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            params = {"ids": ",".join(chunk), "tweet.fields": "public_metrics"}
            # https://docs.x.com/x-api/posts/get-posts-by-ids
            response = self._get(account, "/2/tweets", params, "tweets.lookup")
            body = expect(response.data, dict, self.platform, "tweets")
            for tweet in expect(body.get("data", []), list, self.platform, "tweets.data"):
                counts = tweet.get("public_metrics") if isinstance(tweet, dict) else None
                if not isinstance(counts, dict) or not isinstance(tweet.get("id"), str):
                    continue  # a malformed entry is skipped; the others still count
                out[tweet["id"]] = metrics_from(
                    counts, likes="like_count", shares="retweet_count", replies="reply_count",
                    quotes="quote_count", impressions="impression_count",
                )  # fmt: skip
        return out

    def find_post(self, account: t.AccountRef, *, text: str, since: datetime) -> t.RemotePost | None:
        wanted = _comparable(text)
        return self._find_own(account, since, lambda tweet, _replied_to: _comparable(tweet["text"]) == wanted)

    def find_reply(self, account: t.AccountRef, *, target_id: str, text: str, since: datetime) -> t.RemotePost | None:
        """Our reply to ``target_id`` with this text, compared without leading @handles (X shows a reply
        with the handles it answers first)."""
        wanted = _comparable(without_leading_mentions(text))
        return self._find_own(
            account, since,
            lambda tweet, replied_to: replied_to == target_id
            and _comparable(without_leading_mentions(tweet["text"])) == wanted,
        )  # fmt: skip

    def _find_own(
        self, account: t.AccountRef, since: datetime, matches: Callable[[dict[str, Any], str | None], bool]
    ) -> t.RemotePost | None:
        """The newest of the account's own posts since ``since`` for which ``matches(tweet, replied-to id)``,
        from its timeline, replies included (no ``exclude``)."""
        start = (since - timedelta(seconds=5)).astimezone(UTC)
        params: dict[str, Any] = {
            "max_results": PAGE_SIZE,
            "tweet.fields": "created_at,referenced_tweets",
            "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        path = f"/2/users/{self._id(account.remote_id)}/tweets"
        for _ in range(FIND_POST_PAGES):
            # https://docs.x.com/x-api/posts/user-posts-timeline-by-user-id
            response = self._get(account, path, dict(params), "users.tweets")
            body = expect(response.data, dict, self.platform, "timeline")
            for tweet in expect(body.get("data", []), list, self.platform, "timeline.data"):
                if not isinstance(tweet, dict) or not isinstance(tweet.get("id"), str):
                    continue
                replied_to = _replied_to(tweet)
                if isinstance(tweet.get("text"), str) and matches(tweet, replied_to):
                    tweet_id = tweet["id"]
                    created: datetime | None
                    try:
                        created = parse_time(tweet.get("created_at"))
                    except ValueError:
                        created = snowflake_time(tweet_id)
                    return t.RemotePost(
                        id=tweet_id,
                        url=self.permalink(account.handle, tweet_id),
                        created_at=created,
                        text=x_text(tweet["text"]),
                        raw=tweet,
                        in_reply_to_id=replied_to,
                    )
            meta = body.get("meta")
            next_token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(next_token, str) or not next_token:
                return None
            params["pagination_token"] = next_token
        return None

    def validate_text(self, text: str) -> t.TextCheck:
        return check_x(text)

    # --- helpers ----------------------------------------------------------------------------------------------
    def _get(self, account: t.AccountRef, path: str, params: Mapping[str, Any], bucket: str) -> Response:
        return self._send(account, "GET", path, bucket, params=params)

    def _send(self, account: t.AccountRef, method: str, path: str, bucket: str, **kwargs: Any) -> Response:
        """One call as the account, refreshing its token once if it expired."""
        return self.call(
            account,
            lambda token: self.http.request(
                method, path, token=token, bucket=bucket, account=account.remote_id, **kwargs
            ),
        )

    def _data(self, response: Response, what: str) -> dict[str, Any]:
        """The ``data`` object of an answer."""
        body = expect(response.data, dict, self.platform, what)
        return dict(field_of(body, "data", dict, self.platform, what))

    def permalink(self, handle: str, tweet_id: str) -> str:
        return f"https://x.com/{handle}/status/{tweet_id}" if handle else f"https://x.com/i/web/status/{tweet_id}"

    def _id(self, value: str) -> str:
        """A tweet or user id goes into a URL path: it must be a snowflake, nothing else."""
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            raise errors.ValidationError(f"not an X id: {str(value)[:40]!r}", platform=self.platform)
        return value


def _problem_detail(data: Mapping[str, Any]) -> str:
    """The human part of a problem (``detail`` + nested ``errors[].message``), a legacy v1.1 ``errors``
    list or an OAuth ``error_description``."""
    parts: list[str] = []
    for key in ("detail", "error_description", "title"):
        value = data.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
            break
    listed = data.get("errors")
    if isinstance(listed, list):
        for entry in listed[:5]:
            if isinstance(entry, dict):
                message = entry.get("message") or entry.get("detail")
                if isinstance(message, str) and message not in parts:
                    parts.append(message)
    return "; ".join(parts)


def _replied_to(tweet: Mapping[str, Any]) -> str | None:
    """The id in a tweet's ``referenced_tweets`` entry of type ``replied_to``, if any."""
    references = tweet.get("referenced_tweets")
    for ref in references if isinstance(references, list) else []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and isinstance(ref.get("id"), str):
            return str(ref["id"])
    return None


def _users_by_id(includes: Any) -> dict[str, t.Author]:
    users: dict[str, t.Author] = {}
    if not isinstance(includes, dict) or not isinstance(includes.get("users"), list):
        return users
    for user in includes["users"]:
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            continue
        metrics = user.get("public_metrics")
        followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
        users[user["id"]] = t.Author(
            id=user["id"],
            handle=user["username"] if isinstance(user.get("username"), str) else "",
            display_name=user["name"] if isinstance(user.get("name"), str) else "",
            avatar_url=user["profile_image_url"] if isinstance(user.get("profile_image_url"), str) else "",
            followers=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
        )
    return users
