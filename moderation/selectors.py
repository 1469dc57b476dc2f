"""Reads of moderation, scoped to the acting organization.

The inbox is read newest first by keyset (last_message_at, id), each filter combination served by one of
Conversation's composite indexes, so a page costs the same at the millionth conversation as at the first.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Min, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import Membership, Organization, Platform, SocialAccount, SocialAccountStatus
from accounts.platforms import capabilities
from accounts.roles import Perm, role_allows, roles_with
from smms.errors import NotFound, ValidationFailed

from .models import (
    AWAITING_US,
    OPEN_STATUSES,
    Agent,
    CannedReply,
    Conversation,
    ConversationStatus,
    Message,
    ModerationAction,
    NetworkAction,
    Note,
    Presence,
    PresenceState,
    Queue,
    SavedView,
    Vip,
)

PAGE_SIZE = 50
# A response due within this long is "at risk" in the inbox's SLA filter and badges.
AT_RISK = timedelta(minutes=30)


def filter_choices(*, org: Organization, actor: Membership | None = None) -> dict[str, Any]:
    """What the inbox's filters and bulk actions offer, read once per request: the accounts (id and label
    only: the page needs no tokens), the queues the actor may use and the members who may be assigned."""
    accounts = [
        (account_id, f"{dict(Platform.choices).get(platform, platform)} · @{handle}")
        for account_id, platform, handle in SocialAccount.objects.filter(organization=org)
        .order_by("platform", "handle")
        .values_list("id", "platform", "handle")
    ]
    return {
        "accounts": accounts,
        "queues": visible_queues(org=org, actor=actor),
        "members": assignable_members(org=org),
    }


def index_context(*, org: Organization, actor: Membership | None = None) -> dict[str, Any]:
    """The filters' choices and the actor's saved views."""
    return {**filter_choices(org=org, actor=actor), "saved_views": saved_view_list(org=org, actor=actor)}


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""  # a status, "active" (new, open or waiting) or "" (any)
    network: str = ""
    account_id: int | None = None
    assignee: str = ""  # "mine", "unassigned", a member id, or "" (anyone)
    queue: str = ""  # a queue id, "none" (unrouted), "mine" (my teams' queues) or "" (any)
    lang: str = ""
    sentiment: str = ""
    priority: int | None = None
    sla: str = ""  # "breached" (our response is overdue), "at_risk" (due within 30 minutes) or ""
    author_id: str = ""  # with network: one person's conversations


@dataclass
class InboxPage:
    conversations: list[Conversation]
    next_cursor: str = ""
    filters: InboxFilters = field(default_factory=InboxFilters)


def sees_all(actor: Membership | None) -> bool:
    """Whether the actor sees every queue (team leads and above, analysts, API keys) or only their teams'."""
    return actor is None or not actor.pk or role_allows(actor.role, Perm.SEE_ALL_CONVERSATIONS)


def team_queue_ids(*, actor: Membership) -> list[int]:
    """The queues of the teams the member belongs to."""
    return list(Queue.objects.filter(team__members=actor).values_list("id", flat=True))


def conversation_queryset(*, org: Organization, actor: Membership | None = None) -> QuerySet[Conversation]:
    """The organization's conversations the actor may see: every one for team leads and above, analysts and API
    keys; for a community manager, those of their teams' queues, those not routed to any queue, and those
    assigned to them."""
    conversations = Conversation.objects.filter(organization=org).select_related("account", "assignee__user", "queue")
    if sees_all(actor):
        return conversations
    assert actor is not None
    return conversations.filter(
        Q(queue_id__in=team_queue_ids(actor=actor)) | Q(queue__isnull=True) | Q(assignee_id=actor.pk)
    )


