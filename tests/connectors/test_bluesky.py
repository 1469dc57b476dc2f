"""Bluesky connector against the simulator, over HTTP (XRPC, app-password sessions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests

from smms.connectors.errors import (
    AuthRevoked,
    MalformedPayload,
    NotFound,
    NotSupported,
    PermissionDenied,
    RateLimited,
    Transient,
    ValidationError,
)
from smms.connectors.types import AccountRef, Draft, InteractionKind, MediaItem
from tests.connectors.conftest import assert_a_lost_reply_is_found, assert_failures_map_onto_errors, make_connector

P = "bluesky"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 20
TID = re.compile(r"^[234567abcdefghij][234567a-z]{12}$")
DID = re.compile(r"^did:plc:[a-z2-7]{24}$")


@pytest.fixture
def brands(admin) -> list[dict]:
    users = {u["handle"]: u for u in admin.users(P)}
    return [users["lumiere.bsky.social"], users["lumiere-uk.bsky.social"]]


@pytest.fixture
def brand(brands) -> dict:
    return brands[0]


@pytest.fixture
def saved() -> list:
    return []


@pytest.fixture
def connector(sim, saved):
    return make_connector(P, sim[1], on_tokens=lambda account, tokens: saved.append(tokens))


@pytest.fixture
def account(connector, brand) -> AccountRef:
    tokens = connector.login(identifier=brand["handle"], password=brand["password"])
    [candidate] = connector.list_accounts(tokens)
    return AccountRef(candidate.remote_id, candidate.handle, candidate.tokens, dict(candidate.extra))


def stored(admin, post_id: str) -> dict:
    [post] = [p for p in admin.posts(P) if p["id"] == post_id]
    return post


def walk(connector, account, cursor, between=None) -> tuple[list, str]:
    """Call fetch_mentions until has_more is False; ``between`` runs after the first page."""
    items = []
    while True:
        page = connector.fetch_mentions(account, cursor)
        items.extend(page.items)
        cursor = page.cursor
        if between is not None:
            between()
            between = None
        if not page.has_more:
            return items, cursor


# --- connect ------------------------------------------------------------------------------------------------------
def test_signing_in_with_an_app_password_gives_jwt_sessions_and_the_account(connector, account, brand):
    assert connector.capabilities.oauth is False
    assert (account.remote_id, account.handle) == (brand["id"], brand["handle"])
    assert DID.match(account.remote_id)
    claims = jwt.decode(account.tokens.access_token, options={"verify_signature": False})
    assert claims["sub"] == brand["id"]
    assert claims["scope"] == "com.atproto.appPass"
    assert account.tokens.scopes == ("com.atproto.appPass",)
    refresh = jwt.decode(account.tokens.refresh_token, options={"verify_signature": False})
    assert refresh["scope"] == "com.atproto.refresh"
    assert account.tokens.expires_at == datetime.fromtimestamp(claims["exp"], UTC)
    assert timedelta(minutes=110) < account.tokens.expires_at - datetime.now(UTC) <= timedelta(minutes=121)


def test_list_accounts_reads_the_profile(connector, account, brand):
    [candidate] = connector.list_accounts(account.tokens)
    assert candidate.display_name == brand["display_name"]
    assert candidate.extra["did"] == brand["id"]


def test_a_wrong_app_password_is_refused(connector, brand):
    with pytest.raises(AuthRevoked, match="app password"):
        connector.login(identifier=brand["handle"], password="wrong-pass-word-here")


def test_a_login_by_did_works_too(connector, brand):
    tokens = connector.login(identifier=brand["id"], password=brand["password"])
    assert connector.list_accounts(tokens)[0].remote_id == brand["id"]


# --- publishing ---------------------------------------------------------------------------------------------------
def test_publishing_with_an_image_uploads_a_blob_and_embeds_it(connector, account, admin):
    post = connector.publish(
        account, Draft(text="Nouvelle collection ✨", media=(MediaItem(PNG, "image/png", "a lamp"),))
    )
    assert post.id.startswith(f"at://{account.remote_id}/app.bsky.feed.post/")
    assert TID.match(post.id.rsplit("/", 1)[1])
    assert post.raw["cid"].startswith("bafyrei")
    assert post.url == f"https://bsky.app/profile/{account.handle}/post/{post.id.rsplit('/', 1)[1]}"
    row = stored(admin, post.id)
    assert row["text"] == "Nouvelle collection ✨"
    assert len(row["media_ids"]) == 1
    assert row["media_ids"][0].startswith("bafkrei")
    image = row["extra"]["record"]["embed"]["images"][0]
    assert image["alt"] == "a lamp"
    assert image["image"]["mimeType"] == "image/png"


def test_record_keys_increase_with_time(connector, account):
    first = connector.publish(account, Draft(text="un"))
    second = connector.publish(account, Draft(text="deux"))
    assert first.id.rsplit("/", 1)[1] < second.id.rsplit("/", 1)[1]


def test_links_mentions_and_hashtags_become_facets_with_byte_offsets(connector, account, admin, brands):
    text = "Café ☕ avec @lumiere-uk.bsky.social #Lumière, voir https://example.com/x?y=1 !"
    post = connector.publish(account, Draft(text=text))
    record = stored(admin, post.id)["extra"]["record"]
    encoded = text.encode()
    found = {}
    for facet in record["facets"]:
        chunk = encoded[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
        [feature] = facet["features"]
        found[feature["$type"].rsplit("#", 1)[1]] = (chunk, feature)
    assert found["mention"] == ("@lumiere-uk.bsky.social", found["mention"][1])
    assert found["mention"][1]["did"] == brands[1]["id"]
    assert found["tag"][0] == "#Lumière"
    assert found["tag"][1]["tag"] == "Lumière"
    assert found["link"][0] == "https://example.com/x?y=1"
    assert stored(admin, post.id)["mentions"] == [brands[1]["id"]]


def test_a_mention_of_an_unknown_handle_gets_no_facet(connector, account, admin):
    post = connector.publish(account, Draft(text="Bonjour @nobody.example.org"))
    assert "facets" not in stored(admin, post.id)["extra"]["record"]


def test_a_link_is_appended_and_shown_as_a_card(connector, account, admin):
    post = connector.publish(account, Draft(text="Notre carte", link="https://lumiere.example/carte"))
    row = stored(admin, post.id)
    assert row["text"] == "Notre carte\nhttps://lumiere.example/carte"
    assert row["link"] == "https://lumiere.example/carte"
    assert row["extra"]["record"]["embed"]["external"]["uri"] == "https://lumiere.example/carte"


def test_over_long_text_is_refused_by_the_connector_and_by_the_platform(connector, account, sim):
    with pytest.raises(ValidationError):
        connector.publish(account, Draft(text="é" * 301))
    assert connector.validate_text("é" * 300).ok
    answer = requests.post(
        f"{sim[1]}/bluesky/xrpc/com.atproto.repo.createRecord",
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        json={"repo": account.remote_id, "collection": "app.bsky.feed.post",
              "record": {"$type": "app.bsky.feed.post", "text": "é" * 301, "createdAt": "2026-01-01T00:00:00Z"}},
        timeout=5,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["error"] == "InvalidRequest"
    assert "300 graphemes" in answer.json()["message"]


def test_more_than_four_images_are_refused(connector, account):
    with pytest.raises(ValidationError):
        connector.publish(account, Draft(text="trop", media=tuple(MediaItem(PNG, "image/png") for _ in range(5))))


def test_deleting_our_post_and_deleting_it_again(connector, account, admin):
    post = connector.publish(account, Draft(text="Éphémère"))
    connector.delete(account, post.id)
    assert stored(admin, post.id)["deleted"] is True
    connector.delete(account, post.id)  # deleteRecord of a missing record succeeds


def test_someone_elses_post_cannot_be_deleted(connector, account, admin, brand):
    [item_id] = admin.generate(platform=P, count=1, kind="mention", target=brand["id"])["ids"]
    with pytest.raises(PermissionDenied):
        connector.delete(account, item_id)
    with pytest.raises(NotSupported):
        connector.delete_comment(account, item_id)


def test_a_lost_answer_is_reconciled_by_find_post(connector, account, admin):
    admin.faults({"kind": "lost", "mode": "reset", "platform": P, "path": "createRecord$"})
    since = datetime.now(UTC) - timedelta(seconds=5)
    with pytest.raises(Transient) as lost:
        connector.publish(account, Draft(text="Perdu en route", link="https://lumiere.example/p"))
    assert lost.value.unknown_outcome is True
    admin.clear_faults()
    found = connector.find_post(account, text="Perdu en route", since=since)
    assert found is not None
    assert found.id == next(p["id"] for p in admin.posts(P) if p["text"].startswith("Perdu en route"))
    assert connector.find_post(account, text="Jamais publié", since=since) is None


# --- mentions -----------------------------------------------------------------------------------------------------
def test_the_first_poll_takes_the_latest_page_only(connector, account, admin, brand):
    ids = admin.generate(platform=P, count=70, target=brand["id"])["ids"]
    page = connector.fetch_mentions(account, None)
    assert page.has_more is False
    assert [i.remote_id for i in page.items] == ids[::-1][:50]
    assert connector.fetch_mentions(account, page.cursor).items == []


def test_mentions_walk_every_page_once_even_when_new_items_arrive(connector, account, admin, brand):
    first = connector.fetch_mentions(account, None)
    assert first.items == []
    generated = admin.generate(platform=P, count=130, target=brand["id"])["ids"]
    late: list[str] = []
    items, cursor = walk(
        connector, account, first.cursor,
        between=lambda: late.extend(admin.generate(platform=P, count=7, target=brand["id"])["ids"]),
    )  # fmt: skip
    ids = [i.remote_id for i in items]
    assert len(ids) == len(set(ids)) == 130
    assert set(ids) == set(generated)
    later, cursor = walk(connector, account, cursor)
    assert sorted(i.remote_id for i in later) == sorted(late)
    assert connector.fetch_mentions(account, cursor).items == []


def test_mentions_and_replies_are_normalized(connector, account, admin, brand):
    cursor = connector.fetch_mentions(account, None).cursor
    [mention_id] = admin.generate(platform=P, count=1, kind="mention", target=brand["id"], hostile_rate=0)["ids"]
    [reply_id] = admin.generate(platform=P, count=1, kind="reply", target=brand["id"], hostile_rate=0)["ids"]
    page = connector.fetch_mentions(account, cursor)
    by_id = {i.remote_id: i for i in page.items}
    mention, reply = by_id[mention_id], by_id[reply_id]
    assert mention.kind == InteractionKind.MENTION
    assert mention.text.startswith(f"@{brand['handle']} ")
    assert DID.match(mention.author.id)
    assert mention.author.handle.endswith(".bsky.social")
    assert mention.permalink.startswith(f"https://bsky.app/profile/{mention.author.handle}/post/")
    assert mention.created_at.tzinfo is not None
    assert mention.raw["cid"].startswith("bafyrei")
    assert reply.kind == InteractionKind.REPLY
    parent = stored(admin, reply_id)["reply_to_id"]
    assert reply.in_reply_to_id == parent
    assert reply.root_id == parent
    assert stored(admin, parent)["author_id"] == brand["id"]


def test_mentions_of_the_other_brand_are_not_ours(connector, account, admin, brands):
    cursor = connector.fetch_mentions(account, None).cursor
    admin.generate(platform=P, count=5, target=brands[1]["id"])
    assert connector.fetch_mentions(account, cursor).items == []


def test_malformed_items_are_quarantined_not_raised(connector, account, admin, brand):
    cursor = connector.fetch_mentions(account, None).cursor
    admin.generate(platform=P, count=3, target=brand["id"], malformed_rate=1)
    good = admin.generate(platform=P, count=2, target=brand["id"])["ids"]
    page = connector.fetch_mentions(account, cursor)
    assert sorted(i.remote_id for i in page.items) == sorted(good)
    assert len(page.quarantined) == 3
    assert all(reason for _raw, reason in page.quarantined)
    again = connector.fetch_mentions(account, page.cursor)
    assert (again.items, again.quarantined) == ([], [])


# --- replies, moderation, metrics, search -------------------------------------------------------------------------
def test_replying_to_a_reply_threads_under_its_root(connector, account, admin, brand):
    [reply_id] = admin.generate(platform=P, count=1, kind="reply", target=brand["id"])["ids"]
    root_id = stored(admin, reply_id)["root_id"]
    answer = connector.reply(account, reply_id, "Merci pour votre message !")
    row = stored(admin, answer.id)
    assert (row["reply_to_id"], row["root_id"]) == (reply_id, root_id)
    refs = row["extra"]["record"]["reply"]
    assert refs["parent"]["uri"] == reply_id
    assert refs["parent"]["cid"].startswith("bafyrei")
    assert refs["root"]["uri"] == root_id


def test_replying_to_a_mention_makes_it_the_root(connector, account, admin, brand):
    [mention_id] = admin.generate(platform=P, count=1, kind="mention", target=brand["id"])["ids"]
    answer = connector.reply(account, mention_id, "Bonjour !")
    row = stored(admin, answer.id)
    assert (row["reply_to_id"], row["root_id"]) == (mention_id, mention_id)


def test_hiding_a_reply_uses_the_threadgate_and_unhiding_restores_it(connector, account, admin, brand):
    first, second = admin.generate(platform=P, count=2, kind="reply", target=brand["id"])["ids"]
    connector.hide(account, first)
    connector.hide(account, second)
    assert stored(admin, first)["hidden"] is True
    assert stored(admin, second)["hidden"] is True
    connector.hide(account, first, hidden=False)
    assert stored(admin, first)["hidden"] is False
    assert stored(admin, second)["hidden"] is True


def test_only_replies_in_our_threads_can_be_hidden(connector, account, admin, brand):
    [mention_id] = admin.generate(platform=P, count=1, kind="mention", target=brand["id"])["ids"]
    with pytest.raises(ValidationError):
        connector.hide(account, mention_id)


def test_liking_a_reply_writes_one_like_record_however_often_it_is_asked(connector, account, admin, brand, sim):
    assert connector.capabilities.like is True
    [reply_id] = admin.generate(platform=P, count=1, kind="reply", target=brand["id"])["ids"]
    before = stored(admin, reply_id)["likes"]
    connector.like(account, reply_id)
    connector.like(account, reply_id)  # the post view says we like it already: no second record
    row = stored(admin, reply_id)
    assert row["liked_by"] == [brand["id"]]
    assert row["likes"] == before + 1
    [view] = requests.get(
        f"{sim[1]}/bluesky/xrpc/app.bsky.feed.getPosts",
        params={"uris": reply_id},
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    ).json()["posts"]
    assert view["viewer"]["like"].startswith(f"at://{brand['id']}/app.bsky.feed.like/")
    assert view["likeCount"] == before + 1
    assert list(sim[0].world.extra["bluesky_likes"]) == [f"{brand['id']} {reply_id}"]


def test_liking_a_post_that_is_gone_is_not_found(connector, account, admin):
    post = connector.publish(account, Draft(text="Bientôt effacé"))
    connector.delete(account, post.id)
    with pytest.raises(NotFound):
        connector.like(account, post.id)
    with pytest.raises(ValidationError):
        connector.like(account, "https://bsky.app/profile/x/post/y")


def test_the_repo_refuses_a_like_record_without_its_subject(sim, account):
    answer = requests.post(
        f"{sim[1]}/bluesky/xrpc/com.atproto.repo.createRecord",
        json={"repo": account.remote_id, "collection": "app.bsky.feed.like",
              "record": {"$type": "app.bsky.feed.like", "createdAt": "2026-01-01T00:00:00.000Z"}},
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    )  # fmt: skip
    assert (answer.status_code, answer.json()["error"]) == (400, "InvalidRequest")


def test_a_failed_like_maps_onto_the_connector_errors(connector, account, admin, brand):
    [mention_id] = admin.generate(platform=P, count=1, kind="mention", target=brand["id"])["ids"]
    assert_failures_map_onto_errors(admin, connector, P, "createRecord$", lambda: connector.like(account, mention_id))


def test_a_reply_whose_answer_was_lost_is_found_by_find_reply(connector, account, admin, brand):
    first, second = admin.generate(platform=P, count=2, kind="reply", target=brand["id"])["ids"]
    assert_a_lost_reply_is_found(
        admin, connector, account, target_id=first, text="Merci, nous regardons", path="createRecord$",
        same_words_to=second, idempotency_key="ignored-by-bluesky",
    )  # fmt: skip


def test_metrics_come_from_the_post_counters(connector, account, admin, brand):
    ids = admin.generate(platform=P, count=30, kind="reply", target=brand["id"])["ids"]
    parent = stored(admin, ids[0])["reply_to_id"]
    metrics = connector.metrics(account, [*ids, parent])
    rows = {p["id"]: p for p in admin.posts(P)}
    assert set(metrics) == {*ids, parent}
    for post_id in ids:
        assert metrics[post_id].likes == rows[post_id]["likes"]
    assert metrics[parent].replies == 30
    assert metrics[parent].impressions is None


def test_search_finds_posts_by_keyword_and_later_only_new_ones(connector, account, admin, brand):
    admin.generate(platform=P, count=60, target=brand["id"], product="Zéphyr", hostile_rate=0)
    admin.generate(platform=P, count=5, target=brand["id"], product="Aurore", hostile_rate=0)
    page = connector.search(account, "zéphyr", None)
    assert len(page.items) == 25  # the latest page
    assert all("zéphyr" in i.text.lower() for i in page.items)
    newer = admin.generate(platform=P, count=6, target=brand["id"], product="Zéphyr", hostile_rate=0)["ids"]
    texts = {p["id"]: p["text"] for p in admin.posts(P)}
    again = connector.search(account, "zéphyr", page.cursor)
    assert sorted(i.remote_id for i in again.items) == sorted(i for i in newer if "zéphyr" in texts[i].lower())


# --- tokens -------------------------------------------------------------------------------------------------------
def test_an_expired_access_token_is_refreshed_once_and_the_call_succeeds(connector, account, admin, brand, saved):
    old = account.tokens
    assert admin.expire(platform=P, user_id=brand["id"])["expired"] >= 1
    page = connector.fetch_mentions(account, None)
    assert page.items == []
    [new] = saved
    assert account.tokens == new
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token  # Bluesky rotates the refresh token
    assert jwt.decode(new.access_token, options={"verify_signature": False})["sub"] == brand["id"]


def test_a_rotated_refresh_token_works_in_the_grace_period_then_fails(connector, account, admin):
    old = AccountRef(account.remote_id, account.handle, account.tokens)
    fresh = connector.refresh(account)
    again = connector.refresh(old)  # reused within the 2 hour grace: the same successor
    assert again.refresh_token == fresh.refresh_token
    admin.advance(2 * 3600 + 60)
    with pytest.raises(AuthRevoked):
        connector.refresh(old)


def test_a_revoked_session_ends_as_auth_revoked(connector, account, admin, brand, saved):
    admin.revoke(platform=P, user_id=brand["id"])
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)
    assert saved == []


def test_an_expired_access_with_a_revoked_refresh_ends_as_auth_revoked(connector, account, admin, brand):
    admin.revoke(platform=P, user_id=brand["id"])
    admin.advance(2 * 3600 + 60)  # the access JWT expired too: the refresh is tried and refused
    with pytest.raises(AuthRevoked):
        connector.publish(account, Draft(text="Encore là ?"))


def test_logging_out_deletes_the_session(connector, account):
    connector.revoke(account)
    with pytest.raises(AuthRevoked):
        connector.refresh(account)
    connector.revoke(account)  # already ended: nothing to do


# --- rate limits and failures -------------------------------------------------------------------------------------
def test_an_injected_429_is_rate_limited_until_the_reset(connector, account, admin):
    admin.faults({"kind": "rate_limit", "platform": P, "count": 1, "retry_after": 30})
    with pytest.raises(RateLimited) as limited:
        connector.fetch_mentions(account, None)
    wait = (limited.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 27 <= wait <= 31


def test_a_small_window_is_rate_limited_with_the_window_reset(connector, account, admin, sim):
    admin.config(rate_limits={P: [3, 60]}, reset_rate_windows=True)
    for _ in range(3):
        connector.fetch_mentions(account, None)
    with pytest.raises(RateLimited) as local:  # the last answer said 0 remaining: no request is sent
        connector.fetch_mentions(account, None)
    other = make_connector(P, sim[1])  # no bookkeeping yet: the platform answers 429 itself
    with pytest.raises(RateLimited) as remote:
        other.fetch_mentions(account, None)
    for error in (local.value, remote.value):
        wait = (error.retry_at - datetime.now(UTC)).total_seconds()
        assert 55 <= wait <= 61
    assert remote.value.status == 429


def test_a_server_error_is_transient(connector, account, admin):
    admin.faults({"kind": "error", "platform": P, "status": 502})
    with pytest.raises(Transient):
        connector.fetch_mentions(account, None)
    with pytest.raises(Transient):
        connector.publish(account, Draft(text="Pas maintenant"))


def test_a_malformed_body_is_a_malformed_payload(connector, account, admin):
    admin.faults({"kind": "malformed", "platform": P, "count": 1})
    with pytest.raises(MalformedPayload):
        connector.fetch_mentions(account, None)


def test_the_platform_error_shapes(sim, account):
    base = f"{sim[1]}/bluesky/xrpc"
    missing = requests.get(f"{base}/app.bsky.notification.listNotifications", timeout=5)
    assert (missing.status_code, missing.json()["error"]) == (401, "AuthMissing")
    assert missing.headers["RateLimit-Policy"].endswith(";w=300")
    bogus = requests.get(f"{base}/com.atproto.server.getSession", headers={"Authorization": "Bearer x"}, timeout=5)
    assert (bogus.status_code, bogus.json()["error"]) == (400, "InvalidToken")
    unknown = requests.get(f"{base}/app.bsky.unspecced.nothing", timeout=5)
    assert (unknown.status_code, unknown.json()["error"]) == (501, "MethodNotImplemented")
    session = requests.get(
        f"{base}/com.atproto.server.getSession",
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    ).json()
    assert "didDoc" not in session
    assert session["did"] == account.remote_id
