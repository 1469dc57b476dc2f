"""Connecting accounts, keeping their tokens alive and noticing revocation, against the simulator."""

from __future__ import annotations

import pytest
import requests
from django.core import mail
from django.db import connection

from accounts import selectors, services
from accounts.demo import consent
from accounts.models import PlatformApp, SocialAccount
from smms.errors import Forbidden, ValidationFailed

CALLBACK = "http://testserver/settings/accounts/connect/mastodon/callback/"


def connect_mastodon(personas) -> SocialAccount:
    url, flow = services.social_connect_start(actor=personas.admin, platform="mastodon", redirect_uri=CALLBACK)
    back = consent(url, "109000000")
    pending = services.social_connect_finish(
        actor=personas.admin, flow=flow, code=back["code"], state=back["state"], redirect_uri=CALLBACK
    )
    [candidate] = selectors.pending_connection_candidates(pending=pending)
    [account] = services.social_connect_confirm(
        actor=personas.admin, pending=pending, remote_ids=[candidate["remote_id"]]
    )
    return account


def test_connecting_mastodon_registers_the_app_and_stores_encrypted_tokens(personas, simulator):
    account = connect_mastodon(personas)
    assert (account.platform, account.handle, account.status) == ("mastodon", "maisonlumiere", "connected")
    assert PlatformApp.objects.filter(platform="mastodon").count() == 1
    assert account.extra["instance"].endswith("/mastodon")
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM accounts_socialaccount WHERE id = %s", [account.id])
        raw = cursor.fetchone()[0]
    assert account.access_token not in raw
    connector, ref = services.social_account_connector(account=account)
    assert connector.list_accounts(ref.tokens)[0].handle == "maisonlumiere"


def test_a_stale_or_foreign_state_is_refused(personas, simulator):
    url, flow = services.social_connect_start(actor=personas.admin, platform="mastodon", redirect_uri=CALLBACK)
    back = consent(url, "109000000")
    with pytest.raises(ValidationFailed):
        services.social_connect_finish(
            actor=personas.admin, flow=flow, code=back["code"], state="forged", redirect_uri=CALLBACK
        )


def test_an_analyst_cannot_connect(personas, simulator):
    with pytest.raises(Forbidden):
        services.social_connect_start(actor=personas.analyst, platform="mastodon", redirect_uri=CALLBACK)


def test_reconnecting_updates_the_same_account(personas, simulator):
    first = connect_mastodon(personas)
    SocialAccount.objects.filter(id=first.id).update(status="needs_reconnect", last_error="revoked")
    second = connect_mastodon(personas)
    assert second.id == first.id
    second.refresh_from_db()
    assert (second.status, second.last_error) == ("connected", "")


def test_a_revoked_token_flags_the_account_and_tells_owners_and_admins_once(
    personas, simulator, django_capture_on_commit_callbacks, celery_eager
):
    account = connect_mastodon(personas)
    simulator.revoke(platform="mastodon", user_id="109000000")
    connector, ref = services.social_account_connector(account=account)
    from smms.connectors.errors import AuthRevoked

    with pytest.raises(AuthRevoked) as revoked:
        connector.fetch_mentions(ref, None)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.social_account_mark_revoked(account_id=account.id, reason=str(revoked.value)) is True
        assert services.social_account_mark_revoked(account_id=account.id, reason="again") is False
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    assert "revoked" in account.last_error
    assert sorted(m.to[0] for m in mail.outbox) == ["admin@acme.test", "owner@acme.test"]
    assert "needs reconnecting" in mail.outbox[0].subject