def conversation_filter(
    *, org: Organization, actor: Membership | None, filters: InboxFilters
) -> QuerySet[Conversation]:
    """The conversations the actor may see, narrowed by the inbox filters, newest first."""
    conversations = conversation_queryset(org=org, actor=actor)
    if filters.status == "active":
        conversations = conversations.filter(status__in=OPEN_STATUSES)
    elif filters.status:
        conversations = conversations.filter(status=filters.status)
    if filters.network:
        conversations = conversations.filter(platform=filters.network)
    if filters.account_id is not None:
        conversations = conversations.filter(account_id=filters.account_id)
    if filters.assignee == "mine":  # an API key is nobody: nothing is its own (not the unassigned ones)
        mine = actor is not None and actor.pk is not None
        conversations = conversations.filter(assignee_id=actor.pk) if mine else conversations.none()  # type: ignore[union-attr]
    elif filters.assignee == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        conversations = conversations.filter(assignee_id=int(filters.assignee))
    if filters.queue == "none":
        conversations = conversations.filter(queue__isnull=True)
    elif filters.queue == "mine":
        mine = actor is not None and actor.pk is not None
        conversations = conversations.filter(queue_id__in=team_queue_ids(actor=actor)) if mine else conversations.none()  # type: ignore[arg-type]
    elif filters.queue.isdigit():
        conversations = conversations.filter(queue_id=int(filters.queue))
    if filters.priority is not None:
        conversations = conversations.filter(priority=filters.priority)
    if filters.sla:
        now = timezone.now()
        due = now if filters.sla == "breached" else now + AT_RISK
        conversations = conversations.filter(response_due_at__lte=due, status__in=AWAITING_US)
    if filters.lang:
        conversations = conversations.filter(lang=filters.lang)
    if filters.sentiment:
        conversations = conversations.filter(sentiment=filters.sentiment)
    if filters.author_id:
        conversations = conversations.filter(author_id=filters.author_id)
    return conversations.order_by("-last_message_at", "-id")


def _encode(conversation: Conversation) -> str:
    raw = f"{conversation.last_message_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, conversation_id = raw.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment, int(conversation_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            _("This page link is not valid: start again from the first page."), field="after"
        ) from None


