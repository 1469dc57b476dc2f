"""Models of moderation: one inbox of comments, mentions and direct messages from every account.

A Conversation is a thread on one of our accounts (comments under one of our posts, a mention and the replies
to it, or the direct messages with one correspondent); its Messages are the items in it, ours included. The
conversation carries the aggregates the inbox lists and filters on (last message time, count, excerpt, the
latest inbound message's language and sentiment), so the inbox reads one table. Queues, SLAs and replies come
later: ``queue`` is left out until the Queue model exists.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organization, Platform, SocialAccount


class ConversationKind(models.TextChoices):
    COMMENTS = "comments", _("Comments")
    MENTION = "mention", _("Mention")
    MESSAGE = "message", _("Direct messages")


class ConversationStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting")
    RESOLVED = "resolved", _("Resolved")
    SPAM = "spam", _("Spam")


class Conversation(models.Model):
    # No single-column indexes on these two: the composite indexes below lead with them.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="conversations", db_index=False)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=16, choices=ConversationKind.choices)
    # How ingestion finds the thread again (see moderation.services.conversations_ingest): "t:<remote id>" for
    # a thread started by a post, "dm:<author id>" for direct messages with one person.
    thread_key = models.CharField(max_length=320)
    # The person who started it (the correspondent, for direct messages).
    author_id = models.CharField(max_length=200)
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    author_followers = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.NEW)
    priority = models.SmallIntegerField(default=0)
    lang = models.CharField(max_length=8, blank=True)  # of the latest inbound message
    sentiment = models.CharField(max_length=12, blank=True)  # of the latest inbound message
    assignee = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
        db_index=False,  # a partial index below: most conversations have none, and ingestion need not touch it
    )
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    message_count = models.IntegerField(default=0)
    excerpt = models.CharField(max_length=300, blank=True)  # the last message's text, truncated
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Ingestion upserts on this: one conversation per thread and account, however often it is polled.
            models.UniqueConstraint(
                fields=["organization", "account", "thread_key"], name="moderation_conversation_thread_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ConversationStatus.values), name="moderation_conversation_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ConversationKind.values), name="moderation_conversation_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(message_count__gte=0), name="moderation_conversation_count_not_negative"
            ),
        ]
        indexes = [
            # Inbox, no filter: WHERE organization = ? ORDER BY last_message_at DESC, id DESC (keyset pages).
            models.Index(fields=["organization", "-last_message_at", "-id"], name="moderation_conv_org_last"),
            # Inbox by status: WHERE organization = ? AND status = ? ORDER BY last_message_at DESC, id DESC.
            models.Index(
                fields=["organization", "status", "-last_message_at", "-id"], name="moderation_conv_status_last"
            ),
            # "Mine" and "unassigned": WHERE organization = ? AND assignee = ? / IS NULL ORDER BY ... DESC.
            models.Index(
                fields=["organization", "assignee", "-last_message_at", "-id"], name="moderation_conv_assignee_last"
            ),
            # A member leaving (SET NULL) and per-agent load: WHERE assignee = ?, assigned rows only.
            models.Index(
                fields=["assignee"], condition=models.Q(assignee__isnull=False), name="moderation_conv_assigned"
            ),
            # One account's inbox: WHERE account = ? ORDER BY last_message_at DESC, id DESC.
            models.Index(fields=["account", "-last_message_at", "-id"], name="moderation_conv_account_last"),
            # The author's other conversations: WHERE organization = ? AND platform = ? AND author_id = ?.
            models.Index(
                fields=["organization", "platform", "author_id", "-last_message_at"], name="moderation_conv_author"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.thread_key}"


class Direction(models.TextChoices):
    INBOUND = "in", _("Received")
    OUTBOUND = "out", _("Sent")


class Message(models.Model):
    # Indexed by (conversation, created_at, id) below, and the organization by the unique constraint.
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    platform = models.CharField(max_length=16, choices=Platform.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    remote_id = models.CharField(max_length=300, blank=True)  # empty until an outbound message is sent
    mention = models.ForeignKey("listening.Mention", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    in_reply_to_id = models.CharField(max_length=300, blank=True)
    author_id = models.CharField(max_length=200)
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    lang = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField()  # on the network
    ingested_at = models.DateTimeField(auto_now_add=True)
    is_hidden = models.BooleanField(default=False)
    is_deleted = models.BooleanField(default=False)
    sent_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )  # partial index below: inbound messages have none

    class Meta:
        constraints = [
            # Deduplication of ingestion: an item polled twice, or by two streams, is one message.
            models.UniqueConstraint(
                fields=["organization", "platform", "remote_id"],
                condition=~models.Q(remote_id=""),
                name="moderation_message_unique_remote",
            ),
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values), name="moderation_message_direction_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(mention__isnull=True) | models.Q(direction=Direction.INBOUND),
                name="moderation_message_mention_only_inbound",
            ),
        ]
        indexes = [
            # A conversation's messages in order: WHERE conversation = ? ORDER BY created_at, id.
            models.Index(fields=["conversation", "created_at", "id"], name="moderation_msg_conv_time"),
            # A member leaving (SET NULL): WHERE sent_by = ?, sent messages only.
            models.Index(fields=["sent_by"], condition=models.Q(sent_by__isnull=False), name="moderation_msg_sent_by"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.remote_id or self.id}"


class ModerationAction(models.Model):
    """The audit log: who did what to which conversation, and when."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="actions")
    actor = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(max_length=32)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # A conversation's trail: WHERE conversation = ? ORDER BY at.
            models.Index(fields=["conversation", "at"], name="moderation_action_conv_at"),
            # The organization's audit log, newest first.
            models.Index(fields=["organization", "-at"], name="moderation_action_org_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.conversation_id}"
