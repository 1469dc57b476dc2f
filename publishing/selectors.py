"""Reads of publishing, scoped to the acting organization."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import Organization, SocialAccountStatus
from smms.errors import NotFound

from .models import Delivery, DeliveryEvent, Post


def index_context(*, org: Organization) -> dict[str, Any]:
    """The accounts a post can go to: connected ones, with their groups ("all French accounts")."""
    return {
        "accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED),
        "groups": account_selectors.account_group_list(org=org),
    }


def campaigns_context(*, org: Organization) -> dict[str, Any]:
    return {"groups": account_selectors.account_group_list(org=org)}


def post_get(*, org: Organization, post_id: int) -> Post:
    """A post of the organization; any other id (another organization's included) is NotFound."""
    post = Post.objects.filter(organization=org, id=post_id).select_related("campaign", "author").first()
    if post is None:
        raise NotFound(_("No such post."))
    return post


def delivery_list(*, org: Organization, post: Post | None = None, states: Iterable[str] = ()) -> QuerySet[Delivery]:
    deliveries = Delivery.objects.filter(post__organization=org).select_related("account", "post")
    if post is not None:
        deliveries = deliveries.filter(post=post)
    if states:
        deliveries = deliveries.filter(state__in=list(states))
    return deliveries


def delivery_events(*, org: Organization, delivery_id: int) -> QuerySet[DeliveryEvent]:
    """The audit trail of one of the organization's deliveries, oldest first."""
    return DeliveryEvent.objects.filter(delivery_id=delivery_id, delivery__post__organization=org).select_related(
        "actor"
    )