def test_disconnecting_revokes_on_the_platform(personas, simulator):
    account = connect_mastodon(personas)
    token = account.access_token
    services.social_account_disconnect(account=account, actor=personas.admin)
    answer = requests.get(f"{account.extra['instance']}/api/v1/accounts/verify_credentials",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
    assert answer.status_code == 401
    account.refresh_from_db()
    assert (account.status, account.access_token) == ("disconnected", "")


def test_accounts_without_refresh_are_skipped_by_the_refresher(personas, simulator):
    account = connect_mastodon(personas)
    assert services.social_account_refresh(account_id=account.id) == "skipped"
    account.refresh_from_db()
    assert account.refresh_claimed_until is None


def connect_x(personas, simulator) -> SocialAccount:
    callback = "http://testserver/settings/accounts/connect/x/callback/"
    url, flow = services.social_connect_start(actor=personas.admin, platform="x", redirect_uri=callback)
    back = consent(url, simulator.users("x")[0]["id"])
    pending = services.social_connect_finish(
        actor=personas.admin, flow=flow, code=back["code"], state=back["state"], redirect_uri=callback
    )
    ids = [c["remote_id"] for c in selectors.pending_connection_candidates(pending=pending)]
    [account] = services.social_connect_confirm(actor=personas.admin, pending=pending, remote_ids=ids)
    return account


def test_the_sweep_refreshes_expiring_tokens_and_saves_the_rotated_pair(personas, simulator):
    account = connect_x(personas, simulator)
    assert services.social_accounts_refresh_due(margin_seconds=60) == []
    assert services.social_accounts_refresh_due(margin_seconds=3 * 3600) == [account.id]
    old_access, old_refresh = account.access_token, account.refresh_token
    assert services.social_account_refresh(account_id=account.id) == "refreshed"
    account.refresh_from_db()
    assert account.access_token != old_access
    assert account.refresh_token != old_refresh  # X refresh tokens are single use
    assert account.last_refreshed_at is not None
    assert account.refresh_claimed_until is None


def test_two_refreshers_never_spend_the_same_refresh_token(personas, simulator):
    account = connect_x(personas, simulator)
    # The competitor claimed the account first: this worker does nothing.
    from datetime import timedelta

    from django.utils import timezone

    SocialAccount.objects.filter(id=account.id).update(refresh_claimed_until=timezone.now() + timedelta(minutes=1))
    assert services.social_account_refresh(account_id=account.id) == "skipped"
    account.refresh_from_db()
    assert account.status == "connected"


def test_an_expired_token_is_refreshed_during_a_call_and_saved(personas, simulator):
    account = connect_x(personas, simulator)
    old_refresh = account.refresh_token
    simulator.expire(platform="x", user_id=account.remote_id)
    connector, ref = services.social_account_connector(account=account)
    connector.fetch_mentions(ref, None)
    account.refresh_from_db()
    assert account.refresh_token != old_refresh
    assert account.access_token == ref.tokens.access_token


def test_a_revoked_refresh_token_flags_the_account(personas, simulator, celery_eager):
    account = connect_x(personas, simulator)
    simulator.revoke(platform="x", user_id=account.remote_id)
    assert services.social_account_refresh(account_id=account.id) == "revoked"
    account.refresh_from_db()
    assert account.status == "needs_reconnect"


@pytest.mark.parametrize("platform", ["mastodon", "bluesky", "x"])
def test_a_big_brand_connects_dozens_of_accounts_the_way_a_person_would(personas, simulator, platform):
    from accounts.demo import connect_simulated

    added = simulator.brands(platform, 12)
    accounts = connect_simulated(personas.admin, platform, added)
    assert sorted(a.handle for a in accounts) == sorted(u["handle"] for u in added)
    assert {a.status for a in accounts} == {"connected"}
    connector, ref = services.social_account_connector(account=accounts[-1])
    assert connector.fetch_mentions(ref, None).items == []  # each one's own token works


def test_an_app_registered_with_fewer_scopes_is_registered_again_on_the_next_connection(personas, simulator):
    connect_mastodon(personas)
    app = PlatformApp.objects.get(platform="mastodon")
    PlatformApp.objects.filter(id=app.id).update(scopes=["read", "write:statuses"])  # as registered by an older SMMS
    connect_mastodon(personas)
    again = PlatformApp.objects.get(platform="mastodon")
    assert again.client_id != app.client_id
    assert "write:favourites" in again.scopes
