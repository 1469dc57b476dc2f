"""Platform connectors: real clients of the networks' HTTP APIs, free of Django.

``get_connector(platform, config)`` returns the connector of a platform; see ``base.Connector`` for the
interface and ``errors`` for the normalized failures.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import Connector
from .types import PlatformConfig

CONNECTORS = {
    "x": "smms.connectors.x:XConnector",
    "facebook": "smms.connectors.facebook:FacebookConnector",
    "instagram": "smms.connectors.instagram:InstagramConnector",
    "mastodon": "smms.connectors.mastodon:MastodonConnector",
    "bluesky": "smms.connectors.bluesky:BlueskyConnector",
}


def connector_class(platform: str) -> type[Connector]:
    try:
        module, name = CONNECTORS[platform].split(":")
        return getattr(import_module(module), name)
    except (KeyError, ModuleNotFoundError):
        raise LookupError(f"no connector for {platform!r}") from None


def get_connector(platform: str, config: PlatformConfig, **kwargs: Any) -> Connector:
    return connector_class(platform)(config, **kwargs)
