"""The Instagram (Facebook Login) connector against the simulated Graph API, over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.world import SimPost
from smms.connectors.errors import (
    AuthRevoked,
    MalformedPayload,
    NotSupported,
    QuotaExhausted,
    RateLimited,
    Transient,
    ValidationError,
)
from smms.connectors.types import Draft, MediaItem

from .conftest import (
    assert_a_lost_reply_is_found,
    assert_failures_map_onto_errors,
    assert_hide_unhide_delete_read_back,
    authorize,
    comment_ids,
    connect_first,
    make_connector,
    walk,
)

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def image(name: str = "a") -> MediaItem:
    return MediaItem(JPEG, "image/jpeg", alt_text=f"photo {name}", public_url=f"https://cdn.example/{name}.jpg")


@pytest.fixture
def ig(sim):
    return connect_first("instagram", sim[1])


def test_connecting_through_facebook_login_lists_the_linked_business_accounts(sim):
    connector = make_connector("instagram", sim[1])
    url = connector.authorization_url(redirect_uri="http://127.0.0.1:9/cb", state="s", code_verifier="v" * 50)
    assert "/facebook/v24.0/dialog/oauth?" in url  # Instagram has no consent page of its own here
    tokens = authorize(connector)
    candidates = connector.list_accounts(tokens)
    assert [(c.remote_id, c.handle) for c in candidates] == [
        ("17841400000000001", "lumiere.cafe"),
        ("17841400000000002", "lumiere.store"),
    ]
    assert candidates[0].extra["page_id"] == "104812345678901"
    assert all(c.tokens.expires_at is None for c in candidates)  # Page tokens


def test_it_publishes_an_image_through_a_container(ig, admin):
    connector, account, _ = ig
    post = connector.publish(account, Draft(text="Nouveau latte 🍁 #automne", media=(image(),)))
    assert post.url.startswith("https://www.instagram.com/p/")
    assert post.created_at is not None
    media = next(p for p in admin.posts("instagram") if p["id"] == post.id)
    assert media["text"] == "Nouveau latte 🍁 #automne"
    assert media["author_id"] == account.remote_id


def test_several_images_become_a_carousel(ig, sim):
    connector, account, _ = ig
    post = connector.publish(account, Draft(text="Trois vues", media=(image("a"), image("b"), image("c"))))
    container = sim[0].world.media[("instagram", sim[0].world.post("instagram", post.id).media_ids[0])]
    assert container["media_type"] == "CAROUSEL_ALBUM"
    assert len(container["children"]) == 3


def test_a_draft_without_an_image_is_refused_before_any_request(ig, admin):
    connector, account, _ = ig
    before = len(admin.posts("instagram"))
    with pytest.raises(ValidationError, match="needs an image"):
        connector.publish(account, Draft(text="Just words"))
    with pytest.raises(ValidationError, match="public URL"):
        connector.publish(account, Draft(text="No URL", media=(MediaItem(JPEG, "image/jpeg"),)))
    with pytest.raises(ValidationError):
        connector.publish(account, Draft(text="#a " * 31, media=(image(),)))
    assert len(admin.posts("instagram")) == before
    assert connector.capabilities.text_only_posts is False


def test_the_publishing_quota_is_exhausted_at_100_posts_a_day(ig, sim):
    connector, account, _ = ig
    world = sim[0].world
    for n in range(100):
        world.add_post(
            SimPost(platform="instagram", id="", seq=0, author_id=account.remote_id, text=f"post {n}",
                    created_at=world.now() - 3600, extra={"api": True})
        )  # fmt: skip
    with pytest.raises(QuotaExhausted) as caught:
        connector.publish(account, Draft(text="one more", media=(image(),)))
    assert caught.value.reset_at is not None
    assert caught.value.reset_at > datetime.now(UTC)


def test_a_quota_error_from_media_publish_is_quota_exhausted(ig):
    connector, _account, _ = ig
    from smms.connectors.http import Response

    body = {"error": {"message": "Application request limit reached", "code": 9, "error_subcode": 2207042}}
    assert isinstance(connector.map_error(Response(400, {}, body, "http://x")), QuotaExhausted)


def test_a_published_post_is_found_by_its_caption_and_deleted(ig, admin):
    connector, account, _ = ig
    since = datetime.now(UTC) - timedelta(minutes=1)
    post = connector.publish(account, Draft(text="Find this one", media=(image(),)))
    found = connector.find_post(account, text="Find this one", since=since)
    assert found is not None
    assert found.id == post.id
    assert connector.find_post(account, text="other", since=since) is None
    connector.delete(account, post.id)
    assert next(p for p in admin.posts("instagram") if p["id"] == post.id)["deleted"] is True


def test_fetching_mentions_walks_every_comment_exactly_once_across_pages(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=130, kind="comment", target=account.remote_id)
    items, cursor, _ = walk(connector, account)
    ids = [i.remote_id for i in items]
    assert len(ids) == len(set(ids)) == 130
    assert set(ids) == comment_ids(admin, "instagram", account.remote_id)
    assert all(i.kind == "comment" and i.author.handle for i in items)
    later, _, _ = walk(connector, account, cursor)
    assert later == []


def test_comments_arriving_between_pages_are_neither_duplicated_nor_lost(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=120, kind="comment", target=account.remote_id)

    def more():
        admin.generate(platform="instagram", count=35, kind="comment", target=account.remote_id)

    items, cursor, _ = walk(connector, account, between=more)
    assert len(items) == 120
    newer, cursor, _ = walk(connector, account, cursor)
    ids = [i.remote_id for i in items + newer]
    assert len(ids) == len(set(ids)) == 155
    assert set(ids) == comment_ids(admin, "instagram", account.remote_id)


def test_reply_hide_and_delete_moderate_comments(ig, admin, sim):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=3, kind="comment", target=account.remote_id)
    items, cursor, _ = walk(connector, account)
    reply = connector.reply(account, items[0].remote_id, "Merci !")
    connector.hide(account, items[1].remote_id)
    connector.delete_comment(account, items[2].remote_id)
    posts = {p["id"]: p for p in admin.posts("instagram")}
    assert posts[reply.id]["reply_to_id"] == items[0].remote_id
    assert posts[items[1].remote_id]["hidden"] is True
    assert posts[items[2].remote_id]["deleted"] is True
    newer, _, _ = walk(connector, account, cursor)
    assert newer == []  # our own reply is not a mention


def test_hiding_then_unhiding_and_deleting_a_comment_reads_back_on_the_comment(ig, admin, sim):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    assert_hide_unhide_delete_read_back(sim[1], connector, account, comment.remote_id, "hidden")


def test_likes_are_not_offered(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    assert connector.capabilities.like is False
    with pytest.raises(NotSupported):
        connector.like(account, comment.remote_id)
    assert next(p for p in admin.posts("instagram") if p["id"] == comment.remote_id)["liked_by"] == []


def test_a_reply_whose_answer_was_lost_is_found_among_the_comments_replies(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=2, kind="comment", target=account.remote_id)
    (first, second), _cursor, _ = walk(connector, account)
    assert_a_lost_reply_is_found(
        admin, connector, account, target_id=first.remote_id, text="Merci 🙏", path="/replies$",
        same_words_to=second.remote_id, idempotency_key="ignored",
    )  # fmt: skip


def test_a_comment_on_a_media_whose_answer_was_lost_is_found_among_its_comments(ig, admin):
    connector, account, _ = ig
    post = connector.publish(account, Draft(text="Nouveau", media=(image(),)))
    since = datetime.now(UTC) - timedelta(seconds=5)
    admin.faults({"kind": "lost", "platform": "instagram", "methods": ["POST"], "path": "/comments$", "count": 1})
    with pytest.raises(Transient):
        connector.comment(account, post.id, "Disponible en boutique")
    found = connector.find_reply(account, target_id=post.id, text="Disponible en boutique", since=since)
    assert found is not None
    assert next(p for p in admin.posts("instagram") if p["id"] == found.id)["reply_to_id"] == post.id


def test_a_failed_look_for_a_reply_maps_onto_the_connector_errors(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    since = datetime.now(UTC)
    assert_failures_map_onto_errors(
        admin, connector, "instagram", "/replies$",
        lambda: connector.find_reply(account, target_id=comment.remote_id, text="x", since=since),
    )  # fmt: skip


def test_replies_of_a_new_comment_come_with_it(ig, admin, sim):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=1, kind="comment", target=account.remote_id)
    world = sim[0].world
    comment = next(p for p in world.iter_posts("instagram") if p.kind == "comment")
    world.add_post(
        SimPost(platform="instagram", id="", seq=0, author_id=world.people("instagram")[3].id, text="same!",
                created_at=world.now(), kind="reply", reply_to_id=comment.id, root_id=comment.root_id)
    )  # fmt: skip
    items, _, _ = walk(connector, account)
    assert [(i.kind, i.in_reply_to_id) for i in items] == [("comment", comment.root_id), ("reply", comment.id)]


def test_metrics_come_from_media_insights(ig, admin, sim):
    connector, account, _ = ig
    post = connector.publish(account, Draft(text="Counting", media=(image(),)))
    admin.generate(platform="instagram", count=2, kind="comment", target=account.remote_id)
    stored = sim[0].world.post("instagram", post.id)
    stored.likes, stored.shares, stored.impressions = 40, 5, 900
    metrics = connector.metrics(account, [post.id, "17900000000999999"])
    assert set(metrics) == {post.id}
    m = metrics[post.id]
    assert (m.likes, m.shares, m.replies, m.views) == (40, 5, 2, 900)


def test_an_expired_page_token_cannot_be_refreshed_and_ends_as_revoked(ig, admin):
    connector, account, saved = ig
    admin.expire(platform="facebook", user_id=account.extra["page_id"])
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)
    assert saved == []


def test_a_revoked_token_ends_as_auth_revoked(ig, admin):
    connector, account, _ = ig
    admin.revoke(platform="facebook", user_id=account.extra["page_id"])
    with pytest.raises(AuthRevoked):
        connector.publish(account, Draft(text="x", media=(image(),)))


def test_an_injected_burst_of_429_is_rate_limited_until_the_retry_time(ig, admin):
    connector, account, _ = ig
    admin.faults({"kind": "rate_limit", "platform": "instagram", "count": 1, "retry_after": 30})
    with pytest.raises(RateLimited) as caught:
        connector.fetch_mentions(account, None)
    wait = (caught.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 25 <= wait <= 31


def test_a_small_window_is_rate_limited_with_its_reset_time(ig, admin):
    connector, account, _ = ig
    admin.config(rate_limits={"instagram": [3, 60]}, reset_rate_windows=True)
    for _ in range(3):
        connector.fetch_mentions(account, None)
    with pytest.raises(RateLimited) as caught:
        connector.fetch_mentions(account, None)
    wait = (caught.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 61


def test_server_errors_are_transient_and_bad_bodies_malformed(ig, admin):
    connector, account, _ = ig
    admin.faults({"kind": "error", "platform": "instagram", "status": 500, "count": 3})
    with pytest.raises(Transient):
        connector.fetch_mentions(account, None)
    admin.clear_faults()
    admin.faults({"kind": "malformed", "platform": "instagram"})
    with pytest.raises(MalformedPayload):
        connector.fetch_mentions(account, None)


def test_malformed_comments_are_quarantined_and_the_page_survives(ig, admin):
    connector, account, _ = ig
    admin.generate(platform="instagram", count=6, kind="comment", target=account.remote_id)
    admin.generate(platform="instagram", count=3, kind="comment", target=account.remote_id, malformed_rate=1)
    items, _, quarantined = walk(connector, account)
    assert len(items) == 6
    assert len(quarantined) == 3


def test_a_publish_whose_answer_was_lost_is_reconciled_by_its_caption(ig, admin):
    connector, account, _ = ig
    since = datetime.now(UTC) - timedelta(seconds=5)
    admin.faults({"kind": "lost", "platform": "instagram", "methods": ["POST"], "path": "media_publish", "count": 1})
    with pytest.raises(Transient) as caught:
        connector.publish(account, Draft(text="Lost answer", media=(image(),)))
    assert caught.value.unknown_outcome
    found = connector.find_post(account, text="Lost answer", since=since)
    assert found is not None
    assert found.id in {p["id"] for p in admin.posts("instagram", author=account.remote_id)}
