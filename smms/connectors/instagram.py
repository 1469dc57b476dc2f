"""Instagram professional accounts through the Instagram API with Facebook Login (Graph API v24.0).

An account is the Instagram business account linked to a Facebook Page, acting with that Page's token
(Facebook Login's consent and token endpoint; no refresh). Publishing is the container flow from public
image URLs (Meta fetches the image itself, nothing is uploaded), within 100 API posts per rolling 24 hours.
There are no text-only posts and no links in captions. Mentions are the comments (with their replies) on the
account's recent media; @mentions elsewhere only arrive by webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import errors
from . import types as t
from .base import text_field
from .graph import QUOTA_RETRY, GraphConnector, comment_interaction, graph_list, insight_value, time_field
from .http import expect, field_of
from .text import check_instagram

REPLY_FIELDS = "id,text,timestamp,username,from{id,username},hidden,parent_id"
COMMENT_FIELDS = f"{REPLY_FIELDS},replies{{{REPLY_FIELDS}}}"
ANSWER_FIELDS = "id,text,username,from,timestamp"
THREAD_FIELDS = "id,timestamp,comments.limit(1){id}"
INSIGHT_METRICS = ("views", "reach", "likes", "comments", "shares", "saved")


class InstagramConnector(GraphConnector):
    platform = "instagram"
    capabilities = t.Capabilities(
        publish=True,
        media=True,
        text_only_posts=False,  # every Instagram post needs an image or a video
        link=False,  # links in captions are not clickable
        reply=True,
        delete=True,
        like=False,  # the Graph API cannot like comments (or media)
        hide=True,
        delete_comment=True,
        search=False,  # hashtag search only, not keywords
        metrics=True,
        impressions=False,  # "impressions" was retired in 2025 in favour of "views"
        max_media=10,  # a carousel holds 2 to 10 items
    )
    # The names of the calls GraphConnector makes for both platforms
    text_key = "caption"
    time_key = "timestamp"
    permalink_key = "permalink"
    posts_edge = "media"
    threads_edge = "media"
    thread_fields = THREAD_FIELDS
    reply_edge = "replies"
    reply_what = "reply"
    hide_key = "hide"
    comment_text_key = "text"
    # A comment's answers are its replies; a media's, its comments (``comment``). Instagram ids do not say
    # which a target is: the replies edge of a media answers an error, then its comments are read.
    answer_edges = ("replies", "comments")
    answer_fields = ANSWER_FIELDS
    comment_fields = COMMENT_FIELDS
    comment_filter = {}
    comment_since = False  # the comments edge has no since filter: the walk stops at the bound itself

    def validate_text(self, text: str) -> t.TextCheck:
        return check_instagram(text)

    def _ig(self, account: t.AccountRef) -> str:
        return account.remote_id

    # --- accounts ---------------------------------------------------------------------------------------
    def list_accounts(self, tokens: t.TokenSet) -> list[t.AccountCandidate]:
        """Each Page with a linked Instagram business account yields that account, acting with the Page token."""
        # https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/get-started
        fields = "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}"
        candidates = []
        for page in self._pages(tokens, fields):
            linked = page.get("instagram_business_account")
            page_token = page.get("access_token")
            if not isinstance(linked, Mapping) or not isinstance(linked.get("id"), str):
                continue
            if not isinstance(page_token, str) or not page_token:
                continue
            username = text_field(linked.get("username")) or linked["id"]
            candidates.append(
                t.AccountCandidate(
                    remote_id=linked["id"],
                    handle=username,
                    display_name=text_field(linked.get("name")) or username,
                    avatar_url=text_field(linked.get("profile_picture_url")),
                    tokens=t.TokenSet(page_token, "", None, tokens.scopes),
                    extra={"page_id": page["id"], "page_name": text_field(page.get("name"))},
                )
            )
        return candidates

    # --- publishing -------------------------------------------------------------------------------------
    def publish(self, account: t.AccountRef, draft: t.Draft) -> t.RemotePost:
        if draft.reply_to:
            return self.reply(account, draft.reply_to, draft.text)
        caption = f"{draft.text}\n\n{draft.link}" if draft.link else draft.text
        self._check_draft(draft, caption)
        self._check_quota(account)
        ig = self._ig(account)
        if len(draft.media) == 1:
            media = draft.media[0]
            params = {"image_url": media.public_url, "caption": caption}
            if media.alt_text:
                params["alt_text"] = media.alt_text
            container = self._container(account, params)
        else:
            children = [
                self._container(
                    account,
                    {
                        "image_url": m.public_url,
                        "is_carousel_item": "true",
                        **({"alt_text": m.alt_text} if m.alt_text else {}),
                    },
                )
                for m in draft.media
            ]
            container = self._container(
                account, {"media_type": "CAROUSEL", "children": ",".join(children), "caption": caption}
            )
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
        response = self._request(account, "POST", f"{ig}/media_publish", data={"creation_id": container})
        media_id = self._created_id(response, "media_publish")
        return self._published(account, media_id, draft.text)

    def _check_draft(self, draft: t.Draft, caption: str) -> None:
        check = self.validate_text(caption)
        if not check.ok:
            raise errors.ValidationError("; ".join(check.problems), platform=self.platform)
        if not draft.media:
            raise errors.ValidationError(
                "an Instagram post needs an image; text alone cannot be posted", platform=self.platform
            )
        if len(draft.media) > self.capabilities.max_media:
            raise errors.ValidationError(
                f"a carousel holds at most {self.capabilities.max_media} images", platform=self.platform
            )
        for media in draft.media:
            if not media.mime_type.startswith("image/"):
                raise errors.ValidationError(
                    f"only images can be posted here, not {media.mime_type}", platform=self.platform
                )
            if not media.public_url:
                raise errors.ValidationError(
                    "Instagram fetches images from a public URL; this image has none (MediaItem.public_url)",
                    platform=self.platform,
                )

    def _check_quota(self, account: t.AccountRef) -> None:
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/content_publishing_limit
        response = self._request(
            account, "GET", f"{self._ig(account)}/content_publishing_limit", params={"fields": "quota_usage,config"}
        )
        data, _after = graph_list(response, self.platform, "content_publishing_limit")
        entry = data[0] if data and isinstance(data[0], Mapping) else {}
        usage = entry.get("quota_usage")
        raw_config = entry.get("config")
        config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
        total = config.get("quota_total", 100)
        if isinstance(usage, int) and isinstance(total, int) and usage >= total:
            raise errors.QuotaExhausted(
                f"publishing limit reached: {usage} of {total} posts in 24 hours",
                reset_at=datetime.now(UTC) + QUOTA_RETRY,
                platform=self.platform,
            )

    def _container(self, account: t.AccountRef, params: dict[str, str]) -> str:
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media#creating
        response = self._request(account, "POST", f"{self._ig(account)}/media", data=params)
        return self._created_id(response, "media container")

    def _published(self, account: t.AccountRef, media_id: str, text: str) -> t.RemotePost:
        """The new media with its permalink; the post exists even if this lookup fails."""
        try:
            # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media
            node = self._request(account, "GET", media_id, params={"fields": "id,permalink,timestamp"}).data
        except errors.ConnectorError:
            return t.RemotePost(id=media_id, text=text)
        if not isinstance(node, Mapping):
            return t.RemotePost(id=media_id, text=text)
        return self._remote_post(node, media_id, text)

    # --- comments ---------------------------------------------------------------------------------------
    def _expand(self, raw: Any) -> list[Any]:
        """A comment and the replies nested in it (each reply knows its parent)."""
        if not isinstance(raw, Mapping):
            return [raw]
        replies = raw.get("replies")
        data = replies.get("data") if isinstance(replies, Mapping) else None
        if not isinstance(data, list):
            return [raw]
        parent = raw.get("id")
        return [raw, *({**r, "parent_id": r.get("parent_id", parent)} if isinstance(r, Mapping) else r for r in data)]

    def _comment(self, account: t.AccountRef, post_id: str, raw: Any) -> t.Interaction | None:
        return normalize_comment(raw, media_id=post_id, account_id=account.remote_id, handle=account.handle)

    def _ours(self, account: t.AccountRef, item: Mapping[str, Any]) -> bool:
        return super()._ours(account, item) or (bool(account.handle) and item.get("username") == account.handle)

    # --- metrics ----------------------------------------------------------------------------------------
    def metrics(self, account: t.AccountRef, remote_ids: list[str]) -> dict[str, t.Metrics]:
        out: dict[str, t.Metrics] = {}
        for media_id in remote_ids:
            try:
                # https://developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights
                response = self._request(
                    account, "GET", f"{media_id}/insights", params={"metric": ",".join(INSIGHT_METRICS)}
                )
            except errors.NotFound:
                continue
            data, _after = graph_list(response, self.platform, "insights")
            out[media_id] = t.Metrics(
                likes=insight_value(data, "likes"),
                shares=insight_value(data, "shares"),
                replies=insight_value(data, "comments"),
                views=insight_value(data, "views"),
            )
        return out


def normalize_comment(raw: Any, *, media_id: str, account_id: str, handle: str = "") -> t.Interaction | None:
    """An Instagram comment or reply as an Interaction; the account's own are not mentions (None)."""
    item = expect(raw, Mapping, "instagram", "comment")
    comment_id = field_of(item, "id", str, "instagram", "comment")
    text = field_of(item, "text", str, "instagram", "comment")
    created = time_field(item, "timestamp", "instagram", "comment")
    username = text_field(item.get("username"))
    author_raw = item.get("from")
    author_id = ""
    if author_raw is not None:
        author_map = expect(author_raw, Mapping, "instagram", "comment.from")
        author_id = field_of(author_map, "id", str, "instagram", "comment.from")
        username = username or text_field(author_map.get("username"))
    if (author_id and author_id == account_id) or (handle and username == handle):
        return None
    parent_id = item.get("parent_id")
    if parent_id is not None and not isinstance(parent_id, str):
        raise errors.MalformedPayload("comment.parent_id is not a string", platform="instagram", raw=raw)
    return comment_interaction(
        item,
        "instagram",
        comment_id=comment_id,
        author=t.Author(id=author_id or username, handle=username, display_name=username),
        text=text,
        created=created,
        parent_id=parent_id,
        post_id=media_id,
        hidden_key="hidden",
    )
