"""Explicit input and output serializers of the moderation API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Platform, SocialAccount
from listening.models import Sentiment
from moderation.models import (
    AssignmentMode,
    CannedReply,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    ModerationAction,
    NetworkAction,
    Note,
    Priority,
    Queue,
    Vip,
)
from moderation.services import QUEUE_LANGUAGES


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
    assignee_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The assignee's member id.")
    queue = serializers.IntegerField(source="queue_id", read_only=True, allow_null=True)
    queue_name = serializers.CharField(source="queue.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Conversation
        fields = [
            "id", "account", "platform", "kind", "thread_key", "author_id", "author_handle", "author_name",
            "author_followers", "status", "priority", "lang", "sentiment", "queue", "queue_name", "assignee",
            "assignee_id", "assigned_at", "escalated_at", "response_due_at", "resolution_due_at", "first_message_at",
            "last_message_at", "last_inbound_at", "first_response_at", "resolved_at", "message_count", "excerpt",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class MessageOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    sent_by = serializers.EmailField(source="sent_by.user.email", read_only=True, allow_null=True, default=None)
    sending = serializers.SerializerMethodField(help_text="Our replies: the state of their sending, else null.")

    class Meta:
        model = Message
        fields = [
            "id", "conversation", "direction", "remote_id", "mention", "in_reply_to_id", "author_id", "author_handle",
            "author_name", "text", "lang", "sentiment", "created_at", "ingested_at", "is_hidden", "is_deleted",
            "is_liked", "sent_by", "sending",
        ]  # fmt: skip
        read_only_fields = fields

    def get_sending(self, message: Message) -> dict[str, Any] | None:
        action = getattr(message, "sending", None) if message.direction == "out" else None
        if action is None:
            return None
        return {"action": action.id, "state": action.state, "error": action.error, "remote_url": action.remote_url}


class NoteOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    author = serializers.EmailField(source="author.user.email", read_only=True, allow_null=True, default=None)
    mentioned = serializers.SerializerMethodField()

    class Meta:
        model = Note
        fields = ["id", "conversation", "author", "text", "mentioned", "created_at"]
        read_only_fields = fields

    def get_mentioned(self, note: Note) -> list[str]:
        return [m.user.email for m in note.mentioned.all()]


class NetworkActionOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    requested_by = serializers.EmailField(
        source="requested_by.user.email", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = NetworkAction
        fields = [
            "id", "conversation", "account", "kind", "target", "reply", "text", "resolve", "state", "attempts",
            "next_attempt_at", "remote_id", "remote_url", "error", "error_code", "client_token", "requested_by",
            "created_at", "done_at",
        ]  # fmt: skip
        read_only_fields = fields


class ConversationDetailOutputSerializer(ConversationOutputSerializer):
    messages = serializers.SerializerMethodField(help_text="Oldest first, ours included.")
    notes = serializers.SerializerMethodField(help_text="Internal notes, oldest first.")

    class Meta(ConversationOutputSerializer.Meta):
        fields = [*ConversationOutputSerializer.Meta.fields, "messages", "notes"]
        read_only_fields = fields

    def get_messages(self, conversation: Conversation) -> list[dict]:  # type: ignore[type-arg]
        return MessageOutputSerializer(self.context["messages"], many=True).data  # type: ignore[return-value]

    def get_notes(self, conversation: Conversation) -> list[dict]:  # type: ignore[type-arg]
        return NoteOutputSerializer(self.context["notes"], many=True).data  # type: ignore[return-value]


class ConversationFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(
        choices=[("active", "active"), *ConversationStatus.choices], required=False,
        help_text="active: new, open or waiting.",
    )  # fmt: skip
    network = serializers.ChoiceField(choices=Platform.choices, required=False)
    account = serializers.IntegerField(required=False)
    assignee = serializers.RegexField(
        r"^(mine|unassigned|\d+)$", required=False,
        help_text="mine: assigned to the caller (nothing for an API key); unassigned; a member id; absent: anyone.",
    )  # fmt: skip
    queue = serializers.RegexField(
        r"^(mine|none|\d+)$", required=False, help_text="A queue id; none: in no queue; mine: the caller's teams'."
    )
    lang = serializers.CharField(max_length=8, required=False)
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    sla = serializers.ChoiceField(
        choices=["breached", "at_risk"], required=False,
        help_text="breached: our answer is overdue; at_risk: due within 30 minutes.",
    )  # fmt: skip


class StatusInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.ChoiceField(choices=["open", "wait", "resolve", "spam", "reopen"])


class AssignInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    assignee = serializers.IntegerField(allow_null=True, help_text="A member id; null unassigns.")
    expected_assignee = serializers.IntegerField(
        allow_null=True, required=False,
        help_text="Who you saw holding it (null: nobody). Given, the change is refused (409) if that changed.",
    )  # fmt: skip


class MoveInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    queue = serializers.IntegerField(allow_null=True, help_text="A queue id; null: no queue.")


class EscalateInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class PriorityInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    priority = serializers.ChoiceField(choices=Priority.choices)


class ReplyInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField(max_length=10_000)
    in_reply_to = serializers.IntegerField(
        required=False, allow_null=True, help_text="A message id of theirs; default: their latest message."
    )
    resolve = serializers.BooleanField(default=False, help_text="Resolve the conversation once the reply is sent.")
    client_token = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="",
        help_text="Your id for this request: sending the same token again returns the same reply, sent once.",
    )  # fmt: skip
    seen_message = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="The last message you read: a reply someone else sent after it makes this one a 409.",
    )  # fmt: skip


class NoteInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    text = serializers.CharField(max_length=5000)


class MessageActInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=["like", "hide", "unhide", "delete"])
    client_token = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class MessageFilterSerializer(serializers.Serializer):  # type: ignore[type-arg]
    conversation = serializers.IntegerField(required=False)
    direction = serializers.ChoiceField(choices=["in", "out"], required=False)


class QueueSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A queue, its routing rules, assignment mode and SLA. Writes go through moderation.services.queue_save."""

    networks = serializers.ListField(child=serializers.ChoiceField(choices=Platform.choices), required=False)
    languages = serializers.ListField(child=serializers.ChoiceField(choices=QUEUE_LANGUAGES), required=False)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=ConversationKind.choices), required=False)
    accounts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    account_groups = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    account_ids = serializers.ListField(child=serializers.IntegerField(), write_only=True, required=False)
    account_group_ids = serializers.ListField(child=serializers.IntegerField(), write_only=True, required=False)
    team = serializers.IntegerField(source="team_id")
    escalate_to = serializers.IntegerField(source="escalate_to_id", allow_null=True, required=False)
    assignment_mode = serializers.ChoiceField(choices=AssignmentMode.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)

    class Meta:
        model = Queue
        fields = [
            "id", "name", "team", "position", "is_active", "networks", "accounts", "account_groups", "account_ids",
            "account_group_ids", "languages", "kinds", "sentiment_below", "keywords", "min_followers", "vip_only",
            "priority", "assignment_mode", "first_response_minutes", "resolution_minutes", "escalate_to",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "accounts", "account_groups", "created_at", "updated_at"]


class QueueStatsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    queue = serializers.IntegerField(allow_null=True, help_text="null: conversations in no queue.")
    name = serializers.CharField(allow_null=True)
    new = serializers.IntegerField()
    open = serializers.IntegerField()
    waiting = serializers.IntegerField()
    unassigned = serializers.IntegerField()
    breached = serializers.IntegerField(help_text="Awaiting our answer past its due time.")
    oldest_waiting = serializers.DateTimeField(allow_null=True)
    first_response_minutes = serializers.FloatField(allow_null=True, help_text="Median over the period.")
    resolution_minutes = serializers.FloatField(allow_null=True, help_text="Median over the period.")
    responded = serializers.IntegerField()
    resolved = serializers.IntegerField()


class CannedReplySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = CannedReply
        fields = ["id", "name", "language", "text", "updated_at"]
        read_only_fields = ["id", "updated_at"]


class VipSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    platform = serializers.ChoiceField(choices=[("", "any"), *Platform.choices], required=False, default="")

    class Meta:
        model = Vip
        fields = ["id", "platform", "handle", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class AgentOutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    member = serializers.IntegerField(source="membership.id")
    email = serializers.EmailField(source="membership.user.email")
    role = serializers.CharField(source="membership.role")
    available = serializers.BooleanField()
    capacity = serializers.IntegerField()
    load = serializers.IntegerField(help_text="Open conversations (new, open, waiting) assigned to them.")
    teams = serializers.ListField(child=serializers.CharField())


class AgentInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    available = serializers.BooleanField(required=False)
    capacity = serializers.IntegerField(min_value=1, max_value=500, required=False)


class AuditOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    actor = serializers.EmailField(
        source="actor.user.email", read_only=True, allow_null=True, default=None, help_text="null: SMMS or an API key."
    )

    class Meta:
        model = ModerationAction
        fields = ["id", "conversation", "actor", "action", "detail", "at"]
        read_only_fields = fields
