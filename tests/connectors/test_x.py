"""The X connector against the simulator, over real HTTP: OAuth with PKCE and rotating refresh tokens,
publishing with media, mention walks with cursors, moderation, metrics and every failure mode."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from smms.connectors.errors import (
    AuthRevoked,
    Duplicate,
    MalformedPayload,
    NotFound,
    PermissionDenied,
    RateLimited,
    Transient,
    ValidationError,
)
from smms.connectors.oauth import refresh as oauth_refresh
from smms.connectors.types import AccountRef, Draft, InteractionKind, MediaItem, TokenSet
from smms.connectors.x import XConnector
from tests.connectors.conftest import (
    assert_a_lost_reply_is_found,
    assert_failures_map_onto_errors,
    authorize,
    make_connector,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BRAND = "1590000000000000001"


@pytest.fixture
def saved() -> list[TokenSet]:
    return []


@pytest.fixture
def x(sim, saved) -> XConnector:
    connector = make_connector("x", sim[1], on_tokens=lambda account, tokens: saved.append(tokens))
    assert isinstance(connector, XConnector)
    return connector


@pytest.fixture
def account(x) -> AccountRef:
    tokens = authorize(x, BRAND)
    [candidate] = x.list_accounts(tokens)
    return AccountRef(candidate.remote_id, candidate.handle, candidate.tokens)


def mention_ids(admin, brand: str = BRAND) -> set[str]:
    return {p["id"] for p in admin.posts("x") if brand in p["mentions"] and not p["deleted"]}


def walk(x: XConnector, account: AccountRef, cursor: str | None) -> tuple[list[str], str | None, int]:
    """Call fetch_mentions until has_more is False: (ids in order, final cursor, pages)."""
    ids: list[str] = []
    pages = 0
    while True:
        page = x.fetch_mentions(account, cursor)
        pages += 1
        ids += [item.remote_id for item in page.items]
        cursor = page.cursor
        if not page.has_more:
            return ids, cursor, pages


# --- 1. connect, publish, read, moderate, measure ------------------------------------------------------------
def test_connecting_runs_the_pkce_consent_and_lists_the_signed_in_account(x):
    tokens = authorize(x, BRAND)
    assert tokens.access_token
    assert tokens.refresh_token
    assert "offline.access" in tokens.scopes
    assert tokens.expires_at is not None
    assert timedelta(hours=1, minutes=59) < tokens.expires_at - datetime.now(UTC) <= timedelta(hours=2)
    [candidate] = x.list_accounts(tokens)
    assert (candidate.remote_id, candidate.handle, candidate.display_name) == (BRAND, "maisonlumiere", "Maison Lumière")
    assert candidate.avatar_url.startswith("https://")
    assert candidate.tokens == tokens


def test_the_consent_page_refuses_an_authorization_request_without_pkce(x, sim):
    url = x.authorization_url(redirect_uri="http://127.0.0.1:9/cb", state="s", code_verifier="v" * 50)
    parts = urlsplit(url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("code_challenge"))
    assert requests.get(urlunsplit(parts._replace(query=query)), timeout=5).status_code == 400


def test_publishing_with_an_image_uploads_it_and_attaches_its_media_id(x, account, admin):
    post = x.publish(account, Draft(text="Nouvelle collection <Lumière> & co ✨", media=(MediaItem(PNG, "image/png"),)))
    assert len(post.id) == 19
    assert post.id.isdigit()
    assert post.url == f"https://x.com/maisonlumiere/status/{post.id}"
    assert post.created_at is not None
    assert abs(post.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert post.text == "Nouvelle collection <Lumière> & co ✨"
    [stored] = [p for p in admin.posts("x", author=BRAND) if p["id"] == post.id]
    assert len(stored["media_ids"]) == 1
    assert stored["text"] == post.text


def test_alt_text_is_set_on_the_uploaded_image(x, account, sim):
    image = MediaItem(PNG, "image/png", alt_text="Une lampe dorée sur une table")
    post = x.publish(account, Draft(text="Avec description", media=(image,)))
    [media_id] = sim[0].world.post("x", post.id).media_ids
    assert sim[0].world.media[("x", media_id)]["alt_text"] == "Une lampe dorée sur une table"


def test_a_link_is_appended_to_the_text_and_ids_grow_with_time(x, account, admin):
    first = x.publish(account, Draft(text="Lisez ceci", link="https://example.com/a"))
    second = x.publish(account, Draft(text="Et cela"))
    assert int(second.id) > int(first.id)
    [stored] = [p for p in admin.posts("x", author=BRAND) if p["id"] == first.id]
    assert stored["text"] == "Lisez ceci\nhttps://example.com/a"


def test_mentions_are_walked_across_pages_with_no_duplicate_and_no_gap(x, account, admin):
    admin.generate(platform="x", count=90, kind="mention", target=BRAND)
    admin.generate(platform="x", count=45, kind="reply", target=BRAND)
    ids, _cursor, pages = walk(x, account, None)
    assert pages == 2
    assert len(ids) == len(set(ids)) == 135
    assert set(ids) == mention_ids(admin)
    assert ids == sorted(ids, key=int, reverse=True)


def test_items_arriving_between_two_pages_come_exactly_once_and_later_polls_only_bring_new_ones(x, account, admin):
    admin.generate(platform="x", count=130, kind="mention", target=BRAND)
    first = x.fetch_mentions(account, None)
    assert first.has_more
    assert len(first.items) == 100
    admin.generate(platform="x", count=25, kind="mix", target=BRAND)  # lands between page 1 and page 2
    rest, cursor, _pages = walk(x, account, first.cursor)
    seen = [i.remote_id for i in first.items] + rest
    assert len(seen) == 130 == len(set(seen))
    newer, cursor, _pages = walk(x, account, cursor)  # the next poll: only the 25 that arrived mid-walk
    assert len(newer) == 25
    assert set(seen) | set(newer) == mention_ids(admin)
    assert not set(seen) & set(newer)
    nothing, _cursor, _pages = walk(x, account, cursor)
    assert nothing == []


def test_mentions_and_replies_are_normalized_with_author_and_plain_text(x, account, admin):
    admin.generate(platform="x", count=6, kind="reply", target=BRAND, hostile_rate=1)
    page = x.fetch_mentions(account, None)
    assert len(page.items) == 6
    for item in page.items:
        assert item.kind is InteractionKind.REPLY
        assert item.in_reply_to_id
        assert item.root_id
        assert item.author.handle
        assert item.author.display_name
        assert item.permalink == f"https://x.com/{item.author.handle}/status/{item.remote_id}"
        assert item.created_at.tzinfo is not None
        assert "&lt;" not in item.text
        assert "&amp;" not in item.text


def test_reply_hide_and_delete_act_on_the_conversation(x, account, admin):
    admin.generate(platform="x", count=1, kind="reply", target=BRAND)
    [incoming] = x.fetch_mentions(account, None).items
    answer = x.reply(account, incoming.remote_id, "@someone Merci, on regarde ça !")
    stored = {p["id"]: p for p in admin.posts("x")}
    assert stored[answer.id]["reply_to_id"] == incoming.remote_id
    x.hide(account, incoming.remote_id)
    assert {p["id"]: p for p in admin.posts("x")}[incoming.remote_id]["hidden"] is True
    x.hide(account, incoming.remote_id, hidden=False)
    assert {p["id"]: p for p in admin.posts("x")}[incoming.remote_id]["hidden"] is False
    x.delete(account, answer.id)
    assert {p["id"]: p for p in admin.posts("x")}[answer.id]["deleted"] is True
    with pytest.raises(NotFound):
        x.delete(account, answer.id)
    with pytest.raises(NotFound):
        x.reply(account, answer.id, "to a deleted tweet")


def stored(admin, tweet_id: str) -> dict:
    [post] = [p for p in admin.posts("x") if p["id"] == tweet_id]
    return post


def test_liking_a_reply_counts_once_however_often_it_is_asked(x, account, admin):
    assert x.capabilities.like is True
    assert "like.write" in account.tokens.scopes
    [reply_id] = admin.generate(platform="x", count=1, kind="reply", target=BRAND)["ids"]
    before = stored(admin, reply_id)["likes"]
    x.like(account, reply_id)
    x.like(account, reply_id)
    after = stored(admin, reply_id)
    assert after["liked_by"] == [BRAND]
    assert after["likes"] == before + 1
    assert x.metrics(account, [reply_id])[reply_id].likes == before + 1


def test_liking_a_deleted_post_is_not_found(x, account):
    post = x.publish(account, Draft(text="Bientôt effacé"))
    x.delete(account, post.id)
    with pytest.raises(NotFound):
        x.like(account, post.id)
    with pytest.raises(ValidationError):
        x.like(account, "../2/tweets")


def test_liking_needs_the_like_write_scope(sim, admin):
    connector = make_connector("x", sim[1])
    connector.config = dataclasses.replace(
        connector.config, scopes=tuple(s for s in connector.config.scopes if s != "like.write")
    )
    account = AccountRef(BRAND, "maisonlumiere", authorize(connector, BRAND))
    [mention_id] = admin.generate(platform="x", count=1, kind="mention", target=BRAND)["ids"]
    with pytest.raises(PermissionDenied):
        connector.like(account, mention_id)


def test_a_failed_like_maps_onto_the_connector_errors(x, account, admin):
    [mention_id] = admin.generate(platform="x", count=1, kind="mention", target=BRAND)["ids"]
    assert_failures_map_onto_errors(admin, x, "x", "/likes$", lambda: x.like(account, mention_id))


def test_a_reply_whose_answer_was_lost_is_found_by_find_reply(x, account, admin):
    [reply_id] = admin.generate(platform="x", count=1, kind="reply", target=BRAND)["ids"]
    [other_id] = admin.generate(platform="x", count=1, kind="reply", target=BRAND)["ids"]
    found = assert_a_lost_reply_is_found(
        admin, x, account, target_id=reply_id, text="Merci pour votre retour", path="/2/tweets$",
        idempotency_key="ignored-by-x",
    )  # fmt: skip
    assert x.find_reply(account, target_id=other_id, text="Merci pour votre retour", since=found.created_at) is None


def test_find_reply_tolerates_the_handles_a_reply_starts_with(x, account, admin):
    [reply_id] = admin.generate(platform="x", count=1, kind="reply", target=BRAND)["ids"]
    since = datetime.now(UTC)
    author = next(u for u in admin.users("x", brand=False) if u["id"] == stored(admin, reply_id)["author_id"])
    answer = x.reply(account, reply_id, f"@{author['handle']} On s'en occupe")
    found = x.find_reply(account, target_id=reply_id, text="On s'en occupe", since=since)
    assert found is not None
    assert found.id == answer.id


def test_metrics_read_public_counts_including_impressions(x, account, sim):
    post = x.publish(account, Draft(text="Compter les likes"))
    stored = sim[0].world.post("x", post.id)
    stored.likes, stored.shares, stored.replies, stored.quotes, stored.impressions = 7, 3, 2, 1, 420
    metrics = x.metrics(account, [post.id, "1234567890123456789"])
    assert set(metrics) == {post.id}
    got = metrics[post.id]
    assert (got.likes, got.shares, got.replies, got.quotes, got.impressions) == (7, 3, 2, 1, 420)


def test_search_finds_recent_posts_by_keyword(x, account, admin):
    admin.generate(platform="x", count=40, kind="mention", target=BRAND, product="Lumière Zeta", lang="en")
    admin.generate(platform="x", count=20, kind="mention", target=BRAND, product="Autre", lang="en")
    expected = {p["id"] for p in admin.posts("x") if "zeta" in p["text"].lower()}
    assert len(expected) > 10  # some templates do not name the product
    page = x.search(account, "zeta", None)
    assert {item.remote_id for item in page.items} == expected
    assert not page.has_more
    assert all("zeta" in item.text.lower() for item in page.items)
    assert x.search(account, "zeta", page.cursor).items == []


def test_find_post_reconciles_a_published_tweet_by_its_text(x, account):
    since = datetime.now(UTC)
    post = x.publish(account, Draft(text="Un texte à retrouver & https://example.com/x"))
    found = x.find_post(account, text="Un texte à retrouver & https://example.com/x", since=since)
    assert found is not None
    assert found.id == post.id
    assert x.find_post(account, text="jamais publié", since=since) is None


def test_a_duplicate_tweet_is_refused_as_duplicate_and_an_overlong_one_as_invalid(x, account):
    x.publish(account, Draft(text="Même texte"))
    with pytest.raises(Duplicate):
        x.publish(account, Draft(text="Même texte"))
    with pytest.raises(ValidationError):
        x.publish(account, Draft(text="a" * 281))
    x.publish(account, Draft(text="é" * 280))  # Latin-1 weighs 1: exactly at the limit


def test_an_id_that_is_not_a_snowflake_never_reaches_a_url(x, account):
    with pytest.raises(ValidationError):
        x.delete(account, "../users/me")


# --- 2. expiry and refresh ------------------------------------------------------------------------------------
def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(x, account, admin, saved):
    old = account.tokens
    admin.expire(platform="x", user_id=BRAND)
    post = x.publish(account, Draft(text="Après expiration"))
    assert post.id
    assert len(saved) == 1
    assert saved[0] is account.tokens
    assert saved[0].access_token != old.access_token
    assert saved[0].refresh_token
    assert saved[0].refresh_token != old.refresh_token  # rotated


def test_after_two_hours_the_clock_forces_a_refresh(x, account, admin, saved):
    admin.advance(7201)
    assert x.fetch_mentions(account, None).items == []
    assert len(saved) == 1


def test_a_rotated_refresh_token_cannot_be_used_twice(x, account, admin):
    old_refresh = account.tokens.refresh_token
    admin.expire(platform="x", user_id=BRAND)
    x.fetch_mentions(account, None)
    with pytest.raises(AuthRevoked):
        oauth_refresh(x.config, platform="x", refresh_token=old_refresh)
    stale = AccountRef(account.remote_id, account.handle, TokenSet("expired", refresh_token=old_refresh))
    with pytest.raises(AuthRevoked):
        x.fetch_mentions(stale, None)


def test_a_token_granted_without_offline_access_has_no_refresh_and_ends_revoked_on_expiry(sim, admin):
    connector = make_connector("x", sim[1])
    connector.config = dataclasses.replace(connector.config, scopes=("tweet.read", "users.read"))
    tokens = authorize(connector, BRAND)
    assert tokens.refresh_token == ""
    account = AccountRef(BRAND, "maisonlumiere", tokens)
    admin.expire(platform="x", user_id=BRAND)
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)


# --- 3. revocation ---------------------------------------------------------------------------------------------
def test_a_token_revoked_on_the_platform_ends_as_auth_revoked(x, account, admin, saved):
    admin.revoke(platform="x", user_id=BRAND)
    with pytest.raises(AuthRevoked):
        x.publish(account, Draft(text="Trop tard"))
    assert saved == []


def test_disconnecting_revokes_the_tokens(x, account):
    x.revoke(account)
    with pytest.raises(AuthRevoked):
        x.fetch_mentions(account, None)


# --- 4. rate limits, outages, malformed answers ---------------------------------------------------------------
def test_an_injected_429_is_rate_limited_until_the_reset_header(x, account, admin):
    admin.faults({"kind": "rate_limit", "platform": "x", "count": 1, "retry_after": 30})
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as caught:
        x.fetch_mentions(account, None)
    assert before + timedelta(seconds=28) <= caught.value.retry_at <= before + timedelta(seconds=31)
    assert caught.value.status == 429


def test_a_small_window_is_rate_limited_until_the_window_resets(x, account, admin):
    admin.config(rate_limits={"x": [3, 60]}, reset_rate_windows=True)
    start = datetime.now(UTC)
    for _ in range(3):
        x.fetch_mentions(account, None)
    with pytest.raises(RateLimited) as caught:
        x.fetch_mentions(account, None)
    assert start + timedelta(seconds=58) <= caught.value.retry_at <= start + timedelta(seconds=61)
    # The other endpoints have their own window.
    assert x.publish(account, Draft(text="Autre fenêtre")).id


def test_a_429_from_the_server_is_read_from_its_reset_header(sim, admin):
    connector = make_connector("x", sim[1])
    account_tokens = authorize(connector, BRAND)
    account = AccountRef(BRAND, "maisonlumiere", account_tokens)
    admin.config(rate_limits={"x": [1, 60]}, reset_rate_windows=True)
    connector.fetch_mentions(account, None)
    connector.http.rate_limits = type(connector.http.rate_limits)()  # forget the headers: ask the server
    with pytest.raises(RateLimited) as caught:
        connector.fetch_mentions(account, None)
    assert caught.value.status == 429
    assert caught.value.retry_at > datetime.now(UTC) + timedelta(seconds=55)


def test_a_server_error_is_transient(x, account, admin):
    admin.faults({"kind": "error", "platform": "x", "status": 503})
    with pytest.raises(Transient):
        x.fetch_mentions(account, None)


def test_a_lost_write_is_transient_with_unknown_outcome_and_find_post_reconciles_it(x, account, admin):
    admin.faults({"kind": "lost", "platform": "x", "methods": ["POST"], "path": "/2/tweets$", "count": 1})
    since = datetime.now(UTC)
    with pytest.raises(Transient) as caught:
        x.publish(account, Draft(text="Perdu en route"))
    assert caught.value.unknown_outcome
    assert x.find_post(account, text="Perdu en route", since=since) is not None


def test_a_body_that_is_not_json_is_malformed_payload(x, account, admin):
    admin.faults({"kind": "malformed", "platform": "x", "count": 1})
    with pytest.raises(MalformedPayload):
        x.fetch_mentions(account, None)


def test_malformed_items_are_quarantined_and_the_rest_of_the_page_is_kept(x, account, admin):
    admin.generate(platform="x", count=10, kind="mention", target=BRAND)
    admin.generate(platform="x", count=6, kind="mention", target=BRAND, malformed_rate=1)
    page = x.fetch_mentions(account, None)
    assert len(page.items) == 10
    assert len(page.quarantined) == 6
    assert all(reason for _raw, reason in page.quarantined)
    later, _cursor, _pages = walk(x, account, page.cursor)
    assert later == []  # the cursor moved past the quarantined items too


# --- 5. a real client: tweepy -----------------------------------------------------------------------------------
class ToSimulator(HTTPAdapter):
    """Sends tweepy's hard-coded https://api.twitter.com requests to the simulator's /x prefix."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        request.url = f"{self.base}/x{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().send(request, *args, **kwargs)


def test_tweepy_creates_a_tweet_and_reads_mentions_from_the_simulator(sim, account, admin):
    tweepy = pytest.importorskip("tweepy")
    client = tweepy.Client(bearer_token=account.tokens.access_token)
    client.session.mount("https://api.twitter.com", ToSimulator(sim[1]))
    me = client.get_me(user_auth=False)
    assert me.data.id == int(BRAND)
    assert me.data.username == "maisonlumiere"
    created = client.create_tweet(text="Bonjour depuis tweepy", user_auth=False)
    assert created.data["id"].isdigit()
    admin.generate(platform="x", count=12, kind="mention", target=BRAND)
    first = client.get_users_mentions(BRAND, max_results=10, expansions="author_id", user_auth=False)
    assert len(first.data) == 10
    assert first.includes["users"]
    second = client.get_users_mentions(
        BRAND, max_results=10, pagination_token=first.meta["next_token"], user_auth=False
    )
    assert len(second.data) == 2
    assert "next_token" not in second.meta
    assert {t.id for t in first.data}.isdisjoint({t.id for t in second.data})
    metrics = client.get_tweet(created.data["id"], tweet_fields=["public_metrics"], user_auth=False)
    assert metrics.data.public_metrics["like_count"] == 0
    with pytest.raises(tweepy.Forbidden):
        client.create_tweet(text="Bonjour depuis tweepy", user_auth=False)
