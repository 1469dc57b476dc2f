"""`make run`'s demo has posts on every publishing page: one scheduled that the worker publishes on the
simulator, one waiting for the team lead, one draft, in a campaign."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import timezone

from publishing import services
from publishing.models import Delivery, Post


def test_the_demo_posts_cover_scheduled_waiting_and_draft_and_the_scheduled_one_publishes(db, simulator):
    call_command("seed_demo", stdout=None)
    statuses = sorted(Post.objects.values_list("status", flat=True))
    assert statuses == ["awaiting_approval", "draft", "scheduled"]
    assert {p.campaign.name for p in Post.objects.exclude(campaign=None)} == {"Lancement Lumière X2"}

    scheduled = Post.objects.get(status="scheduled")
    scheduled.deliveries.update(next_attempt_at=timezone.now(), due_at=timezone.now())
    for delivery_id in scheduled.deliveries.values_list("id", flat=True):
        assert services.delivery_publish(delivery_id=delivery_id) == "published"
    on_mastodon = [p["text"] for p in simulator.posts("mastodon")]
    assert any("La Lumière X2 arrive en boutique" in text for text in on_mastodon)
    assert Delivery.objects.filter(post=scheduled, state="published").count() == scheduled.deliveries.count() > 1