def conversation_page(
    *,
    org: Organization,
    actor: Membership | None,
    filters: InboxFilters,
    after: str = "",
    size: int | None = None,
) -> InboxPage:
    """One page of the inbox after the keyset ``after`` (opaque, from the previous page's ``next_cursor``)."""
    conversations = conversation_filter(org=org, actor=actor, filters=filters)
    if after:
        at, last_id = _decode(after)
        conversations = conversations.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=last_id))
    size = size or PAGE_SIZE
    rows = list(conversations[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return InboxPage(rows, _encode(rows[-1]) if more else "", filters)


def conversation_get(*, org: Organization, conversation_id: int, actor: Membership | None = None) -> Conversation:
    """A conversation the actor may see; any other id (another organization's, another team's queue) is
    NotFound, so its existence is not revealed."""
    conversation = conversation_queryset(org=org, actor=actor).filter(id=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    return conversation


def message_list(*, org: Organization, conversation: Conversation) -> QuerySet[Message]:
    """A conversation's messages in the order they were written, ours included, each reply with its sending."""
    return (
        Message.objects.filter(organization=org, conversation=conversation)
        .select_related("sent_by__user", "sending")
        .order_by("created_at", "id")
    )


def message_get(*, org: Organization, message_id: int, actor: Membership | None = None) -> Message:
    """A message of a conversation the actor may see."""
    message = Message.objects.filter(organization=org, id=message_id).select_related("conversation__account").first()
    if message is None:
        raise NotFound(_("No such message."))
    conversation_get(org=org, conversation_id=message.conversation_id, actor=actor)
    return message


def author_conversations(
    *, org: Organization, conversation: Conversation, actor: Membership | None = None, limit: int = 20
) -> list[Conversation]:
    """The same person's other conversations the actor may see, on any of the organization's accounts of that
    network."""
    return list(
        conversation_queryset(org=org, actor=actor)
        .filter(platform=conversation.platform, author_id=conversation.author_id)
        .exclude(id=conversation.id)
        .order_by("-last_message_at", "-id")[:limit]
    )


def note_list(*, org: Organization, conversation: Conversation) -> QuerySet[Note]:
    return (
        Note.objects.filter(organization=org, conversation=conversation)
        .select_related("author__user")
        .order_by("created_at", "id")
    )


def network_action_list(*, org: Organization, conversation: Conversation) -> QuerySet[NetworkAction]:
    """A conversation's likes, hides and deletes (replies show on their message), newest first."""
    return (
        NetworkAction.objects.filter(organization_id=org.id, conversation=conversation)
        .exclude(kind="reply")
        .select_related("requested_by__user", "target")
        .order_by("-created_at", "-id")
    )


def network_action_get(*, org: Organization, action_id: int, actor: Membership | None = None) -> NetworkAction:
    action = NetworkAction.objects.filter(organization_id=org.id, id=action_id).select_related("conversation").first()
    if action is None:
        raise NotFound(_("No such action."))
    conversation_get(org=org, conversation_id=action.conversation_id, actor=actor)
    return action


@dataclass(frozen=True)
class MessageAbilities:
    """What the conversation page offers on each message, from its network's capabilities."""

    like: bool
    hide: bool
    delete_theirs: bool
    delete_ours: bool
    reply: bool


def message_abilities(*, conversation: Conversation) -> MessageAbilities:
    caps = capabilities(conversation.platform)
    connected = conversation.account.status == SocialAccountStatus.CONNECTED
    return MessageAbilities(
        like=connected and caps.like,
        hide=connected and caps.hide,
        delete_theirs=connected and caps.delete_comment,
        delete_ours=connected and caps.delete,
        reply=connected and caps.reply,
    )


# --- queues, agents, VIPs, canned replies, saved views ---------------------------------------------------------
def queue_list(*, org: Organization) -> QuerySet[Queue]:
    return (
        Queue.objects.filter(organization=org)
        .select_related("team", "escalate_to")
        .prefetch_related("accounts", "account_groups")
        .order_by("position", "id")
    )


def queue_get(*, org: Organization, queue_id: int) -> Queue:
    queue = queue_list(org=org).filter(id=queue_id).first()
    if queue is None:
        raise NotFound(_("No such queue."))
    return queue


def visible_queues(*, org: Organization, actor: Membership | None) -> list[Queue]:
    """The queues the actor may filter the inbox on: all of them, or their teams'."""
    queues = Queue.objects.filter(organization=org).order_by("position", "id")
    if not sees_all(actor):
        queues = queues.filter(team__members=actor)
    return list(queues)


def vip_list(*, org: Organization) -> QuerySet[Vip]:
    return Vip.objects.filter(organization=org).select_related("added_by__user")


def vip_get(*, org: Organization, vip_id: int) -> Vip:
    vip = vip_list(org=org).filter(id=vip_id).first()
    if vip is None:
        raise NotFound(_("No such VIP."))
    return vip


def canned_reply_list(*, org: Organization, language: str = "") -> list[CannedReply]:
    """The organization's canned replies, those in ``language`` (the conversation's) first."""
    replies = list(CannedReply.objects.filter(organization=org).order_by("name", "language"))
    if language:
        replies.sort(key=lambda c: c.language != language)
    return replies


def canned_reply_get(*, org: Organization, canned_id: int) -> CannedReply:
    canned = CannedReply.objects.filter(organization=org, id=canned_id).first()
    if canned is None:
        raise NotFound(_("No such canned reply."))
    return canned


def saved_view_list(*, org: Organization, actor: Membership | None) -> list[SavedView]:
    """The actor's own saved views and those shared with the organization."""
    views = SavedView.objects.filter(organization=org)
    mine = actor is not None and actor.pk is not None
    return list(views.filter(Q(owner_id=actor.pk) | Q(shared=True)) if mine else views.filter(shared=True))  # type: ignore[union-attr]


def saved_view_get(*, org: Organization, actor: Membership | None, view_id: int) -> SavedView:
    view = next((v for v in saved_view_list(org=org, actor=actor) if v.id == view_id), None)
    if view is None:
        raise NotFound(_("No such view."))
    return view


def agent_state(*, membership: Membership) -> Agent | None:
    return Agent.objects.filter(membership=membership).first()


@dataclass
class AgentRow:
    membership: Membership
    available: bool
    capacity: int
    load: int
    teams: list[str]


def agent_list(*, org: Organization, team_id: int | None = None) -> list[AgentRow]:
    """Members who may reply, with availability, capacity and open conversations (the lead's view): 3 queries."""
    members = Membership.objects.filter(organization=org, role__in=roles_with(Perm.REPLY_CONVERSATIONS)).select_related(
        "user", "agent"
    )
    if team_id is not None:
        members = members.filter(teams=team_id)
    members = members.prefetch_related("teams").order_by("user__first_name", "user__email")
    people = list(members)
    loads = agent_loads(m.id for m in people)
    rows = []
    for m in people:
        agent = getattr(m, "agent", None)
        rows.append(
            AgentRow(
                membership=m,
                available=agent.available if agent is not None else False,
                capacity=agent.capacity if agent is not None else Agent._meta.get_field("capacity").default,
                load=loads[m.id],
                teams=[t.name for t in m.teams.all()],
            )
        )
    return rows


def agent_loads(member_ids: Iterable[int]) -> dict[int, int]:
    """Open conversations (new, open, waiting) assigned to each member (0 for none): an index-only count."""
    ids = list(member_ids)
    if not ids:
        return {}
    rows = (
        Conversation.objects.filter(assignee_id__in=ids, status__in=OPEN_STATUSES)
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("id"))
    )
    loads = dict.fromkeys(ids, 0)
    loads.update({row["assignee_id"]: row["n"] for row in rows})
    return loads


def assignable_members(*, org: Organization) -> list[Membership]:
    return list(
        Membership.objects.filter(organization=org, role__in=roles_with(Perm.REPLY_CONVERSATIONS))
        .select_related("user")
        .order_by("user__first_name", "user__email")
    )


def member_get(*, org: Organization, membership_id: int) -> Membership:
    return account_selectors.member_get(org=org, membership_id=membership_id)


def presence_others(*, conversation: Conversation, actor: Membership | None) -> list[Presence]:
    """Who else has the conversation open right now (replying first)."""
    since = timezone.now() - timedelta(seconds=settings.SMMS_PRESENCE_SECONDS)
    others = Presence.objects.filter(conversation=conversation, seen_at__gte=since).select_related("membership__user")
    if actor is not None and actor.pk:
        others = others.exclude(membership=actor)
    return sorted(others, key=lambda p: (p.state != PresenceState.REPLYING, str(p.membership.user)))


def action_list(*, org: Organization, conversation: Conversation) -> QuerySet[ModerationAction]:
    return (
        ModerationAction.objects.filter(organization=org, conversation=conversation)
        .select_related("actor__user")
        .order_by("at", "id")
    )


def audit_names(*, org: Organization) -> dict[str, dict[int, str]]:
    """Members' and queues' names, so audit records read "Léa → Sam" rather than ids (2 queries)."""
    members = Membership.objects.filter(organization=org).select_related("user")
    return {
        "members": {m.id: str(m.user) for m in members},
        "queues": dict(Queue.objects.filter(organization=org).values_list("id", "name")),
    }


@dataclass
class AuditPage:
    rows: list[ModerationAction]
    next_before: int | None


def audit_page(
    *, org: Organization, before: int | None = None, actor_id: int | None = None, action: str = "", size: int = 100
) -> AuditPage:
    """The organization's moderation audit log, newest first, by keyset on the id."""
    rows = ModerationAction.objects.filter(organization=org).select_related("actor__user", "conversation")
    if before is not None:
        rows = rows.filter(id__lt=before)
    if actor_id is not None:
        rows = rows.filter(actor_id=actor_id)
    if action:
        rows = rows.filter(action=action)
    got = list(rows.order_by("-id")[: size + 1])
    return AuditPage(got[:size], got[size - 1].id if len(got) > size else None)


# --- the team lead's view ---------------------------------------------------------------------------------------
@dataclass
class QueueStats:
    queue: Queue | None  # None: conversations routed to no queue
    new: int = 0
    open: int = 0
    waiting: int = 0
    unassigned: int = 0
    breached: int = 0
    oldest_waiting: datetime | None = None
    first_response_minutes: float | None = None  # median, over the period
    resolution_minutes: float | None = None
    responded: int = 0
    resolved: int = 0

    @property
    def backlog(self) -> int:
        return self.new + self.open + self.waiting


@dataclass
class AgentStats:
    membership_id: int
    first_response_minutes: float | None = None
    resolution_minutes: float | None = None
    responded: int = 0
    resolved: int = 0


@dataclass
class TeamView:
    queues: list[QueueStats]
    agents: list[AgentRow]
    agent_stats: dict[int, AgentStats]
    breaches: list[Conversation]
    days: int


def _minutes(values: list[float]) -> float | None:
    return round(median(values) / 60, 1) if values else None


def team_view(*, org: Organization, days: int = 30, breaches: int = 20) -> TeamView:
    """Backlog, oldest waiting and SLA breaches per queue (now); median first-response and resolution times per
    queue and agent over the last ``days`` days; the agents' load; the most overdue conversations."""
    now = timezone.now()
    queues = {q.id: QueueStats(q) for q in Queue.objects.filter(organization=org).select_related("team")}
    unrouted = QueueStats(None)

    def row(queue_id: int | None) -> QueueStats:
        return queues.get(queue_id, unrouted) if queue_id is not None else unrouted

    active = Conversation.objects.filter(organization=org, status__in=OPEN_STATUSES).order_by()
    for queue_id, status, n in active.values_list("queue_id", "status").annotate(n=Count("id")):
        stats = row(queue_id)
        setattr(stats, status, getattr(stats, status) + n)
    awaiting = Conversation.objects.filter(organization=org, status__in=AWAITING_US).order_by()
    for queue_id, n in awaiting.filter(assignee__isnull=True).values_list("queue_id").annotate(n=Count("id")):
        stats = row(queue_id)
        stats.unassigned += n
    for queue_id, oldest in awaiting.values_list("queue_id").annotate(oldest=Min("last_inbound_at")):
        row(queue_id).oldest_waiting = oldest
    for queue_id, n in awaiting.filter(response_due_at__lte=now).values_list("queue_id").annotate(n=Count("id")):
        row(queue_id).breached += n
    since = now - timedelta(days=days)
    per_queue_first: dict[int | None, list[float]] = {}
    per_agent_first: dict[int, list[float]] = {}
    for queue_id, assignee_id, first, responded in Conversation.objects.filter(
        organization=org, first_response_at__gte=since
    ).values_list("queue_id", "assignee_id", "first_message_at", "first_response_at"):
        seconds = max(0.0, (responded - first).total_seconds()) if responded is not None else 0.0
        per_queue_first.setdefault(queue_id, []).append(seconds)
        if assignee_id is not None:
            per_agent_first.setdefault(assignee_id, []).append(seconds)
    per_queue_resolution: dict[int | None, list[float]] = {}
    per_agent_resolution: dict[int, list[float]] = {}
    for queue_id, assignee_id, first, resolved in Conversation.objects.filter(
        organization=org, resolved_at__gte=since, status=ConversationStatus.RESOLVED
    ).values_list("queue_id", "assignee_id", "first_message_at", "resolved_at"):
        seconds = max(0.0, (resolved - first).total_seconds()) if resolved is not None else 0.0
        per_queue_resolution.setdefault(queue_id, []).append(seconds)
        if assignee_id is not None:
            per_agent_resolution.setdefault(assignee_id, []).append(seconds)
    for queue_id, values in per_queue_first.items():
        stats = row(queue_id)
        stats.first_response_minutes, stats.responded = _minutes(values), len(values)
    for queue_id, values in per_queue_resolution.items():
        stats = row(queue_id)
        stats.resolution_minutes, stats.resolved = _minutes(values), len(values)
    agent_stats: dict[int, AgentStats] = {}
    for member_id in set(per_agent_first) | set(per_agent_resolution):
        first_values = per_agent_first.get(member_id, [])
        resolution_values = per_agent_resolution.get(member_id, [])
        agent_stats[member_id] = AgentStats(
            member_id, _minutes(first_values), _minutes(resolution_values), len(first_values), len(resolution_values)
        )
    overdue = list(
        Conversation.objects.filter(organization=org, status__in=AWAITING_US, response_due_at__lte=now)
        .select_related("account", "assignee__user", "queue")
        .order_by("response_due_at")[:breaches]
    )
    listed = list(queues.values())
    if unrouted.backlog or unrouted.responded or unrouted.resolved:
        listed.append(unrouted)
    return TeamView(listed, agent_list(org=org), agent_stats, overdue, days)


def agent_board(
    *, org: Organization, agents: list[AgentRow], per_agent: int = 25
) -> dict[int | None, list[Conversation]]:
    """The open conversations of each agent (most urgent, then oldest, first) and the unassigned ones awaiting
    us, for drag-to-reassign: two queries whatever the number of agents."""
    board: dict[int | None, list[Conversation]] = {row.membership.id: [] for row in agents}
    base = Conversation.objects.filter(organization=org, status__in=OPEN_STATUSES).select_related("account", "queue")
    ranked = base.filter(assignee__in=list(board)).annotate(
        rank=Window(
            RowNumber(), partition_by=[F("assignee_id")], order_by=[F("priority").desc(), F("first_message_at").asc()]
        )
    )
    for conversation in ranked.filter(rank__lte=per_agent).order_by("assignee_id", "rank"):
        board[conversation.assignee_id].append(conversation)
    board[None] = list(
        base.filter(assignee__isnull=True, status__in=AWAITING_US).order_by("-priority", "first_message_at")[:per_agent]
    )
    return board
