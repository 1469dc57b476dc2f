"""Facebook Pages through the Graph API (v24.0).

An account is a Page acting with its Page token (from a long-lived user token: it does not expire, and
nothing can refresh it). Posts: ``POST /{page-id}/feed`` (text, link), ``/{page-id}/photos`` (one image), or
unpublished photos attached to a feed post (several). Mentions are the comments and replies on the Page's
recent posts. Facebook has no public post search.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import errors
from . import types as t
from .base import text_field
from .graph import GraphConnector, comment_interaction, graph_list, insight_value, time_field
from .http import expect, field_of
from .text import check_facebook

COMMENT_FIELDS = "id,message,created_time,from{id,name},parent{id},is_hidden,permalink_url"
ANSWER_FIELDS = "id,message,from,created_time"
THREAD_FIELDS = "id,created_time,comments.filter(stream).order(reverse_chronological).limit(1){id}"
METRIC_FIELDS = "shares,comments.filter(stream).summary(true).limit(0),reactions.summary(total_count).limit(0)"
INSIGHT_METRICS = "post_media_view"


class FacebookConnector(GraphConnector):
    platform = "facebook"
    capabilities = t.Capabilities(
        publish=True,
        media=True,
        text_only_posts=True,
        link=True,
        reply=True,
        delete=True,
        like=True,  # the Page likes a post or comment
        hide=True,
        delete_comment=True,
        search=False,  # no keyword search of public posts (Page Public Content Access is restricted)
        metrics=True,
        impressions=False,  # post impression metrics were retired in 2025; views remain
        max_media=10,
    )
    # The names of the calls GraphConnector makes for both platforms
    text_key = "message"
    time_key = "created_time"
    permalink_key = "permalink_url"
    posts_edge = "posts"
    threads_edge = "feed"
    thread_fields = THREAD_FIELDS
    reply_edge = "comments"
    reply_what = "comment"
    hide_key = "is_hidden"
    comment_text_key = "message"
    answer_edges = ("comments",)
    answer_fields = ANSWER_FIELDS
    comment_fields = COMMENT_FIELDS
    comment_filter = {"filter": "stream", "order": "reverse_chronological"}
    comment_since = True

    def validate_text(self, text: str) -> t.TextCheck:
        return check_facebook(text)

    # --- accounts ---------------------------------------------------------------------------------------
    def list_accounts(self, tokens: t.TokenSet) -> list[t.AccountCandidate]:
        candidates = []
        for page in self._pages(tokens, "id,name,username,access_token,tasks,picture{url}"):
            page_token = page.get("access_token")
            if not isinstance(page_token, str) or not page_token:
                continue  # the person has no task on this Page that yields a token
            picture = page.get("picture")
            picture_data = picture.get("data") if isinstance(picture, Mapping) else None
            raw_tasks = page.get("tasks")
            tasks: list[Any] = raw_tasks if isinstance(raw_tasks, list) else []
            candidates.append(
                t.AccountCandidate(
                    remote_id=page["id"],
                    handle=text_field(page.get("username")) or page["id"],
                    display_name=text_field(page.get("name")),
                    avatar_url=text_field(picture_data.get("url")) if isinstance(picture_data, Mapping) else "",
                    tokens=t.TokenSet(page_token, "", None, tokens.scopes),
                    extra={"page_id": page["id"], "tasks": [task for task in tasks if isinstance(task, str)]},
                )
            )
        return candidates

    # --- publishing -------------------------------------------------------------------------------------
    def publish(self, account: t.AccountRef, draft: t.Draft) -> t.RemotePost:
        if draft.reply_to:
            return self.reply(account, draft.reply_to, draft.text)
        check = self.validate_text(draft.text)
        if not check.ok:
            raise errors.ValidationError("; ".join(check.problems), platform=self.platform)
        if len(draft.media) > self.capabilities.max_media:
            raise errors.ValidationError(f"at most {self.capabilities.max_media} images", platform=self.platform)
        if not draft.text.strip() and not draft.media and not draft.link:
            raise errors.ValidationError("a post needs text, a link or an image", platform=self.platform)
        if len(draft.media) == 1:
            # A photo carries no link preview: the link goes at the end of its caption.
            message = f"{draft.text}\n\n{draft.link}" if draft.link else draft.text
            post_id = self._upload_photo(account, draft.media[0], message, published=True)
        else:
            params: dict[str, Any] = {"message": draft.text}
            if draft.link:
                params["link"] = draft.link
            if draft.media:
                photo_ids = [self._upload_photo(account, m, "", published=False) for m in draft.media]
                params["attached_media"] = json.dumps([{"media_fbid": p} for p in photo_ids])
            # https://developers.facebook.com/docs/graph-api/reference/page/feed/#publish
            response = self._request(account, "POST", f"{account.remote_id}/feed", data=params)
            post_id = self._created_id(response, "feed post")
        return t.RemotePost(id=post_id, url=self._permalink(post_id), text=draft.text)

    def _upload_photo(self, account: t.AccountRef, media: t.MediaItem, message: str, *, published: bool) -> str:
        """``POST /{page-id}/photos``: the post id when published, else the photo id to attach."""
        if not media.mime_type.startswith("image/"):
            raise errors.ValidationError(
                f"Facebook photos must be images, not {media.mime_type}", platform=self.platform
            )
        data: dict[str, Any] = {"published": "true" if published else "false"}
        if message:
            data["message"] = message
        if media.alt_text:
            data["alt_text_custom"] = media.alt_text
        files = None
        if media.public_url:
            data["url"] = media.public_url
        else:
            files = {"source": ("image", media.content, media.mime_type)}
        # https://developers.facebook.com/docs/graph-api/reference/page/photos/#Creating
        response = self._request(account, "POST", f"{account.remote_id}/photos", data=data, files=files)
        return self._created_id(response, "photo", "post_id" if published else "id")

    @staticmethod
    def _permalink(post_id: str) -> str:
        page_id, _, number = post_id.partition("_")
        return f"https://www.facebook.com/{page_id}/posts/{number}" if number else f"https://www.facebook.com/{post_id}"

    # --- comments ---------------------------------------------------------------------------------------
    def _comment(self, account: t.AccountRef, post_id: str, raw: Any) -> t.Interaction | None:
        return normalize_comment(raw, post_id=post_id, page_id=account.remote_id)

    def like(self, account: t.AccountRef, remote_id: str) -> None:
        # https://developers.facebook.com/docs/graph-api/reference/object/likes/#publish (liking twice changes
        # nothing: safe to repeat)
        self._request(account, "POST", f"{remote_id}/likes", idempotent=True)

    def _answered(self, account: t.AccountRef, target_id: str) -> str:
        """Facebook nests comments one level: a reply to a reply joins its top-level comment's answers."""
        if target_id.startswith(f"{account.remote_id}_"):
            return target_id  # a post of the Page: its comments are the answers
        try:
            # https://developers.facebook.com/docs/graph-api/reference/comment/ (parent: the comment it answers)
            node = self._request(account, "GET", target_id, params={"fields": "id,parent{id}"}).data
        except errors.ValidationError:
            return target_id  # not a comment (a visitor's post has no parent field)
        parent = node.get("parent") if isinstance(node, Mapping) else None
        parent_id = parent.get("id") if isinstance(parent, Mapping) else None
        return parent_id if isinstance(parent_id, str) and parent_id else target_id

    # --- metrics ----------------------------------------------------------------------------------------
    def metrics(self, account: t.AccountRef, remote_ids: list[str]) -> dict[str, t.Metrics]:
        out: dict[str, t.Metrics] = {}
        for post_id in remote_ids:
            try:
                # https://developers.facebook.com/docs/graph-api/reference/post/ (shares, comments, reactions)
                node = self._request(account, "GET", post_id, params={"fields": METRIC_FIELDS}).data
            except errors.NotFound:
                continue  # deleted since: no metrics rather than failing the others
            expect(node, Mapping, self.platform, "post")
            out[post_id] = t.Metrics(
                likes=_summary_count(node, "reactions", self.platform),
                shares=_count(node.get("shares"), "count") or 0,
                replies=_summary_count(node, "comments", self.platform),
                views=self._views(account, post_id),
            )
        return out

    def _views(self, account: t.AccountRef, post_id: str) -> int | None:
        """Lifetime media views; None when Page insights are unavailable (small Pages, missing permission)."""
        try:
            # https://developers.facebook.com/docs/graph-api/reference/insights/#post-metrics
            response = self._request(
                account, "GET", f"{post_id}/insights", params={"metric": INSIGHT_METRICS, "period": "lifetime"}
            )
        except (errors.ValidationError, errors.MalformedPayload):
            return None
        except errors.ConnectorError as exc:
            if exc.permanent:
                return None
            raise
        data, _after = graph_list(response, self.platform, "insights")
        return insight_value(data, INSIGHT_METRICS)


