"""Listening API: topics (CRUD) and their mentions (cursor-paginated, for CRMs syncing a feed)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization
from accounts.roles import Perm
from listening import services
from listening.models import Mention, Topic
from smms.api.base import OrgScopedViewSet

from .serializers import MentionOutputSerializer, TopicInputSerializer, TopicOutputSerializer


class TopicViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    """Listening topics and their boolean queries."""

    scope_area = "listening"
    write_perm = Perm.MANAGE_TOPICS
    queryset = Topic.objects.none()
    serializer_class = TopicOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Topic]:  # type: ignore[override]
        return Topic.objects.filter(organization=org)

    @extend_schema(request=TopicInputSerializer, responses={201: TopicOutputSerializer})
    def create(self, request: Request) -> Response:
        data = TopicInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        topic = services.topic_save(actor=self.actor, **data.validated_data)
        return Response(TopicOutputSerializer(topic).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TopicInputSerializer, responses=TopicOutputSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        topic = self.get_object()
        data = TopicInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        topic = services.topic_save(actor=self.actor, topic=topic, **data.validated_data)
        return Response(TopicOutputSerializer(topic).data)

    def perform_destroy(self, instance: Topic) -> None:
        services.topic_delete(topic=instance, actor=self.actor)

    @extend_schema(
        responses=MentionOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("network", OpenApiTypes.STR),
            OpenApiParameter("lang", OpenApiTypes.STR),
            OpenApiParameter("sentiment", OpenApiTypes.STR),
        ],
    )
    @action(detail=True, methods=["get"])
    def mentions(self, request: Request, pk: str | None = None) -> Response:
        topic = self.get_object()
        mentions = Mention.objects.filter(organization=self.org, topic_mentions__topic=topic)
        for field in ("lang", "sentiment"):
            if request.query_params.get(field):
                mentions = mentions.filter(**{f"topic_mentions__{field}": request.query_params[field]})
        if request.query_params.get("network"):
            mentions = mentions.filter(platform=request.query_params["network"])
        page = self.paginate_queryset(mentions)
        return self.get_paginated_response(MentionOutputSerializer(page, many=True).data)


class MentionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """Every mention the organization collected, oldest first with a stable cursor."""

    scope_area = "listening"
    write_perm = Perm.MANAGE_TOPICS
    queryset = Mention.objects.none()
    serializer_class = MentionOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[Mention]:  # type: ignore[override]
        return Mention.objects.filter(organization=org)
