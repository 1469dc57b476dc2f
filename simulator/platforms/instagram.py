"""Simulated Instagram Graph API for professional accounts, Instagram API with Facebook Login (v24.0).

Tokens are Facebook user and Page tokens (authorization goes through Facebook's consent page); each Page
links to an Instagram business account (``GET /{page-id}?fields=instagram_business_account{id,username}``).
Publishing is the container flow: ``POST /{ig-user-id}/media`` (public ``image_url`` + ``caption``) then
``POST /{ig-user-id}/media_publish`` (``creation_id``), 100 API-published posts per rolling 24 hours. Comments
are SimPosts of kind "comment" (``reply_to_id`` = the media) and their replies of kind "reply"
(``reply_to_id`` = the comment; one level only). Times ``2017-08-31T18:10:00+0000``.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator.platforms.base import Handler, json_response
from simulator.platforms.graph import Field, GraphApi, graph_time, project
from simulator.world import SimPost, SimToken, SimUser, World

CAPTION_LIMIT = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
QUOTA_TOTAL = 100
QUOTA_WINDOW = 86400
CONTAINER_TTL = 86400
MEDIA_BASE = 17_900_000_000_000_000
COMMENT_BASE = 17_850_000_000_000_000
CONTAINER_BASE = 17_880_000_000_000_000
PERSON_BASE = 17_841_450_000_000_000
HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")
MENTION_RE = re.compile(r"(?<![\w@])@[\w.]+")
SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MEDIA_FIELDS = "id"
COMMENT_FIELDS = "id,text,timestamp"
INSIGHT_METRICS = {
    "views": "Views",
    "reach": "Accounts reached",
    "likes": "Likes",
    "comments": "Comments",
    "shares": "Shares",
    "saved": "Saved",
    "total_interactions": "Interactions",
}


def shortcode(media_id: str) -> str:
    number, out = int(media_id) % (64**11), ""
    while number:
        number, digit = divmod(number, 64)
        out = SHORTCODE_ALPHABET[digit] + out
    return out or "A"


class InstagramApi(GraphApi):
    name = "instagram"
    authorize_path = ""  # Facebook Login's dialog (see smms/connectors/endpoints.py)

    def edge_routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        return [
            ("GET", ("*", "media"), self.list_media),
            ("POST", ("*", "media"), self.create_container),
            ("POST", ("*", "media_publish"), self.publish),
            ("GET", ("*", "content_publishing_limit"), self.publishing_limit),
            ("GET", ("*", "replies"), self.list_replies),
            ("POST", ("*", "replies"), self.create_reply),
        ]

    # --- world hooks ------------------------------------------------------------------------------------
    def make_id(self, world: World, post: SimPost) -> str:
        return str((MEDIA_BASE if post.kind == "post" else COMMENT_BASE) + post.seq)

    def person_id(self, index: int) -> str:
        return str(PERSON_BASE + index)

    # --- lookups ----------------------------------------------------------------------------------------
    @staticmethod
    def _missing(node: str) -> str:
        return (
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation."
        )

    def _account(self, token: SimToken, node: str, *, write: bool = True) -> SimUser:
        """The business account ``node``; writes need a token of its Page (or of one of the Page's admins)."""
        account = self.world.user("instagram", node)
        if account is None or not account.is_brand:
            raise self.fail(400, "not_found", self._missing(node))
        if write and not self.can_manage_page(token, account.extra.get("page_id", "")):
            raise self.fail(403, "forbidden", "(#10) Application does not have permission for this action")
        return account

    def _item(self, node: str, *kinds: str) -> SimPost:
        item = self.world.post("instagram", node)
        if item is None or (kinds and item.kind not in kinds):
            raise self.fail(400, "not_found", self._missing(node))
        return item

    def _media_of(self, item: SimPost) -> SimPost | None:
        return self.world.posts.get(("instagram", item.root_id or item.reply_to_id or ""))

    def _owns(self, token: SimToken, item: SimPost) -> bool:
        media = item if item.kind == "post" else self._media_of(item)
        owner = self.world.user("instagram", media.author_id) if media else None
        return owner is not None and self.can_manage_page(token, owner.extra.get("page_id", ""))

    def _check_text(self, text: str) -> None:
        if len(text) > CAPTION_LIMIT:
            raise self.fail(400, "validation", f"(#100) The caption is too long: {len(text)} > {CAPTION_LIMIT}")
        if len(HASHTAG_RE.findall(text)) > MAX_HASHTAGS:
            raise self.fail(400, "validation", f"(#100) A caption can have at most {MAX_HASHTAGS} hashtags")
        if len(MENTION_RE.findall(text)) > MAX_MENTIONS:
            raise self.fail(400, "validation", f"(#100) A caption can mention at most {MAX_MENTIONS} accounts")

    def _comments(self, media: SimPost) -> list[SimPost]:
        """Top-level comments of a media, newest first."""
        items = [c for c in self.children(media.id) if c.kind != "post"]
        return sorted(items, key=lambda p: (p.created_at, p.seq), reverse=True)

    def _replies(self, comment: SimPost) -> list[SimPost]:
        return sorted(self.children(comment.id), key=lambda p: (p.created_at, p.seq))

    # --- rendering --------------------------------------------------------------------------------------
    def media_full(self, media: SimPost) -> dict[str, Any]:
        owner = self.world.user("instagram", media.author_id)
        code = shortcode(media.id)
        container = self.world.media.get(("instagram", media.media_ids[0])) if media.media_ids else None
        full: dict[str, Any] = {
            "id": media.id,
            "media_type": (container or {}).get("media_type", "IMAGE"),
            "media_product_type": "FEED",
            "media_url": (container or {}).get("image_url", f"https://scontent.example/ig/{media.id}.jpg"),
            "permalink": f"https://www.instagram.com/p/{code}/",
            "shortcode": code,
            "timestamp": graph_time(media.created_at),
            "username": owner.handle if owner else "",
            "owner": {"id": media.author_id},
            "like_count": self.world.engagement(media).likes,
            "comments_count": len(self.thread(media.id)),
            "is_comment_enabled": not media.extra.get("comments_disabled", False),
        }
        if media.text:
            full["caption"] = media.text
        return full

    def render_media(self, media: SimPost, fields: list[Field]) -> dict[str, Any]:
        def comments(wanted: Field) -> dict[str, Any] | None:
            items = self._comments(media)[: wanted.mod_int("limit", 25)]
            if not items:
                return None  # an empty edge is left out
            sub = wanted.sub or [Field(n) for n in COMMENT_FIELDS.split(",")]
            return {"data": [self.render_comment(c, sub) for c in items]}

        def children(wanted: Field) -> dict[str, Any] | None:
            container = self.world.media.get(("instagram", media.media_ids[0])) if media.media_ids else None
            kids = (container or {}).get("children") or []
            if not kids:
                return None
            return {"data": [project({"id": k, "media_type": "IMAGE"}, wanted.sub or [Field("id")]) for k in kids]}

        return project(self.media_full(media), fields, {"comments": comments, "children": children})

    def comment_full(self, comment: SimPost) -> dict[str, Any]:
        author = self.world.user("instagram", comment.author_id)
        handle = author.handle if author else ""
        media = self._media_of(comment)
        full: dict[str, Any] = {
            "id": comment.id,
            "text": comment.text,
            "timestamp": graph_time(comment.created_at),
            "username": handle,
            "from": {"id": comment.author_id, "username": handle},
            "like_count": comment.likes,
            "hidden": comment.hidden,
            "media": {"id": media.id if media else "", "media_product_type": "FEED"},
        }
        if comment.kind == "reply":
            full["parent_id"] = comment.reply_to_id
        if comment.malformed:
            full["text"] = 40_404  # a required field of the wrong type: connectors must quarantine it
        return full

    def render_comment(self, comment: SimPost, fields: list[Field]) -> dict[str, Any]:
        def replies(wanted: Field) -> dict[str, Any] | None:
            items = self._replies(comment)
            if not items:
                return None
            sub = wanted.sub or [Field(n) for n in COMMENT_FIELDS.split(",")]
            return {"data": [self.render_comment(r, sub) for r in items]}

        return project(self.comment_full(comment), fields, {"replies": replies})

    # --- reading ----------------------------------------------------------------------------------------
    def get_node(self, request: Request, node: str) -> Response:
        token = self.authenticate(request)
        node = self.me(token, node)
        page = self.page(node)
        if page is not None:
            return json_response(self.render_page(page, self.fields(request, "id,name")))
        account = self.world.user("instagram", node)
        if account is not None and account.is_brand:
            full = {
                "id": account.id,
                "username": account.handle,
                "name": account.display_name,
                "profile_picture_url": account.avatar_url,
                "followers_count": account.followers,
                "media_count": sum(
                    1
                    for p in self.world.iter_posts("instagram")
                    if p.author_id == account.id and p.kind == "post" and not p.deleted
                ),
            }
            return json_response(project(full, self.fields(request, "id,username")))
        container = self.world.media.get(("instagram", node))
        if container is not None:
            full = {"id": node, "status_code": container["status_code"], "status": container["status_code"]}
            return json_response(project(full, self.fields(request, "id,status_code")))
        item = self._item(node)
        if item.kind == "post":
            return json_response(self.render_media(item, self.fields(request, MEDIA_FIELDS)))
        return json_response(self.render_comment(item, self.fields(request, COMMENT_FIELDS)))

    def list_media(self, request: Request, node: str) -> Response:
        """``GET /{ig-user-id}/media``: the account's media, newest first, with ``since``/``until``."""
        token = self.authenticate(request)
        account = self._account(token, self.me(token, node), write=False)
        items = [
            p
            for p in self.world.iter_posts("instagram")
            if p.author_id == account.id and p.kind == "post" and not p.deleted
        ]
        items = self.time_filters(request, sorted(items, key=lambda p: (p.created_at, p.seq), reverse=True))
        fields = self.fields(request, MEDIA_FIELDS)
        return json_response(self.paged(request, items, lambda p: self.render_media(p, fields)))

    def list_comments(self, request: Request, node: str) -> Response:
        """``GET /{ig-media-id}/comments``: top-level comments, newest first, cursor-paged."""
        self.authenticate(request)
        media = self._item(node, "post")
        fields = self.fields(request, COMMENT_FIELDS)
        items = self.time_filters(request, self._comments(media))
        return json_response(self.paged(request, items, lambda c: self.render_comment(c, fields)))

    def list_replies(self, request: Request, node: str) -> Response:
        self.authenticate(request)
        comment = self._item(node, "comment")
        fields = self.fields(request, COMMENT_FIELDS)
        items = self._replies(comment)
        return json_response(self.paged(request, items, lambda c: self.render_comment(c, fields), newest_first=False))

    def publishing_limit(self, request: Request, node: str) -> Response:
        token = self.authenticate(request)
        account = self._account(token, self.me(token, node))
        full = {
            "quota_usage": self._published_recently(account),
            "config": {"quota_total": QUOTA_TOTAL, "quota_duration": QUOTA_WINDOW},
        }
        return json_response({"data": [project(full, self.fields(request, "quota_usage"))]})

    def _published_recently(self, account: SimUser) -> int:
        since = self.world.now() - QUOTA_WINDOW
        return sum(
            1
            for p in self.world.iter_posts("instagram")
            if p.author_id == account.id and p.kind == "post" and p.extra.get("api") and p.created_at > since
        )

    def insights(self, request: Request, node: str) -> Response:
        """``GET /{ig-media-id}/insights?metric=views,reach,...``: lifetime values from the media's counters."""
        self.authenticate(request)
        media = self._item(node, "post")
        wanted = [m for m in (self.params(request).get("metric") or "").split(",") if m]
        if not wanted:
            raise self.fail(400, "validation", "(#100) The parameter metric is required")
        unknown = [m for m in wanted if m not in INSIGHT_METRICS]
        if unknown:
            raise self.fail(
                400,
                "validation",
                f"(#100) metric[{wanted.index(unknown[0])}] must be one of the following values: "
                + ", ".join(INSIGHT_METRICS),
            )
        comments = len(self.thread(media.id))
        counts = self.world.engagement(media)
        views = counts.impressions or 25 * (counts.likes + comments + counts.shares) + 11
        values = {
            "views": views,
            "reach": int(views * 0.6),
            "likes": counts.likes,
            "comments": comments,
            "shares": counts.shares,
            "saved": int(media.extra.get("saved", counts.likes // 4)),
        }
        values["total_interactions"] = values["likes"] + comments + counts.shares + values["saved"]
        data = [
            {
                "name": metric,
                "period": "lifetime",
                "values": [{"value": values[metric]}],
                "title": INSIGHT_METRICS[metric],
                "description": "",
                "id": f"{media.id}/insights/{metric}/lifetime",
            }
            for metric in wanted
        ]
        return json_response({"data": data})

    # --- writing ----------------------------------------------------------------------------------------
    def create_container(self, request: Request, node: str) -> Response:
        """``POST /{ig-user-id}/media``: an image container (``image_url``), a carousel item
        (``is_carousel_item=true``) or a carousel (``media_type=CAROUSEL`` + ``children``)."""
        token = self.authenticate(request)
        account = self._account(token, self.me(token, node))
        params = self.params(request)
        caption = params.get("caption") or ""
        self._check_text(caption)
        media_type = (params.get("media_type") or "IMAGE").upper()
        children: list[str] = []
        image_url = params.get("image_url") or ""
        if media_type == "CAROUSEL":
            children = [c for c in (params.get("children") or "").split(",") if c]
            if not 2 <= len(children) <= 10:
                raise self.fail(400, "validation", "(#100) A carousel needs between 2 and 10 children")
            for child in children:
                entry = self.world.media.get(("instagram", child))
                if entry is None or entry["owner"] != account.id or not entry["carousel_item"]:
                    raise self.fail(400, "validation", f"(#100) Invalid carousel child {child}")
            media_type = "CAROUSEL_ALBUM"
        elif media_type != "IMAGE":
            raise self.fail(400, "validation", "(#100) Only IMAGE and CAROUSEL containers are simulated")
        elif not image_url.startswith(("http://", "https://")):
            raise self.fail(400, "validation", "(#100) The parameter image_url is required and must be a public URL")
        container_id = str(CONTAINER_BASE + self.world.next_seq())
        self.world.media[("instagram", container_id)] = {
            "owner": account.id,
            "image_url": image_url,
            "caption": caption,
            "alt_text": params.get("alt_text") or "",
            "media_type": media_type,
            "children": children,
            "carousel_item": self.flag(params.get("is_carousel_item")),
            "status_code": "FINISHED",
            "created": self.world.now(),
        }
        return json_response({"id": container_id})

    def publish(self, request: Request, node: str) -> Response:
        """``POST /{ig-user-id}/media_publish`` ``creation_id=<container>`` → the new media's id."""
        token = self.authenticate(request)
        account = self._account(token, self.me(token, node))
        container_id = self.params(request).get("creation_id") or ""
        entry = self.world.media.get(("instagram", container_id))
        if entry is None or entry["owner"] != account.id:
            raise self.fail(400, "validation", "(#100) Invalid creation_id")
        if entry["carousel_item"]:
            raise self.fail(400, "validation", "(#100) A carousel item is published through its carousel")
        if entry["status_code"] == "PUBLISHED":
            raise self.fail(400, "validation", "(#100) The media has already been published")
        if self.world.now() - entry["created"] > CONTAINER_TTL:
            entry["status_code"] = "EXPIRED"
            raise self.fail(400, "validation", "(#100) The container expired: it was not published within 24 hours")
        if self._published_recently(account) >= QUOTA_TOTAL:
            raise self.fail(400, "quota", "Application request limit reached: content publishing limit (100/24 h)")
        media = self.world.add_post(
            SimPost(platform="instagram", id="", seq=0, author_id=account.id, text=entry["caption"],
                    created_at=self.world.now(), media_ids=[container_id], extra={"api": True})
        )  # fmt: skip
        entry["status_code"] = "PUBLISHED"
        return json_response({"id": media.id})

    def create_comment(self, request: Request, node: str) -> Response:
        """``POST /{ig-media-id}/comments`` ``message=...``: a comment by the account on its own media."""
        token = self.authenticate(request)
        media = self._item(node, "post")
        return self._write_comment(request, token, media, parent=media, kind="comment")

    def create_reply(self, request: Request, node: str) -> Response:
        """``POST /{ig-comment-id}/replies`` ``message=...``: replies nest one level only."""
        token = self.authenticate(request)
        comment = self._item(node, "comment", "reply")
        if comment.kind == "reply":
            raise self.fail(400, "validation", "(#100) Replies to a reply are not supported; reply to the comment")
        media = self._media_of(comment)
        if media is None or media.deleted:
            raise self.fail(400, "not_found", self._missing(node))
        return self._write_comment(request, token, media, parent=comment, kind="reply")

    def _write_comment(
        self, request: Request, token: SimToken, media: SimPost, *, parent: SimPost, kind: str
    ) -> Response:
        if not self._owns(token, media):
            raise self.fail(403, "forbidden", "(#10) Application does not have permission for this action")
        if media.extra.get("comments_disabled"):
            raise self.fail(400, "validation", "(#100) Comments are disabled on this media")
        message = self.params(request).get("message") or ""
        if not message.strip():
            raise self.fail(400, "validation", "(#100) The parameter message is required")
        self._check_text(message)
        comment = self.world.add_post(
            SimPost(platform="instagram", id="", seq=0, author_id=media.author_id, text=message,
                    created_at=self.world.now(), kind=kind, reply_to_id=parent.id, root_id=media.id)
        )  # fmt: skip
        return json_response({"id": comment.id})

    def update_node(self, request: Request, node: str) -> Response:
        """``POST /{ig-comment-id}`` ``hide=true|false``; ``POST /{ig-media-id}`` ``comment_enabled=false``."""
        token = self.authenticate(request)
        item = self._item(node)
        if not self._owns(token, item):
            raise self.fail(403, "forbidden", "(#10) Application does not have permission for this action")
        params = self.params(request)
        if item.kind == "post" and "comment_enabled" in params:
            item.extra["comments_disabled"] = not self.flag(params["comment_enabled"])
        elif item.kind != "post" and "hide" in params:
            media = self._media_of(item)
            if media is not None and item.author_id == media.author_id:
                raise self.fail(400, "validation", "(#100) The account cannot hide its own comment")
            item.hidden = self.flag(params["hide"])
        else:
            raise self.fail(400, "validation", "(#100) Nothing to update")
        return json_response({"success": True})

    def delete_node(self, request: Request, node: str) -> Response:
        token = self.authenticate(request)
        item = self._item(node)
        if not self._owns(token, item):
            raise self.fail(403, "forbidden", "(#10) Application does not have permission for this action")
        item.deleted = True
        return json_response({"success": True})


__all__ = ["InstagramApi"]
