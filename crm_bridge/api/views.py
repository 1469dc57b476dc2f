"""Webhooks API: the organization's endpoints (CRUD), their deliveries, secret rotation and test events."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization
from accounts.roles import Perm
from crm_bridge import selectors, services
from crm_bridge.models import WebhookEndpoint
from smms.api.base import OrgScopedViewSet
from smms.api.pagination import IdCursorPagination

from .serializers import (
    WebhookDeliveryOutputSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointOutputSerializer,
    WebhookSecretSerializer,
)


class NewestFirstCursorPagination(IdCursorPagination):
    """A delivery log reads newest first; the cursor stays stable while new deliveries arrive."""

    ordering = "-id"


class WebhookEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet
):
    """Webhook endpoints: URLs that receive the organization's events, signed with their secret."""

    scope_area = "webhooks"
    read_perm = Perm.MANAGE_WEBHOOKS
    write_perm = Perm.MANAGE_WEBHOOKS
    queryset = WebhookEndpoint.objects.none()
    serializer_class = WebhookEndpointOutputSerializer

    def scoped_queryset(self, org: Organization) -> QuerySet[WebhookEndpoint]:
        return selectors.webhook_endpoint_list(org=org)

    @extend_schema(request=WebhookEndpointInputSerializer, responses={201: WebhookEndpointCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = WebhookEndpointInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_save(actor=self.actor, **data.validated_data)
        body = WebhookEndpointCreatedSerializer(endpoint).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookEndpointInputSerializer, responses=WebhookEndpointOutputSerializer)
    def update(self, request: Request, pk: str | None = None) -> Response:
        return self._save(request, partial=False)

    @extend_schema(request=WebhookEndpointInputSerializer, responses=WebhookEndpointOutputSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self._save(request, partial=True)

    def _save(self, request: Request, *, partial: bool) -> Response:
        endpoint = self.get_object()
        data = WebhookEndpointInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": endpoint.events,
            "is_active": endpoint.is_active,
            **data.validated_data,  # a PATCH changes what it names
        }
        endpoint = services.webhook_endpoint_save(actor=self.actor, endpoint=endpoint, **fields)
        return Response(WebhookEndpointOutputSerializer(endpoint).data)

    def perform_destroy(self, instance: WebhookEndpoint) -> None:
        services.webhook_endpoint_delete(endpoint=instance, actor=self.actor)

    @extend_schema(request=None, responses=WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        secret = services.webhook_secret_rotate(endpoint=self.get_object(), actor=self.actor)
        return Response(WebhookSecretSerializer({"secret": secret}).data)

    @extend_schema(request=None, responses={202: WebhookDeliveryOutputSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = services.webhook_test_send(endpoint=self.get_object(), actor=self.actor)
        return Response(WebhookDeliveryOutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=WebhookDeliveryOutputSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=NewestFirstCursorPagination)
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        deliveries = selectors.webhook_delivery_list(endpoint=self.get_object())
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliveryOutputSerializer(page, many=True).data)
