"""The official ``atproto`` Python SDK (MarshalX) talks to the simulator: it parses every answer into its strict
Lexicon models, so the simulator cannot drift from what real clients send and expect."""

from __future__ import annotations

import pytest
from atproto import Client, client_utils, models
from atproto_client.exceptions import BadRequestError

P = "bluesky"
# httpx (inside the SDK) warns about how the SDK hands it the raw bytes of a blob upload.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
def brand(admin) -> dict:
    return next(u for u in admin.users(P) if u["handle"] == "lumiere.bsky.social")


@pytest.fixture
def client(sim, brand) -> Client:
    client = Client(base_url=f"{sim[1]}/bluesky")
    profile = client.login(brand["handle"], brand["password"])
    assert profile is not None
    assert (profile.did, profile.handle, profile.display_name) == (brand["id"], brand["handle"], "Maison Lumière")
    return client


def test_the_sdk_logs_in_posts_reads_notifications_replies_and_deletes(client, admin, brand):
    posted = client.send_post(client_utils.TextBuilder().text("Bonjour ").tag("#Lumière", "Lumière"))
    assert posted.uri.startswith(f"at://{brand['id']}/app.bsky.feed.post/")
    assert posted.cid.startswith("bafyrei")

    admin.generate(platform=P, count=3, kind="reply", target=brand["id"])
    admin.generate(platform=P, count=2, kind="mention", target=brand["id"])
    params = models.AppBskyNotificationListNotifications.Params(limit=3)
    first = client.app.bsky.notification.list_notifications(params)
    assert len(first.notifications) == 3
    assert first.cursor
    rest = client.app.bsky.notification.list_notifications(
        models.AppBskyNotificationListNotifications.Params(limit=3, cursor=first.cursor)
    )
    assert len(rest.notifications) == 2
    assert rest.cursor is None
    assert [n.reason for n in first.notifications + rest.notifications] == ["mention"] * 2 + ["reply"] * 3

    note = rest.notifications[0]
    parent = models.create_strong_ref(note)
    root = note.record.reply.root
    reply = client.send_post(
        "Merci pour votre message !", reply_to=models.AppBskyFeedPost.ReplyRef(root=root, parent=parent)
    )

    client.delete_post(posted.uri)

    posts = {p["id"]: p for p in admin.posts(P, author=brand["id"])}
    assert posts[posted.uri]["deleted"] is True
    assert posts[posted.uri]["text"] == "Bonjour #Lumière"
    assert (posts[reply.uri]["reply_to_id"], posts[reply.uri]["root_id"]) == (note.uri, root.uri)
    assert posts[reply.uri]["deleted"] is False


def test_the_sdk_reads_posts_metrics_profiles_and_search(client, admin, brand):
    sent = client.send_image("Nouvelle lampe", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "une lampe")
    [view] = client.get_posts([sent.uri]).posts
    assert (view.like_count, view.reply_count, view.repost_count, view.quote_count) == (0, 0, 0, 0)
    assert view.embed.images[0].alt == "une lampe"
    admin.generate(platform=P, count=4, target=brand["id"], product="Zéphyr", hostile_rate=0)
    found = client.app.bsky.feed.search_posts(models.AppBskyFeedSearchPosts.Params(q="lampe"))
    assert [p.uri for p in found.posts] == [sent.uri]
    feed = client.get_author_feed(brand["handle"])
    assert feed.feed[0].post.uri == sent.uri
    assert client.get_profile(brand["handle"]).posts_count == 1


def test_the_sdk_refreshes_its_session_and_sees_an_expired_token(client, admin, brand):
    old = client.export_session_string()
    client._refresh_and_set_session()  # what the SDK does 15 minutes before the access JWT expires
    assert client.export_session_string() != old
    admin.expire(platform=P, user_id=brand["id"])
    with pytest.raises(BadRequestError) as refused:
        client.get_profile(brand["handle"])
    assert refused.value.response.content.error == "ExpiredToken"
