"""Reads of publishing, scoped to the acting organization."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.conf import settings
from django.core import signing
from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import AccountGroup, Membership, Organization, Platform, SocialAccount, SocialAccountStatus
from smms.errors import NotFound, ValidationFailed

from .models import (
    Campaign,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    MediaAsset,
    Post,
    PostImport,
    PostMedia,
    PostStatus,
    QueueSchedule,
    QueueSlot,
)
from .services import OPEN_STATES, SIGNED_MEDIA_SALT, posted_text, queue_times, text_check, text_problem


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


def approval_queue(*, actor: Membership) -> list[Post]:
    """The posts awaiting approval that ``actor`` may approve under their authors' team rules, newest first."""
    org = actor.organization
    verdicts: dict[int | None, bool] = {}  # per author: the rules are the author's, not the post's
    queue = []
    for post in post_list(org=org, status=PostStatus.AWAITING_APPROVAL):
        if post.author_id not in verdicts:
            rules = account_selectors.approval_rules(org=org, author=post.author)
            verdicts[post.author_id] = (
                account_selectors.approval_refusal(approver=actor, author=post.author, rules=rules) is None
            )
        if verdicts[post.author_id]:
            queue.append(post)
    return queue


def may_approve(*, actor: Membership, post: Post) -> bool:
    """Whether ``actor`` may approve (or schedule unapproved) this post, as the services will decide."""
    rules = account_selectors.approval_rules(org=actor.organization, author=post.author)
    return account_selectors.approval_refusal(approver=actor, author=post.author, rules=rules) is None


def may_schedule_own_posts(*, actor: Membership) -> bool:
    """Whether ``actor``'s own new posts can be scheduled by them without anyone else's approval."""
    rules = account_selectors.approval_rules(org=actor.organization, author=actor.user)
    if not rules.requires_approval:
        return True
    return account_selectors.approval_refusal(approver=actor, author=actor.user, rules=rules) is None


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


# --- the queue --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueEntry:
    """One upcoming slot of an account's queue and the open deliveries due then (none: the slot is free)."""

    at: datetime
    deliveries: list[Delivery]


def post_is_queued(*, org: Organization, post: Post) -> bool:
    """Whether the post's open deliveries are on their accounts' queue slots (each at its own time)."""
    return Delivery.objects.filter(post=post, post__organization=org, queued=True, state__in=OPEN_STATES).exists()


def queue_schedule(*, org: Organization, account: SocialAccount) -> QueueSchedule | None:
    """The account's queue schedule with its slots, if the account is the organization's and has one."""
    return QueueSchedule.objects.filter(account=account, account__organization=org).prefetch_related("slots").first()


def queue_upcoming(
    *, org: Organization, account: SocialAccount, count: int = 10, after: datetime | None = None
) -> list[QueueEntry]:
    """The next ``count`` slots of the account's queue after now, each with what is booked in it."""
    schedule = queue_schedule(org=org, account=account)
    if schedule is None:
        return []
    times = list(
        islice(
            queue_times(
                tz=schedule.timezone,
                slots=[(slot.weekday, slot.time) for slot in schedule.slots.all()],
                after=after or timezone.now(),
            ),
            count,
        )
    )
    if not times:
        return []
    booked: dict[datetime, list[Delivery]] = {}
    deliveries = (
        Delivery.objects.filter(
            account=account,
            post__organization=org,
            state__in=OPEN_STATES,
            due_at__gte=times[0],
            due_at__lte=times[-1],
        )
        .select_related("post")
        .order_by("due_at", "id")
    )
    for delivery in deliveries:
        booked.setdefault(delivery.due_at, []).append(delivery)  # type: ignore[arg-type]
    return [QueueEntry(at=at, deliveries=booked.get(at, [])) for at in times]


def queue_overview(*, org: Organization) -> list[tuple[SocialAccount, int]]:
    """The organization's connected accounts with how many weekly queue slots each has."""
    accounts = account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED)
    counts = dict(
        QueueSlot.objects.filter(schedule__account__organization=org)
        .values_list("schedule__account_id")
        .annotate(n=Count("id"))
        .values_list("schedule__account_id", "n")
    )
    return [(account, counts.get(account.id, 0)) for account in accounts.order_by("platform", "handle")]


# --- CSV imports --------------------------------------------------------------------------------------------------
def post_import_get(*, org: Organization, import_id: int) -> PostImport:
    """An import of the organization; any other id (another organization's included) is NotFound."""
    job = PostImport.objects.filter(organization=org, id=import_id).select_related("uploaded_by").first()
    if job is None:
        raise NotFound(_("No such import."))
    return job


def post_import_list(*, org: Organization, limit: int = 10) -> QuerySet[PostImport]:
    """The organization's latest imports, newest first, without their files."""
    return (
        PostImport.objects.filter(organization=org)
        .select_related("uploaded_by")
        .defer("content", "report")
        .order_by("-created_at", "-id")[:limit]
    )


def post_import_posts(*, org: Organization, post_import: PostImport) -> QuerySet[Post]:
    """The posts an import made, in the order of the file's rows, with their deliveries' accounts."""
    return (
        Post.objects.filter(organization=org, post_import=post_import)
        .select_related("campaign")
        .prefetch_related(Prefetch("deliveries", Delivery.objects.select_related("account").order_by("id")))
        .order_by("id")
    )
