"""Moderation API: the inbox's conversations (cursor-paginated, newest first), one conversation with its
messages, and status changes (through moderation.services, which check the role and write the audit record)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ApiKey, Organization
from accounts.roles import Perm
from moderation import selectors, services
from moderation.models import Conversation
from moderation.selectors import InboxFilters
from smms.api.base import OrgScopedViewSet

from .serializers import (
    ConversationDetailOutputSerializer,
    ConversationFilterSerializer,
    ConversationOutputSerializer,
    StatusInputSerializer,
)


class InboxCursorPagination(CursorPagination):
    """Newest first on the inbox's index (last_message_at DESC, id DESC); the cursor stays stable as
    conversations are added ahead of it."""

    ordering = ("-last_message_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Conversations of the inbox: comments, mentions and direct messages from every account."""

    scope_area = "moderation"
    write_perm = Perm.REPLY_CONVERSATIONS
    queryset = Conversation.objects.none()
    serializer_class = ConversationOutputSerializer
    pagination_class = InboxCursorPagination

    def scoped_queryset(self, org: Organization) -> QuerySet[Conversation]:  # type: ignore[override]
        return selectors.conversation_queryset(org=org)

    @extend_schema(parameters=[ConversationFilterSerializer], responses=ConversationOutputSerializer(many=True))
    def list(self, request: Request) -> Response:
        params = ConversationFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data: dict[str, Any] = params.validated_data
        filters = InboxFilters(
            status=data.get("status", ""), network=data.get("network", ""), account_id=data.get("account"),
            assignee=data.get("assignee", ""), lang=data.get("lang", ""), sentiment=data.get("sentiment", ""),
        )  # fmt: skip
        actor = None if isinstance(request.auth, ApiKey) else self.actor
        conversations = selectors.conversation_filter(org=self.org, actor=actor, filters=filters)
        page = self.paginate_queryset(conversations)
        return self.get_paginated_response(ConversationOutputSerializer(page, many=True).data)

    @extend_schema(responses=ConversationDetailOutputSerializer)
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        conversation = self.get_object()
        messages = selectors.message_list(org=self.org, conversation=conversation)
        return Response(ConversationDetailOutputSerializer(conversation, context={"messages": messages}).data)

    @extend_schema(request=StatusInputSerializer, responses={200: ConversationOutputSerializer, 400: None})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        """Open, resolve, mark as spam or reopen; an action the current status does not allow is a 400."""
        conversation = self.get_object()
        data = StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = services.conversation_status_change(
            conversation=conversation, action=data.validated_data["action"], actor=self.actor
        )
        return Response(ConversationOutputSerializer(conversation).data)
