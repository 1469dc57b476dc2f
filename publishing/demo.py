"""Demo posts for `make run`: a campaign, a post waiting for the team lead, and one the worker publishes on the
simulator a couple of minutes after start, so every publishing page has something to show."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import Membership, SocialAccount
from accounts.platforms import capabilities

from . import services
from .models import Post


def seed_demo_posts(*, lead: Membership, agent: Membership, accounts: list[SocialAccount]) -> list[Post]:
    if Post.objects.filter(organization=lead.organization).exists():
        return []
    texts = [a for a in accounts if capabilities(a.platform).text_only_posts]
    french = [a for a in texts if "uk" not in a.handle.lower()]
    today = timezone.localdate()
    launch = services.campaign_save(
        actor=lead, name="Lancement Lumière X2", goal="Faire connaître la X2 avant Noël",
        starts_on=today, ends_on=today + timedelta(days=30), utm_campaign="lumiere-x2",
    )  # fmt: skip
    soon = services.post_create(
        actor=agent, campaign=launch, accounts=french,
        text="La Lumière X2 arrive en boutique ce samedi : venez l'essayer ! ✨",
        variants={"x": "La Lumière X2 arrive en boutique samedi ✨ #LumièreX2"},
    )  # fmt: skip
    services.post_submit(post=soon, actor=agent)
    services.post_schedule(post=soon, actor=lead, at=timezone.now() + timedelta(minutes=2))
    waiting = services.post_create(
        actor=agent, campaign=launch, accounts=french,
        text="Quiz du vendredi : combien de lumens pour la X2 ? Réponse lundi 💡",
    )  # fmt: skip
    services.post_submit(post=waiting, actor=agent)
    draft = services.post_create(
        actor=agent, accounts=[a for a in texts if "uk" in a.handle.lower()] or texts,
        text="Our winter collection is here: lamps that make long evenings shorter.",
    )  # fmt: skip
    return [soon, waiting, draft]
