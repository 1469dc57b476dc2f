"""Explicit input and output serializers of the webhooks API. The secret appears only in the answers that
create it (endpoint creation, secret rotation)."""

from __future__ import annotations

from rest_framework import serializers

from crm_bridge.events import subscribable
from crm_bridge.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "is_active", "disabled_reason", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret. Shown once: store it now.")

    class Meta(WebhookEndpointOutputSerializer.Meta):
        fields = [*WebhookEndpointOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    url = serializers.URLField(max_length=500)
    description = serializers.CharField(max_length=240, allow_blank=True, required=False, default="")
    events = serializers.ListField(child=serializers.ChoiceField(choices=subscribable()), allow_empty=False)
    is_active = serializers.BooleanField(required=False, default=True)


class WebhookSecretSerializer(serializers.Serializer):  # type: ignore[type-arg]
    secret = serializers.CharField(read_only=True, help_text="The new signing secret. Shown once: store it now.")


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "payload",  # the envelope's "data" object
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "last_response",
            "created_at",
            "delivered_at",
        ]
        read_only_fields = fields
