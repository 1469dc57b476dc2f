"""The bridge between stored social accounts and the Django-free connectors: which endpoints and app
credentials a platform uses here (the simulator in development and tests, the real APIs in production),
and the conversion of a SocialAccount into the AccountRef a connector acts with."""

from __future__ import annotations

import http.cookiejar
import os
import threading
import urllib.request

import requests
from django.conf import settings

from smms.connectors import get_connector
from smms.connectors.base import Connector, TokensSaved
from smms.connectors.endpoints import platform_config
from smms.connectors.types import AccountRef, Capabilities, TokenSet

from .models import PlatformApp, SocialAccount

CONNECTABLE = ("x", "facebook", "instagram", "mastodon", "bluesky")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def simulated() -> bool:
    return bool(settings.SMMS_SIMULATOR_URL)


def mastodon_instance(instance: str | None = None) -> str:
    if simulated():
        return f"{settings.SMMS_SIMULATOR_URL.rstrip('/')}/mastodon"
    return (instance or settings.SMMS_MASTODON_DEFAULT_INSTANCE).rstrip("/")


def connector_for(platform: str, *, instance: str | None = None, on_tokens: TokensSaved | None = None) -> Connector:
    """A connector for ``platform`` configured for this deployment. Mastodon takes the instance URL; its
    app credentials come from the PlatformApp registered on that instance (see services)."""
    client_id, client_secret = settings.SMMS_PLATFORM_CREDENTIALS.get(platform, ("", ""))
    simulator = settings.SMMS_SIMULATOR_URL or None
    if simulator and not client_id:
        client_id, client_secret = f"smms-{platform}", f"secret-{platform}"
    overrides: dict[str, str] = {}
    if platform == "mastodon":
        base = mastodon_instance(instance)
        overrides = {"api_base": base, "authorize_url": f"{base}/oauth/authorize", "token_url": f"{base}/oauth/token"}
        app = PlatformApp.objects.filter(platform="mastodon", instance=base).first()
        if app is not None:
            client_id, client_secret = app.client_id, app.client_secret
        simulator = None  # the instance URL already points at the simulator when simulated
    config = platform_config(
        platform,
        simulator=simulator,
        client_id=client_id,
        client_secret=client_secret,
        timeout=settings.SMMS_CONNECTOR_TIMEOUT,
        overrides=overrides,
    )
    return get_connector(platform, config, on_tokens=on_tokens, session=_session(platform))


_sessions = threading.local()


def _session(platform: str) -> requests.Session:
    """One HTTP session per network and thread, so connections are reused from one call to the next (a worker
    publishing thousands of posts opens a handful of connections, not thousands). It keeps no cookies:
    nothing of one account's calls can reach another's."""
    sessions: dict[str, requests.Session] = _sessions.__dict__.setdefault("by_platform", {})
    if platform not in sessions:
        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        # requests reads the environment on every call (proxies, CA bundle, and ~/.netrc credentials, which SMMS
        # never wants sent). It is read once here instead; only proxy variables need requests' own handling.
        session.trust_env = bool(urllib.request.getproxies())
        bundle = next((os.environ[name] for name in CA_VARIABLES if os.environ.get(name)), None)
        if bundle is not None:
            session.verify = bundle
        sessions[platform] = session
    return sessions[platform]


def capabilities(platform: str) -> Capabilities:
    from smms.connectors import connector_class

    return connector_class(platform).capabilities


def account_ref(account: SocialAccount) -> AccountRef:
    return AccountRef(
        remote_id=account.remote_id,
        handle=account.handle,
        tokens=TokenSet(
            access_token=account.access_token,
            refresh_token=account.refresh_token,
            expires_at=account.token_expires_at,
            scopes=tuple(account.scopes or ()),
        ),
        extra=dict(account.extra or {}),
    )
