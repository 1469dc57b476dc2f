"""Mastodon connector against the simulator, over HTTP."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

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
from tests.connectors.conftest import (
    assert_a_lost_reply_is_found,
    assert_failures_map_onto_errors,
    authorize,
    make_connector,
)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 20


@pytest.fixture
def connected(sim):
    """A Mastodon connector and the brand account, connected through the consent page."""
    _sim, base = sim
    connector = make_connector("mastodon", base)
    tokens = authorize(connector, user_id="109000000")
    [candidate] = connector.list_accounts(tokens)
    account = AccountRef(remote_id=candidate.remote_id, handle=candidate.handle, tokens=candidate.tokens)
    return connector, account


def test_connecting_lists_the_signed_in_account(connected):
    _connector, account = connected
    assert (account.remote_id, account.handle) == ("109000000", "maisonlumiere")
    assert account.tokens.access_token
    assert account.tokens.expires_at is None  # Mastodon tokens never expire


def test_an_app_registers_on_the_instance_and_its_credentials_work(sim):
    connector = make_connector("mastodon", sim[1])
    client_id, client_secret = connector.register_app(redirect_uri="http://127.0.0.1:9/callback")
    assert client_id
    assert client_secret


def test_publishing_with_an_image_and_deleting(connected, admin):
    connector, account = connected
    post = connector.publish(
        account, Draft(text="Nouvelle collection ✨", media=(MediaItem(PNG, "image/png", "a lamp"),))
    )
    [stored] = [p for p in admin.posts("mastodon", author="109000000") if p["id"] == post.id]
    assert stored["text"] == "Nouvelle collection ✨"
    assert len(stored["media_ids"]) == 1
    assert post.url.endswith(post.id)
    connector.delete(account, post.id)
    assert [p["deleted"] for p in admin.posts("mastodon") if p["id"] == post.id] == [True]


def test_the_idempotency_key_makes_a_repeated_publish_a_single_post(connected, admin):
    connector, account = connected
    first = connector.publish(account, Draft(text="Une seule fois", idempotency_key="delivery-42"))
    second = connector.publish(account, Draft(text="Une seule fois", idempotency_key="delivery-42"))
    assert first.id == second.id
    assert len([p for p in admin.posts("mastodon") if p["text"] == "Une seule fois"]) == 1


def test_a_lost_answer_is_reconciled_by_find_post(connected, admin):
    connector, account = connected
    admin.faults({"kind": "lost", "mode": "reset", "platform": "mastodon", "methods": ["POST"], "path": "statuses$"})
    since = datetime.now(UTC) - timedelta(seconds=5)
    with pytest.raises(Transient) as lost:
        connector.publish(account, Draft(text="Perdu en route"))
    assert lost.value.unknown_outcome is True
    admin.clear_faults()
    found = connector.find_post(account, text="Perdu en route", since=since)
    assert found is not None
    assert len([p for p in admin.posts("mastodon") if p["text"] == "Perdu en route"]) == 1


def test_over_long_text_is_refused_before_sending(connected):
    connector, account = connected
    with pytest.raises(ValidationError):
        connector.publish(account, Draft(text="x" * 501))
    assert connector.validate_text("x" * 476 + " https://example.com/" + "a" * 200).ok  # a URL counts 23


def test_the_instance_says_its_own_status_limit(connected):
    connector, _account = connected
    assert connector.max_characters() == 500  # the simulated instance's configuration.statuses.max_characters
    assert connector.validate_text("x" * 700, 1000).ok
    assert not connector.validate_text("x" * 700).ok


def test_mentions_walk_every_page_once_even_when_new_ones_arrive(connected, admin):
    connector, account = connected
    first = connector.fetch_mentions(account, None)  # first poll: the latest page, sets the cursor
    seen = [i.remote_id for i in first.items]
    admin.generate(platform="mastodon", count=130, kind="mention", target="maisonlumiere")
    cursor, pages = first.cursor, 0
    while True:
        page = connector.fetch_mentions(account, cursor)
        seen += [i.remote_id for i in page.items]
        cursor, pages = page.cursor, pages + 1
        if pages == 1:
            admin.generate(platform="mastodon", count=15, kind="mention", target="maisonlumiere")
        if not page.has_more:
            break
    expected = {p["id"] for p in admin.posts("mastodon") if "109000000" in p["mentions"]}
    assert pages >= 3
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    assert connector.fetch_mentions(account, cursor).items == []


def test_mentions_are_normalized_as_plain_text(connected, admin):
    connector, account = connected
    admin.generate(platform="mastodon", count=30, kind="mix", target="maisonlumiere", hostile_rate=1)
    items = connector.fetch_mentions(account, None).items
    assert items
    assert {i.kind.value for i in items} <= {"mention", "reply", "message"}
    assert all("<p>" not in i.text for i in items)
    assert any("<script>" in i.text for i in items)  # hostile markup arrives as literal text, to be escaped
    assert all(i.created_at.tzinfo is not None and i.author.handle for i in items)


def test_malformed_items_are_quarantined_not_raised(connected, admin):
    connector, account = connected
    admin.generate(platform="mastodon", count=5, kind="mention", target="maisonlumiere", malformed_rate=1)
    admin.generate(platform="mastodon", count=3, kind="mention", target="maisonlumiere")
    page = connector.fetch_mentions(account, None)
    assert len(page.items) == 3
    assert len(page.quarantined) == 5
    assert all(reason for _raw, reason in page.quarantined)


def test_reply_addresses_the_author(connected, admin):
    connector, account = connected
    admin.generate(platform="mastodon", count=1, kind="mention", target="maisonlumiere")
    [mention] = connector.fetch_mentions(account, None).items
    reply = connector.reply(account, mention.remote_id, "Merci !")
    assert reply.text.startswith(f"@{mention.author.handle} ")
    [stored] = [p for p in admin.posts("mastodon") if p["id"] == reply.id]
    assert stored["reply_to_id"] == mention.remote_id


def stored(admin, status_id: str) -> dict:
    [post] = [p for p in admin.posts("mastodon") if p["id"] == status_id]
    return post


def incoming(admin, connector, account, kind: str = "mention"):
    """One new status addressing the brand, as fetch_mentions returns it."""
    [status_id] = admin.generate(platform="mastodon", count=1, kind=kind, target="maisonlumiere")["ids"]
    [item] = [i for i in connector.fetch_mentions(account, None).items if i.remote_id == status_id]
    return item


def test_liking_a_status_favourites_it_once_however_often_it_is_asked(connected, admin, sim):
    connector, account = connected
    assert connector.capabilities.like is True
    mention = incoming(admin, connector, account)
    before = stored(admin, mention.remote_id)["likes"]
    connector.like(account, mention.remote_id)
    connector.like(account, mention.remote_id)
    after = stored(admin, mention.remote_id)
    assert after["liked_by"] == [account.remote_id]
    assert after["likes"] == before + 1
    status = requests.get(
        f"{sim[1]}/mastodon/api/v1/statuses/{mention.remote_id}",
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    ).json()
    assert (status["favourited"], status["favourites_count"]) == (True, before + 1)


def test_liking_an_unknown_status_is_not_found(connected):
    connector, account = connected
    with pytest.raises(NotFound):
        connector.like(account, "109000000000999999")


def test_liking_needs_the_favourites_scope(sim):
    connector = make_connector("mastodon", sim[1])
    assert "write:favourites" in connector.config.scopes
    connector.config = dataclasses.replace(
        connector.config, scopes=tuple(s for s in connector.config.scopes if s != "write:favourites")
    )
    account = AccountRef("109000000", "maisonlumiere", authorize(connector, user_id="109000000"))
    with pytest.raises(PermissionDenied):
        connector.like(account, connector.publish(account, Draft(text="À aimer")).id)


def test_a_failed_like_maps_onto_the_connector_errors(connected, admin):
    connector, account = connected
    mention = incoming(admin, connector, account)
    assert_failures_map_onto_errors(
        admin, connector, "mastodon", "/favourite$", lambda: connector.like(account, mention.remote_id)
    )


def test_a_reply_sent_twice_with_one_idempotency_key_is_one_status(connected, admin):
    connector, account = connected
    mention = incoming(admin, connector, account)
    first = connector.reply(account, mention.remote_id, "Merci !", idempotency_key="reply-7")
    second = connector.reply(account, mention.remote_id, "Merci !", idempotency_key="reply-7")
    assert first.id == second.id
    assert first.in_reply_to_id == mention.remote_id
    replies = [p for p in admin.posts("mastodon") if p["reply_to_id"] == mention.remote_id]
    assert [p["id"] for p in replies] == [first.id]
    assert replies[0]["extra"]["idempotency_key"] == "reply-7"


def test_a_reply_whose_answer_is_lost_is_sent_again_with_its_key_and_posted_once(connected, admin):
    connector, account = connected
    mention = incoming(admin, connector, account)
    admin.faults({"kind": "lost", "platform": "mastodon", "methods": ["POST"], "path": "statuses$", "count": 1})
    reply = connector.reply(account, mention.remote_id, "Bien reçu", idempotency_key="reply-8")
    assert [p["id"] for p in admin.posts("mastodon") if p["reply_to_id"] == mention.remote_id] == [reply.id]


def test_a_direct_message_is_answered_with_a_direct_message(connected, admin, sim):
    connector, account = connected
    message = incoming(admin, connector, account, kind="dm")
    assert message.kind is InteractionKind.MESSAGE
    reply = connector.reply(account, message.remote_id, "Nous regardons votre commande.")
    assert reply.text.startswith(f"@{message.author.handle} ")  # on Mastodon the mention is the recipient
    assert reply.raw["visibility"] == "direct"
    assert stored(admin, reply.id)["extra"]["visibility"] == "direct"
    search = requests.get(
        f"{sim[1]}/mastodon/api/v2/search",
        params={"q": "regardons votre commande", "type": "statuses"},
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    ).json()
    assert search["statuses"] == []  # not public
    public = connector.reply(account, incoming(admin, connector, account).remote_id, "Merci à vous")
    assert public.raw["visibility"] == "public"


def test_the_simulator_refuses_an_unknown_visibility(connected, sim):
    _connector, account = connected
    answer = requests.post(
        f"{sim[1]}/mastodon/api/v1/statuses",
        json={"status": "x", "visibility": "secret"},
        headers={"Authorization": f"Bearer {account.tokens.access_token}"},
        timeout=5,
    )
    assert answer.status_code == 422


def test_a_reply_whose_answer_was_lost_is_found_by_find_reply_despite_the_mention_put_first(connected, admin):
    connector, account = connected
    message = incoming(admin, connector, account, kind="dm")
    other = incoming(admin, connector, account)
    found = assert_a_lost_reply_is_found(
        admin, connector, account, target_id=message.remote_id, text="Merci, c'est noté", path="statuses$",
        same_words_to=other.remote_id,
    )  # fmt: skip
    assert found.text == f"@{message.author.handle} Merci, c'est noté"


def test_find_post_and_find_reply_read_the_timeline_with_replies(connected, admin, sim):
    connector, account = connected
    mention = incoming(admin, connector, account)
    since = datetime.now(UTC) - timedelta(seconds=5)
    reply = connector.reply(account, mention.remote_id, "Réponse dans le fil")
    assert connector.find_post(account, text=reply.text, since=since).id == reply.id
    assert connector.find_reply(account, target_id=mention.remote_id, text=reply.text, since=since).id == reply.id


def test_hiding_and_deleting_comments_is_not_offered(connected):
    connector, account = connected
    assert connector.capabilities.hide is False
    with pytest.raises(NotSupported):
        connector.hide(account, "1")


def test_metrics_come_from_the_status_counters(connected):
    connector, account = connected
    post = connector.publish(account, Draft(text="Comptez-moi"))
    metrics = connector.metrics(account, [post.id])
    assert metrics[post.id].likes == 0
    assert metrics[post.id].impressions is None  # Mastodon has no impressions


def test_search_finds_statuses(connected, admin):
    connector, account = connected
    admin.generate(platform="mastodon", count=40, kind="mention", target="maisonlumiere", product="Lumière X2")
    page = connector.search(account, "Lumière X2", None)
    assert page.items
    assert all("lumière x2" in i.text.lower() for i in page.items)


def test_a_revoked_token_is_auth_revoked_without_a_refresh(connected, admin):
    connector, account = connected
    admin.revoke(platform="mastodon", user_id="109000000")
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)


def test_revoke_ends_the_token(connected):
    connector, account = connected
    connector.revoke(account)
    with pytest.raises(AuthRevoked):
        connector.fetch_mentions(account, None)


def test_a_429_burst_gives_rate_limited_with_the_reset_time(connected, admin):
    connector, account = connected
    admin.faults({"kind": "rate_limit", "platform": "mastodon", "count": 1, "retry_after": 30})
    with pytest.raises(RateLimited) as limited:
        connector.fetch_mentions(account, None)
    delay = (limited.value.retry_at - datetime.now(UTC)).total_seconds()
    assert 25 < delay <= 31


def test_an_exhausted_window_waits_instead_of_sending(connected, admin):
    connector, account = connected
    admin.config(rate_limits={"mastodon": [3, 60]}, reset_rate_windows=True)
    for _ in range(3):
        connector.fetch_mentions(account, None)
    with pytest.raises(RateLimited) as limited:
        connector.fetch_mentions(account, None)
    assert "waiting for reset" in limited.value.message  # refused locally: no 429 storm
    assert 50 < (limited.value.retry_at - datetime.now(UTC)).total_seconds() <= 61


def test_server_errors_are_transient(connected, admin):
    connector, account = connected
    admin.faults({"kind": "error", "platform": "mastodon", "status": 503})
    with pytest.raises(Transient):
        connector.fetch_mentions(account, None)


def test_a_malformed_body_is_malformed_payload(connected, admin):
    connector, account = connected
    admin.faults({"kind": "malformed", "platform": "mastodon"})
    with pytest.raises(MalformedPayload):
        connector.fetch_mentions(account, None)
