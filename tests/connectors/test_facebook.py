"""The Facebook Pages connector against the simulated Graph API, over real HTTP."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from smms.connectors.errors import (
    AuthRevoked,
    Duplicate,
    MalformedPayload,
    NotFound,
    NotSupported,
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
    graph_get,
    make_connector,
    walk,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fb(sim):
    return connect_first("facebook", sim[1])


def test_connecting_yields_a_long_lived_user_token_and_non_expiring_page_tokens(sim):
    connector = make_connector("facebook", sim[1])
    tokens = authorize(connector)
    assert tokens.expires_at is not None
    assert tokens.expires_at - datetime.now(UTC) > timedelta(days=59)  # exchanged for the 60-day token
    assert not tokens.refresh_token
    assert "pages_manage_posts" in tokens.scopes  # read back with debug_token
    candidates = connector.list_accounts(tokens)
    assert [c.display_name for c in candidates] == ["Lumière Café", "Lumière Store"]
    assert all(c.tokens.expires_at is None and c.tokens.access_token for c in candidates)
    assert candidates[0].handle == "lumierecafe"
    assert "CREATE_CONTENT" in candidates[0].extra["tasks"]


def test_the_consent_url_asks_for_comma_separated_page_permissions(sim):
    connector = make_connector("facebook", sim[1])
    url = connector.authorization_url(redirect_uri="http://127.0.0.1:9/cb", state="s", code_verifier="v" * 50)
    assert "/facebook/v24.0/dialog/oauth?" in url
    assert "pages_manage_posts%2Cpages_read_engagement" in url or "pages_manage_posts,pages_read_engagement" in url


def test_it_publishes_text_with_a_link_an_image_and_several_images(fb, admin):
    connector, account, _ = fb
    text_post = connector.publish(account, Draft(text="Nouveau menu d'automne 🍂", link="https://example.com/menu"))
    assert text_post.id.startswith(f"{account.remote_id}_")
    assert text_post.url == f"https://www.facebook.com/{account.remote_id}/posts/{text_post.id.split('_')[1]}"
    photo_post = connector.publish(account, Draft(text="Latte art", media=(MediaItem(PNG, "image/png"),)))
    album = connector.publish(
        account,
        Draft(
            text="Two views",
            media=(
                MediaItem(PNG, "image/png", public_url="https://cdn.example/a.png"),
                MediaItem(PNG, "image/png"),
            ),
        ),
    )
    posts = {p["id"]: p for p in admin.posts("facebook", author=account.remote_id)}
    assert posts[text_post.id]["link"] == "https://example.com/menu"
    assert posts[text_post.id]["text"] == "Nouveau menu d'automne 🍂"
    assert len(posts[photo_post.id]["media_ids"]) == 1
    assert len(posts[album.id]["media_ids"]) == 2


def test_a_second_identical_post_is_a_duplicate(fb):
    connector, account, _ = fb
    connector.publish(account, Draft(text="Same words"))
    with pytest.raises(Duplicate):
        connector.publish(account, Draft(text="Same words"))


def test_an_over_long_post_is_refused_before_any_request(fb, admin):
    connector, account, _ = fb
    before = len(admin.posts("facebook"))
    with pytest.raises(ValidationError):
        connector.publish(account, Draft(text="a" * 63207))
    assert len(admin.posts("facebook")) == before


def test_the_server_refuses_an_over_long_message_with_code_100(fb, sim):
    _connector, account, _ = fb
    answer = requests.post(
        f"{sim[1]}/facebook/v24.0/{account.remote_id}/feed",
        data={"message": "a" * 63207, "access_token": account.tokens.access_token},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100


def test_a_published_post_is_found_again_by_its_text_and_deleted(fb, admin):
    connector, account, _ = fb
    since = datetime.now(UTC) - timedelta(minutes=1)
    post = connector.publish(account, Draft(text="Find me", link="https://example.com/x", media=()))
    found = connector.find_post(account, text="Find me", since=since)
    assert found is not None
    assert found.id == post.id
    assert connector.find_post(account, text="Not published", since=since) is None
    connector.delete(account, post.id)
    assert next(p for p in admin.posts("facebook") if p["id"] == post.id)["deleted"] is True
    with pytest.raises(NotFound):
        connector.delete(account, post.id)


def test_fetching_mentions_walks_every_comment_exactly_once_across_pages(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=130, kind="comment", target=account.remote_id)
    first = connector.fetch_mentions(account, None)
    assert len(first.items) == 50
    assert first.has_more
    items, cursor, _ = walk(connector, account, first.cursor)
    items = first.items + items
    ids = [i.remote_id for i in items]
    assert len(ids) == len(set(ids)) == 130
    assert set(ids) == comment_ids(admin, "facebook", account.remote_id)
    assert all(i.kind == "comment" and i.author.id and i.created_at.tzinfo for i in items)
    later, _, _ = walk(connector, account, cursor)
    assert later == []


def test_comments_arriving_between_pages_are_neither_duplicated_nor_lost(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=120, kind="comment", target=account.remote_id)

    def more():
        admin.generate(platform="facebook", count=40, kind="comment", target=account.remote_id)

    items, cursor, _ = walk(connector, account, between=more)
    assert len(items) == 120
    newer, cursor, _ = walk(connector, account, cursor)
    assert len(newer) == 40
    ids = [i.remote_id for i in items + newer]
    assert len(ids) == len(set(ids)) == 160
    assert set(ids) == comment_ids(admin, "facebook", account.remote_id)
    admin.generate(platform="facebook", count=3, kind="comment", target=account.remote_id)
    latest, _, _ = walk(connector, account, cursor)
    assert len(latest) == 3


def test_replies_hide_and_delete_moderate_comments(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=3, kind="comment", target=account.remote_id)
    items, cursor, _ = walk(connector, account)
    target = items[0]
    reply = connector.reply(account, target.remote_id, "Merci ! Thanks!")
    connector.hide(account, items[1].remote_id)
    connector.delete_comment(account, items[2].remote_id)
    posts = {p["id"]: p for p in admin.posts("facebook")}
    assert posts[reply.id]["reply_to_id"] == target.remote_id
    assert posts[items[1].remote_id]["hidden"] is True
    assert posts[items[2].remote_id]["deleted"] is True
    # The Page's own reply is not a mention; a visitor's reply to a reply is (kind REPLY).
    newer, cursor, _ = walk(connector, account, cursor)
    assert newer == []
    connector.hide(account, items[1].remote_id, hidden=False)
    assert {p["id"]: p for p in admin.posts("facebook")}[items[1].remote_id]["hidden"] is False


def visitor_reply(sim, comment_id: str, text: str = "+1") -> str:
    """A visitor's answer under a comment (second level), straight into the simulated world."""
    from simulator.world import SimPost

    world = sim[0].world
    comment = world.post("facebook", comment_id)
    return world.add_post(
        SimPost(platform="facebook", id="", seq=0, author_id=world.people("facebook")[7].id, text=text,
                created_at=world.now(), kind="comment", reply_to_id=comment.id, root_id=comment.root_id)
    ).id  # fmt: skip


