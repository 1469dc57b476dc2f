"""Helpers of the publishing tests: posts scheduled on accounts connected to the simulator."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from accounts.models import SocialAccount
from accounts.services import approval_policy_save
from publishing import services
from publishing.models import Delivery


def allow_self_approval(personas) -> None:
    """Let approvers schedule their own posts (the built-in default does; saved here so that tests about what
    happens after scheduling do not depend on it)."""
    approval_policy_save(actor=personas.owner, team=None, requires_approval=True, approvers="any", self_approval=True)


def schedule(personas, account: SocialAccount, text: str, *, at: datetime | None = None) -> Delivery:
    """A post written and scheduled by the team lead (who may approve their own posts here) on one account;
    its delivery."""
    allow_self_approval(personas)
    post = services.post_create(actor=personas.lead, text=text, accounts=[account])
    services.post_schedule(post=post, actor=personas.lead, at=at or timezone.now())
    return Delivery.objects.get(post=post)


def made(simulator, platform: str, text: str) -> list[dict]:
    """The posts the simulator holds with this text: what the network's readers would see."""
    return [p for p in simulator.posts(platform) if p["text"] == text and not p["deleted"]]


def fired(simulator) -> dict[str, int]:
    """How many times each kind of injected fault fired."""
    return simulator.faults()["fired"]


def trail(delivery: Delivery) -> list[tuple[str, str]]:
    return list(delivery.events.values_list("from_state", "to_state"))


@pytest.fixture
def lost_answer():
    """A fault rule: the network applies the next write to ``path`` and the client never hears back."""

    def rule(platform: str, path: str, *, count: int = 1, mode: str = "reset") -> dict:
        return {"kind": "lost", "platform": platform, "methods": ["POST"], "path": path, "count": count, "mode": mode}

    return rule
