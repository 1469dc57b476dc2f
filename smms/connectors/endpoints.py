"""Where each platform's API, consent page and token endpoint live: the real hosts, or the same paths under
the simulator's per-platform prefix (``http://127.0.0.1:8900/x/2/tweets`` ↔ ``https://api.x.com/2/tweets``)."""

from __future__ import annotations

from .types import PlatformConfig

GRAPH_VERSION = "v24.0"

REAL: dict[str, dict[str, str]] = {
    "x": {
        "api_base": "https://api.x.com",
        "authorize_url": "https://x.com/i/oauth2/authorize",
        "token_url": "https://api.x.com/2/oauth2/token",
    },
    "facebook": {
        "api_base": f"https://graph.facebook.com/{GRAPH_VERSION}",
        "authorize_url": f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth",
        "token_url": f"https://graph.facebook.com/{GRAPH_VERSION}/oauth/access_token",
    },
    # Instagram through Facebook Login: the Graph host, Facebook's consent page and token endpoint.
    "instagram": {
        "api_base": f"https://graph.facebook.com/{GRAPH_VERSION}",
        "authorize_url": f"https://www.facebook.com/{GRAPH_VERSION}/dialog/oauth",
        "token_url": f"https://graph.facebook.com/{GRAPH_VERSION}/oauth/access_token",
    },
    # Per instance; mastodon.social is the default instance.
    "mastodon": {
        "api_base": "https://mastodon.social",
        "authorize_url": "https://mastodon.social/oauth/authorize",
        "token_url": "https://mastodon.social/oauth/token",
    },
    "bluesky": {"api_base": "https://bsky.social"},
}

SIMULATED: dict[str, dict[str, str]] = {
    "x": {"api_base": "/x", "authorize_url": "/x/i/oauth2/authorize", "token_url": "/x/2/oauth2/token"},
    "facebook": {
        "api_base": f"/facebook/{GRAPH_VERSION}",
        "authorize_url": f"/facebook/{GRAPH_VERSION}/dialog/oauth",
        "token_url": f"/facebook/{GRAPH_VERSION}/oauth/access_token",
    },
    "instagram": {
        "api_base": f"/instagram/{GRAPH_VERSION}",
        "authorize_url": f"/facebook/{GRAPH_VERSION}/dialog/oauth",
        "token_url": f"/facebook/{GRAPH_VERSION}/oauth/access_token",
    },
    "mastodon": {
        "api_base": "/mastodon",
        "authorize_url": "/mastodon/oauth/authorize",
        "token_url": "/mastodon/oauth/token",
    },
    "bluesky": {"api_base": "/bluesky"},
}

DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "x": (
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "tweet.moderate.write",
        "like.write",
        "offline.access",
    ),
    "facebook": (
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "pages_read_user_content",
        "pages_manage_engagement",
        "read_insights",
    ),
    "instagram": (
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
    ),
    "mastodon": (
        "read:statuses",
        "read:notifications",
        "read:search",
        "write:statuses",
        "write:media",
        "write:favourites",
        "profile",
    ),
    "bluesky": (),
}


def platform_config(
    platform: str,
    *,
    simulator: str | None = None,
    client_id: str = "",
    client_secret: str = "",
    timeout: float = 20.0,
    overrides: dict[str, str] | None = None,
) -> PlatformConfig:
    """The config of a platform: real endpoints, or the simulator's when ``simulator`` is its base URL."""
    if simulator:
        urls = {k: simulator.rstrip("/") + v for k, v in SIMULATED[platform].items()}
    else:
        urls = dict(REAL[platform])
    urls.update(overrides or {})
    return PlatformConfig(
        api_base=urls["api_base"],
        authorize_url=urls.get("authorize_url", ""),
        token_url=urls.get("token_url", ""),
        client_id=client_id,
        client_secret=client_secret,
        scopes=DEFAULT_SCOPES[platform],
        timeout=timeout,
    )
