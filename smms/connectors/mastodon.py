"""Mastodon (per instance): OAuth 2.0 with PKCE, statuses, media, mention notifications, search.

Reference: https://docs.joinmastodon.org/methods/ . Tokens never expire and there is no refresh token, so a
401 always means revoked (the user removed the app). Publishing de-duplicates with ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from . import errors, oauth, text
from . import types as t
from .base import (
    Connector,
    count_of,
    decode_cursor,
    encode_cursor,
    html_to_text,
    metrics_from,
    parse_time,
    text_field,
    without_leading_mentions,
)
from .http import Response, default_error, expect, field_of
from .ratelimit import Headers, RateLimitInfo, iso_headers, retry_after

PAGE_SIZE = 40
# A reply is never more public than what it answers, as in Mastodon's own web client: a direct message is
# answered directly, a followers-only post for followers, an unlisted one unlisted.
KEPT_VISIBILITY = frozenset({"unlisted", "private", "direct"})


class MastodonConnector(Connector):
    platform = "mastodon"
    capabilities = t.Capabilities(
        like=True, hide=False, delete_comment=False, search=True, impressions=False, idempotency_key=True,
        max_media=4,
    )  # fmt: skip
    _parse_limits = staticmethod(iso_headers("X-RateLimit-"))

    # --- errors and limits --------------------------------------------------------------------------------
    def map_error(self, response: Response) -> errors.ConnectorError:
        message = response.data.get("error") if isinstance(response.data, Mapping) else None
        if response.status == 401:
            # Mastodon tokens do not expire: refusal means the app was revoked.
            return errors.AuthRevoked(
                f"access revoked ({message or 'token refused'})", platform=self.platform, status=401
            )
        if response.status == 429:
            info = self._parse_limits(response.headers)
            when = info.reset_at if info and info.reset_at else retry_after(response.headers)
            return errors.RateLimited(message or "rate limited", retry_at=when, platform=self.platform, status=429)
        if response.status == 422:
            return errors.ValidationError(message or "refused", platform=self.platform, status=422, raw=response.data)
        return default_error(response, self.platform, message)

    def parse_rate_limit(self, headers: Headers) -> RateLimitInfo | None:
        return self._parse_limits(headers)

    # --- authorization --------------------------------------------------------------------------------------
    def register_app(self, *, redirect_uri: str, client_name: str = "SMMS", website: str = "") -> tuple[str, str]:
        """Register SMMS on an instance: https://docs.joinmastodon.org/methods/apps/#create"""
        answer = self.http.request(
            "POST",
            "/api/v1/apps",
            data={"client_name": client_name, "redirect_uris": redirect_uri,
                  "scopes": " ".join(self.config.scopes), "website": website},
        )  # fmt: skip
        data = expect(answer.data, Mapping, self.platform, "app")
        return str(field_of(data, "client_id", str, self.platform, "app")), str(
            field_of(data, "client_secret", str, self.platform, "app")
        )

    def authorization_url(self, *, redirect_uri: str, state: str, code_verifier: str) -> str:
        # https://docs.joinmastodon.org/methods/oauth/#authorize (PKCE S256 since 4.3)
        return oauth.authorization_url(self.config, redirect_uri=redirect_uri, state=state, code_verifier=code_verifier)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> t.TokenSet:
        # https://docs.joinmastodon.org/methods/oauth/#token
        return oauth.exchange_code(
            self.config, platform=self.platform, code=code, redirect_uri=redirect_uri,
            code_verifier=code_verifier, basic_auth=False,
        )  # fmt: skip

    def can_refresh(self, account: t.AccountRef) -> bool:
        return False

    def revoke(self, account: t.AccountRef) -> None:
        # https://docs.joinmastodon.org/methods/oauth/#revoke
        self.http.request(
            "POST",
            "/oauth/revoke",
            data={"client_id": self.config.client_id, "client_secret": self.config.client_secret,
                  "token": account.tokens.access_token},
            account=account.remote_id,
        )  # fmt: skip

    def list_accounts(self, tokens: t.TokenSet) -> list[t.AccountCandidate]:
        # https://docs.joinmastodon.org/methods/accounts/#verify_credentials
        data = expect(
            self.http.request("GET", "/api/v1/accounts/verify_credentials", token=tokens.access_token).data,
            Mapping,
            self.platform,
            "account",
        )
        author = self._author(data)
        return [
            t.AccountCandidate(
                remote_id=author.id,
                handle=author.handle,
                display_name=author.display_name,
                avatar_url=author.avatar_url,
                tokens=tokens,
                extra={"instance": self.config.api_base},
            )
        ]

    # --- publishing --------------------------------------------------------------------------------------------
    def publish(self, account: t.AccountRef, draft: t.Draft) -> t.RemotePost:
        body = draft.text if not draft.link or draft.link in draft.text else f"{draft.text}\n{draft.link}"
        check = self.validate_text(body)
        if not check.ok and check.length > check.limit:  # longer than the default: this instance may allow it
            check = self.validate_text(body, self.max_characters())
        if not check.ok:
            raise errors.ValidationError("; ".join(check.problems), platform=self.platform)
        media_ids = [self._upload(account, item.content, item.mime_type, item.alt_text) for item in draft.media]
        return self._status(account, body, media_ids, draft.reply_to, draft.idempotency_key)

    def _upload(self, account: t.AccountRef, content: bytes, mime: str, alt: str) -> str:
        # https://docs.joinmastodon.org/methods/media/#v2
        answer = self.call(
            account,
            lambda token: self.http.request(
                "POST", "/api/v2/media", token=token, account=account.remote_id, bucket="media",
                files={"file": ("upload", content, mime)}, data={"description": alt} if alt else None,
            ),
        )  # fmt: skip
        return str(field_of(answer.data, "id", (str, int), self.platform, "media"))

    def _status(
        self,
        account: t.AccountRef,
        body: str,
        media_ids: list[str],
        reply_to: str | None,
        key: str | None,
        visibility: str | None = None,
    ) -> t.RemotePost:
        # https://docs.joinmastodon.org/methods/statuses/#create
        payload: dict[str, Any] = {"status": body}
        if media_ids:
            payload["media_ids"] = media_ids
        if reply_to:
            payload["in_reply_to_id"] = reply_to
        if visibility:
            payload["visibility"] = visibility
        answer = self.call(
            account,
            lambda token: self.http.request(
                "POST", "/api/v1/statuses", token=token, account=account.remote_id, bucket="statuses",
                json_body=payload, headers={"Idempotency-Key": key} if key else None, idempotent=bool(key),
            ),
        )  # fmt: skip
        return self._remote(expect(answer.data, Mapping, self.platform, "status"))

    def _remote(self, data: Mapping[str, Any]) -> t.RemotePost:
        return t.RemotePost(
            id=str(field_of(data, "id", (str, int), self.platform, "status")),
            url=text_field(data.get("url")),
            created_at=parse_time(data.get("created_at")),
            text=html_to_text(text_field(data.get("content"))),
            raw=data,
            in_reply_to_id=str(data["in_reply_to_id"]) if data.get("in_reply_to_id") else None,
        )

    def delete(self, account: t.AccountRef, remote_id: str) -> None:
        # https://docs.joinmastodon.org/methods/statuses/#delete
        self.call(
            account,
            lambda token: self.http.request(
                "DELETE", f"/api/v1/statuses/{remote_id}", token=token, account=account.remote_id, bucket="delete"
            ),
        )

    def reply(
        self, account: t.AccountRef, target_id: str, text: str, *, idempotency_key: str | None = None
    ) -> t.RemotePost:
        """Answer a status, addressing its author; a direct message is answered with a direct message. The
        ``idempotency_key`` goes in ``Idempotency-Key``: sent again, the same reply comes back, not a second."""
        # The server does not add the mention: address the author as Mastodon clients do.
        target = self._get_status(account, target_id)
        acct = text_field((target.get("account") or {}).get("acct"))
        body = text if not acct or f"@{acct}" in text or acct == account.handle else f"@{acct} {text}"
        visibility = text_field(target.get("visibility"))
        kept = visibility if visibility in KEPT_VISIBILITY else None
        return self._status(account, body, [], target_id, idempotency_key, visibility=kept)

    def like(self, account: t.AccountRef, remote_id: str) -> None:
        # https://docs.joinmastodon.org/methods/statuses/#favourite (a second favourite changes nothing: safe
        # to repeat)
        self.call(
            account,
            lambda token: self.http.request(
                "POST", f"/api/v1/statuses/{remote_id}/favourite", token=token, account=account.remote_id,
                bucket="favourite", idempotent=True,
            ),
        )  # fmt: skip

    def _get_status(self, account: t.AccountRef, status_id: str) -> Mapping[str, Any]:
        # https://docs.joinmastodon.org/methods/statuses/#get
        answer = self.call(
            account,
            lambda token: self.http.request(
                "GET", f"/api/v1/statuses/{status_id}", token=token, account=account.remote_id, bucket="status"
            ),
        )
        return expect(answer.data, Mapping, self.platform, "status")

    def metrics(self, account: t.AccountRef, remote_ids: list[str]) -> dict[str, t.Metrics]:
        # https://docs.joinmastodon.org/methods/statuses/#index (batch of ids)
        out: dict[str, t.Metrics] = {}
        for start in range(0, len(remote_ids), 40):
            params = [("id[]", i) for i in remote_ids[start : start + 40]]
            answer = self.call(account, partial(self._batch, account, params))
            for status in expect(answer.data, list, self.platform, "statuses"):
                if isinstance(status, Mapping) and "id" in status:
                    out[str(status["id"])] = metrics_from(
                        status, likes="favourites_count", shares="reblogs_count", replies="replies_count",
                        quotes="quotes_count",
                    )  # fmt: skip
        return out

    def followers(self, account: t.AccountRef) -> int | None:
        # https://docs.joinmastodon.org/methods/accounts/#verify_credentials
        answer = self.call(
            account,
            lambda token: self.http.request(
                "GET", "/api/v1/accounts/verify_credentials", token=token, account=account.remote_id,
                bucket="verify-credentials",
            ),
        )  # fmt: skip
        return count_of(expect(answer.data, Mapping, self.platform, "account"), "followers_count")

    def _batch(self, account: t.AccountRef, params: list[tuple[str, str]], token: str) -> Response:
        return self.http.request(
            "GET", "/api/v1/statuses", token=token, account=account.remote_id, bucket="statuses-batch", params=params
        )

    def find_post(self, account: t.AccountRef, *, text: str, since: datetime) -> t.RemotePost | None:
        wanted = " ".join(text.split())
        return self._find_own(account, since, lambda post: " ".join(post.text.split()) == wanted)

    def find_reply(self, account: t.AccountRef, *, target_id: str, text: str, since: datetime) -> t.RemotePost | None:
        """Our status answering ``target_id`` with this text: compared without the ``@acct`` that ``reply``
        puts first (the instance shows it as ``@user``, without the domain of a remote account)."""
        wanted = without_leading_mentions(text)
        return self._find_own(
            account, since,
            lambda post: post.in_reply_to_id == target_id and without_leading_mentions(post.text) == wanted,
        )  # fmt: skip

    def _find_own(
        self, account: t.AccountRef, since: datetime, matches: Callable[[t.RemotePost], bool]
    ) -> t.RemotePost | None:
        """The newest of the account's own statuses since ``since`` that ``matches``, replies and direct
        messages included (the author sees all of theirs: no ``exclude_replies``)."""
        # https://docs.joinmastodon.org/methods/accounts/#statuses
        answer = self.call(
            account,
            lambda token: self.http.request(
                "GET", f"/api/v1/accounts/{account.remote_id}/statuses", token=token, account=account.remote_id,
                bucket="account-statuses", params={"limit": 40},
            ),
        )  # fmt: skip
        for status in expect(answer.data, list, self.platform, "statuses"):
            if not isinstance(status, Mapping):
                continue
            post = self._remote(status)
            if post.created_at and post.created_at < since:
                break
            if matches(post):
                return post
        return None

    def validate_text(self, text_value: str, limit: int = 500) -> t.TextCheck:
        return text.check_mastodon(text_value, limit)

    def max_characters(self) -> int:
        """The instance's status length limit: Mastodon's default is 500, many instances raise it."""
        # https://docs.joinmastodon.org/methods/instance/#v2
        answer = self.http.request("GET", "/api/v2/instance", bucket="instance")
        data = expect(answer.data, Mapping, self.platform, "instance")
        configuration = field_of(data, "configuration", Mapping, self.platform, "instance")
        statuses = field_of(configuration, "statuses", Mapping, self.platform, "instance")
        limit = field_of(statuses, "max_characters", int, self.platform, "instance")
        if limit < 1:
            raise errors.MalformedPayload("max_characters is not a positive number", platform=self.platform)
        return limit

    # --- reading -----------------------------------------------------------------------------------------------
    def fetch_mentions(self, account: t.AccountRef, cursor: str | None) -> t.Page:
        """Mention notifications (mentions, replies, direct messages). The cursor holds the newest
        notification id returned; each call asks for the ones immediately newer (``min_id``), oldest page
        first, so items arriving meanwhile land on a later page: no gap, no duplicate."""
        # https://docs.joinmastodon.org/methods/notifications/#get
        return self._forward_page(
            account, cursor, "/api/v1/notifications", {"types[]": "mention"}, "notifications",
            lambda data: expect(data, list, self.platform, "notifications"), self._from_notification,
        )  # fmt: skip

    def search(self, account: t.AccountRef, query: str, cursor: str | None) -> t.Page:
        # https://docs.joinmastodon.org/methods/search/#v2 (instance full-text search, opt-in index)
        return self._forward_page(
            account, cursor, "/api/v2/search", {"q": query, "type": "statuses"}, "search",
            lambda data: field_of(data, "statuses", list, self.platform, "search"),
            lambda status: self._from_status(status, t.InteractionKind.MENTION),
        )  # fmt: skip

    def _forward_page(self, account, cursor, path, params, bucket, items_of, normalize) -> t.Page:  # type: ignore[no-untyped-def]
        state = decode_cursor(cursor)
        query: dict[str, Any] = {**params, "limit": PAGE_SIZE}
        if state.get("min_id"):
            query["min_id"] = state["min_id"]
        answer = self.call(
            account,
            lambda token: self.http.request(
                "GET", path, token=token, account=account.remote_id, bucket=bucket, params=query
            ),
        )
        raw_items = items_of(answer.data)
        ids = [int(i["id"]) for i in raw_items if isinstance(i, Mapping) and str(i.get("id", "")).isdigit()]
        items, quarantined = self.normalize_page(raw_items, normalize)
        newest = max(ids, default=None)
        # An empty first poll still starts the walk: everything from now on is new.
        next_state = {"min_id": str(newest) if newest is not None else state.get("min_id", "0")}
        # A first poll takes the latest page only (newest first); later polls walk forward to the present.
        has_more = bool(state.get("min_id")) and len(raw_items) >= PAGE_SIZE
        return t.Page(items=items, cursor=encode_cursor(next_state), has_more=has_more, quarantined=quarantined)

    def _from_notification(self, data: Mapping[str, Any]) -> t.Interaction | None:
        status = data.get("status")
        if data.get("type") != "mention" or not isinstance(status, Mapping):
            return None
        return self._from_status(status, None)

    def _from_status(self, status: Mapping[str, Any], kind: t.InteractionKind | None) -> t.Interaction:
        if kind is None:
            if status.get("visibility") == "direct":
                kind = t.InteractionKind.MESSAGE
            elif status.get("in_reply_to_id"):
                kind = t.InteractionKind.REPLY
            else:
                kind = t.InteractionKind.MENTION
        account = status.get("account")
        if not isinstance(account, Mapping):
            raise ValueError("status without an account")
        return t.Interaction(
            platform=self.platform,
            remote_id=str(status["id"]),
            kind=kind,
            author=self._author(account),
            text=html_to_text(text_field(status.get("content"))),
            created_at=parse_time(status.get("created_at")),
            in_reply_to_id=str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None,
            permalink=text_field(status.get("url")),
            lang=text_field(status.get("language")) or None,
            raw=status,
        )

    def _author(self, account: Mapping[str, Any]) -> t.Author:
        return t.Author(
            id=str(field_of(account, "id", (str, int), self.platform, "account")),
            handle=text_field(account.get("acct")) or text_field(account.get("username")),
            display_name=text_field(account.get("display_name")),
            avatar_url=text_field(account.get("avatar")),
            followers=count_of(account, "followers_count"),
        )
