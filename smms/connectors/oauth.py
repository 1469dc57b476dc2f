"""OAuth 2.0 through requests-oauthlib: authorization URL with state and PKCE, code exchange, refresh.

Token endpoint failures are mapped onto the normalized errors: a refused grant (reused or revoked refresh
token, bad code) is AuthRevoked; a server or network failure is Transient.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session

from .errors import AuthRevoked, MalformedPayload, Transient
from .http import in_seconds
from .types import PlatformConfig, TokenSet

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _allow_loopback_http(url: str) -> None:
    # oauthlib refuses plain HTTP; the only HTTP endpoints we ever talk to are the simulator on loopback.
    if urlparse(url).scheme == "http" and urlparse(url).hostname in LOOPBACK:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) per RFC 7636."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    config: PlatformConfig,
    *,
    redirect_uri: str,
    state: str,
    code_verifier: str | None = None,
    scope_separator: str = " ",
    extra: Mapping[str, str] | None = None,
) -> str:
    _allow_loopback_http(config.authorize_url)
    params: dict[str, Any] = dict(extra or {})
    # oauthlib joins a list with spaces; Meta wants commas, so such a scope goes as a ready string.
    scope: list[str] | str = list(config.scopes) if scope_separator == " " else scope_separator.join(config.scopes)
    oauth = OAuth2Session(config.client_id, redirect_uri=redirect_uri, scope=scope, state=state)
    if code_verifier:
        params.update(code_challenge=pkce_pair_from(code_verifier), code_challenge_method="S256")
    url, _state = oauth.authorization_url(config.authorize_url, **params)
    return url


def pkce_pair_from(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_set(payload: Mapping[str, Any], platform: str, previous_refresh: str = "") -> TokenSet:
    if not isinstance(payload, Mapping) or not payload.get("access_token"):
        raise MalformedPayload("token answer without access_token", platform=platform, raw=payload)
    scope = payload.get("scope") or ""
    scopes = tuple(scope if isinstance(scope, list) else str(scope).replace(",", " ").split())
    return TokenSet(
        access_token=str(payload["access_token"]),
        refresh_token=str(payload.get("refresh_token") or previous_refresh),
        expires_at=in_seconds(payload.get("expires_in")),
        scopes=scopes,
    )


def _session(config: PlatformConfig, redirect_uri: str | None = None, platform: str = "") -> OAuth2Session:
    _allow_loopback_http(config.token_url)
    oauth = OAuth2Session(config.client_id, redirect_uri=redirect_uri)

    def server_trouble(response: requests.Response) -> requests.Response:
        # oauthlib would read a 5xx page as a refused grant; it is a platform outage, not a revocation.
        if response.status_code >= 500 or response.status_code == 429:
            raise Transient(f"token endpoint answered {response.status_code}", platform=platform)
        return response

    oauth.register_compliance_hook("access_token_response", server_trouble)
    oauth.register_compliance_hook("refresh_token_response", server_trouble)
    return oauth


def exchange_code(
    config: PlatformConfig,
    *,
    platform: str,
    code: str,
    redirect_uri: str,
    code_verifier: str | None = None,
    method: str = "POST",
    basic_auth: bool = True,
) -> TokenSet:
    oauth = _session(config, redirect_uri, platform)
    kwargs: dict[str, Any] = {"code": code, "method": method, "timeout": config.timeout}
    if code_verifier:
        kwargs["code_verifier"] = code_verifier
    if basic_auth:
        kwargs["auth"] = requests.auth.HTTPBasicAuth(config.client_id, config.client_secret)
    else:
        kwargs["client_secret"] = config.client_secret
        kwargs["include_client_id"] = True
    return token_set(_call(oauth.fetch_token, platform, config.token_url, **kwargs), platform)


def refresh(config: PlatformConfig, *, platform: str, refresh_token: str, basic_auth: bool = True) -> TokenSet:
    oauth = _session(config, platform=platform)
    kwargs: dict[str, Any] = {"refresh_token": refresh_token, "timeout": config.timeout}
    if basic_auth:
        kwargs["auth"] = requests.auth.HTTPBasicAuth(config.client_id, config.client_secret)
    else:
        kwargs.update(client_id=config.client_id, client_secret=config.client_secret)
    payload = _call(oauth.refresh_token, platform, config.token_url, **kwargs)
    return token_set(payload, platform, previous_refresh=refresh_token)


def _call(fn: Any, platform: str, url: str, **kwargs: Any) -> Mapping[str, Any]:
    try:
        return fn(url, **kwargs)
    except OAuth2Error as exc:
        # invalid_grant, invalid_request (reused refresh token), invalid_client, access_denied...
        raise AuthRevoked(f"token endpoint refused: {exc.error}", platform=platform, raw=exc.description) from exc
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise Transient(f"token endpoint unreachable: {type(exc).__name__}", platform=platform) from exc
    except ValueError as exc:  # oauthlib could not parse the answer
        raise MalformedPayload(f"token answer unreadable: {exc}", platform=platform) from exc
