"""Moderation API: the inbox's conversations (cursor-paginated, newest first) with their messages and notes;
assignment, status, escalation, replies and notes; messages (a feed a CRM syncs from) and what is done to them on
the networks; queues and their statistics, agents, canned replies, VIPs and the audit log. Every write goes
through moderation.services or moderation.outbox, which check the role and write the audit record."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors as account_selectors
from accounts.models import ApiKey, Membership, Organization
from accounts.roles import Perm
from moderation import outbox, selectors, services
from moderation.models import CannedReply, Conversation, Message, ModerationAction, NetworkAction, Queue, Vip
from moderation.selectors import InboxFilters
from moderation.services import QueueSpec
from smms.api.base import OrgScopedViewSet
from smms.api.pagination import IdCursorPagination
from smms.errors import NotFound

from .serializers import (
    AgentInputSerializer,
    AgentOutputSerializer,
    AssignInputSerializer,
    AuditOutputSerializer,
    CannedReplySerializer,
    ConversationDetailOutputSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    EscalateInputSerializer,
    MessageActInputSerializer,
    MessageFilterSerializer,
    MessageOutputSerializer,
    MoveInputSerializer,
    NetworkActionOutputSerializer,
    NoteInputSerializer,
    NoteOutputSerializer,
    PriorityInputSerializer,
    QueueSerializer,
    QueueStatsSerializer,
    ReplyInputSerializer,
    StatusInputSerializer,
    VipSerializer,
)


class InboxCursorPagination(CursorPagination):
    """Newest first on the inbox's index (last_message_at DESC, id DESC); the cursor stays stable as
    conversations are added ahead of it."""

    ordering = ("-last_message_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class _ModerationViewSet(OrgScopedViewSet):
    scope_area = "moderation"
    write_perm = Perm.REPLY_CONVERSATIONS

    @property
    def viewer(self) -> Membership | None:
        """Whose visibility applies: the signed-in member, or None (everything) for an API key."""
        return None if isinstance(self.request.auth, ApiKey) else self.actor


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ModerationViewSet):
    """Conversations of the inbox: comments, mentions and direct messages from every account. A community manager
    sees those of their teams' queues, those in no queue and their own; another team's is a 404."""

    queryset = Conversation.objects.none()
    serializer_class = ConversationOutputSerializer
    pagination_class = InboxCursorPagination

    def scoped_queryset(self, org: Organization) -> QuerySet[Conversation]:  # type: ignore[override]
        return selectors.conversation_queryset(org=org, actor=self.viewer)

    @extend_schema(parameters=[ConversationFilterSerializer], responses=ConversationOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        params = ConversationFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = params.validated_data
        filters = InboxFilters(
            status=data.get("status", ""), network=data.get("network", ""), account_id=data.get("account"),
            assignee=data.get("assignee", ""), queue=data.get("queue", ""), lang=data.get("lang", ""),
            sentiment=data.get("sentiment", ""), priority=data.get("priority"), sla=data.get("sla", ""),
        )  # fmt: skip
        conversations = selectors.conversation_filter(org=self.org, actor=self.viewer, filters=filters)
        page = self.paginate_queryset(conversations)
        return self.get_paginated_response(ConversationOutputSerializer(page, many=True).data)

    def _detail(self, conversation: Conversation, code: int = status.HTTP_200_OK) -> Response:
        context = {
            "messages": selectors.message_list(org=self.org, conversation=conversation),
            "notes": selectors.note_list(org=self.org, conversation=conversation).prefetch_related("mentioned__user"),
        }
        return Response(ConversationDetailOutputSerializer(conversation, context=context).data, status=code)

    @extend_schema(responses=ConversationDetailOutputSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(self.get_object())

    def _fresh(self, conversation: Conversation) -> Response:
        """The conversation as the change left it (read without the caller's visibility: releasing one held
        outside one's teams' queues takes it out of what one sees)."""
        fresh = Conversation.objects.select_related("account", "assignee__user", "queue").get(id=conversation.id)
        return Response(ConversationOutputSerializer(fresh).data)

    @extend_schema(request=StatusInputSerializer, responses={200: ConversationOutputSerializer, 400: None})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        """Open, set waiting, resolve, mark as spam or reopen; an action the current status does not allow is a
        400."""
        conversation = self.get_object()
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_status_change(
            conversation=conversation, action=data.validated_data["action"], actor=self.actor
        )
        return self._fresh(conversation)

    @extend_schema(request=AssignInputSerializer, responses={200: ConversationOutputSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        """Assign to a member who may reply, or unassign (team leads and above). With ``expected_assignee``, a
        change someone made meanwhile is a 409 that says who holds it now."""
        conversation = self.get_object()
        data = AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        to = self._member(values["assignee"])
        expected: Any = services.ANYONE
        if "expected_assignee" in values:
            expected = self._member(values["expected_assignee"])
        services.conversation_assign(conversation=conversation, to=to, actor=self.actor, expected_assignee=expected)
        return self._fresh(conversation)

    def _member(self, member_id: int | None) -> Membership | None:
        return account_selectors.member_get(org=self.org, membership_id=member_id) if member_id else None

    @extend_schema(request=None, responses={200: ConversationOutputSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def take(self, request: Request, pk: str | None = None) -> Response:
        """Take an unassigned conversation; if someone took it first, a 409 says who."""
        conversation = self.get_object()
        services.conversation_take(conversation=conversation, actor=self.actor)
        return self._fresh(conversation)

    @extend_schema(request=None, responses={200: ConversationOutputSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        services.conversation_release(conversation=conversation, actor=self.actor)
        return self._fresh(conversation)

    @extend_schema(request=MoveInputSerializer, responses=ConversationOutputSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        data = MoveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue_id = data.validated_data["queue"]
        queue = selectors.queue_get(org=self.org, queue_id=queue_id) if queue_id else None
        services.conversation_move(conversation=conversation, queue=queue, actor=self.actor)
        return self._fresh(conversation)

    @extend_schema(request=EscalateInputSerializer, responses=ConversationOutputSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        data = EscalateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_escalate(
            conversation=conversation, actor=self.actor, reason=data.validated_data["reason"]
        )
        return Response(ConversationOutputSerializer(conversation).data)

    @extend_schema(request=PriorityInputSerializer, responses=ConversationOutputSerializer)
    @action(detail=True, methods=["post"])
    def priority(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        data = PriorityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.conversation_priority_set(
            conversation=conversation, priority=data.validated_data["priority"], actor=self.actor
        )
        return self._fresh(conversation)

    @extend_schema(request=ReplyInputSerializer, responses={202: NetworkActionOutputSerializer, 409: None})
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str | None = None) -> Response:
        """Queue a reply, checked with the network's rules; a worker sends it once (202 with its sending, to
        follow at /api/v1/network-actions/{id}/). The same ``client_token`` again returns the same action."""
        conversation = self.get_object()
        data = ReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        target = None
        if values.get("in_reply_to"):
            target = selectors.message_get(org=self.org, message_id=values["in_reply_to"], actor=self.viewer)
        sent = outbox.reply_request(
            conversation=conversation, actor=self.actor, text=values["text"], client_token=values["client_token"],
            resolve=values["resolve"], target=target, seen_message_id=values.get("seen_message"),
        )  # fmt: skip
        return Response(NetworkActionOutputSerializer(sent).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=NoteInputSerializer, responses={201: NoteOutputSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        """Add an internal note; members it @mentions (by e-mail or the part before the @) are notified."""
        conversation = self.get_object()
        data = NoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.note_add(conversation=conversation, actor=self.actor, text=data.validated_data["text"])
        return Response(NoteOutputSerializer(note).data, status=status.HTTP_201_CREATED)


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ModerationViewSet):
    """Messages of the conversations the caller may see, in the order SMMS stored them (a stable feed to sync
    from: ``?cursor=``), and actions on one of them on its network."""

    queryset = Message.objects.none()
    serializer_class = MessageOutputSerializer
    pagination_class = IdCursorPagination

    def scoped_queryset(self, org: Organization) -> QuerySet[Message]:  # type: ignore[override]
        messages = Message.objects.filter(organization=org).select_related("sent_by__user", "sending")
        if self.viewer is not None and not selectors.sees_all(self.viewer):
            messages = messages.filter(conversation__in=selectors.conversation_queryset(org=org, actor=self.viewer))
        return messages

    @extend_schema(parameters=[MessageFilterSerializer], responses=MessageOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        params = MessageFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        messages = self.get_queryset()
        if "conversation" in params.validated_data:
            messages = messages.filter(conversation_id=params.validated_data["conversation"])
        if "direction" in params.validated_data:
            messages = messages.filter(direction=params.validated_data["direction"])
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(MessageOutputSerializer(page, many=True).data)

    @extend_schema(request=MessageActInputSerializer, responses={202: NetworkActionOutputSerializer})
    @action(detail=True, methods=["post"])
    def act(self, request: Request, pk: str | None = None) -> Response:
        """Like, hide, unhide or delete the message on its network, where the network allows it (400 otherwise)."""
        message = self.get_object()
        data = MessageActInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = outbox.message_action_request(
            message=message, actor=self.actor, kind=data.validated_data["kind"],
            client_token=data.validated_data["client_token"],
        )  # fmt: skip
        return Response(NetworkActionOutputSerializer(sent).data, status=status.HTTP_202_ACCEPTED)


class NetworkActionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ModerationViewSet):
    """Replies, likes, hides and deletes as they are sent: pending, sending, done (with the network's id) or
    failed (with the reason)."""

    queryset = NetworkAction.objects.none()
    serializer_class = NetworkActionOutputSerializer
    pagination_class = IdCursorPagination

    def scoped_queryset(self, org: Organization) -> QuerySet[NetworkAction]:  # type: ignore[override]
        actions = NetworkAction.objects.filter(organization_id=org.id).select_related("requested_by__user")
        if self.viewer is not None and not selectors.sees_all(self.viewer):
            actions = actions.filter(conversation__in=selectors.conversation_queryset(org=org, actor=self.viewer))
        return actions

    @extend_schema(request=None, responses=NetworkActionOutputSerializer)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Send a failed action again (409 unless it failed)."""
        sent = outbox.network_action_retry(action=self.get_object(), actor=self.actor)
        return Response(NetworkActionOutputSerializer(sent).data)


def _queue_spec(org: Organization, data: dict[str, Any], current: Queue | None = None) -> QueueSpec:
    team = account_selectors.team_get(org=org, team_id=data["team_id"])
    accounts = [account_selectors.social_account_get(org=org, account_id=i) for i in data.get("account_ids", [])]
    groups = [account_selectors.account_group_get(org=org, group_id=i) for i in data.get("account_group_ids", [])]
    if current is not None:
        accounts = accounts if "account_ids" in data else list(current.accounts.all())
        groups = groups if "account_group_ids" in data else list(current.account_groups.all())
    escalate_id = data.get("escalate_to_id", current.escalate_to_id if current is not None else None)
    base = QueueSerializer(current).data if current is not None else {}

    def value(name: str, default: Any) -> Any:
        return data.get(name, base.get(name, default))

    return QueueSpec(
        name=value("name", ""), team=team, position=value("position", 0), is_active=value("is_active", True),
        networks=value("networks", []), accounts=accounts, account_groups=groups,
        languages=value("languages", []), kinds=value("kinds", []), sentiment_below=value("sentiment_below", None),
        keywords=value("keywords", ""), min_followers=value("min_followers", None), vip_only=value("vip_only", False),
        priority=value("priority", 0), assignment_mode=value("assignment_mode", "manual"),
        first_response_minutes=value("first_response_minutes", None),
        resolution_minutes=value("resolution_minutes", None),
        escalate_to=selectors.queue_get(org=org, queue_id=escalate_id) if escalate_id else None,
    )  # fmt: skip


class QueueViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, _ModerationViewSet):
    """Queues: routing rules evaluated as conversations arrive, an assignment mode, response times."""

    write_perm = Perm.ASSIGN_CONVERSATIONS
    queryset = Queue.objects.none()
    serializer_class = QueueSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Queue]:  # type: ignore[override]
        return selectors.queue_list(org=org)

    @extend_schema(request=QueueSerializer, responses={201: QueueSerializer})
    def create(self, request: Request) -> Response:
        data = QueueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue = services.queue_save(actor=self.actor, spec=_queue_spec(self.org, data.validated_data))
        return Response(QueueSerializer(selectors.queue_get(org=self.org, queue_id=queue.id)).data, status=201)

    @extend_schema(request=QueueSerializer, responses=QueueSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        queue = self.get_object()
        data = QueueSerializer(queue, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        values = {"team_id": queue.team_id, **data.validated_data}
        services.queue_save(actor=self.actor, spec=_queue_spec(self.org, values, queue), queue=queue)
        return Response(QueueSerializer(selectors.queue_get(org=self.org, queue_id=queue.id)).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.queue_delete(actor=self.actor, queue=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=QueueStatsSerializer(many=True))
    @action(detail=False, methods=["get"])
    def stats(self, request: Request) -> Response:
        """Per queue: backlog by status, unassigned, overdue answers, oldest waiting (now); median first-response
        and resolution minutes over the last ``days`` days (default 30)."""
        raw = request.query_params.get("days", "30")
        days = min(365, max(1, int(raw))) if raw.isdigit() else 30
        view = selectors.team_view(org=self.org, days=days, breaches=0)
        rows = [
            {
                "queue": s.queue.id if s.queue else None, "name": s.queue.name if s.queue else None, "new": s.new,
                "open": s.open, "waiting": s.waiting, "unassigned": s.unassigned, "breached": s.breached,
                "oldest_waiting": s.oldest_waiting, "first_response_minutes": s.first_response_minutes,
                "resolution_minutes": s.resolution_minutes, "responded": s.responded, "resolved": s.resolved,
            }
            for s in view.queues
        ]  # fmt: skip
        return Response(QueueStatsSerializer(rows, many=True).data)


class AgentViewSet(mixins.ListModelMixin, _ModerationViewSet):
    """Members who may reply: availability (automatic queues assign only to available agents), capacity, load.
    An agent sets their own availability; team leads and above set anyone's, and capacities."""

    queryset = Membership.objects.none()
    serializer_class = AgentOutputSerializer
    pagination_class = None

    def scoped_queryset(self, org: Organization) -> QuerySet[Membership]:  # type: ignore[override]
        return account_selectors.member_list(org=org)

    def list(self, request: Request) -> Response:
        return Response(AgentOutputSerializer(selectors.agent_list(org=self.org), many=True).data)

    @extend_schema(request=AgentInputSerializer, responses=AgentOutputSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        member = self.get_object()
        data = AgentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.agent_update(actor=self.actor, membership=member, **data.validated_data)
        row = next((r for r in selectors.agent_list(org=self.org) if r.membership.id == member.id), None)
        if row is None:
            raise NotFound("agent")
        return Response(AgentOutputSerializer(row).data)


class CannedReplyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, _ModerationViewSet
):
    """Canned replies in English and French, with variables ({author_name}, {agent_name}…)."""

    write_perm = Perm.ASSIGN_CONVERSATIONS
    queryset = CannedReply.objects.none()
    serializer_class = CannedReplySerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[CannedReply]:  # type: ignore[override]
        return CannedReply.objects.filter(organization=org).order_by("name", "language")

    @extend_schema(request=CannedReplySerializer, responses={201: CannedReplySerializer})
    def create(self, request: Request) -> Response:
        data = CannedReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        canned = services.canned_reply_save(actor=self.actor, **data.validated_data)
        return Response(CannedReplySerializer(canned).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CannedReplySerializer, responses=CannedReplySerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        canned = self.get_object()
        data = CannedReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        canned = services.canned_reply_save(actor=self.actor, canned=canned, **data.validated_data)
        return Response(CannedReplySerializer(canned).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.canned_reply_delete(actor=self.actor, canned=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class VipViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, _ModerationViewSet):
    """The VIP list: their conversations arrive at high priority, and queues may route on it."""

    write_perm = Perm.ASSIGN_CONVERSATIONS
    queryset = Vip.objects.none()
    serializer_class = VipSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Vip]:  # type: ignore[override]
        return selectors.vip_list(org=org)

    @extend_schema(request=VipSerializer, responses={201: VipSerializer})
    def create(self, request: Request) -> Response:
        data = VipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vip = services.vip_add(actor=self.actor, **data.validated_data)
        return Response(VipSerializer(vip).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.vip_remove(actor=self.actor, vip=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditViewSet(mixins.ListModelMixin, _ModerationViewSet):
    """The moderation audit log, newest first: who did what to which conversation, and when (admins)."""

    read_perm = Perm.VIEW_AUDIT_LOG
    queryset = ModerationAction.objects.none()
    serializer_class = AuditOutputSerializer

    class Pagination(CursorPagination):
        ordering = "-id"
        page_size = 100
        page_size_query_param = "page_size"
        max_page_size = 500

    pagination_class = Pagination

    def scoped_queryset(self, org: Organization) -> QuerySet[ModerationAction]:  # type: ignore[override]
        return ModerationAction.objects.filter(organization=org).select_related("actor__user")
