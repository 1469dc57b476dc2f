"""Admin registrations of crm_bridge: webhook endpoints and their deliveries, to look at (secrets never shown)."""

from django.contrib import admin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    exclude = ["secret"]  # the signing secret never appears in the admin, even encrypted


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event"]
    search_fields = ["event_id"]
    raw_id_fields = ["endpoint"]
    readonly_fields = ["event_id", "payload", "last_response"]
