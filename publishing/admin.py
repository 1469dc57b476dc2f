"""Admin registrations of publishing: read-mostly views for support (the engine owns delivery states)."""

from django.contrib import admin

from .models import Campaign, Delivery, DeliveryEvent, MediaAsset, Post


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "starts_on", "ends_on", "utm_campaign")
    list_filter = ("organization",)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("__str__", "organization", "status", "scheduled_at", "author")
    list_filter = ("status",)


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    readonly_fields = ("at", "from_state", "to_state", "actor", "detail")
    can_delete = False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "account", "state", "due_at", "attempts", "remote_id", "error_code")
    list_filter = ("state", "error_code")
    readonly_fields = ("idempotency_key", "remote_id", "remote_url", "published_at", "claimed_until")
    inlines = [DeliveryEventInline]


@admin.register(MediaAsset)
class MediaAssetAdmin(admin.ModelAdmin):
    list_display = ("__str__", "organization", "mime_type", "size", "width", "height", "created_at")
    list_filter = ("mime_type",)
    readonly_fields = ("file", "mime_type", "size", "width", "height", "sha256", "uploaded_by", "organization")
