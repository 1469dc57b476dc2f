"""Explicit input and output serializers of the moderation API."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Platform, SocialAccount
from listening.models import Sentiment
from moderation.models import Conversation, ConversationStatus, Message


class ConversationAccountSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = SocialAccount
        fields = ["id", "platform", "handle"]
        read_only_fields = fields


class ConversationOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    account = ConversationAccountSerializer(read_only=True)
    assignee = serializers.EmailField(
        source="assignee.user.email", read_only=True, allow_null=True, default=None, help_text="None: unassigned."
    )

    class Meta:
        model = Conversation
        fields = [
            "id", "account", "platform", "kind", "thread_key", "author_id", "author_handle", "author_name",
            "author_followers", "status", "priority", "lang", "sentiment", "assignee", "first_message_at",
            "last_message_at", "last_inbound_at", "first_response_at", "resolved_at", "message_count", "excerpt",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class MessageOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sent_by = serializers.EmailField(source="sent_by.user.email", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Message
        fields = [
            "id", "direction", "remote_id", "mention", "in_reply_to_id", "author_id", "author_handle", "author_name",
            "text", "lang", "sentiment", "created_at", "is_hidden", "is_deleted", "sent_by",
        ]  # fmt: skip
        read_only_fields = fields


class ConversationDetailOutputSerializer(ConversationOutputSerializer):
    messages = serializers.SerializerMethodField(help_text="Oldest first, ours included.")

    class Meta(ConversationOutputSerializer.Meta):
        fields = [*ConversationOutputSerializer.Meta.fields, "messages"]
        read_only_fields = fields

    def get_messages(self, conversation: Conversation) -> list[dict]:  # type: ignore[type-arg]
        return MessageOutputSerializer(self.context["messages"], many=True).data  # type: ignore[return-value]


class ConversationFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=ConversationStatus.choices, required=False)
    network = serializers.ChoiceField(choices=Platform.choices, required=False)
    account = serializers.IntegerField(required=False)
    assignee = serializers.ChoiceField(
        choices=[("mine", "mine"), ("unassigned", "unassigned")], required=False,
        help_text="mine: assigned to the caller (nothing for an API key); unassigned; absent: anyone.",
    )  # fmt: skip
    lang = serializers.CharField(max_length=8, required=False)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)


class StatusInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.ChoiceField(choices=["open", "resolve", "spam", "reopen"])