def test_hiding_then_unhiding_and_deleting_a_comment_reads_back_on_the_comment(fb, admin, sim):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    assert_hide_unhide_delete_read_back(sim[1], connector, account, comment.remote_id, "is_hidden")


def test_the_page_likes_a_comment_once_however_often_it_is_asked(fb, admin, sim):
    connector, account, _ = fb
    assert connector.capabilities.like is True
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    before = graph_get(sim[1], "facebook", account, comment.remote_id, "like_count").json()["like_count"]
    connector.like(account, comment.remote_id)
    connector.like(account, comment.remote_id)
    assert next(p for p in admin.posts("facebook") if p["id"] == comment.remote_id)["liked_by"] == [account.remote_id]
    assert graph_get(sim[1], "facebook", account, comment.remote_id, "like_count").json()["like_count"] == before + 1


def test_liking_a_comment_that_is_gone_is_not_found(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    connector.delete_comment(account, comment.remote_id)
    with pytest.raises(NotFound):
        connector.like(account, comment.remote_id)


def test_a_failed_like_maps_onto_the_connector_errors(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    assert_failures_map_onto_errors(
        admin, connector, "facebook", "/likes$", lambda: connector.like(account, comment.remote_id)
    )


def test_a_reply_whose_answer_was_lost_is_found_among_the_comments_answers(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=2, kind="comment", target=account.remote_id)
    (first, second), _cursor, _ = walk(connector, account)
    found = assert_a_lost_reply_is_found(
        admin, connector, account, target_id=first.remote_id, text="Merci, on revient vers vous",
        path="/comments$", same_words_to=second.remote_id, idempotency_key="ignored",
    )  # fmt: skip
    assert found.created_at is not None


def test_find_reply_looks_under_the_top_level_comment_for_an_answer_to_a_reply(fb, admin, sim):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    [comment], _cursor, _ = walk(connector, account)
    nested = visitor_reply(sim, comment.remote_id)
    since = datetime.now(UTC) - timedelta(seconds=5)
    answer = connector.reply(account, nested, "Bonne idée !")
    assert next(p for p in admin.posts("facebook") if p["id"] == answer.id)["reply_to_id"] == comment.remote_id
    found = connector.find_reply(account, target_id=nested, text="Bonne idée !", since=since)
    assert found is not None
    assert found.id == answer.id


def test_find_reply_finds_a_comment_under_the_pages_own_post(fb):
    connector, account, _ = fb
    post = connector.publish(account, Draft(text="Le menu du jour"))
    since = datetime.now(UTC) - timedelta(seconds=5)
    comment = connector.comment(account, post.id, "Plat du jour : ratatouille")
    found = connector.find_reply(account, target_id=post.id, text="Plat du jour : ratatouille", since=since)
    assert found is not None
    assert found.id == comment.id


def test_a_visitors_reply_in_a_thread_is_a_reply_mention(fb, admin, sim):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=1, kind="comment", target=account.remote_id)
    items, cursor, _ = walk(connector, account)
    world = sim[0].world
    comment = world.post("facebook", items[0].remote_id)
    from simulator.world import SimPost

    world.add_post(
        SimPost(platform="facebook", id="", seq=0, author_id=world.people("facebook")[5].id, text="+1",
                created_at=world.now(), kind="comment", reply_to_id=comment.id, root_id=comment.root_id)
    )  # fmt: skip
    newer, _, _ = walk(connector, account, cursor)
    assert [(i.kind, i.in_reply_to_id, i.root_id) for i in newer] == [("reply", comment.id, comment.root_id)]


def test_metrics_come_from_reactions_shares_comments_and_insights(fb, admin, sim):
    connector, account, _ = fb
    post = connector.publish(account, Draft(text="Counting"))
    admin.generate(platform="facebook", count=4, kind="comment", target=account.remote_id)
    stored = sim[0].world.post("facebook", post.id)
    stored.likes, stored.shares, stored.impressions = 12, 3, 480
    metrics = connector.metrics(account, [post.id, f"{account.remote_id}_999"])
    assert set(metrics) == {post.id}
    m = metrics[post.id]
    assert (m.likes, m.shares, m.replies, m.views, m.impressions) == (12, 3, 4, 480, None)


def test_an_expired_page_token_cannot_be_refreshed_and_ends_as_revoked(fb, admin):
    connector, account, saved = fb
    admin.expire(platform="facebook", user_id=account.remote_id)
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)
    assert saved == []  # Facebook has no refresh: nothing new to store


