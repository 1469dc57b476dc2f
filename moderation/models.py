"""Models of moderation: one inbox of comments, mentions and direct messages from every account.

A Conversation is a thread on one of our accounts (comments under one of our posts, a mention and the replies
to it, or the direct messages with one correspondent); its Messages are the items in it, ours included. The
conversation carries the aggregates the inbox lists and filters on (last message time, count, excerpt, the
latest inbound message's language and sentiment, the queue, assignee and SLA deadlines), so the inbox reads one
table.

Team leads route conversations into Queues (rules evaluated on arrival, an assignment mode, SLAs); Agents are
the members who work them (available or not, a capacity). Everything done on a network (a reply, a like, hiding
or deleting a comment) is a NetworkAction, sent once by a worker like a scheduled post; everything done to a
conversation is in the ModerationAction audit log.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import AccountGroup, Membership, Organization, Platform, SocialAccount, Team


class ConversationKind(models.TextChoices):
    COMMENTS = "comments", _("Comments")
    MENTION = "mention", _("Mention")
    MESSAGE = "message", _("Direct messages")


class ConversationStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", pgettext_lazy("conversation status", "Open")
    WAITING = "waiting", _("Waiting")
    RESOLVED = "resolved", _("Resolved")
    SPAM = "spam", _("Spam")


# A message of theirs waits for our answer: the response clock runs and automatic assignment applies.
AWAITING_US = (ConversationStatus.NEW, ConversationStatus.OPEN)
# Not finished: these count in an agent's load and in a queue's backlog.
OPEN_STATUSES = (ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.WAITING)


class AssignmentMode(models.TextChoices):
    MANUAL = "manual", _("Manual: a team lead or the agents themselves")
    ROUND_ROBIN = "round_robin", _("Round-robin among available agents")
    LOAD_BALANCED = "load_balanced", _("Load-balanced: the available agent with the fewest open conversations")


class Priority(models.IntegerChoices):
    LOW = -1, _("Low")
    NORMAL = 0, _("Normal")
    HIGH = 1, _("High")
    URGENT = 2, _("Urgent")


class Queue(models.Model):
    """A team's queue. Its rules (every one given must match; none given matches everything) are evaluated in
    ``position`` order when a conversation arrives: the first queue that matches takes it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="queues")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Rules.
    networks = models.JSONField(_("networks"), default=list, blank=True)
    accounts = models.ManyToManyField(SocialAccount, related_name="+", blank=True, verbose_name=_("accounts"))
    account_groups = models.ManyToManyField(
        AccountGroup, related_name="+", blank=True, verbose_name=_("account groups")
    )
    languages = models.JSONField(_("languages"), default=list, blank=True)
    kinds = models.JSONField(_("kinds"), default=list, blank=True)
    sentiment_below = models.FloatField(_("sentiment score below"), null=True, blank=True)
    # A listening query (words, "phrases", #tags, OR, NOT…) the first message must match.
    keywords = models.CharField(_("keywords"), max_length=1000, blank=True)
    min_followers = models.PositiveIntegerField(_("author has at least this many followers"), null=True, blank=True)
    vip_only = models.BooleanField(_("author is on the VIP list"), default=False)
    # What routing gives the conversation.
    priority = models.SmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.NORMAL)
    assignment_mode = models.CharField(
        _("assignment"), max_length=16, choices=AssignmentMode.choices, default=AssignmentMode.MANUAL
    )
    first_response_minutes = models.PositiveIntegerField(_("first response within (minutes)"), null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(_("resolution within (minutes)"), null=True, blank=True)
    escalate_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("escalate to")
    )
    # Round-robin's place: the agent who was given the last conversation.
    rr_last = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="moderation_queue_name_unique"),
            models.CheckConstraint(
                condition=models.Q(assignment_mode__in=AssignmentMode.values), name="moderation_queue_mode_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(sentiment_below__isnull=True)
                | models.Q(sentiment_below__gte=-1, sentiment_below__lte=1),
                name="moderation_queue_sentiment_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(escalate_to=models.F("id")), name="moderation_queue_no_self_escalation"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Vip(models.Model):
    """A person whose conversations matter more (a journalist, a key customer): queues may route on it and
    routing raises their conversations to high priority. Matched on the handle, case-insensitively."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="vips")
    platform = models.CharField(_("network"), max_length=16, choices=Platform.choices, blank=True)  # blank: any
    handle = models.CharField(_("handle"), max_length=300)  # lower case, without the leading @
    note = models.CharField(_("note"), max_length=200, blank=True)
    added_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["handle", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "platform", "handle"], name="moderation_vip_unique"),
            models.CheckConstraint(condition=~models.Q(handle=""), name="moderation_vip_handle_not_empty"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"


class Agent(models.Model):
    """A member's state in the inbox: automatic assignment gives conversations only to available agents below
    their capacity (open conversations assigned to them)."""

    membership = models.OneToOneField(Membership, on_delete=models.CASCADE, primary_key=True, related_name="agent")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    available = models.BooleanField(_("available"), default=False)
    capacity = models.PositiveSmallIntegerField(_("capacity"), default=20)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="moderation_agent_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"agent {self.membership_id}"


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
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations", db_index=False
    )  # composite index below
    assigned_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The queue's SLA when the conversation was routed (a later change of the queue's SLA is not retroactive).
    sla_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    sla_resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    # When our next answer is due (set while a message of theirs waits for one; cleared by our reply) and when
    # the conversation should be resolved.
    response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    # When the lead and the assignee were told of a breach of response_due_at (once per due date).
    breach_notified_at = models.DateTimeField(null=True, blank=True)
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
            # A member leaving (SET NULL) and per-agent load: WHERE assignee IN (...) AND status IN (...) GROUP BY
            # assignee, assigned rows only (an index-only count).
            models.Index(
                fields=["assignee", "status"], condition=models.Q(assignee__isnull=False), name="moderation_conv_load"
            ),
            # One queue's inbox: WHERE organization = ? AND queue = ? ORDER BY last_message_at DESC, id DESC.
            models.Index(
                fields=["organization", "queue", "-last_message_at", "-id"], name="moderation_conv_queue_last"
            ),
            # Automatic assignment: WHERE queue = ? AND assignee IS NULL AND status IN ('new', 'open') ORDER BY
            # priority DESC, first_message_at.
            models.Index(
                fields=["queue", "-priority", "first_message_at"],
                condition=models.Q(queue__isnull=False, assignee__isnull=True, status__in=["new", "open"]),
                name="moderation_conv_to_assign",
            ),
            # SLA breaches, most overdue first (the breach sweep, the lead's view): WHERE organization = ? AND
            # response_due_at <= now ORDER BY response_due_at, only rows with a deadline. (The inbox's "overdue"
            # filter keeps the inbox's order and is served by its status index; 6 ms at 1M conversations.)
            models.Index(
                fields=["organization", "response_due_at"],
                condition=models.Q(response_due_at__isnull=False),
                name="moderation_conv_response_due",
            ),
            # First-response and resolution times of the last days (the lead's view): WHERE organization = ? AND
            # first_response_at >= ? / resolved_at >= ?; partial, so ingestion's inserts (NULL there) skip them.
            models.Index(
                fields=["organization", "first_response_at"],
                condition=models.Q(first_response_at__isnull=False),
                name="moderation_conv_responded",
            ),
            models.Index(
                fields=["organization", "resolved_at"],
                condition=models.Q(resolved_at__isnull=False),
                name="moderation_conv_resolved",
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
    is_liked = models.BooleanField(default=False)  # by our account
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


class NetworkActionKind(models.TextChoices):
    REPLY = "reply", _("Reply")
    LIKE = "like", _("Like")
    HIDE = "hide", _("Hide")
    UNHIDE = "unhide", _("Unhide")
    DELETE = "delete", _("Delete")


class NetworkActionState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class NetworkAction(models.Model):
    """Something to do on a network for a conversation: a reply, a like, hiding, unhiding or deleting a message.
    Sent by a worker exactly as a scheduled post is (see moderation.services.network_action_run): claimed with a
    conditional UPDATE, sent outside any transaction with its idempotency key, an unknown outcome looked for on
    the network before any new attempt, transient failures retried with backoff, stuck claims recovered."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="network_actions")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=NetworkActionKind.choices)
    # The message acted on (for a reply, the one answered).
    target = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    # A reply's own message, shown in the conversation while it is sent.
    reply = models.OneToOneField(Message, on_delete=models.CASCADE, null=True, blank=True, related_name="sending")
    text = models.TextField(blank=True)
    resolve = models.BooleanField(default=False)  # resolve the conversation once the reply is sent
    state = models.CharField(max_length=8, choices=NetworkActionState.choices, default=NetworkActionState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    dispatched_until = models.DateTimeField(null=True, blank=True)
    unknown_outcome = models.BooleanField(default=False)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The form's or API caller's token: the same request sent twice (a double click, a retried POST) is one action.
    client_token = models.CharField(max_length=64, blank=True)
    remote_id = models.CharField(max_length=300, blank=True)
    remote_url = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    requested_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=NetworkActionKind.values), name="moderation_netaction_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=NetworkActionState.values), name="moderation_netaction_state_valid"
            ),
            # A reply is done only with the network's id of it: the evidence that it was sent.
            models.CheckConstraint(
                condition=~models.Q(kind="reply", state="done", remote_id=""), name="moderation_netaction_reply_id"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reply", reply__isnull=True), name="moderation_netaction_reply_message"
            ),
            models.UniqueConstraint(
                fields=["organization", "client_token"],
                condition=~models.Q(client_token=""),
                name="moderation_netaction_client_token",
            ),
        ]
        indexes = [
            # The dispatcher: WHERE state = 'pending' AND next_attempt_at <= now (and no live dispatch lease).
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(state="pending"), name="moderation_netaction_due"
            ),
            # The recovery sweep: WHERE state = 'sending' AND claimed_until < now.
            models.Index(
                fields=["claimed_until"], condition=models.Q(state="sending"), name="moderation_netaction_claimed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} on {self.conversation_id}"


class Note(models.Model):
    """An internal note on a conversation, never sent to the network; @mentioned members are notified."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes", db_index=False)
    author = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    text = models.TextField(_("note"))
    mentioned = models.ManyToManyField(Membership, related_name="+", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # A conversation's notes in order: WHERE conversation = ? ORDER BY created_at.
            models.Index(fields=["conversation", "created_at"], name="moderation_note_conv_time"),
        ]

    def __str__(self) -> str:
        return f"note on {self.conversation_id}"


class CannedReply(models.Model):
    """A reply written once and reused, in one language, with variables ({author_name}…) filled in when used."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="canned_replies")
    name = models.CharField(_("name"), max_length=80)
    language = models.CharField(_("language"), max_length=8, choices=[("en", _("English")), ("fr", _("French"))])
    text = models.TextField(_("text"), max_length=5000)
    created_by = models.ForeignKey(Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name", "language"], name="moderation_canned_unique"),
            models.CheckConstraint(condition=models.Q(language__in=["en", "fr"]), name="moderation_canned_language"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class SavedView(models.Model):
    """A member's named inbox filters, optionally shared with the organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(max_length=500)  # the inbox's filter parameters, as a query string
    shared = models.BooleanField(_("shared with the organization"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="moderation_savedview_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class PresenceState(models.TextChoices):
    VIEWING = "viewing", _("viewing")
    REPLYING = "replying", _("replying")


class Presence(models.Model):
    """Who has a conversation open right now, and whether they are writing: the page refreshes its row every
    few seconds, and others are warned of a collision."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+", db_index=False)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=8, choices=PresenceState.choices)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            # One row per person and conversation, upserted; also the index of "who else is here".
            models.UniqueConstraint(fields=["conversation", "membership"], name="moderation_presence_unique"),
        ]
        indexes = [
            # The purge of stale rows: WHERE seen_at < ?.
            models.Index(fields=["seen_at"], name="moderation_presence_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.state} {self.conversation_id}"
