"""Routing rules, evaluated as conversations arrive: the first queue (by order) whose rules all hold takes the
conversation, with its priority and response times; VIPs arrive at high priority."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import AccountGroup
from moderation import services
from moderation.models import Conversation, ModerationAction, Priority
from moderation.services import QueueSpec
from smms.connectors.types import Author, Interaction, InteractionKind
from smms.errors import ValidationFailed
from tests.factories import SocialAccountFactory
from tests.moderation.conftest import T0, make_queue
from tests.moderation.test_ingest import ingest, mastodon_account


def arrival(remote_id, *, text="hello", author="42", followers=10, lang=None, kind=InteractionKind.MENTION, minutes=0):
    return Interaction(
        platform="mastodon", remote_id=remote_id, kind=kind, text=text, lang=lang,
        author=Author(id=author, handle=f"user{author}", display_name=f"User {author}", followers=followers),
        created_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def routed(remote_id):
    return Conversation.objects.get(messages__remote_id=remote_id)


@pytest.fixture
def stream(personas):
    return mastodon_account(personas)


def test_the_first_queue_whose_rules_all_hold_takes_the_conversation(personas, team, stream):
    refunds = make_queue(personas.lead, team, "Refunds", position=1, keywords='rembours* OR "money back"')
    french = make_queue(personas.lead, team, "French", position=2, languages=["fr"])
    general = make_queue(personas.lead, team, "Everything else", position=3)
    ingest(
        stream,
        arrival("1", text="I want my money back"),
        arrival("2", text="Je veux être remboursé", author="43"),
        arrival("3", text="Bonjour, une question sur la lampe", author="44"),
        arrival("4", text="Nice lamp", author="45"),
    )
    assert routed("1").queue == refunds
    assert routed("2").queue == refunds  # both hold; Refunds comes first
    assert routed("3").queue == french
    assert routed("4").queue == general


def test_network_account_and_group_kind_followers_and_sentiment_rules(personas, team, stream):
    other = SocialAccountFactory(organization=personas.org, platform="mastodon")
    group = AccountGroup.objects.create(organization=personas.org, name="France")
    group.accounts.add(stream)
    by_group = make_queue(personas.lead, team, "France accounts", position=1, account_groups=[group], kinds=["message"])
    influencers = make_queue(personas.lead, team, "Influencers", position=2, min_followers=10_000)
    angry = make_queue(personas.lead, team, "Angry", position=3, sentiment_below=-0.4)
    bluesky_only = make_queue(personas.lead, team, "Bluesky", position=4, networks=["bluesky"])
    ingest(
        stream,
        arrival("dm", kind=InteractionKind.MESSAGE, author="7"),
        arrival("big", followers=50_000, author="8"),
        arrival("mad", text="This is the worst, terrible, awful service, I hate it", author="9"),
        arrival("calm", text="The lamp arrived today", author="10"),
    )
    assert routed("dm").queue == by_group
    assert routed("big").queue == influencers
    assert routed("mad").queue == angry
    assert routed("calm").queue is None  # no rule held, and no queue takes everything
    ingest(
        SocialAccountFactory(organization=personas.org, platform="mastodon"), arrival("x", kind=InteractionKind.MESSAGE)
    )
    assert routed("x").queue is None  # a message on an account outside the group
    assert bluesky_only.conversations.count() == 0
    assert other.conversations.count() == 0


def test_a_vip_arrives_at_high_priority_and_a_vip_queue_takes_them(personas, team, stream):
    services.vip_add(actor=personas.lead, handle="@User77", note="Le Monde")
    vip_queue = make_queue(personas.lead, team, "VIPs", position=1, vip_only=True, priority=Priority.URGENT)
    make_queue(personas.lead, team, "General", position=2)
    ingest(stream, arrival("1", author="77"), arrival("2", author="78"))
    assert (routed("1").queue, routed("1").priority) == (vip_queue, Priority.URGENT)
    assert routed("2").priority == Priority.NORMAL


def test_a_vip_outside_any_vip_queue_is_still_high_priority(personas, team, stream):
    services.vip_add(actor=personas.lead, handle="user5", platform="mastodon")
    ingest(stream, arrival("1", author="5"))
    assert routed("1").priority == Priority.HIGH


def test_routing_sets_the_queues_response_times_from_the_first_message(personas, team, stream):
    make_queue(personas.lead, team, first_response_minutes=30, resolution_minutes=24 * 60)
    ingest(stream, arrival("1", minutes=0), arrival("2", minutes=3, kind=InteractionKind.REPLY))
    conversation = routed("1")
    assert conversation.response_due_at == T0 + timedelta(minutes=30)
    assert conversation.resolution_due_at == T0 + timedelta(days=1)
    assert (conversation.sla_response_minutes, conversation.sla_resolution_minutes) == (30, 24 * 60)


def test_after_our_answer_their_next_message_starts_the_response_clock_again(personas, team, stream):
    make_queue(personas.lead, team, first_response_minutes=30)
    ingest(stream, arrival("1"))
    conversation = routed("1")
    # We answered (the outbox records this: no response due any more, waiting for them).
    Conversation.objects.filter(id=conversation.id).update(response_due_at=None, status="waiting")
    ingest(stream, Interaction(
        platform="mastodon", remote_id="2", kind=InteractionKind.REPLY, text="still broken", in_reply_to_id="1",
        author=Author(id="42", handle="user42"), created_at=T0 + timedelta(hours=2),
    ))  # fmt: skip
    conversation.refresh_from_db()
    assert conversation.status == "open"  # waiting for them, and they wrote: it is ours to answer again
    assert conversation.response_due_at == T0 + timedelta(hours=2, minutes=30)


def test_a_new_message_does_not_move_a_conversation_to_another_queue(personas, team, stream):
    first = make_queue(personas.lead, team, "First", position=1, keywords="lamp")
    make_queue(personas.lead, team, "Second", position=2)
    ingest(stream, arrival("1", text="my lamp"))
    ingest(stream, Interaction(
        platform="mastodon", remote_id="2", kind=InteractionKind.REPLY, text="anything", in_reply_to_id="1",
        author=Author(id="42", handle="user42"), created_at=T0 + timedelta(minutes=1),
    ))  # fmt: skip
    assert routed("2").queue == first


def test_a_changed_rule_applies_at_once_in_the_process_that_saved_it(personas, team, stream):
    queue = make_queue(personas.lead, team, keywords="lamp")
    ingest(stream, arrival("1", text="shade"))
    assert routed("1").queue is None
    services.queue_save(actor=personas.lead, queue=queue, spec=QueueSpec(name="Support", team=team, keywords="shade"))
    ingest(stream, arrival("2", text="shade", author="50"))
    assert routed("2").queue == queue


def test_an_inactive_queue_takes_nothing(personas, team, stream):
    make_queue(personas.lead, team, is_active=False)
    ingest(stream, arrival("1"))
    assert routed("1").queue is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"keywords": "lamp AND"}, "Keywords: AND needs a term after it"),
        ({"sentiment_below": 2}, "between -1 and 1"),
        ({"languages": ["xx"]}, "Unknown language"),
        ({"networks": ["myspace"]}, "Unknown network"),
        ({"first_response_minutes": 0}, "Give between 1 minute and 90 days"),
        ({"name": "  "}, "Give the queue a name"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(personas, team, fields, message):
    spec = {"name": "Support", "team": team, **fields}
    with pytest.raises(ValidationFailed, match=message):
        services.queue_save(actor=personas.lead, spec=QueueSpec(**spec))


def test_only_team_leads_and_above_manage_queues(personas, team):
    from smms.errors import Forbidden

    with pytest.raises(Forbidden):
        make_queue(personas.agent, team)
    with pytest.raises(Forbidden):
        services.vip_add(actor=personas.agent, handle="someone")


def test_moving_a_conversation_takes_the_new_queues_sla_and_leaves_its_assignee(personas, team, stream):
    make_queue(personas.lead, team, "A", position=1, first_response_minutes=60)
    faster = make_queue(personas.lead, team, "B", position=2, first_response_minutes=10)
    ingest(stream, arrival("1"))
    conversation = routed("1")
    services.conversation_take(conversation=conversation, actor=personas.agent)
    services.conversation_move(conversation=conversation, queue=faster, actor=personas.lead)
    conversation.refresh_from_db()
    assert conversation.queue == faster
    assert conversation.assignee is None
    assert conversation.response_due_at == conversation.last_inbound_at + timedelta(minutes=10)
    assert ModerationAction.objects.filter(conversation=conversation, action="move").exists()


def test_a_queue_for_an_account_group_left_empty_takes_nothing(personas, team, stream):
    group = AccountGroup.objects.create(organization=personas.org, name="Gone")
    make_queue(personas.lead, team, "Empty group", position=1, account_groups=[group])
    ingest(stream, arrival("1"))
    assert routed("1").queue is None
