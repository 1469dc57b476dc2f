"""Reads of publishing, scoped to the acting organization."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import AccountGroup, Organization, Platform, SocialAccount, SocialAccountStatus
from smms.errors import NotFound, ValidationFailed

from .models import Campaign, Delivery, DeliveryEvent, DeliveryState, MediaAsset, Post, PostMedia, PostStatus
from .services import SIGNED_MEDIA_SALT, posted_text, text_check, text_problem


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


# --- the dashboard's pages --------------------------------------------------------------------------------------
def post_list(*, org: Organization, status: str = "", campaign_id: int | None = None) -> QuerySet[Post]:
    """The organization's posts, newest first, each with its deliveries and their accounts."""
    posts = (
        Post.objects.filter(organization=org)
        .select_related("campaign", "author")
        .prefetch_related(Prefetch("deliveries", Delivery.objects.select_related("account").order_by("id")))
    )
    if status:
        posts = posts.filter(status=status)
    if campaign_id is not None:
        posts = posts.filter(campaign_id=campaign_id)
    return posts.order_by("-created_at", "-id")


def post_trail(*, org: Organization, post: Post) -> QuerySet[DeliveryEvent]:
    """Every change of state of the post's deliveries, oldest first: the post's audit trail."""
    return DeliveryEvent.objects.filter(delivery__post=post, delivery__post__organization=org).select_related(
        "actor", "delivery__account"
    )


def campaign_list(*, org: Organization) -> QuerySet[Campaign]:
    return Campaign.objects.filter(organization=org).select_related("owner").annotate(post_count=Count("posts"))


def campaign_get(*, org: Organization, campaign_id: int) -> Campaign:
    """A campaign of the organization; any other id (another organization's included) is NotFound."""
    campaign = Campaign.objects.filter(organization=org, id=campaign_id).first()
    if campaign is None:
        raise NotFound(_("No such campaign."))
    return campaign


@dataclass(frozen=True)
class TextCheck:
    """How one network (on Mastodon, one instance) would count and take what the composer holds for it."""

    platform: str
    network: str
    text: str
    length: int
    limit: int
    problem: str | None
    instance: str = ""
    accounts: list[SocialAccount] = field(default_factory=list)
    media: Sequence[MediaAsset] = ()


def text_checks(
    *,
    accounts: Iterable[SocialAccount],
    text: str,
    variants: Mapping[str, tuple[str, str]],
    media: Sequence[MediaAsset] = (),
) -> list[TextCheck]:
    """Per network of ``accounts``, and per instance on Mastodon (each sets its own limit): the text as it
    would be posted (its variant, or ``text``), counted with that network's rules, the accounts it goes to,
    the images, and what the network would refuse — the same checks ``post_create`` makes."""
    by_target: dict[tuple[str, str], list[SocialAccount]] = {}
    for account in accounts:
        instance = (account.extra.get("instance") or "") if account.platform == Platform.MASTODON else ""
        by_target.setdefault((account.platform, instance), []).append(account)
    checks = []
    for (platform, instance), targets in sorted(by_target.items()):
        variant_text, link = variants.get(platform, (text, ""))
        posted = posted_text(variant_text, link)
        check = text_check(platform, posted, instance or None)
        checks.append(
            TextCheck(
                platform=platform,
                network=Platform(platform).label,
                text=posted,
                length=check.length,
                limit=check.limit,
                problem=text_problem(platform, variant_text, link, instance or None, media=media),
                instance=instance.removeprefix("https://").removeprefix("http://").rstrip("/"),
                accounts=targets,
                media=media,
            )
        )
    return checks


# --- composing: groups, images, drafts ----------------------------------------------------------------------
def group_accounts(*, org: Organization, group_ids: Iterable[int]) -> list[SocialAccount]:
    """The connected accounts of the organization's groups ``group_ids``: what choosing a group means."""
    groups = AccountGroup.objects.filter(organization=org, id__in=list(group_ids))
    return list(
        SocialAccount.objects.filter(
            organization=org, status=SocialAccountStatus.CONNECTED, groups__in=groups
        ).distinct().order_by("platform", "handle")
    )  # fmt: skip


def media_asset_get(*, org: Organization, asset_id: int) -> MediaAsset:
    """An image of the organization; any other id (another organization's included) is NotFound."""
    asset = MediaAsset.objects.filter(organization=org, id=asset_id).first()
    if asset is None:
        raise NotFound(_("No such image."))
    return asset


def media_asset_list(*, org: Organization, asset_ids: Sequence[int]) -> list[MediaAsset]:
    """The organization's images ``asset_ids``, in that order; an id it does not own is refused."""
    found = {a.id: a for a in MediaAsset.objects.filter(organization=org, id__in=list(asset_ids))}
    if any(asset_id not in found for asset_id in asset_ids):
        raise ValidationFailed(_("Some images are not in this organization."), field="media")
    return [found[asset_id] for asset_id in dict.fromkeys(asset_ids)]


def media_asset_from_token(*, token: str) -> MediaAsset:
    """The one image a signed public URL opens, while it has not expired; anything else is NotFound."""
    try:
        payload = signing.loads(token, salt=SIGNED_MEDIA_SALT, max_age=settings.SMMS_MEDIA_URL_MAX_AGE)
    except signing.BadSignature:  # expired signatures included
        raise NotFound(_("No such image.")) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), int):
        raise NotFound(_("No such image."))
    asset = MediaAsset.objects.filter(id=payload["a"], sha256__startswith=str(payload.get("h", ""))).first()
    if asset is None or not payload.get("h"):
        raise NotFound(_("No such image."))
    return asset


def post_media(*, org: Organization, post: Post) -> list[MediaAsset]:
    """The post's images, in order."""
    links = PostMedia.objects.filter(post=post, post__organization=org).select_related("asset").order_by("position")
    return [link.asset for link in links]


def post_send_back_comment(*, org: Organization, post: Post) -> str:
    """What the approver asked to change when the post was last sent back; empty when it never was."""
    event = (
        DeliveryEvent.objects.filter(
            delivery__post=post,
            delivery__post__organization=org,
            from_state=DeliveryState.AWAITING_APPROVAL,
            to_state=DeliveryState.DRAFT,
        )
        .exclude(detail="")
        .order_by("-at", "-id")
        .first()
    )
    return event.detail if event is not None else ""


# --- the calendar -----------------------------------------------------------------------------------------------
CALENDAR_STATUSES = (PostStatus.SCHEDULED, PostStatus.APPROVED, PostStatus.AWAITING_APPROVAL)


def calendar_posts(*, org: Organization, start: datetime, end: datetime) -> QuerySet[Post]:
    """The organization's posts planned in [start, end) that are on their way to a network (scheduled, or
    approved or awaiting approval with a time), earliest first, each with its deliveries' accounts."""
    return (
        Post.objects.filter(
            organization=org, status__in=CALENDAR_STATUSES, scheduled_at__gte=start, scheduled_at__lt=end
        )
        .prefetch_related(Prefetch("deliveries", Delivery.objects.select_related("account").order_by("id")))
        .order_by("scheduled_at", "id")
    )
