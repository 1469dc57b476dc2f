"""Helpers of the analytics tests: posts really published on simulated accounts, and crafted history."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from accounts import services as account_services
from accounts.demo import _sim_users, connect_simulated
from accounts.models import SocialAccount
from analytics.models import DeliveryMetrics
from publishing import services as publishing_services
from publishing.models import Delivery, DeliveryState, Post, PostStatus
from smms.connectors.types import Draft, MediaItem


def connect(personas, simulator, platform: str) -> SocialAccount:
    """The first account (Page, profile) that consenting as the network's first brand user gives."""
    return connect_simulated(personas.admin, platform, _sim_users(platform)[:1])[0]


def publish(personas, account: SocialAccount, text: str) -> Delivery:
    """A post published on the network through the engine (Instagram, which needs an image the composer cannot
    attach yet, through its connector), as a published delivery."""
    if account.platform == "instagram":
        connector, ref = account_services.social_account_connector(account=account)
        image = MediaItem(content=b"", mime_type="image/jpeg", public_url="https://cdn.example/spring.jpg")
        remote = connector.publish(ref, Draft(text=text, media=(image,)))
        return published(personas, account, remote.id, at=timezone.now(), text=text)
    post = publishing_services.post_create(actor=personas.lead, text=text, accounts=[account])
    publishing_services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    delivery = Delivery.objects.get(post=post)
    assert publishing_services.delivery_publish(delivery_id=delivery.id) == "published"
    delivery.refresh_from_db()
    return delivery


def published(personas, account: SocialAccount, remote_id: str, *, at: datetime, text: str = "Hi", campaign=None):
    """A delivery recorded as published at ``at`` (history the engine did not make)."""
    post = Post.objects.create(
        organization=account.organization, author=personas.lead.user, text=text, status=PostStatus.SCHEDULED,
        scheduled_at=at, campaign=campaign,
    )  # fmt: skip
    return Delivery.objects.create(
        post=post, account=account, state=DeliveryState.PUBLISHED, remote_id=remote_id, published_at=at, due_at=at
    )


def measured(delivery: Delivery, **counts) -> DeliveryMetrics:
    """Metrics stored for a delivery as if fetched."""
    row, _created = DeliveryMetrics.objects.update_or_create(
        delivery=delivery, defaults={"fetched_at": delivery.published_at, "fetch_count": 1, **counts}
    )
    return row
