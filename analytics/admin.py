"""Admin registrations of analytics: read-mostly views of the metrics rows."""

from django.contrib import admin

from .models import DeliveryMetrics


@admin.register(DeliveryMetrics)
class DeliveryMetricsAdmin(admin.ModelAdmin):
    list_display = ("delivery", "likes", "shares", "replies", "impressions", "views", "fetch_count", "next_fetch_at",
                    "stop_reason")  # fmt: skip
    list_filter = ("stop_reason",)
    raw_id_fields = ("delivery",)
