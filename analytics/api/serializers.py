"""Output serializers of the analytics API (it is read-only). Rates are fractions (0.05 is 5 %), None where
the reach they divide by is unknown; see analytics/definitions.py."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import SocialAccount
from analytics.definitions import rates_of
from analytics.models import DeliveryMetrics
from publishing.models import Delivery


class _AccountRef(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = SocialAccount
        fields = ["id", "platform", "handle"]
        read_only_fields = fields


class CountsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    likes = serializers.IntegerField(allow_null=True)
    shares = serializers.IntegerField(allow_null=True, help_text="Reposts, retweets, boosts, shares.")
    replies = serializers.IntegerField(allow_null=True)
    quotes = serializers.IntegerField(allow_null=True)
    impressions = serializers.IntegerField(allow_null=True, help_text="None where the network does not report it.")
    views = serializers.IntegerField(allow_null=True, help_text="None where the network does not report it.")


class SnapshotSerializer(CountsSerializer):
    at = serializers.DateTimeField()


class MetricsSerializer(CountsSerializer):
    fetched_at = serializers.DateTimeField(allow_null=True)
    next_fetch_at = serializers.DateTimeField(allow_null=True, help_text="None once the schedule has ended.")
    fetch_count = serializers.IntegerField()
    stop_reason = serializers.CharField(help_text="Empty while fetching; done, auth_revoked, not_found, …")
    note = serializers.CharField()


class RatesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reach = serializers.IntegerField(allow_null=True, help_text="Impressions, else views; None when unknown.")
    engagements = serializers.IntegerField(help_text="likes + shares + replies + quotes")
    engagement_rate = serializers.FloatField(allow_null=True, help_text="engagements ÷ reach")
    virality_rate = serializers.FloatField(allow_null=True, help_text="shares ÷ reach")


class DeliveryMetricsOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account = _AccountRef(read_only=True)
    metrics = serializers.SerializerMethodField()
    rates = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = ["id", "post", "account", "remote_id", "remote_url", "published_at", "metrics", "rates"]
        read_only_fields = fields

    def _row(self, delivery: Delivery) -> DeliveryMetrics | None:
        row = getattr(delivery, "metrics", None)
        return row if isinstance(row, DeliveryMetrics) else None

    @extend_schema_field(MetricsSerializer(allow_null=True))
    def get_metrics(self, delivery: Delivery) -> dict[str, Any] | None:
        row = self._row(delivery)
        return MetricsSerializer(row).data if row is not None else None

    @extend_schema_field(RatesSerializer(allow_null=True))
    def get_rates(self, delivery: Delivery) -> dict[str, Any] | None:
        row = self._row(delivery)
        if row is None or row.fetched_at is None:
            return None
        rates = rates_of(likes=row.likes, shares=row.shares, replies=row.replies, quotes=row.quotes,
                         impressions=row.impressions, views=row.views)  # fmt: skip
        return RatesSerializer(rates).data


class DeliveryMetricsDetailSerializer(DeliveryMetricsOutputSerializer):
    snapshots = SnapshotSerializer(source="metrics_snapshots", many=True, read_only=True)

    class Meta(DeliveryMetricsOutputSerializer.Meta):
        fields = [*DeliveryMetricsOutputSerializer.Meta.fields, "snapshots"]
        read_only_fields = fields


class TotalsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    posts = serializers.IntegerField(help_text="Posts measured (fetched at least once).")
    posts_with_reach = serializers.IntegerField()
    reach = serializers.IntegerField(help_text="Sum over the posts whose reach is known.")
    engagements = serializers.IntegerField(help_text="Sum over all posts measured.")
    engagement_rate = serializers.FloatField(
        allow_null=True, help_text="Engagements ÷ reach over the posts whose reach is known (weighted by reach)."
    )
    virality_rate = serializers.FloatField(allow_null=True, help_text="Shares ÷ reach, the same way.")


class BestTimeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    weekday = serializers.IntegerField(help_text="0 is Monday.")
    hour = serializers.IntegerField(help_text="0-23, in the time zone asked for (tz, default the user's or UTC).")
    score = serializers.FloatField()
    posts = serializers.IntegerField(help_text="How many posts (or mentions, for basis audience) it rests on.")
    basis = serializers.ChoiceField(choices=["posts", "audience"])


class BestTimesSerializer(serializers.Serializer):  # type: ignore[type-arg]
    times = BestTimeSerializer(many=True)
    shortage = serializers.CharField(help_text="Why there are no suggestions from posts; empty when there are.")


class AccountFiguresSerializer(serializers.Serializer):  # type: ignore[type-arg]
    account = _AccountRef()
    totals = TotalsSerializer()
    followers = serializers.IntegerField(allow_null=True)
    engagements_per_follower = serializers.FloatField(
        source="per_follower", allow_null=True, help_text="Per post, only for accounts whose network gives no reach."
    )


class AccountDetailSerializer(AccountFiguresSerializer):
    best_times = BestTimesSerializer()


class NetworkTotalsSerializer(TotalsSerializer):
    network = serializers.CharField()


class DaySerializer(serializers.Serializer):  # type: ignore[type-arg]
    day = serializers.DateField()
    engagements = serializers.IntegerField(source="value", help_text="Gathered by the end of the day.")


class CampaignFiguresSerializer(serializers.Serializer):  # type: ignore[type-arg]
    campaign = serializers.IntegerField(source="campaign.id")
    name = serializers.CharField(source="campaign.name")
    totals = TotalsSerializer()
    by_network = NetworkTotalsSerializer(many=True)
    by_day = DaySerializer(many=True)
    top_deliveries = serializers.ListField(child=serializers.IntegerField(), help_text="Delivery ids, best first.")
