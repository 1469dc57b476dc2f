"""Listening: topics with boolean queries, the mentions ingested for an organization, the cursors that
make polling resumable, quarantined items, per-topic volume buckets, fire alerts and CSV exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Platform, SocialAccount


class TopicKind(models.TextChoices):
    BRAND = "brand", _("Brand")
    COMPETITOR = "competitor", _("Competitor")
    PRODUCT = "product", _("Product")
    CAMPAIGN = "campaign", _("Campaign")


class Topic(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="topics")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=TopicKind.choices, default=TopicKind.BRAND)
    query = models.TextField(_("query"), max_length=1000)
    is_active = models.BooleanField(_("active"), default=True)
    color = models.CharField(_("colour"), max_length=7, default="#2f5bea")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="listening_topic_name_unique")]

    def __str__(self) -> str:
        return self.name


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEUTRAL = "neutral", _("Neutral")
    NEGATIVE = "negative", _("Negative")
    UNSUPPORTED = "unsupported", _("Not scored (language)")


class Mention(models.Model):
    """Something said on a network that an organization listens to, stored once per (org, network, id)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="mentions")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    external_id = models.CharField(max_length=300)
    account = models.ForeignKey(SocialAccount, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=16)
    author_id = models.CharField(max_length=200)
    author_handle = models.CharField(max_length=300)
    author_name = models.CharField(max_length=300, blank=True)
    author_followers = models.IntegerField(null=True, blank=True)
    text = models.TextField()
    permalink = models.URLField(max_length=1000, blank=True)
    in_reply_to_id = models.CharField(max_length=300, blank=True)
    lang = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=12, choices=Sentiment.choices)
    sentiment_score = models.FloatField(null=True, blank=True)
    # A person's correction wins over the model and is kept for the evaluation set.
    sentiment_corrected = models.CharField(max_length=12, choices=Sentiment.choices, blank=True)
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField()
    ingested_at = models.DateTimeField(auto_now_add=True)
    topics = models.ManyToManyField(Topic, through="TopicMention", related_name="mentions")

    class Meta:
        constraints = [
            # Deduplication happens here: a mention polled twice (retries, overlapping pages) is stored once.
            models.UniqueConstraint(
                fields=["organization", "platform", "external_id"], name="listening_mention_unique_remote"
            ),
        ]
        indexes = [
            # Organization-wide stream, newest first.
            models.Index(fields=["organization", "-published_at"], name="listening_mention_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def effective_sentiment(self) -> str:
        return self.sentiment_corrected or self.sentiment


class TopicMention(models.Model):
    """A mention matching a topic, with the columns the topic's stream and charts filter on copied in, so
    those queries read one narrow table."""

    # No index of its own: the unique (topic, mention) and (topic, published_at) indexes lead with it.
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="topic_mentions", db_index=False)
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="topic_mentions")
    published_at = models.DateTimeField()
    platform = models.CharField(max_length=16)
    lang = models.CharField(max_length=8, blank=True)
    sentiment = models.CharField(max_length=12)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "mention"], name="listening_topicmention_unique")]
        indexes = [
            # Topic stream and time-series charts: WHERE topic = ? ORDER BY published_at DESC.
            models.Index(fields=["topic", "-published_at"], name="listening_tm_topic_time"),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} ← {self.mention_id}"


class PollCursor(models.Model):
    """Where polling of one account's stream stands. Advanced in the same transaction that stores the
    items it returned, so a crash repeats a page (deduplicated) but never skips one."""

    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="poll_cursors")
    stream = models.CharField(max_length=64, default="mentions")  # "mentions" or "search:<digest of query>"
    # What a search stream asks the network: topics with the same terms on one network share one stream.
    query = models.TextField(blank=True)
    cursor = models.TextField(blank=True)
    next_poll_at = models.DateTimeField(db_index=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_errors = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "stream"], name="listening_pollcursor_unique")]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.stream}"


class QuarantinedItem(models.Model):
    """An item a network sent that could not be read: kept with the reason, never silently dropped."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(SocialAccount, on_delete=models.SET_NULL, null=True, related_name="+")
    platform = models.CharField(max_length=16)
    payload = models.JSONField()
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.platform}: {self.reason[:60]}"


class TopicBucket(models.Model):
    """Counts per topic and 5-minute bucket: the baseline of fire detection and the charts' source."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="buckets")
    start = models.DateTimeField()
    volume = models.IntegerField(default=0)
    negative = models.IntegerField(default=0)
    positive = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "start"], name="listening_topicbucket_unique")]

    def __str__(self) -> str:
        return f"{self.topic_id}@{self.start:%Y-%m-%d %H:%M}: {self.volume}"


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Alert(models.Model):
    """A fire: a topic's volume or negative share rising beyond what its baseline explains."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="alerts")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=16)  # what the fire is mostly about: volume | negativity
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    started_at = models.DateTimeField()
    observed = models.FloatField()
    expected = models.FloatField()
    explanation = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One live alert per topic: a fire that goes on updates it instead of paging again.
            models.UniqueConstraint(
                fields=["topic"],
                condition=~models.Q(status="resolved"),
                name="listening_alert_one_live_per_topic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert on {self.topic_id}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class MentionExport(models.Model):
    """A CSV export of a topic's filtered mentions, written by a worker in chunks; the row is its state
    machine (queued → running → done | failed) and its progress bar."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    filters = models.JSONField(default=dict)  # the topic page's filters, as listening.exports stores them
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    rows_total = models.IntegerField(null=True, blank=True)  # unknown until the run has counted them
    rows_done = models.IntegerField(default=0)
    # exports/<organization id>/<random>/<name>.csv (listening.exports names it; downloads go through a view).
    file = models.FileField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    # Each run claims the row by incrementing ``attempts`` and writes only while the number is still its
    # own; ``claimed_until`` is the run's lease, extended at every chunk, after which a sweep may restart it.
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ExportStatus.values), name="listening_export_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(rows_done__gte=0), name="listening_export_rows_done_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(rows_total__isnull=True) | models.Q(rows_total__gte=0),
                name="listening_export_rows_total_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ExportStatus.DONE) | ~models.Q(file=""),
                name="listening_export_done_has_file",
            ),
            # A double-click, or two people asking at once, share one live export instead of writing it twice.
            models.UniqueConstraint(
                fields=["topic", "filters"],
                condition=models.Q(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING]),
                name="listening_export_one_live_per_query",
            ),
        ]
        indexes = [
            # The topic page's recent exports: WHERE topic = ? ORDER BY created_at DESC.
            models.Index(fields=["topic", "-created_at"], name="listening_export_topic_time"),
            # Retention: WHERE created_at < ?.
            models.Index(fields=["created_at"], name="listening_export_created"),
        ]

    def __str__(self) -> str:
        return f"export {self.id} of topic {self.topic_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    def download_name(self) -> str:
        return f"topic-{self.topic_id}-mentions-{timezone.localdate(self.created_at):%Y-%m-%d}.csv"

    def filter_labels(self) -> list[str]:
        """The export's filters in a few words, for the list of exports."""
        f = self.filters
        labels = [
            str(dict(Platform.choices).get(f.get("network"), "")),
            f.get("lang", ""),
            str(dict(Sentiment.choices).get(f.get("sentiment"), "")),
            f"@{f['author']}" if f.get("author") else "",
            f"≥ {f['since'][:10]}" if f.get("since") else "",
            f"≤ {f['until'][:10]}" if f.get("until") else "",
        ]
        return [label for label in labels if label]
