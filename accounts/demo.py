"""Connect the demo organization's accounts through the platform simulator, the way a person would: open
each network's consent page, pick the brand account, authorize, then choose the accounts to manage."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from django.conf import settings

from smms.errors import DomainError

from . import selectors, services
from .models import Membership, SocialAccount
from .platforms import CONNECTABLE

CALLBACK = "http://127.0.0.1/settings/accounts/connect/{platform}/callback/"


def consent(url: str, user_id: str) -> dict[str, str]:
    """Authorize on the simulator's consent page as ``user_id``; the query of the redirect back."""
    page = requests.get(url, timeout=10)
    page.raise_for_status()
    if f'value="{user_id}"' not in page.text:
        raise DomainError(f"the consent page does not offer {user_id}")
    form = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    answer = requests.post(
        url, data={**form, "user_id": user_id, "decision": "allow"}, allow_redirects=False, timeout=10
    )
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}


def _sim_users(platform: str) -> list[dict[str, Any]]:
    """Who signs in on the simulated network: the brand accounts themselves, or (Meta) the person who
    administers the brand's Pages."""
    login_platform = "facebook" if platform == "instagram" else platform
    answer = requests.get(
        f"{settings.SMMS_SIMULATOR_URL.rstrip('/')}/_sim/users",
        params={"platform": login_platform, "brand": "1"},
        timeout=10,
    )
    answer.raise_for_status()
    users = answer.json()["users"]
    if login_platform == "facebook":
        return [u for u in users if u.get("extra", {}).get("page_admin")]
    return [u for u in users if u.get("is_brand")]


def connect_demo_accounts(actor: Membership, say: Callable[[str], None]) -> list[SocialAccount]:
    connected: list[SocialAccount] = []
    for platform in CONNECTABLE:
        try:
            connected += connect_simulated(actor, platform, _sim_users(platform))
        except Exception as exc:
            say(f"  {platform}: not connected ({exc})")
    return connected


def connect_simulated(actor: Membership, platform: str, users: Iterable[Mapping[str, Any]]) -> list[SocialAccount]:
    """Connect simulator users (``id``, ``handle``, ``password``) the way a person would: consent for OAuth
    networks, handle and app password for Bluesky; every account each login offers is confirmed."""
    pendings = []
    for user in users:
        if platform == "bluesky":
            pending = services.social_connect_password(
                actor=actor, platform=platform, identifier=user["handle"], password=user["password"]
            )
        else:
            callback = CALLBACK.format(platform=platform)
            url, flow = services.social_connect_start(actor=actor, platform=platform, redirect_uri=callback)
            back = consent(url, user["id"])
            pending = services.social_connect_finish(
                actor=actor, flow=flow, code=back["code"], state=back["state"], redirect_uri=callback
            )
        pendings.append(pending)
    connected: list[SocialAccount] = []
    for pending in pendings:
        ids = [c["remote_id"] for c in selectors.pending_connection_candidates(pending=pending)]
        connected += services.social_connect_confirm(actor=actor, pending=pending, remote_ids=ids)
    return connected


def generate_demo_traffic(count_per_platform: int = 60) -> None:
    """A first batch of mentions and comments, so the demo has conversations from the start."""
    for platform in CONNECTABLE:
        try:
            requests.post(
                f"{settings.SMMS_SIMULATOR_URL.rstrip('/')}/_sim/generate",
                json={"platform": platform, "count": count_per_platform},
                timeout=30,
            )
        except requests.RequestException:
            continue
