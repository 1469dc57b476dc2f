"""Explicit serializers of the listening API."""

from __future__ import annotations

from rest_framework import serializers

from listening.models import Mention, Topic, TopicKind


class TopicOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Topic
        fields = ["id", "name", "kind", "query", "is_active", "created_at", "updated_at"]
        read_only_fields = fields


class TopicInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=TopicKind.choices, default=TopicKind.BRAND)
    query = serializers.CharField(max_length=1000)


class MentionOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sentiment = serializers.CharField(source="effective_sentiment", read_only=True)
    model_sentiment = serializers.CharField(source="sentiment", read_only=True)

    class Meta:
        model = Mention
        fields = [
            "id", "platform", "external_id", "kind", "author_id", "author_handle", "author_name", "author_followers",
            "text", "permalink", "in_reply_to_id", "lang", "sentiment", "model_sentiment", "sentiment_score",
            "published_at", "ingested_at",
        ]  # fmt: skip
        read_only_fields = fields
