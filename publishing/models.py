"""Models of publishing: campaigns, posts with per-network variants, and one delivery per post and account.

A Post is what a person writes and approves; a Delivery is the work of putting it on one account. The
delivery row is the state machine the engine drives (see services.py): its idempotency key goes to the
network with every attempt, and its remote id, once stamped, is the proof that the post exists there.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, Platform, SocialAccount, validate_timezone


class Campaign(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    goal = models.TextField(_("goal"), blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Added to the links of the campaign's posts as utm_campaign, so analytics can attribute visits.
    utm_campaign = models.SlugField(_("UTM campaign"), max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="publishing_campaign_name_unique"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="publishing_campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")


class Post(models.Model):
    """What a person composed for one or more accounts. Its status is the editorial state; what happened
    on each account is on its deliveries."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="posts")
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField(_("text"))
    # Posted under the new post on Facebook and Instagram (hashtags, a link), once it is published.
    first_comment = models.TextField(_("first comment"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=PostStatus.choices, default=PostStatus.DRAFT)
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    # The CSV import that made the post, if one did (its result page lists them).
    post_import = models.ForeignKey(
        "PostImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PostStatus.values), name="publishing_post_status"),
            models.CheckConstraint(
                condition=~Q(status=PostStatus.SCHEDULED) | Q(scheduled_at__isnull=False),
                name="publishing_post_scheduled_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class PostVariant(models.Model):
    """The post as written for one network (shorter for X, with hashtags for Instagram, …)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="variants")
    platform = models.CharField(_("network"), max_length=16, choices=Platform.choices)
    text = models.TextField(_("text"))
    link = models.URLField(_("link"), max_length=1000, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "platform"], name="publishing_postvariant_unique_platform"),
            models.CheckConstraint(condition=Q(platform__in=Platform.values), name="publishing_postvariant_platform"),
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.text[:40]}"


def _asset_path(asset: MediaAsset, _filename: str) -> str:
    """An unguessable path of our own: the uploader's file name never reaches the disk."""
    return f"media/{asset.organization_id}/{secrets.token_urlsafe(24)}.{asset.extension}"


class MediaAsset(models.Model):
    """An image uploaded for posts. Its type is what its bytes say (never the browser's claim or the name);
    the file is served only through views that check the organization, or a signed, expiring URL."""

    EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="media_assets")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    file = models.FileField(upload_to=_asset_path, max_length=200)
    # The uploader's name for the file, shown to people only (autoescaped), never used as a path.
    name = models.CharField(_("file name"), max_length=200, blank=True)
    mime_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size in bytes"))
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    alt_text = models.TextField(_("alternative text"), blank=True, max_length=1500)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mime_type__in=["image/jpeg", "image/png", "image/gif", "image/webp"]),
                name="publishing_mediaasset_image_type",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="publishing_mediaasset_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.id}.{self.extension}"

    @property
    def extension(self) -> str:
        return self.EXTENSIONS.get(self.mime_type, "bin")


class PostMedia(models.Model):
    """The images of a post, in the order they are shown."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="media")
    asset = models.ForeignKey(MediaAsset, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["post", "position"], name="publishing_postmedia_position_unique"),
            models.UniqueConstraint(fields=["post", "asset"], name="publishing_postmedia_asset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} #{self.position}: {self.asset_id}"


class DeliveryState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHING = "publishing", _("Publishing")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(models.Model):
    """One post on one account: scheduled → publishing (claimed by one worker) → published or failed, with
    retries going back to scheduled at ``next_attempt_at``."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="deliveries")
    account = models.ForeignKey(SocialAccount, on_delete=models.CASCADE, related_name="deliveries")
    variant = models.ForeignKey(PostVariant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(_("state"), max_length=20, choices=DeliveryState.choices, default=DeliveryState.DRAFT)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    # When the next attempt may start: due_at at first, later after a retry's backoff.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # A worker publishing holds the row until then; past it, the recovery sweep reconciles the row.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Handed to a worker until then: the dispatcher does not queue it again meanwhile.
    dispatched_until = models.DateTimeField(null=True, blank=True)
    # Sent with every attempt; networks that support it (Mastodon) create the post at most once per key.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    remote_id = models.CharField(_("remote id"), max_length=300, blank=True)
    remote_url = models.URLField(_("link on the network"), max_length=1000, blank=True)
    # The network's id of the post's first comment, once made: it is made at most once.
    first_comment_id = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    # An attempt may have created the post without SMMS hearing back: ask the network before sending again.
    unknown_outcome = models.BooleanField(default=False)
    failure_notified_at = models.DateTimeField(null=True, blank=True)
    # Its due time is one of the account's queue slots (post_queue), which no other queued delivery may take.
    queued = models.BooleanField(_("queued"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["post", "account"], name="publishing_delivery_one_per_account"),
            models.CheckConstraint(condition=Q(state__in=DeliveryState.values), name="publishing_delivery_state"),
            # A delivery is published only with the network's id of the post: it is what proves it exists.
            models.CheckConstraint(
                condition=~Q(state=DeliveryState.PUBLISHED) | ~Q(remote_id=""),
                name="publishing_delivery_published_has_remote_id",
            ),
            models.CheckConstraint(
                condition=~Q(state=DeliveryState.PUBLISHING) | Q(claimed_until__isnull=False),
                name="publishing_delivery_publishing_is_claimed",
            ),
            # Two people queuing at the same moment cannot both take a slot: the second insert waits for the
            # first, then fails, and post_queue looks again (services._queue_assign).
            models.UniqueConstraint(
                fields=["account", "due_at"],
                condition=Q(queued=True, state__in=["draft", "awaiting_approval", "scheduled"]),
                name="publishing_delivery_one_queued_per_slot",
            ),
        ]
        indexes = [
            # deliveries_due: scheduled deliveries whose next attempt has come.
            models.Index(fields=["state", "next_attempt_at"], name="publishing_delivery_due"),
            # deliveries_recover_stuck: deliveries in publishing whose claim expired.
            models.Index(
                fields=["claimed_until"],
                condition=Q(state=DeliveryState.PUBLISHING),
                name="publishing_delivery_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} → {self.account_id} ({self.state})"


class DeliveryEvent(models.Model):
    """The audit trail: every change of a delivery's state, who made it (none for the engine) and why."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    from_state = models.CharField(max_length=20, choices=DeliveryState.choices)
    to_state = models.CharField(max_length=20, choices=DeliveryState.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.from_state} → {self.to_state}"


class QueueSchedule(models.Model):
    """When an account publishes what is added to its queue: weekly slots in the time zone of the schedule, so
    a 09:00 Europe/Paris slot stays at 09:00 in Paris across the changes of summer time."""

    account = models.OneToOneField(SocialAccount, on_delete=models.CASCADE, related_name="queue_schedule")
    timezone = models.CharField(_("time zone"), max_length=64, validators=[validate_timezone])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(timezone=""), name="publishing_queueschedule_timezone")]

    def __str__(self) -> str:
        return f"{self.account} ({self.timezone})"


class QueueSlot(models.Model):
    """One weekly slot: a weekday (0 = Monday) and a local time of day."""

    schedule = models.ForeignKey(QueueSchedule, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    time = models.TimeField(_("time"))

    class Meta:
        ordering = ["weekday", "time"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "weekday", "time"], name="publishing_queueslot_unique"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="publishing_queueslot_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.time:%H:%M}"


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", _("Checking")
    VALIDATED = "validated", _("Checked")
    INVALID = "invalid", _("Has problems")
    IMPORTING = "importing", _("Importing")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Failed")


class ImportMode(models.TextChoices):
    ALL = "all", _("Every row, or nothing while a row has a problem")
    GOOD_ROWS = "good_rows", _("The good rows only")


class PostImport(models.Model):
    """A CSV file of posts, checked then imported by a worker; the row is its state machine (validating →
    validated | invalid → importing → imported | failed), its progress bar and its per-row report."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(_("file name"), max_length=255)
    content = models.TextField()  # the decoded CSV, at most publishing.imports.MAX_BYTES
    status = models.CharField(_("status"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.VALIDATING)
    mode = models.CharField(_("mode"), max_length=12, choices=ImportMode.choices, default=ImportMode.ALL)
    rows_total = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    rows_good = models.PositiveIntegerField(default=0)
    rows_imported = models.PositiveIntegerField(default=0)
    # [{"row": 3, "column": "accounts", "message": "…"}]; row 1 is the header, as a spreadsheet numbers it.
    report = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)  # why an import that had started failed (everything was rolled back)
    # Each run claims the row by incrementing ``attempts`` and writes only while the number is its own;
    # ``claimed_until`` is its lease, after which the sweep hands the job to another run.
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="publishing_import_status"),
            models.CheckConstraint(condition=Q(mode__in=ImportMode.values), name="publishing_import_mode"),
            models.CheckConstraint(
                condition=Q(rows_checked__lte=F("rows_total"))
                & Q(rows_good__lte=F("rows_checked"))
                & Q(rows_imported__lte=F("rows_good")),
                name="publishing_import_counts",
            ),
            models.CheckConstraint(
                condition=~Q(status=ImportStatus.IMPORTED) | Q(finished_at__isnull=False),
                name="publishing_import_imported_has_finished_at",
            ),
        ]
        indexes = [
            # post_import_list: WHERE organization = ? ORDER BY created_at DESC.
            models.Index(fields=["organization", "-created_at"], name="publishing_import_org_time"),
            # post_imports_recover: WHERE status IN (validating, validated, importing) AND claimed_until < ?.
            models.Index(
                fields=["claimed_until"],
                condition=Q(status__in=["validating", "validated", "importing"]),
                name="publishing_import_live",
            ),
        ]

    def __str__(self) -> str:
        return f"import {self.id} ({self.file_name}, {self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (ImportStatus.VALIDATING, ImportStatus.VALIDATED, ImportStatus.IMPORTING)

    @property
    def rows_bad(self) -> int:
        return self.rows_checked - self.rows_good