def test_a_revoked_token_ends_as_auth_revoked(fb, admin):
    connector, account, _ = fb
    admin.revoke(platform="facebook", user_id=account.remote_id)
    with pytest.raises(AuthRevoked):
        connector.publish(account, Draft(text="hello"))


def test_disconnecting_one_page_does_not_revoke_the_persons_other_pages(fb):
    connector, account, _ = fb
    with pytest.raises(NotSupported):
        connector.revoke(account)
    assert connector.fetch_mentions(account, None).has_more is False  # the token still works


def test_an_injected_burst_of_429_is_rate_limited_until_the_retry_time(fb, admin):
    connector, account, _ = fb
    admin.faults({"kind": "rate_limit", "platform": "facebook", "count": 1, "retry_after": 30})
    with pytest.raises(RateLimited) as caught:
        connector.fetch_mentions(account, None)
    wait = (caught.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 25 <= wait <= 31


def test_the_business_use_case_header_alone_gives_the_retry_time(fb, sim):
    connector, _account, _ = fb
    from smms.connectors.http import Response

    headers = {
        "X-Business-Use-Case-Usage": '{"1": [{"type": "pages", "call_count": 100, "total_cputime": 3, '
        '"total_time": 4, "estimated_time_to_regain_access": 7}]}'
    }
    body = {"error": {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32}}
    error = connector.map_error(Response(400, headers, body, "http://x"))
    assert isinstance(error, RateLimited)
    wait = (error.retry_at - datetime.now(UTC)).total_seconds()
    assert 6 * 60 < wait <= 7 * 60


def test_a_small_window_is_rate_limited_with_its_reset_time(fb, admin):
    connector, account, _ = fb
    admin.config(rate_limits={"facebook": [3, 60]}, reset_rate_windows=True)
    for _ in range(3):
        connector.find_post(account, text="x", since=datetime.now(UTC))
    with pytest.raises(RateLimited) as caught:
        connector.find_post(account, text="x", since=datetime.now(UTC))
    wait = (caught.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 0 < wait <= 61


def test_server_errors_are_transient(fb, admin):
    connector, account, _ = fb
    admin.faults({"kind": "error", "platform": "facebook", "status": 503})
    with pytest.raises(Transient):
        connector.fetch_mentions(account, None)


def test_a_body_that_is_not_json_is_a_malformed_payload(fb, admin):
    connector, account, _ = fb
    admin.faults({"kind": "malformed", "platform": "facebook"})
    with pytest.raises(MalformedPayload):
        connector.fetch_mentions(account, None)


def test_malformed_comments_are_quarantined_and_the_page_survives(fb, admin):
    connector, account, _ = fb
    admin.generate(platform="facebook", count=5, kind="comment", target=account.remote_id)
    admin.generate(platform="facebook", count=4, kind="comment", target=account.remote_id, malformed_rate=1)
    items, cursor, quarantined = walk(connector, account)
    assert len(items) == 5
    assert len(quarantined) == 4
    assert all("message" in reason for _raw, reason in quarantined)
    again, _, quarantined_again = walk(connector, account, cursor)
    assert again == []
    assert quarantined_again == []


def test_the_simulator_accepts_any_graph_version_and_unversioned_paths(fb, sim):
    _connector, account, _ = fb
    params = {"access_token": account.tokens.access_token, "fields": "id,name,instagram_business_account{id}"}
    answers = [
        requests.get(f"{sim[1]}/facebook/{prefix}{account.remote_id}", params=params, timeout=5)
        for prefix in ("v24.0/", "v19.0/", "")
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].json() == answers[2].json()
    assert answers[0].json()["instagram_business_account"] == {"id": "17841400000000001"}
    bad = requests.get(f"{sim[1]}/facebook/v2/{account.remote_id}", params=params, timeout=5)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == 100


def test_an_injected_429_carries_metas_usage_headers(fb, sim, admin):
    _connector, account, _ = fb
    admin.faults({"kind": "rate_limit", "platform": "facebook", "count": 1, "retry_after": 120})
    answer = requests.get(
        f"{sim[1]}/facebook/v24.0/{account.remote_id}/feed",
        params={"access_token": account.tokens.access_token},
        timeout=5,
    )
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == 4
    usage = json.loads(answer.headers["X-Business-Use-Case-Usage"])
    entry = next(iter(usage.values()))[0]
    assert entry["call_count"] == 100
    assert entry["estimated_time_to_regain_access"] == 2
    assert json.loads(answer.headers["X-App-Usage"])["call_count"] == 100


def test_comment_pages_use_id_cursors_and_graph_timestamps(fb, sim, admin):
    connector, account, _ = fb
    post = connector.publish(account, Draft(text="Cursor check"))
    admin.generate(platform="facebook", count=5, kind="comment", target=account.remote_id)
    params = {"access_token": account.tokens.access_token, "limit": 2, "order": "reverse_chronological"}
    first = requests.get(f"{sim[1]}/facebook/v24.0/{post.id}/comments", params=params, timeout=5).json()
    admin.generate(platform="facebook", count=3, kind="comment", target=account.remote_id)  # lands before page 1
    after = first["paging"]["cursors"]["after"]
    second = requests.get(
        f"{sim[1]}/facebook/v24.0/{post.id}/comments", params={**params, "after": after}, timeout=5
    ).json()
    listed = [c["id"] for c in first["data"] + second["data"]]
    assert len(set(listed)) == 4
    assert all(c["id"].startswith(post.id.split("_")[1] + "_") for c in first["data"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000", first["data"][0]["created_time"])


def test_a_post_returning_to_the_window_does_not_repeat_its_comments(fb, admin):
    connector, account, _ = fb
    connector.publish(account, Draft(text="Old post"))
    admin.generate(platform="facebook", count=4, kind="comment", target=account.remote_id)
    items, cursor, _ = walk(connector, account)
    assert len(items) == 4
    newer = [connector.publish(account, Draft(text=f"News {n}")) for n in range(connector.recent_posts)]
    _, cursor, _ = walk(connector, account, cursor)  # the old post has left the recent window
    connector.delete(account, newer[-1].id)  # ... and comes back
    again, _, _ = walk(connector, account, cursor)
    assert again == []


def test_a_post_whose_answer_was_lost_is_reconciled_by_its_text(fb, admin):
    connector, account, _ = fb
    since = datetime.now(UTC) - timedelta(seconds=5)
    admin.faults({"kind": "lost", "platform": "facebook", "methods": ["POST"], "path": "/feed$", "count": 1})
    with pytest.raises(Transient) as caught:
        connector.publish(account, Draft(text="Did it go out?"))
    assert caught.value.unknown_outcome
    found = connector.find_post(account, text="Did it go out?", since=since)
    assert found is not None
    assert found.id in {p["id"] for p in admin.posts("facebook", author=account.remote_id)}
