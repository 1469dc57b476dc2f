"""Builders shared by the inbox's tests: conversations as ingestion makes them, queues, agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Team
from moderation import services
from moderation.models import Agent, Conversation, Message
from moderation.services import QueueSpec
from tests.factories import MembershipFactory, SocialAccountFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_conversation(org, account, n, *, message=True, **fields):
    """A conversation (and its first message, from them) as ingestion would have stored it."""
    at = fields.pop("at", timezone.now() - timedelta(minutes=5))
    values = {
        "organization": org, "account": account, "platform": account.platform, "kind": "mention",
        "thread_key": f"t:{n}", "author_id": str(n), "author_handle": f"user{n}", "author_name": f"User {n}",
        "first_message_at": at, "last_message_at": at, "last_inbound_at": at, "message_count": 1,
        "excerpt": f"excerpt {n}",
    }  # fmt: skip
    values.update(fields)
    conversation = Conversation.objects.create(**values)
    if message:
        Message.objects.create(
            conversation=conversation, organization=org, platform=account.platform, direction="in",
            remote_id=f"m{n}", author_id=str(n), author_handle=f"user{n}", text=f"message {n}", created_at=at,
        )  # fmt: skip
    return conversation


def make_queue(actor, team, name="Support", **fields):
    return services.queue_save(actor=actor, spec=QueueSpec(name=name, team=team, **fields))


def make_agents(org, team, n, *, available=True, capacity=20):
    agents = []
    for i in range(n):
        member = MembershipFactory(organization=org, user__first_name=f"Agent{i}")
        team.members.add(member)
        Agent.objects.create(membership=member, organization=org, available=available, capacity=capacity)
        agents.append(member)
    return agents


@pytest.fixture
def team(personas):
    return Team.objects.create(organization=personas.org, name="Care")


@pytest.fixture
def account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme")
