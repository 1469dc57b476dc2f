"""Assignment: manual by team leads, taken by agents (one wins a race, the other is told), round-robin and
load-balanced among available agents below their capacity; escalation; SLA breach notices; who sees what."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification, Team
from crm_bridge.models import WebhookDelivery, WebhookEndpoint
from moderation import selectors, services
from moderation.models import Agent, AssignmentMode, Conversation, ModerationAction, Priority
from smms.errors import Conflict, Forbidden, ValidationFailed
from tests.moderation.conftest import make_agents, make_conversation, make_queue
from tests.races import at_once


# --- manual ------------------------------------------------------------------------------------------------------
def test_a_team_lead_assigns_and_the_agent_is_notified_with_an_audit_record(personas, account):
    conversation = make_conversation(personas.org, account, 1)
    services.conversation_assign(conversation=conversation, to=personas.agent, actor=personas.lead)
    conversation.refresh_from_db()
    assert conversation.assignee == personas.agent
    assert conversation.assigned_at is not None
    [told] = Notification.objects.filter(kind="conversation_assigned")
    assert told.recipient == personas.agent.user
    assert told.link == reverse("conversation_detail", args=[conversation.id])
    [record] = ModerationAction.objects.filter(conversation=conversation)
    assert (record.action, record.actor, record.detail) == (
        "assign",
        personas.lead,
        {"from": None, "to": personas.agent.id},
    )


def test_agents_cannot_assign_and_analysts_cannot_be_assigned(personas, account):
    conversation = make_conversation(personas.org, account, 1)
    with pytest.raises(Forbidden):
        services.conversation_assign(conversation=conversation, to=personas.agent, actor=personas.agent)
    with pytest.raises(ValidationFailed, match="cannot reply to conversations"):
        services.conversation_assign(conversation=conversation, to=personas.analyst, actor=personas.lead)


def test_a_lead_who_saw_an_older_assignee_is_told_who_holds_it_now(personas, account):
    conversation = make_conversation(personas.org, account, 1)
    services.conversation_take(conversation=conversation, actor=personas.agent)  # meanwhile
    with pytest.raises(Conflict, match=str(personas.agent.user)):
        services.conversation_assign(
            conversation=conversation, to=personas.admin, actor=personas.lead, expected_assignee=None
        )
    conversation.refresh_from_db()
    assert conversation.assignee == personas.agent


def test_taking_a_conversation_someone_holds_says_who_was_first(personas, account):
    conversation = make_conversation(personas.org, account, 1)
    services.conversation_take(conversation=conversation, actor=personas.lead)
    with pytest.raises(Conflict, match=f"{personas.lead.user} took this conversation first"):
        services.conversation_take(conversation=conversation, actor=personas.agent)


@pytest.mark.django_db(transaction=True)
def test_two_agents_taking_the_same_conversation_at_once_one_wins_and_the_other_is_told(personas, account):
    conversation = make_conversation(personas.org, account, 1)

    def take(member):
        return lambda: services.conversation_take(
            conversation=Conversation.objects.get(id=conversation.id), actor=member
        )

    results = at_once(take(personas.agent), take(personas.lead))
    outcomes = {
        member.user.email: result.message if isinstance(result, Conflict) else "won"
        for member, result in zip((personas.agent, personas.lead), results, strict=True)
    }
    conversation.refresh_from_db()
    winner = conversation.assignee
    loser = personas.lead if winner == personas.agent else personas.agent
    assert outcomes[winner.user.email] == "won"
    assert outcomes[loser.user.email] == f"{winner.user} took this conversation first."
    assert ModerationAction.objects.filter(conversation=conversation, action="take").count() == 1


def test_an_agent_gives_a_conversation_back_to_its_queue(personas, account, team):
    queue = make_queue(personas.lead, team)
    conversation = make_conversation(personas.org, account, 1, queue=queue)
    services.conversation_take(conversation=conversation, actor=personas.agent)
    services.conversation_release(conversation=conversation, actor=personas.agent)
    conversation.refresh_from_db()
    assert conversation.assignee is None
    with pytest.raises(Conflict):
        services.conversation_release(conversation=conversation, actor=personas.agent)


# --- automatic ---------------------------------------------------------------------------------------------------
def waiting(personas, account, queue, n, start=0):
    now = timezone.now()
    return [
        make_conversation(
            personas.org, account, start + i, queue=queue, first_message_at=now - timedelta(minutes=n - i)
        )
        for i in range(n)
    ]


def test_round_robin_gives_each_available_agent_a_turn_in_order(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.ROUND_ROBIN)
    agents = make_agents(personas.org, team, 3)
    conversations = waiting(personas, account, queue, 7)
    assert services.queue_assign_waiting(queue_id=queue.id) == 7
    order = [Conversation.objects.get(id=c.id).assignee_id for c in conversations]  # oldest first
    ids = [a.id for a in agents]
    assert order == [ids[0], ids[1], ids[2], ids[0], ids[1], ids[2], ids[0]]
    # The turn is kept on the queue: the next conversation goes to the agent after the last one served.
    [next_one] = waiting(personas, account, queue, 1, start=100)
    services.queue_assign_waiting(queue_id=queue.id)
    assert Conversation.objects.get(id=next_one.id).assignee_id == ids[1]
    assert ModerationAction.objects.filter(action="assign", actor=None, detail__mode="round_robin").count() == 8


def test_round_robin_is_fair_over_many_rounds_and_skips_agents_who_are_away(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.ROUND_ROBIN)
    agents = make_agents(personas.org, team, 4, capacity=500)
    Agent.objects.filter(membership=agents[3]).update(available=False)
    for batch in range(10):  # conversations arrive in waves of uneven size
        waiting(personas, account, queue, batch % 4 + 1, start=1000 * (batch + 1))
        services.queue_assign_waiting(queue_id=queue.id)
    counts = Counter(Conversation.objects.filter(queue=queue).values_list("assignee_id", flat=True))
    assert agents[3].id not in counts
    assert sum(counts.values()) == 23
    assert sorted(counts.values()) == [7, 8, 8]  # 23 over 3 agents: one apart at most


def test_load_balancing_gives_the_next_conversation_to_the_least_loaded_agent(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.LOAD_BALANCED)
    busy, calm, idle = make_agents(personas.org, team, 3)
    for n in range(3):
        make_conversation(personas.org, account, 500 + n, assignee=busy, status="open")
    make_conversation(personas.org, account, 600, assignee=calm, status="waiting")
    make_conversation(personas.org, account, 601, assignee=calm, status="resolved")  # resolved: no load
    new = waiting(personas, account, queue, 3)
    services.queue_assign_waiting(queue_id=queue.id)
    got = [Conversation.objects.get(id=c.id).assignee for c in new]
    assert got[0] == idle  # 0 open
    assert sorted(m.id for m in got[1:]) == sorted([calm.id, idle.id])  # then 1 and 1: never the busy one
    assert selectors.agent_loads([busy.id, calm.id, idle.id]) == {busy.id: 3, calm.id: 2, idle.id: 2}


def test_nobody_gets_more_than_their_capacity_and_the_rest_waits(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.LOAD_BALANCED)
    make_agents(personas.org, team, 2, capacity=2)
    conversations = waiting(personas, account, queue, 6)
    assert services.queue_assign_waiting(queue_id=queue.id) == 4
    assert Conversation.objects.filter(queue=queue, assignee__isnull=True).count() == 2
    # The two oldest and most urgent went first.
    assert set(Conversation.objects.filter(assignee__isnull=True).values_list("id", flat=True)) == {
        conversations[4].id,
        conversations[5].id,
    }


def test_urgent_conversations_are_assigned_before_older_normal_ones(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.ROUND_ROBIN)
    make_agents(personas.org, team, 1, capacity=1)
    old, urgent = waiting(personas, account, queue, 2)
    Conversation.objects.filter(id=urgent.id).update(priority=Priority.URGENT)
    services.queue_assign_waiting(queue_id=queue.id)
    assert Conversation.objects.get(id=urgent.id).assignee is not None
    assert Conversation.objects.get(id=old.id).assignee is None


def test_manual_queues_and_unavailable_agents_get_nothing_automatically(personas, account, team):
    manual = make_queue(personas.lead, team, "Manual")
    auto = make_queue(personas.lead, team, "Auto", assignment_mode=AssignmentMode.ROUND_ROBIN)
    make_agents(personas.org, team, 2, available=False)
    waiting(personas, account, manual, 2)
    waiting(personas, account, auto, 2, start=10)
    assert services.queue_assign_waiting(queue_id=manual.id) == 0
    assert services.queue_assign_waiting(queue_id=auto.id) == 0
    assert services.queues_with_waiting() == [auto.id]


def test_an_agent_taken_meanwhile_keeps_what_they_took(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.ROUND_ROBIN)
    make_agents(personas.org, team, 1)
    [conversation] = waiting(personas, account, queue, 1)
    services.conversation_take(conversation=conversation, actor=personas.agent)
    assert services.queue_assign_waiting(queue_id=queue.id) == 0
    assert Conversation.objects.get(id=conversation.id).assignee == personas.agent


def test_becoming_available_is_the_agents_own_choice_capacity_is_the_leads(personas):
    services.agent_update(actor=personas.agent, membership=personas.agent, available=True)
    assert Agent.objects.get(membership=personas.agent).available
    with pytest.raises(Forbidden):
        services.agent_update(actor=personas.agent, membership=personas.agent, capacity=100)
    with pytest.raises(Forbidden):
        services.agent_update(actor=personas.agent, membership=personas.admin, available=True)
    services.agent_update(actor=personas.lead, membership=personas.agent, capacity=5)
    assert Agent.objects.get(membership=personas.agent).capacity == 5


# --- escalation, SLA -----------------------------------------------------------------------------------------------
def test_escalating_makes_it_urgent_moves_it_and_tells_the_leads_of_the_target_team(personas, account, team):
    experts = Team.objects.create(organization=personas.org, name="Experts")
    experts.members.add(personas.lead)
    level2 = make_queue(personas.lead, experts, "Level 2", first_response_minutes=15)
    level1 = make_queue(personas.lead, team, "Level 1", escalate_to=level2)
    conversation = make_conversation(personas.org, account, 1, queue=level1)
    services.conversation_take(conversation=conversation, actor=personas.agent)
    services.conversation_escalate(conversation=conversation, actor=personas.agent, reason="Legal threat")
    conversation.refresh_from_db()
    assert (conversation.queue, conversation.priority, conversation.assignee) == (level2, Priority.URGENT, None)
    assert conversation.escalated_at is not None
    assert conversation.response_due_at == conversation.last_inbound_at + timedelta(minutes=15)
    [told] = Notification.objects.filter(kind="conversation_escalated")
    assert told.recipient == personas.lead.user
    assert ModerationAction.objects.get(conversation=conversation, action="escalate").detail["reason"] == "Legal threat"


def test_an_overdue_answer_is_told_once_to_the_assignee_and_the_leads(personas, account, team):
    team.members.add(personas.lead)
    queue = make_queue(personas.lead, team)
    endpoint = WebhookEndpoint.objects.create(
        organization=personas.org,
        url="https://crm.example/hook",
        secret="whsec_x",
        events=["conversation.sla_breached"],
    )
    late = make_conversation(
        personas.org,
        account,
        1,
        queue=queue,
        assignee=personas.agent,
        response_due_at=timezone.now() - timedelta(minutes=1),
    )
    make_conversation(personas.org, account, 2, queue=queue, response_due_at=timezone.now() + timedelta(hours=1))
    make_conversation(
        personas.org, account, 3, status="waiting", response_due_at=timezone.now() - timedelta(hours=1)
    )  # waiting for them: not ours to answer
    assert services.sla_breaches_notify() == 1
    assert services.sla_breaches_notify() == 0  # once
    told = {n.recipient for n in Notification.objects.filter(kind="sla_breached")}
    assert told == {personas.agent.user, personas.lead.user}
    assert WebhookDelivery.objects.get(endpoint=endpoint).payload["conversation"] == late.id


def test_the_sla_filter_lists_breached_and_at_risk_conversations(personas, account):
    now = timezone.now()
    breached = make_conversation(personas.org, account, 1, response_due_at=now - timedelta(minutes=5))
    at_risk = make_conversation(personas.org, account, 2, response_due_at=now + timedelta(minutes=10))
    make_conversation(personas.org, account, 3, response_due_at=now + timedelta(hours=3))
    make_conversation(personas.org, account, 4, status="resolved", response_due_at=now - timedelta(hours=1))

    def listed(sla):
        filters = selectors.InboxFilters(sla=sla)
        return {c.id for c in selectors.conversation_filter(org=personas.org, actor=personas.lead, filters=filters)}

    assert listed("breached") == {breached.id}
    assert listed("at_risk") == {breached.id, at_risk.id}


# --- who sees what -------------------------------------------------------------------------------------------------
@pytest.fixture
def two_teams(personas, account):
    care = Team.objects.create(organization=personas.org, name="Care")
    sales = Team.objects.create(organization=personas.org, name="Sales")
    care.members.add(personas.agent)
    care_queue = make_queue(personas.lead, care, "Care queue")
    sales_queue = make_queue(personas.lead, sales, "Sales queue")
    return {
        "mine": make_conversation(personas.org, account, 1, queue=care_queue),
        "theirs": make_conversation(personas.org, account, 2, queue=sales_queue),
        "unrouted": make_conversation(personas.org, account, 3),
        "theirs_but_assigned_to_me": make_conversation(
            personas.org, account, 4, queue=sales_queue, assignee=personas.agent
        ),
    }


def test_an_agent_sees_their_teams_queues_the_unrouted_and_their_own_only(personas, two_teams):
    visible = set(selectors.conversation_queryset(org=personas.org, actor=personas.agent).values_list("id", flat=True))
    assert visible == {two_teams[k].id for k in ("mine", "unrouted", "theirs_but_assigned_to_me")}
    for role in (personas.lead, personas.admin, personas.owner, personas.analyst):
        everything = selectors.conversation_queryset(org=personas.org, actor=role).count()
        assert everything == 4


def test_another_teams_conversation_is_404_for_an_agent_in_the_ui_and_the_api(
    personas, two_teams, client_for, api_client_for
):
    theirs = two_teams["theirs"].id
    agent = client_for(personas.agent)
    assert agent.get(reverse("conversation_detail", args=[theirs])).status_code == 404
    assert agent.post(reverse("conversation_take", args=[theirs])).status_code == 404
    api = api_client_for(personas.agent)
    assert api.get(f"/api/v1/conversations/{theirs}/").status_code == 404
    assert api.post(f"/api/v1/conversations/{theirs}/take/").status_code == 404
    listed = {c["id"] for c in api.get("/api/v1/conversations/").json()["results"]}
    assert theirs not in listed
    assert Conversation.objects.get(id=theirs).assignee is None
    assert client_for(personas.lead).get(reverse("conversation_detail", args=[theirs])).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_two_assignment_runs_at_once_give_each_conversation_once_and_respect_capacity(personas, account, team):
    queue = make_queue(personas.lead, team, assignment_mode=AssignmentMode.ROUND_ROBIN)
    agents = make_agents(personas.org, team, 3, capacity=4)
    waiting(personas, account, queue, 20)
    assigned = at_once(*[lambda: services.queue_assign_waiting(queue_id=queue.id)] * 2)
    assert sum(assigned) == 12  # 3 agents with room for 4 each: one run did it all or they shared it, never more
    assert selectors.agent_loads([a.id for a in agents]) == {a.id: 4 for a in agents}
    assert ModerationAction.objects.filter(action="assign").count() == 12


@pytest.mark.django_db(transaction=True)
def test_two_queues_of_one_team_assigning_at_once_do_not_overfill_an_agent(personas, account, team):
    first = make_queue(personas.lead, team, "First", assignment_mode=AssignmentMode.ROUND_ROBIN)
    second = make_queue(personas.lead, team, "Second", assignment_mode=AssignmentMode.ROUND_ROBIN)
    [agent] = make_agents(personas.org, team, 1, capacity=1)
    waiting(personas, account, first, 3)
    waiting(personas, account, second, 3, start=100)
    results = at_once(
        lambda: services.queue_assign_waiting(queue_id=first.id),
        lambda: services.queue_assign_waiting(queue_id=second.id),
    )
    assert sum(results) == 1
    assert selectors.agent_loads([agent.id]) == {agent.id: 1}


def test_a_note_mentions_only_people_who_may_see_the_conversation(personas, account, team):
    from tests.factories import MembershipFactory

    queue = make_queue(personas.lead, team)
    outsider = MembershipFactory(organization=personas.org, user__email="sales@acme.test")  # in no team
    conversation = make_conversation(personas.org, account, 1, queue=queue)
    note = services.note_add(conversation=conversation, actor=personas.lead, text="@sales @agent have a look")
    assert list(note.mentioned.all()) == []  # agent and sales are in no team of this queue
    team.members.add(personas.agent)
    note = services.note_add(conversation=conversation, actor=personas.lead, text="@sales @agent have a look")
    assert list(note.mentioned.all()) == [personas.agent]
    assert outsider.pk


def test_releasing_through_the_api_answers_even_when_it_leaves_the_callers_view(
    personas, account, team, api_client_for, api_key_client
):
    from accounts.models import Team as TeamModel

    sales = TeamModel.objects.create(organization=personas.org, name="Sales")
    queue = make_queue(personas.lead, sales)
    conversation = make_conversation(personas.org, account, 1, queue=queue, assignee=personas.agent)
    answer = api_client_for(personas.agent).post(f"/api/v1/conversations/{conversation.id}/release/")
    assert answer.status_code == 200
    assert answer.json()["assignee"] is None
    key = api_key_client(personas.admin, ["moderation:write"])
    assert key.post(f"/api/v1/conversations/{conversation.id}/release/").status_code == 400
