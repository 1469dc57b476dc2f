"""Simulated Facebook Pages API (Graph API v24.0): Facebook Login, Page tokens, Page posts and photos,
comments with hide/delete, reactions/shares/comment summaries and post insights.

Ids as Facebook forms them: Page post ``{page-id}_{post-id}``, comment ``{post-id}_{comment-id}``; times
``2019-09-16T21:07:51+0000``. Comments are SimPosts of kind "comment" whose ``root_id`` is the Page post and
whose ``reply_to_id`` is the post (top level) or the top-level comment (a reply; Facebook nests one level).
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from simulator.platforms.base import Handler, json_response
from simulator.platforms.graph import Field, GraphApi, graph_time, project
from simulator.world import SimPost, SimToken, SimUser, TokenProblem, World

MESSAGE_LIMIT = 63206
COMMENT_LIMIT = 8000
SHORT_LIVED = 7200.0  # a user token straight from the code exchange lives about two hours
POST_BASE = 122_100_000_000_000
COMMENT_BASE = 1_200_000_000_000_000
PHOTO_BASE = 122_000_000_000_000
PERSON_BASE = 100_012_000_000_000
INSIGHT_METRICS = {
    "post_media_view": ("Media views", "The number of times your post was on screen."),
    "post_total_media_view_unique": ("Media viewers", "The number of people who saw your post."),
    "post_reactions_by_type_total": ("Reactions by type", "Total reactions by type."),
    "post_clicks": ("Post clicks", "The number of times people clicked on anywhere in your posts."),
}
POST_FIELDS = "id,message,created_time"
COMMENT_FIELDS = "id,message,created_time,from"


class FacebookApi(GraphApi):
    name = "facebook"
    authorize_path = "/v24.0/dialog/oauth"

    def edge_routes(self) -> list[tuple[str, tuple[str, ...], Handler]]:
        return [
            ("GET", ("oauth", "access_token"), self.access_token),
            ("POST", ("oauth", "access_token"), self.access_token),
            ("GET", ("*", "feed"), self.list_posts),
            ("GET", ("*", "posts"), self.list_posts),
            ("GET", ("*", "published_posts"), self.list_posts),
            ("POST", ("*", "feed"), self.create_post),
            ("POST", ("*", "photos"), self.create_photo),
            ("POST", ("*", "likes"), self.like),
        ]

    # --- world hooks ------------------------------------------------------------------------------------
    def make_id(self, world: World, post: SimPost) -> str:
        if post.kind == "post":
            return f"{post.author_id}_{POST_BASE + post.seq}"
        root = post.root_id or post.reply_to_id or ""
        return f"{root.rsplit('_', 1)[-1]}_{COMMENT_BASE + post.seq}"

    def person_id(self, index: int) -> str:
        return str(PERSON_BASE + index)

    def mention_text(self, target: SimUser) -> str:
        return f"@{target.display_name}"

    # --- OAuth ------------------------------------------------------------------------------------------
    def access_token(self, request: Request) -> Response:
        """Code → short-lived user token; ``grant_type=fb_exchange_token`` → long-lived (60-day) user token."""
        params = self.params(request)
        if not params.get("client_id") or not params.get("client_secret"):
            raise self.fail(400, "bad_request", "Missing client_id or client_secret parameter.")
        if params.get("grant_type") == "fb_exchange_token":
            try:
                short = self.world.check("facebook", params.get("fb_exchange_token"))
            except TokenProblem as problem:
                raise self.fail(400, f"{problem.kind}_token", "") from None
            lifetime = self.world.ttl["facebook"]["access"]
            token = self.world.issue(
                "facebook",
                short.user_id,
                scopes=short.scopes,
                family=short.family,
                client_id=short.client_id,
                extra={"type": "USER", "long_lived": True},
            )
            return self._token_answer(token, lifetime)
        try:
            grant = self.world.redeem_code("facebook", params.get("code", ""), params.get("redirect_uri", ""), None)
        except TokenProblem:
            raise self.fail(
                400, "bad_request", "Invalid verification code format or code already used (#100)"
            ) from None
        long_lived = self.world.ttl["facebook"]["access"]
        lifetime = SHORT_LIVED if long_lived is None else min(SHORT_LIVED, float(long_lived))
        token = self.world.issue(
            "facebook",
            grant.user_id,
            scopes=grant.scopes,
            client_id=grant.client_id,
            ttl=lifetime,
            extra={"type": "USER"},
        )
        return self._token_answer(token, lifetime)

    @staticmethod
    def _token_answer(token: SimToken, lifetime: float | None) -> Response:
        body: dict[str, Any] = {"access_token": token.value, "token_type": "bearer"}
        if lifetime is not None:
            body["expires_in"] = int(lifetime)
        return json_response(body)

    # --- lookups ----------------------------------------------------------------------------------------
    def _post(self, post_id: str) -> SimPost:
        post = self.world.post("facebook", post_id)
        if post is None or post.kind != "post":
            raise self.fail(400, "not_found", self._missing(post_id))
        return post

    @staticmethod
    def _missing(node: str, verb: str = "get") -> str:
        return (
            f"Unsupported {verb} request. Object with ID '{node}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation."
        )

    def _comments(self, parent: SimPost, *, stream: bool) -> list[SimPost]:
        """Live comments under a post (top level, or all with ``stream``) or the replies of a comment."""
        if parent.kind != "post" or not stream:
            out = self.children(parent.id)
        else:  # a reply under a deleted comment is gone with it
            alive = {c.id for c in self.children(parent.id)}
            out = [c for c in self.thread(parent.id) if c.reply_to_id == parent.id or c.reply_to_id in alive]
        return sorted(out, key=lambda p: (p.created_at, p.seq))

    def _author(self, user_id: str) -> dict[str, str]:
        user = self.world.user("facebook", user_id)
        return {"id": user_id, "name": user.display_name if user else "Facebook user"}

    def _updated(self, post: SimPost) -> float:
        times = [c.created_at for c in self._comments(post, stream=True)]
        return max([post.created_at, post.extra.get("edited_at", 0.0), *times])

    # --- rendering --------------------------------------------------------------------------------------
    def post_full(self, post: SimPost) -> dict[str, Any]:
        page_id, _, number = post.id.partition("_")
        full: dict[str, Any] = {
            "id": post.id,
            "created_time": graph_time(post.created_at),
            "updated_time": graph_time(self._updated(post)),
            "from": self._author(post.author_id),
            "permalink_url": f"https://www.facebook.com/{page_id}/posts/{number}",
            "is_hidden": post.hidden,
            "is_published": True,
            "status_type": "added_photos" if post.media_ids else "mobile_status_update",
        }
        if post.text:
            full["message"] = post.text
        if post.link:
            full["link"] = post.link
        counts = self.world.engagement(post)
        if counts.shares:
            full["shares"] = {"count": counts.shares}
        if post.media_ids:
            photo = self.world.media.get(("facebook", post.media_ids[0]), {})
            full["full_picture"] = photo.get("url", "")
        return full

    def render_post(self, post: SimPost, fields: list[Field]) -> dict[str, Any]:
        def comments(wanted: Field) -> dict[str, Any]:
            return self._comment_edge(post, wanted)

        def reactions(wanted: Field) -> dict[str, Any]:
            kind = wanted.mods.get("type", "").upper()
            total = self.world.engagement(post).likes if kind in ("", "LIKE") else 0
            body: dict[str, Any] = {"data": []}
            if wanted.mods.get("summary"):
                body["summary"] = {"total_count": total, "viewer_reaction": "NONE"}
            return body

        return project(self.post_full(post), fields, {"comments": comments, "reactions": reactions})

    def _comment_edge(self, parent: SimPost, wanted: Field) -> dict[str, Any]:
        stream = wanted.mods.get("filter", "toplevel") == "stream"
        order = wanted.mods.get("order", "chronological")
        items = self._comments(parent, stream=stream)
        if order == "reverse_chronological":
            items.reverse()
        shown = items[: wanted.mod_int("limit", 25)]
        sub = wanted.sub or [Field(n) for n in COMMENT_FIELDS.split(",")]
        body: dict[str, Any] = {"data": [self.render_comment(c, sub) for c in shown]}
        if wanted.mods.get("summary"):
            body["summary"] = {"total_count": len(items), "order": order, "can_comment": True}
        return body

    def comment_full(self, comment: SimPost) -> dict[str, Any]:
        root = self.world.posts.get(("facebook", comment.root_id or ""))
        page_id = root.author_id if root else ""
        _, _, number = (comment.root_id or "").partition("_")
        full: dict[str, Any] = {
            "id": comment.id,
            "message": comment.text,
            "created_time": graph_time(comment.created_at),
            "from": self._author(comment.author_id),
            "is_hidden": comment.hidden,
            "can_hide": comment.author_id != page_id,
            "can_remove": True,
            "can_comment": comment.reply_to_id == comment.root_id,
            "like_count": comment.likes,
            "comment_count": len(self._comments(comment, stream=False)),
            "permalink_url": f"https://www.facebook.com/{page_id}/posts/{number}?comment_id={comment.id}",
            "object": {"id": comment.root_id},
        }
        if comment.reply_to_id and comment.reply_to_id != comment.root_id:
            full["parent"] = {"id": comment.reply_to_id}
        if comment.malformed:
            full["message"] = 40_404  # a required field of the wrong type: connectors must quarantine it
        return full

    def render_comment(self, comment: SimPost, fields: list[Field]) -> dict[str, Any]:
        def replies(wanted: Field) -> dict[str, Any]:
            return self._comment_edge(comment, wanted)

        return project(self.comment_full(comment), fields, {"comments": replies})

    # --- reading ----------------------------------------------------------------------------------------
    def get_node(self, request: Request, node: str) -> Response:
        token = self.authenticate(request)
        node = self.me(token, node)
        page = self.page(node)
        if page is not None:
            return json_response(self.render_page(page, self.fields(request, "id,name")))
        person = self.world.user("facebook", node)
        if person is not None:
            return json_response(project({"id": person.id, "name": person.display_name}, self.fields(request, "")))
        photo = self.world.media.get(("facebook", node))
        if photo is not None:
            full = {"id": node, "created_time": graph_time(photo["created"]), "images": [{"source": photo["url"]}]}
            return json_response(project(full, self.fields(request, "id,created_time")))
        item = self.world.post("facebook", node)
        if item is None:
            raise self.fail(400, "not_found", self._missing(node))
        if item.kind == "post":
            return json_response(self.render_post(item, self.fields(request, POST_FIELDS)))
        return json_response(self.render_comment(item, self.fields(request, COMMENT_FIELDS)))

    def list_posts(self, request: Request, node: str) -> Response:
        """``/{page-id}/feed`` (the Page's posts and visitor posts), ``/posts`` and ``/published_posts``."""
        token = self.authenticate(request)
        page_id = self.me(token, node)
        if self.page(page_id) is None:
            raise self.fail(400, "not_found", self._missing(page_id))
        own_only = not request.path.rstrip("/").endswith("/feed")
        items = [
            p
            for p in self.world.iter_posts("facebook")
            if p.kind == "post"
            and not p.deleted
            and (p.author_id == page_id or (not own_only and p.target_id == page_id and not p.reply_to_id))
        ]
        items = self.time_filters(request, sorted(items, key=lambda p: (p.created_at, p.seq), reverse=True))
        fields = self.fields(request, POST_FIELDS)
        return json_response(self.paged(request, items, lambda p: self.render_post(p, fields)))

    def list_comments(self, request: Request, node: str) -> Response:
        """``/{post-or-comment-id}/comments`` with ``filter``, ``order``, ``since``/``until`` and cursors."""
        self.authenticate(request)
        parent = self.world.post("facebook", node)
        if parent is None:
            raise self.fail(400, "not_found", self._missing(node))
        params = self.params(request)
        order = params.get("order", "chronological")
        if order not in ("chronological", "reverse_chronological", "ranked"):
            raise self.fail(
                400, "bad_request", "(#100) param order must be one of {CHRONOLOGICAL, REVERSE_CHRONOLOGICAL}"
            )
        stream = params.get("filter", "toplevel") == "stream"
        items = self.time_filters(request, self._comments(parent, stream=stream))
        newest_first = order == "reverse_chronological"
        if newest_first:
            items.reverse()
        fields = self.fields(request, COMMENT_FIELDS)
        extra = None
        if self.flag(params.get("summary")):
            extra = {"summary": {"total_count": len(items), "order": order, "can_comment": True}}
        body = self.paged(
            request, items, lambda c: self.render_comment(c, fields), newest_first=newest_first, extra=extra
        )
        return json_response(body)

    def insights(self, request: Request, node: str) -> Response:
        """``/{post-id}/insights?metric=post_media_view,...``: lifetime values from the post's counters."""
        self.authenticate(request)
        post = self._post(node)
        wanted = [m for m in (self.params(request).get("metric") or "post_media_view").split(",") if m]
        unknown = [m for m in wanted if m not in INSIGHT_METRICS]
        if unknown:
            raise self.fail(400, "validation", f"(#100) The value must be a valid insights metric: {unknown[0]}")
        comments = len(self._comments(post, stream=True))
        counts = self.world.engagement(post)
        views = counts.impressions or 20 * (counts.likes + comments + counts.shares) + 7
        values: dict[str, Any] = {
            "post_media_view": views,
            "post_total_media_view_unique": int(views * 0.7),
            "post_reactions_by_type_total": {"like": counts.likes} if counts.likes else {},
            "post_clicks": counts.likes // 2,
        }
        data = [
            {
                "name": metric,
                "period": "lifetime",
                "values": [{"value": values[metric]}],
                "title": INSIGHT_METRICS[metric][0],
                "description": INSIGHT_METRICS[metric][1],
                "id": f"{post.id}/insights/{metric}/lifetime",
            }
            for metric in wanted
        ]
        return json_response({"data": data, "paging": {}})

    # --- writing ----------------------------------------------------------------------------------------
    def _page_for_write(self, request: Request, node: str) -> tuple[SimToken, SimUser]:
        token = self.authenticate(request)
        page_id = self.me(token, node)
        page = self.page(page_id)
        if page is None:
            raise self.fail(400, "not_found", self._missing(page_id))
        if token.user_id != page_id:
            raise self.fail(
                403, "forbidden", "(#200) The user hasn't authorized the application to perform this action"
            )
        return token, page

    def _check_message(self, message: str, limit: int) -> None:
        if len(message) > limit:
            raise self.fail(400, "validation", f"(#100) The message is too long: {len(message)} > {limit} characters")

    def create_post(self, request: Request, node: str) -> Response:
        """``POST /{page-id}/feed`` with ``message``, ``link`` and/or ``attached_media``."""
        _token, page = self._page_for_write(request, node)
        params = self.params(request)
        message = params.get("message") or ""
        link = params.get("link") or None
        media_ids = self._attached_media(params)
        if not message and not link and not media_ids:
            raise self.fail(400, "validation", "(#100) Missing message or attachment")
        self._check_message(message, MESSAGE_LIMIT)
        last = next(
            (
                p
                for p in self.world.iter_posts("facebook")
                if p.author_id == page.id and p.kind == "post" and not p.deleted
            ),
            None,
        )
        if (
            last is not None
            and message
            and last.text == message
            and last.link == link
            and not media_ids
            and self.world.now() - last.created_at < 86400
        ):
            raise self.fail(400, "duplicate", "(#506) Duplicate status message")
        post = self.world.add_post(
            SimPost(platform="facebook", id="", seq=0, author_id=page.id, text=message, created_at=self.world.now(),
                    link=link, media_ids=media_ids, extra={"api": True})
        )  # fmt: skip
        return json_response({"id": post.id})

    def _attached_media(self, params: Any) -> list[str]:
        raw: list[Any] = []
        for key, value in params.items(multi=True):
            if key == "attached_media" or key.startswith("attached_media["):
                if isinstance(value, str):
                    try:
                        value = json.loads(value)
                    except ValueError:
                        raise self.fail(400, "validation", "(#100) attached_media must be JSON") from None
                raw.extend(value if isinstance(value, list) else [value])
        ids = []
        for entry in raw:
            media_id = entry.get("media_fbid") if isinstance(entry, dict) else None
            if not isinstance(media_id, str) or ("facebook", media_id) not in self.world.media:
                raise self.fail(400, "validation", f"(#100) Invalid media_fbid: {media_id!r}")
            ids.append(media_id)
        return ids

    def create_photo(self, request: Request, node: str) -> Response:
        """``POST /{page-id}/photos`` with ``url`` or a multipart ``source``; ``published=false`` only uploads."""
        _token, page = self._page_for_write(request, node)
        params = self.params(request)
        upload = request.files.get("source")
        url = params.get("url") or ""
        if upload is None and not url.startswith(("http://", "https://")):
            raise self.fail(400, "validation", "(#100) Missing or invalid image file: give url or source")
        size = len(upload.read()) if upload is not None else 0
        if upload is not None and size == 0:
            raise self.fail(400, "validation", "(#324) Requires upload file")
        photo_id = str(PHOTO_BASE + self.world.next_seq())
        self.world.media[("facebook", photo_id)] = {
            "owner": page.id,
            "url": url or f"https://scontent.example/photos/{photo_id}.jpg",
            "size": size,
            "mime": upload.mimetype if upload is not None else "",
            "created": self.world.now(),
        }
        if params.get("published", "true").lower() == "false":
            return json_response({"id": photo_id})
        message = params.get("message") or params.get("caption") or ""
        self._check_message(message, MESSAGE_LIMIT)
        post = self.world.add_post(
            SimPost(platform="facebook", id="", seq=0, author_id=page.id, text=message, created_at=self.world.now(),
                    media_ids=[photo_id], extra={"api": True})
        )  # fmt: skip
        return json_response({"id": photo_id, "post_id": post.id})

    def create_comment(self, request: Request, node: str) -> Response:
        """``POST /{post-or-comment-id}/comments``: a reply to a reply joins the top-level comment's thread."""
        token = self.authenticate(request)
        target = self.world.post("facebook", node)
        if target is None:
            raise self.fail(400, "not_found", self._missing(node))
        message = self.params(request).get("message") or ""
        if not message.strip():
            raise self.fail(400, "validation", "(#100) Missing message")
        self._check_message(message, COMMENT_LIMIT)
        root_id = target.id if target.kind == "post" else (target.root_id or target.id)
        parent_id = target.id
        if target.kind != "post" and target.reply_to_id and target.reply_to_id != root_id:
            parent_id = target.reply_to_id
        comment = self.world.add_post(
            SimPost(platform="facebook", id="", seq=0, author_id=token.user_id, text=message,
                    created_at=self.world.now(), kind="comment", reply_to_id=parent_id, root_id=root_id)
        )  # fmt: skip
        return json_response({"id": comment.id})

    def _owned(self, token: SimToken, item: SimPost) -> bool:
        root = item if item.kind == "post" else self.world.posts.get(("facebook", item.root_id or ""))
        page_id = root.author_id if root else ""
        return token.user_id == page_id or token.user_id == item.author_id

    def update_node(self, request: Request, node: str) -> Response:
        """``POST /{comment-id}`` ``is_hidden=true|false``; ``POST /{post-id}`` ``message=...`` edits."""
        token = self.authenticate(request)
        item = self.world.post("facebook", node)
        if item is None:
            raise self.fail(400, "not_found", self._missing(node))
        if not self._owned(token, item):
            raise self.fail(403, "forbidden", "(#200) Permissions error")
        params = self.params(request)
        if "is_hidden" in params:
            if item.kind == "post":
                item.hidden = self.flag(params["is_hidden"])
            else:
                root = self.world.posts.get(("facebook", item.root_id or ""))
                if root is not None and item.author_id == root.author_id:
                    raise self.fail(400, "validation", "(#100) A Page cannot hide its own comment")
                item.hidden = self.flag(params["is_hidden"])
        elif "message" in params:
            self._check_message(params["message"], MESSAGE_LIMIT if item.kind == "post" else COMMENT_LIMIT)
            item.text = params["message"]
            item.extra["edited_at"] = self.world.now()
        else:
            raise self.fail(400, "validation", "(#100) Nothing to update")
        return json_response({"success": True})

    def like(self, request: Request, node: str) -> Response:
        """``POST /{object-id}/likes``: the Page likes a post or a comment in its threads, once however often
        it is asked."""
        token = self.authenticate(request)
        item = self.world.post("facebook", node)
        if item is None:
            raise self.fail(400, "not_found", self._missing(node, "post"))
        if not self._owned(token, item):
            raise self.fail(403, "forbidden", "(#200) Permissions error")
        self.world.like(item, token.user_id)
        return json_response({"success": True})

    def delete_node(self, request: Request, node: str) -> Response:
        token = self.authenticate(request)
        item = self.world.post("facebook", node)
        if item is None:
            raise self.fail(400, "not_found", self._missing(node))
        if not self._owned(token, item):
            raise self.fail(403, "forbidden", "(#200) Permissions error")
        item.deleted = True
        return json_response({"success": True})


__all__ = ["FacebookApi"]
