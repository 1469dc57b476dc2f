"""Models of analytics: what each published post earned on its network, fetched on a decaying schedule.

DeliveryMetrics is one row per published delivery: the latest counters and the work-queue state of its
schedule (next_fetch_at, the lease, how many fetches, why it stopped). MetricsSnapshot keeps every fetch, so
a post's growth can be drawn. A counter is None where the network does not report it: never invented.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import SocialAccount
from publishing.models import Delivery


class StopReason(models.TextChoices):
    SCHEDULE_DONE = "done", _("Schedule complete")
    AUTH_REVOKED = "auth_revoked", _("Access revoked")
    NOT_FOUND = "not_found", _("Post deleted on the network")
    NOT_SUPPORTED = "not_supported", _("Not available on this network")
    ACCOUNT_GONE = "account_disconnected", _("Account disconnected")


class Counts(models.Model):
    likes = models.PositiveIntegerField(_("likes"), null=True, blank=True)
    # Reposts, retweets, boosts, shares.
    shares = models.PositiveIntegerField(_("shares"), null=True, blank=True)
    replies = models.PositiveIntegerField(_("replies"), null=True, blank=True)
    quotes = models.PositiveIntegerField(_("quotes"), null=True, blank=True)
    impressions = models.PositiveBigIntegerField(_("impressions"), null=True, blank=True)
    views = models.PositiveBigIntegerField(_("views"), null=True, blank=True)

    class Meta:
        abstract = True


class DeliveryMetrics(Counts):
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, primary_key=True, related_name="metrics")
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    # None once the schedule has ended (stop_reason says why).
    next_fetch_at = models.DateTimeField(_("next fetch"), null=True, blank=True)
    # Handed to a worker until then: the dispatcher does not hand it out again meanwhile.
    leased_until = models.DateTimeField(null=True, blank=True)
    fetch_count = models.PositiveIntegerField(default=0)
    # How many fetches in a row the network's answer did not include the post (deleted, or an unreadable item).
    misses = models.PositiveSmallIntegerField(default=0)
    stop_reason = models.CharField(_("stopped"), max_length=24, choices=StopReason.choices, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name_plural = "delivery metrics"
        constraints = [
            models.CheckConstraint(
                condition=Q(stop_reason="") | Q(next_fetch_at__isnull=True), name="analytics_metrics_stopped_no_next"
            ),
            models.CheckConstraint(
                condition=Q(stop_reason__in=["", *StopReason.values]), name="analytics_metrics_stop_reason"
            ),
        ]
        indexes = [
            # metrics_due: rows whose next fetch has come, oldest first; stopped rows are not in the index.
            models.Index(
                fields=["next_fetch_at"], condition=Q(next_fetch_at__isnull=False), name="analytics_metrics_due"
            ),
        ]

    def __str__(self) -> str:
        return f"metrics of delivery {self.delivery_id}"


class MetricsSnapshot(Counts):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="metrics_snapshots")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # delivery_metrics_series and the campaign chart by day: one delivery's snapshots in time order.
            models.Index(fields=["delivery", "at"], name="analytics_snapshot_series"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at}"


class AccountAudience(models.Model):
    """An account's follower count, refreshed at most daily with its posts' figures, for the engagements per
    follower shown where the network gives no reach (Mastodon, Bluesky)."""

    account = models.OneToOneField(SocialAccount, on_delete=models.CASCADE, primary_key=True, related_name="audience")
    followers = models.PositiveIntegerField(_("followers"))
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.account_id}: {self.followers} followers"
