"""Connector tests run over HTTP against a real simulator on a loopback port (no Django database)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from simulator.app import Simulator
from simulator.server import running_simulator
from smms.connectors import get_connector
from smms.connectors.base import Connector
from smms.connectors.endpoints import platform_config
from smms.connectors.errors import AuthRevoked, RateLimited, Transient
from smms.connectors.oauth import pkce_pair
from smms.connectors.ratelimit import RateLimitBook
from smms.connectors.types import RemotePost, TokenSet

REDIRECT_URI = "http://127.0.0.1:9/callback"


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, str]]:
    """A fresh simulator (seed 42) per test: (simulator object, base URL). Faults and clock are per test."""
    with running_simulator(Simulator(seed=42)) as running:
        yield running


class SimAdmin:
    """The simulator's admin API, as a test uses it."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _post(self, path: str, body: object) -> dict:
        response = requests.post(f"{self.base}/_sim/{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def faults(self, *rules: dict) -> dict:
        return self._post("faults", list(rules))

    def clear_faults(self) -> None:
        requests.delete(f"{self.base}/_sim/faults", timeout=10).raise_for_status()

    def config(self, **body: object) -> dict:
        return self._post("config", body)

    def generate(self, **body: object) -> dict:
        return self._post("generate", body)

    def brands(self, platform: str, count: int) -> list[dict]:
        return self._post("brands", {"platform": platform, "count": count})["users"]

    def revoke(self, **body: object) -> dict:
        return self._post("tokens/revoke", body)

    def expire(self, **body: object) -> dict:
        return self._post("tokens/expire", body)

    def advance(self, seconds: float) -> dict:
        return self._post("clock", {"advance": seconds})

    def posts(self, platform: str, **params: str) -> list[dict]:
        response = requests.get(f"{self.base}/_sim/posts", params={"platform": platform, **params}, timeout=10)
        response.raise_for_status()
        return response.json()["posts"]

    def users(self, platform: str, brand: bool = True) -> list[dict]:
        params = {"platform": platform, "brand": "1" if brand else "0"}
        return requests.get(f"{self.base}/_sim/users", params=params, timeout=10).json()["users"]


@pytest.fixture
def admin(sim) -> SimAdmin:
    return SimAdmin(sim[1])


def make_connector(platform: str, base: str, **kwargs) -> Connector:
    config = platform_config(
        platform, simulator=base, client_id=f"smms-{platform}", client_secret=f"secret-{platform}", timeout=5
    )
    return get_connector(platform, config, **kwargs)


def authorize(connector: Connector, user_id: str | None = None) -> TokenSet:
    """Run the OAuth consent as a person would: open the URL, pick the user, authorize, follow back."""
    verifier, _challenge = pkce_pair()
    url = connector.authorization_url(redirect_uri=REDIRECT_URI, state="st4te", code_verifier=verifier)
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    form = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    if user_id is None:
        import re

        user_id = re.search(r'<option value="([^"]+)"', page.text).group(1)
    answer = requests.post(
        url, data={**form, "user_id": user_id, "decision": "allow"}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    query = parse_qs(urlparse(answer.headers["Location"]).query)
    assert query["state"] == ["st4te"]
    return connector.exchange_code(code=query["code"][0], redirect_uri=REDIRECT_URI, code_verifier=verifier)


def connect_first(platform: str, base: str):
    """(connector, first account the consent gives, list receiving saved tokens) for ``platform``."""
    from smms.connectors.types import AccountRef

    saved: list[TokenSet] = []
    connector = make_connector(platform, base, on_tokens=lambda account, tokens: saved.append(tokens))
    candidate = connector.list_accounts(authorize(connector))[0]
    account = AccountRef(candidate.remote_id, candidate.handle, candidate.tokens, dict(candidate.extra))
    return connector, account, saved


def walk(connector, account, cursor=None, *, between=None):
    """Every page of one poll: (items, final cursor, quarantined). ``between`` runs after the first page."""
    items, quarantined = [], []
    page = connector.fetch_mentions(account, cursor)
    items += page.items
    quarantined += page.quarantined
    if between is not None:
        between()
    while page.has_more:
        page = connector.fetch_mentions(account, page.cursor)
        items += page.items
        quarantined += page.quarantined
    return items, page.cursor, quarantined


def comment_ids(admin, platform: str, author_id: str) -> set[str]:
    """Ids of the live comments on ``author_id``'s posts, from the simulator's record."""
    posts = admin.posts(platform)
    own = {p["id"] for p in posts if p["author_id"] == author_id and p["kind"] == "post"}
    return {p["id"] for p in posts if p["kind"] == "comment" and p["root_id"] in own and not p["deleted"]}


def assert_failures_map_onto_errors(admin, connector: Connector, platform: str, path: str, call) -> None:
    """A 5xx, a 429 and a revoked token on the calls matching ``path`` end as Transient, RateLimited and
    AuthRevoked."""
    admin.faults({"kind": "error", "platform": platform, "path": path, "status": 503})
    with pytest.raises(Transient):
        call()
    admin.clear_faults()
    admin.faults({"kind": "rate_limit", "platform": platform, "path": path, "count": 1, "retry_after": 30})
    with pytest.raises(RateLimited):
        call()
    admin.clear_faults()
    connector.http.rate_limits = RateLimitBook()  # forget the exhausted window, so the next call is sent
    admin.faults({"kind": "revoke", "platform": platform, "path": path, "count": 1})
    with pytest.raises(AuthRevoked):
        call()
    admin.clear_faults()


def graph_get(base: str, platform: str, account, node: str, fields: str) -> requests.Response:
    """A Graph node as Facebook or Instagram serves it, read with the account's token."""
    params = {"access_token": account.tokens.access_token, "fields": fields}
    return requests.get(f"{base}/{platform}/v24.0/{node}", params=params, timeout=5)


def assert_hide_unhide_delete_read_back(base: str, connector, account, comment_id: str, hidden_field: str) -> None:
    """Hide, unhide and delete a comment: its Graph node says so each time, and is gone at the end."""
    platform = connector.platform
    connector.hide(account, comment_id)
    assert graph_get(base, platform, account, comment_id, hidden_field).json()[hidden_field] is True
    connector.hide(account, comment_id, hidden=False)
    assert graph_get(base, platform, account, comment_id, hidden_field).json()[hidden_field] is False
    connector.delete_comment(account, comment_id)
    gone = graph_get(base, platform, account, comment_id, "id")
    assert (gone.status_code, gone.json()["error"]["code"]) == (400, 100)


def assert_a_lost_reply_is_found(
    admin,
    connector: Connector,
    account,
    *,
    target_id: str,
    text: str,
    path: str,
    same_words_to: str | None = None,
    idempotency_key: str | None = None,
) -> RemotePost:
    """Reply to ``target_id`` while the simulator applies the write and drops its answer (a ``lost`` fault on
    POST ``path``): the reply raises Transient with an unknown outcome, and find_reply finds it, not the same
    words answering ``same_words_to`` first, nor other words. Returns what find_reply found."""
    since = datetime.now(UTC) - timedelta(seconds=5)
    if same_words_to is not None:
        connector.reply(account, same_words_to, text)
    admin.faults({"kind": "lost", "platform": connector.platform, "methods": ["POST"], "path": path, "count": 1})
    with pytest.raises(Transient) as lost:
        connector.reply(account, target_id, text, idempotency_key=idempotency_key)
    assert lost.value.unknown_outcome is True
    admin.clear_faults()
    found = connector.find_reply(account, target_id=target_id, text=text, since=since)
    assert found is not None
    assert found.in_reply_to_id == target_id
    [stored] = [p for p in admin.posts(connector.platform) if p["id"] == found.id]
    assert (stored["reply_to_id"], stored["author_id"]) == (target_id, account.remote_id)
    assert connector.find_reply(account, target_id=target_id, text="Autre chose", since=since) is None
    return found
