"""The simulated platforms, one module each."""

from __future__ import annotations

from importlib import import_module

from .base import PlatformApi

MODULES = {
    "x": "simulator.platforms.x:XApi",
    "facebook": "simulator.platforms.facebook:FacebookApi",
    "instagram": "simulator.platforms.instagram:InstagramApi",
    "mastodon": "simulator.platforms.mastodon:MastodonApi",
    "bluesky": "simulator.platforms.bluesky:BlueskyApi",
}


def platform_classes() -> dict[str, type[PlatformApi]]:
    classes = {}
    for name, target in MODULES.items():
        module, cls = target.split(":")
        try:
            classes[name] = getattr(import_module(module), cls)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real import error inside an existing module
                raise
    return classes
