"""Mastodon.py, the official Python client, talks to the simulator: it cannot drift from what real clients
send and expect."""

from __future__ import annotations

import pytest
from mastodon import Mastodon, MastodonNotFoundError, MastodonUnauthorizedError

from tests.connectors.conftest import authorize, make_connector


@pytest.fixture
def client(sim):
    _sim, base = sim
    tokens = authorize(make_connector("mastodon", base), user_id="109000000")
    return Mastodon(access_token=tokens.access_token, api_base_url=f"{base}/mastodon", version_check_mode="none")


def test_mastodon_py_posts_reads_mentions_and_replies(client, admin):
    me = client.account_verify_credentials()
    assert me.username == "maisonlumiere"
    status = client.status_post("Bonjour depuis Mastodon.py", idempotency_key="abc-1")
    assert client.status(status.id).content == "<p>Bonjour depuis Mastodon.py</p>"

    admin.generate(platform="mastodon", count=3, kind="mention", target="maisonlumiere")
    notifications = client.notifications(types=["mention"], limit=2)
    assert len(notifications) == 2
    older = client.fetch_next(notifications)  # follows the Link header
    assert len(older) == 1
    mention = notifications[0].status
    reply = client.status_reply(mention, "Merci pour votre message")
    assert reply.in_reply_to_id == mention.id
    assert reply.content.startswith(f"<p>@{mention.account.acct} ")

    client.status_delete(status.id)
    with pytest.raises(MastodonNotFoundError):
        client.status(status.id)


def test_mastodon_py_sees_a_revoked_token_as_unauthorized(client, admin):
    admin.revoke(platform="mastodon", user_id="109000000")
    with pytest.raises(MastodonUnauthorizedError):
        client.account_verify_credentials()


def test_mastodon_py_reads_rate_limit_headers(client):
    client.status_post("compte")
    assert client.ratelimit_limit == 300
    assert client.ratelimit_remaining < 300
    assert client.ratelimit_reset > 0