# --- normalizers (module level so property tests can feed them anything) --------------------------------------
def normalize_comment(raw: Any, *, post_id: str, page_id: str) -> t.Interaction | None:
    """A Graph comment as an Interaction; the Page's own comments are not mentions (None)."""
    item = expect(raw, Mapping, "facebook", "comment")
    comment_id = field_of(item, "id", str, "facebook", "comment")
    message = field_of(item, "message", str, "facebook", "comment")
    created = time_field(item, "created_time", "facebook", "comment")
    author_raw = item.get("from")
    if author_raw is None:  # Facebook leaves out people who have not granted the app access
        author = t.Author(id="", handle="", display_name="Facebook user")
    else:
        author_map = expect(author_raw, Mapping, "facebook", "comment.from")
        author_id = field_of(author_map, "id", str, "facebook", "comment.from")
        name = text_field(author_map.get("name"))
        author = t.Author(id=author_id, handle=name or author_id, display_name=name)
    if author.id and author.id == page_id:
        return None
    parent = item.get("parent")
    parent_id = None
    if parent is not None:
        parent_id = field_of(expect(parent, Mapping, "facebook", "comment.parent"), "id", str, "facebook", "parent")
    return comment_interaction(
        item,
        "facebook",
        comment_id=comment_id,
        author=author,
        text=message,
        created=created,
        parent_id=parent_id,
        post_id=post_id,
        hidden_key="is_hidden",
        permalink=text_field(item.get("permalink_url")),
    )


def _count(value: Any, key: str) -> int | None:
    if isinstance(value, Mapping) and isinstance(value.get(key), int) and not isinstance(value.get(key), bool):
        return int(value[key])
    return None


def _summary_count(node: Mapping[str, Any], edge: str, platform: str) -> int:
    """``{edge: {"summary": {"total_count": n}}}``; an edge left out means none."""
    value = node.get(edge)
    if value is None:
        return 0
    summary = expect(value, Mapping, platform, edge).get("summary")
    count = _count(summary, "total_count")
    if count is None:
        raise errors.MalformedPayload(f"{edge}.summary.total_count missing", platform=platform, raw=node)
    return count
