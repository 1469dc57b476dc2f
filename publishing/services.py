"""Writes of publishing: keyword-only functions named <noun>_<verb>, see STYLE.md.

Two halves. The editorial one (campaign_save, post_create, post_submit, post_approve, post_send_back,
post_schedule, post_cancel) moves a post and its deliveries through draft → approval → schedule, recording
every change of a delivery's state in its DeliveryEvent trail.

The engine publishes each delivery exactly once:

1. ``deliveries_due`` hands out scheduled deliveries whose next attempt has come.
2. ``delivery_publish`` claims one with a single conditional UPDATE (scheduled → publishing); a worker that
   loses the race does nothing. It re-checks at send time what may have changed since scheduling (post
   cancelled or sent back, account disconnected, too late), then calls the network outside any transaction
   with the delivery's idempotency key, and stamps the network's id with an UPDATE guarded by the claim.
3. A lost answer (timeout, reset, unreadable 2xx) may hide a post that exists: the delivery is flagged
   ``unknown_outcome`` and the network is asked (``find_post``) before anything is sent again.
4. Transient failures go back to scheduled with backoff and jitter (honouring the network's reset time),
   permanent ones end as failed with a reason a person understands; the author is e-mailed and the
   organization's webhooks receive ``delivery.failed`` (``delivery.published`` on success).
5. ``deliveries_recover_stuck`` takes over deliveries whose worker died mid-publish (claim expired): it asks
   the network first, then stamps the post it finds or puts the delivery back on the schedule.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import (
    AccountGroup,
    Membership,
    NotificationKind,
    Platform,
    PlatformApp,
    SocialAccount,
    SocialAccountStatus,
    User,
)
from accounts.platforms import CONNECTABLE, capabilities, connector_for, mastodon_instance
from accounts.roles import Perm, role_allows
from accounts.services import require
from crm_bridge.services import event_publish
from smms.connectors import errors as cx
from smms.connectors.base import Connector
from smms.connectors.bluesky import MAX_IMAGE_BYTES as BLUESKY_MAX_IMAGE_BYTES
from smms.connectors.mastodon import MastodonConnector
from smms.connectors.types import AccountRef, Draft, MediaItem, RemotePost, TextCheck
from smms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from smms.lib import images
from smms.lib.backoff import attempt_failed, outcome_unknown, retry_at
from smms.lib.db import commit_without_waiting_for_disk, db_datetime, update_returning

from .links import utm_tagged
from .models import (
    Campaign,
    Delivery,
    DeliveryEvent,
    DeliveryState,
    MediaAsset,
    Post,
    PostMedia,
    PostStatus,
    PostVariant,
    QueueSchedule,
    QueueSlot,
)

logger = logging.getLogger(__name__)

S = DeliveryState
# The dispatcher does not queue a delivery again for this long, unless its attempt ends first.
DISPATCH_LEASE = timedelta(seconds=30)
# How far before the due time find_post looks for our post (clock differences, an early first attempt).
RECONCILE_MARGIN = timedelta(minutes=10)
# A time "now" typed in a form is a few seconds old when it arrives.
SCHEDULE_GRACE = timedelta(minutes=1)
# Editorial changes move the deliveries that are not under way or finished.
OPEN_STATES = (S.DRAFT, S.AWAITING_APPROVAL, S.SCHEDULED)


# --- campaigns --------------------------------------------------------------------------------------------
def campaign_save(
    *,
    actor: Membership,
    name: str,
    goal: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    utm_campaign: str = "",
    owner: User | None = None,
    campaign: Campaign | None = None,
) -> Campaign:
    """Create or update a campaign. Team leads and above plan campaigns; the UTM tag defaults to the name."""
    require(actor, Perm.APPROVE_POSTS)
    org_id = actor.organization_id
    if campaign is not None and campaign.organization_id != org_id:
        raise NotFound(_("No such campaign."))
    name = name.strip()
    if not name:
        raise ValidationFailed(_("A campaign needs a name."), field="name")
    if starts_on and ends_on and ends_on < starts_on:
        raise ValidationFailed(_("A campaign cannot end before it starts."), field="ends_on")
    utm = slugify(utm_campaign or name)[:80]
    if not utm:
        raise ValidationFailed(_("The UTM campaign needs letters or digits."), field="utm_campaign")
    if owner is None:  # an edit keeps the campaign's owner; a new campaign belongs to whoever plans it
        owner = campaign.owner if campaign is not None and campaign.owner is not None else actor.user
    if (
        owner != (campaign.owner if campaign is not None else None)
        and not Membership.objects.filter(organization_id=org_id, user=owner).exists()
    ):
        raise ValidationFailed(_("The owner must be a member of the organization."), field="owner")
    values = {"name": name, "goal": goal, "starts_on": starts_on, "ends_on": ends_on, "utm_campaign": utm}
    try:
        with transaction.atomic():
            if campaign is None:
                campaign = Campaign.objects.create(organization_id=org_id, owner=owner, **values)
            else:
                for field, value in values.items():
                    setattr(campaign, field, value)
                campaign.owner = owner
                campaign.save(update_fields=[*values, "owner", "updated_at"])
    except IntegrityError:
        raise Conflict(_("A campaign with this name exists."), field="name") from None
    return campaign


def campaign_delete(*, campaign: Campaign, actor: Membership) -> None:
    """Delete a campaign no post uses. Locking the row waits for a post being created with it (its foreign key
    holds a share lock), so the check cannot miss one."""
    require(actor, Perm.APPROVE_POSTS)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(id=campaign.id, organization_id=actor.organization_id)
        if locked.posts.exists():
            raise Conflict(_("Posts belong to this campaign: move or delete them before deleting it."))
        locked.delete()


# --- media ----------------------------------------------------------------------------------------------------
MB = 1024 * 1024
ANY_IMAGE = frozenset(images.EXTENSIONS)


@dataclass(frozen=True)
class MediaRule:
    """What one network takes as images (see ../shared/platforms/<network>.md); the count is the connector's
    ``capabilities.max_media``."""

    types: frozenset[str] = ANY_IMAGE
    max_bytes: int = 5 * MB
    required: bool = False


MEDIA_RULES = {
    # The instance announces its own limits; 16 MB is Mastodon's default (the simulator's too).
    "mastodon": MediaRule(max_bytes=16 * MB),
    "bluesky": MediaRule(max_bytes=BLUESKY_MAX_IMAGE_BYTES),
    "x": MediaRule(max_bytes=5 * MB),
    "facebook": MediaRule(types=frozenset({images.JPEG, images.PNG, images.GIF}), max_bytes=4 * MB),
    # No text-only posts on Instagram, and the feed takes JPEG only.
    "instagram": MediaRule(types=frozenset({images.JPEG}), max_bytes=8 * MB, required=True),
}
TYPE_NAMES = {images.JPEG: "JPEG", images.PNG: "PNG", images.GIF: "GIF", images.WEBP: "WebP"}
ALT_TEXT_MAX = 1500
SIGNED_MEDIA_SALT = "publishing.media.public"


def _file_name(name: str) -> str:
    """The uploader's name for a file, for display only: no folders, no control characters, bounded."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return name.strip()[:200]


def megabytes(size: int) -> str:
    """A size for people: 2 MB, 1.5 MB."""
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def media_asset_upload(*, actor: Membership, file: IO[bytes], name: str = "", alt_text: str = "") -> MediaAsset:
    """Store an image for the actor's organization. Its type is read from its first bytes: a page or a text
    named .jpg is refused, whatever the browser said. The bytes are read up to the size cap, never beyond."""
    require(actor, Perm.COMPOSE_POSTS)
    shown = _file_name(name)
    limit = settings.SMMS_MEDIA_MAX_BYTES
    data = file.read(limit + 1)
    if not data:
        raise ValidationFailed(_("%(file)s is empty.") % {"file": shown or _("The file")}, field="media")
    if len(data) > limit:
        raise ValidationFailed(
            _("%(file)s is too large: images can be at most %(max)s MB.")
            % {"file": shown or _("The file"), "max": megabytes(limit)},
            field="media",
        )
    info = images.sniff(data)
    if info is None:
        raise ValidationFailed(
            _("%(file)s is not an image SMMS can post: only JPEG, PNG, GIF and WebP images are accepted.")
            % {"file": shown or _("The file")},
            field="media",
        )
    alt_text = alt_text.strip()
    if len(alt_text) > ALT_TEXT_MAX:
        raise ValidationFailed(_("The alternative text is too long."), field="media")
    asset = MediaAsset(
        organization_id=actor.organization_id, uploaded_by=actor.user, name=shown, mime_type=info.mime_type,
        size=len(data), width=info.width, height=info.height, alt_text=alt_text,
        sha256=hashlib.sha256(data).hexdigest(),
    )  # fmt: skip
    asset.file.save("upload", ContentFile(data), save=False)
    asset.save()
    return asset


def media_problem(platform: str, media: Sequence[MediaAsset]) -> str | None:
    """Why ``platform`` would refuse these images, naming the network and the file; None when they fit."""
    network = Platform(platform).label
    rule = MEDIA_RULES.get(platform, MediaRule())
    caps = capabilities(platform)
    if not media:
        if rule.required:
            return _("%(network)s posts need an image: add one, or leave %(network)s out.") % {"network": network}
        return None
    if not caps.media:
        return _("SMMS cannot attach images on %(network)s.") % {"network": network}
    if len(media) > caps.max_media:
        return _("%(network)s takes at most %(max)s images per post; this post has %(count)s.") % {
            "network": network,
            "max": caps.max_media,
            "count": len(media),
        }
    for asset in media:
        if asset.mime_type not in rule.types:
            return _("%(network)s does not take %(type)s images: %(file)s. Use %(accepted)s.") % {
                "network": network,
                "type": TYPE_NAMES.get(asset.mime_type, asset.mime_type),
                "file": asset,
                "accepted": ", ".join(sorted(TYPE_NAMES[t] for t in rule.types)),
            }
        if asset.size > rule.max_bytes:
            return _("%(file)s is too large for %(network)s: %(size)s MB where at most %(max)s MB are allowed.") % {
                "network": network,
                "file": asset,
                "size": megabytes(asset.size),
                "max": megabytes(rule.max_bytes),
            }
    return None


def media_public_url(*, asset: MediaAsset) -> str:
    """An unguessable address serving this one image to anyone for SMMS_MEDIA_URL_MAX_AGE seconds: networks
    that fetch images themselves (Facebook, Instagram) get it. The signature covers the asset and its
    content, so it opens no other asset."""
    token = signing.dumps({"a": asset.id, "h": asset.sha256[:16]}, salt=SIGNED_MEDIA_SALT)
    return f"{settings.SMMS_PUBLIC_BASE_URL.rstrip('/')}{reverse('media_public', kwargs={'token': token})}"


def _media_items(post: Post) -> tuple[MediaItem, ...]:
    items = []
    for link in post.media.all():  # prefetched with their assets by deliveries_publish
        asset = link.asset
        try:
            with asset.file.open("rb") as f:
                content = f.read()
        except OSError as exc:  # the storage lost it: say so, rather than leave the delivery stuck
            raise cx.ValidationError(f"the image {asset} cannot be read from storage ({exc})") from exc
        items.append(
            MediaItem(
                content=content, mime_type=asset.mime_type, alt_text=asset.alt_text,
                public_url=media_public_url(asset=asset),
            )
        )  # fmt: skip
    return tuple(items)


# --- composing ------------------------------------------------------------------------------------------------
def posted_text(text: str, link: str | None) -> str:
    """The text as the networks publish it: the link is appended unless the text already carries it."""
    if not link or link in text:
        return text
    return f"{text.rstrip()}\n{link}" if text.strip() else link


def _variant_values(platform: str, value: str | Mapping[str, str]) -> tuple[str, str]:
    if platform not in Platform.values:
        raise ValidationFailed(_("Unknown network %(network)s.") % {"network": platform}, field="variants")
    if isinstance(value, str):
        return value, ""
    return str(value.get("text", "")), str(value.get("link", "") or "")


# An instance's own status limit is asked once a day; one that does not answer is asked again after this.
INSTANCE_LIMIT_TTL = 24 * 3600
INSTANCE_LIMIT_RETRY = 600


def _mastodon_limit(instance: str | None) -> int | None:
    """The status limit of a Mastodon instance SMMS is registered on (cached); None for Mastodon's default,
    when SMMS has no app there or the instance does not say."""
    base = mastodon_instance(instance)
    key = f"publishing:mastodon-max-characters:{base}"
    cached = cache.get(key)
    if cached is not None:
        return int(cached) or None
    if not PlatformApp.objects.filter(platform=Platform.MASTODON, instance=base).exists():
        return None
    connector = connector_for(Platform.MASTODON, instance=base)
    try:
        limit = connector.max_characters() if isinstance(connector, MastodonConnector) else 0
    except cx.ConnectorError as exc:
        logger.warning("could not read the status limit of %s: %s", base, exc)
        cache.set(key, 0, INSTANCE_LIMIT_RETRY)
        return None
    cache.set(key, limit, INSTANCE_LIMIT_TTL)
    return limit or None


def text_check(platform: str, posted: str, instance: str | None = None) -> TextCheck:
    """How ``platform`` counts the text as posted; on Mastodon with that instance's own limit."""
    connector = connector_for(platform, instance=instance)
    if isinstance(connector, MastodonConnector):
        limit = _mastodon_limit(instance)
        if limit is not None:
            return connector.validate_text(posted, limit)
    return connector.validate_text(posted)


def text_problem(
    platform: str, text: str, link: str, instance: str | None, *, media: Sequence[MediaAsset] = ()
) -> str | None:
    """Why ``platform`` (on Mastodon, that ``instance``) would refuse this text with these images, in words
    for the author; None when it fits. The composer's live check and ``post_create`` both ask it."""
    network = Platform(platform).label
    if platform not in CONNECTABLE or not capabilities(platform).publish:
        return _("SMMS cannot publish on %(network)s yet.") % {"network": network}
    problem = media_problem(platform, media)
    if problem is not None:
        return problem
    if not text.strip() and not link:  # the connectors send no status without text, even with an image
        return _("The %(network)s version has no text.") % {"network": network}
    check = text_check(platform, posted_text(text, link), instance)
    if check.ok:
        return None
    if check.length > check.limit:
        return _("The %(network)s version is too long: %(length)s characters where %(limit)s are allowed.") % {
            "network": network,
            "length": check.length,
            "limit": check.limit,
        }
    return _("%(network)s cannot publish this text: %(problems)s") % {
        "network": network,
        "problems": "; ".join(check.problems),
    }


def post_create(
    *,
    actor: Membership,
    text: str,
    accounts: Iterable[SocialAccount],
    variants: Mapping[str, str | Mapping[str, str]] | None = None,
    scheduled_at: datetime | None = None,
    campaign: Campaign | None = None,
    media: Sequence[MediaAsset] = (),
    alt_texts: Mapping[int, str] | None = None,
    first_comment: str = "",
) -> Post:
    """A draft post for ``accounts`` (one delivery each). ``variants`` maps a network to the text (or
    {"text", "link"}) its accounts get instead of ``text``; ``media`` are its images in order, with their
    alternative text changed as ``alt_texts`` (asset id → text) says. Every network's text and images are
    checked with that network's rules now, not discovered refused at publishing time. ``first_comment`` is
    posted under the post on Facebook and Instagram once it is published."""
    require(actor, Perm.COMPOSE_POSTS)
    targets, specs, assets = _composed(actor, text, accounts, variants, scheduled_at, campaign, media, alt_texts)
    first_comment = _first_comment_checked(first_comment)
    with transaction.atomic():
        post = Post.objects.create(
            organization_id=actor.organization_id, campaign=campaign, author=actor.user, text=text,
            scheduled_at=scheduled_at, first_comment=first_comment,
        )  # fmt: skip
        _deliveries_make(post, targets, specs)
        _media_attach(post, assets)
    return post


def post_update(
    *,
    post: Post,
    actor: Membership,
    text: str,
    accounts: Iterable[SocialAccount],
    variants: Mapping[str, str | Mapping[str, str]] | None = None,
    scheduled_at: datetime | None = None,
    campaign: Campaign | None = None,
    media: Sequence[MediaAsset] | None = None,
    alt_texts: Mapping[int, str] | None = None,
    first_comment: str | None = None,
) -> Post:
    """Rewrite a draft (a new one, or one sent back): its text, variants, accounts, time, campaign, images and
    first comment (``media`` and ``first_comment`` None keep them), checked as when it was composed. Only
    drafts change: what was submitted is what the approver approves."""
    if media is None:
        media = [link.asset for link in PostMedia.objects.filter(post_id=post.id).select_related("asset")]
    targets, specs, assets = _composed(actor, text, accounts, variants, scheduled_at, campaign, media, alt_texts)
    comment = None if first_comment is None else _first_comment_checked(first_comment)
    refusal = _("Only a draft can be changed: send it back first.")
    with _editing(post, actor, Perm.COMPOSE_POSTS, when=PostStatus.DRAFT, refusal=refusal) as post:
        post.text, post.scheduled_at, post.campaign = text, scheduled_at, campaign
        if comment is not None:
            post.first_comment = comment
        post.save(update_fields=["text", "scheduled_at", "campaign", "first_comment", "updated_at"])
        # Accounts kept keep their delivery and its trail; accounts dropped lose a delivery that never left.
        post.deliveries.exclude(account__in=targets).delete()
        post.variants.all().delete()
        kept = {d.account_id: d for d in post.deliveries.select_related("account")}
        by_platform = _deliveries_make(post, [a for a in targets if a.id not in kept], specs)
        for delivery in kept.values():
            delivery.variant = by_platform.get(delivery.account.platform)
        Delivery.objects.bulk_update(kept.values(), ["variant"])
        DeliveryEvent.objects.bulk_create(
            DeliveryEvent(delivery=delivery, from_state=S.DRAFT, to_state=S.DRAFT, actor=actor.user,
                          detail=_("Post edited."))
            for delivery in kept.values()
        )  # fmt: skip
        post.media.all().delete()
        _media_attach(post, assets)
        return post


def _composed(
    actor: Membership,
    text: str,
    accounts: Iterable[SocialAccount],
    variants: Mapping[str, str | Mapping[str, str]] | None,
    scheduled_at: datetime | None,
    campaign: Campaign | None,
    media: Sequence[MediaAsset] = (),
    alt_texts: Mapping[int, str] | None = None,
) -> tuple[list[SocialAccount], dict[str, tuple[str, str]], list[MediaAsset]]:
    """The accounts, the per-network (text, link) and the images of a post being written, checked: the
    accounts are the organization's and connected, the campaign and images too, the time ahead, and every
    network's text and images fit (each Mastodon instance with its own limits)."""
    require(actor, Perm.COMPOSE_POSTS)
    org_id = actor.organization_id
    targets = list({account.id: account for account in accounts}.values())
    if not targets:
        raise ValidationFailed(_("Choose at least one account."), field="accounts")
    if any(account.organization_id != org_id for account in targets):
        raise ValidationFailed(_("Some accounts are not in this organization."), field="accounts")
    for account in targets:
        if account.status != SocialAccountStatus.CONNECTED:
            raise ValidationFailed(
                _("%(account)s needs reconnecting before anything can be published on it.") % {"account": account},
                field="accounts",
            )
    if campaign is not None and campaign.organization_id != org_id:
        raise ValidationFailed(_("This campaign is not in this organization."), field="campaign")
    if scheduled_at is not None and scheduled_at < timezone.now() - SCHEDULE_GRACE:
        raise ValidationFailed(_("Choose a time in the future."), field="scheduled_at")
    assets = list({asset.id: asset for asset in media}.values())
    if any(asset.organization_id != org_id for asset in assets):
        raise ValidationFailed(_("Some images are not in this organization."), field="media")
    for asset in assets:
        alt = (alt_texts or {}).get(asset.id)
        if alt is not None:
            if len(alt.strip()) > ALT_TEXT_MAX:
                raise ValidationFailed(_("The alternative text is too long."), field="media")
            asset.alt_text = alt.strip()
    specs = _specs(variants, campaign)
    for platform, problem in _text_problems(text, targets, specs, assets):
        field = "media" if media_problem(platform, assets) else "variants" if platform in specs else "text"
        raise ValidationFailed(problem, field=field)
    return targets, specs, assets


def post_text_problems(
    *,
    text: str,
    accounts: Iterable[SocialAccount],
    variants: Mapping[str, str | Mapping[str, str]] | None = None,
    campaign: Campaign | None = None,
) -> list[tuple[str, str]]:
    """Every (network, problem) that ``post_create`` would refuse in the texts of a post without images, where
    it stops at the first: for a report listing them all (the CSV import)."""
    return list(_text_problems(text, accounts, _specs(variants, campaign)))


def _specs(
    variants: Mapping[str, str | Mapping[str, str]] | None, campaign: Campaign | None
) -> dict[str, tuple[str, str]]:
    """The per-network (text, link) of the variants; a campaign's links carry its UTM tag and the network."""
    specs = {platform: _variant_values(platform, value) for platform, value in (variants or {}).items()}
    if campaign is not None:
        specs = {
            platform: (variant_text, utm_tagged(link, source=platform, campaign=campaign.utm_campaign) if link else "")
            for platform, (variant_text, link) in specs.items()
        }
    return specs


def _text_problems(
    text: str,
    targets: Iterable[SocialAccount],
    specs: Mapping[str, tuple[str, str]],
    assets: Sequence[MediaAsset] = (),
) -> Iterator[tuple[str, str]]:
    """(network, problem) for every network of ``targets`` (and of ``specs``) whose text or images it would
    refuse; each Mastodon instance with its own limits."""
    instances: dict[str, set[str | None]] = {}
    for account in targets:
        instances.setdefault(account.platform, set()).add(account.extra.get("instance"))
    for platform in dict.fromkeys([*instances, *specs]):
        variant_text, link = specs.get(platform, (text, ""))
        for instance in sorted(instances.get(platform, {None}), key=str):
            problem = text_problem(platform, variant_text, link, instance, media=assets)
            if problem is not None:
                yield platform, problem


# Networks where a post's first comment is posted under it; Instagram's comments hold 2,200 characters.
FIRST_COMMENT_NETWORKS = (Platform.FACEBOOK, Platform.INSTAGRAM)
FIRST_COMMENT_MAX = 2200


def _first_comment_checked(text: str) -> str:
    text = text.strip()
    if len(text) > FIRST_COMMENT_MAX:
        raise ValidationFailed(
            _("The first comment is too long: %(length)s characters where %(limit)s are allowed.")
            % {"length": len(text), "limit": FIRST_COMMENT_MAX},
            field="first_comment",
        )
    return text


def _media_attach(post: Post, assets: list[MediaAsset]) -> None:
    """Link the images to the post in order, saving the alternative texts changed in the composer."""
    MediaAsset.objects.bulk_update(assets, ["alt_text"])
    PostMedia.objects.bulk_create(
        PostMedia(post=post, asset=asset, position=position) for position, asset in enumerate(assets)
    )


def _deliveries_make(
    post: Post, targets: list[SocialAccount], specs: dict[str, tuple[str, str]]
) -> dict[str, PostVariant]:
    """The post's variants, and a delivery for each of ``targets``; returns the variants by network."""
    by_platform = {
        platform: PostVariant.objects.create(post=post, platform=platform, text=variant_text, link=link)
        for platform, (variant_text, link) in specs.items()
    }
    Delivery.objects.bulk_create(
        Delivery(post=post, account=account, variant=by_platform.get(account.platform)) for account in targets
    )
    return by_platform


def _locked(post: Post, actor: Membership) -> Post:
    """The post, locked for this transaction, if it is the actor's organization's."""
    if post.organization_id != actor.organization_id:
        raise NotFound(_("No such post."))
    return Post.objects.select_for_update().get(id=post.id)


def _move(
    post: Post,
    *,
    actor: Membership | None,
    status: str,
    deliveries_from: Iterable[str],
    deliveries_to: str,
    detail: str = "",
    **fields: Any,
) -> Post:
    """Set the post's status and move its deliveries that are in ``deliveries_from``, each change in the
    trail. Runs inside the caller's transaction, with the post locked."""
    now = timezone.now()
    post_fields: dict[str, Any] = {"status": status, "updated_at": now}
    if "due_at" in fields:
        post_fields["scheduled_at"] = fields["due_at"]
    Post.objects.filter(id=post.id).update(**post_fields)
    moving = list(
        Delivery.objects.select_for_update()
        .filter(post=post, state__in=list(deliveries_from))
        .values_list("id", "state")
    )
    Delivery.objects.filter(id__in=[delivery_id for delivery_id, _state in moving]).update(
        state=deliveries_to, updated_at=now, **fields
    )
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(
            delivery_id=delivery_id,
            from_state=state,
            to_state=deliveries_to,
            actor=actor.user if actor else None,
            detail=detail,
        )
        for delivery_id, state in moving
        if state != deliveries_to or detail
    )
    post.refresh_from_db()
    return post


def _scheduling(at: datetime) -> dict[str, Any]:
    """Delivery fields that put a delivery on the schedule at ``at``, with a fresh round of attempts. The
    idempotency key and the unknown_outcome flag are kept: a post that may exist is looked for first."""
    return {
        "due_at": at,
        "next_attempt_at": at,
        "attempts": 0,
        "dispatched_until": None,
        "last_error": "",
        "error_code": "",
        "failure_notified_at": None,
    }


@contextmanager
def _editing(post: Post, actor: Membership, perm: Perm, *, when: str, refusal: str) -> Iterator[Post]:
    """Check the actor's right, lock the post and check it is in status ``when``, for one transaction."""
    require(actor, perm)
    with transaction.atomic():
        locked = _locked(post, actor)
        if locked.status != when:
            raise Conflict(refusal)
        yield locked


def post_submit(*, post: Post, actor: Membership) -> Post:
    """Send a draft for approval. Everyone who may approve it under the author's team rules is told."""
    refusal = _("Only a draft can be sent for approval.")
    with _editing(post, actor, Perm.COMPOSE_POSTS, when=PostStatus.DRAFT, refusal=refusal) as post:
        rules = account_selectors.approval_rules(org=actor.organization, author=post.author)
        post = _move(
            post,
            actor=actor,
            status=PostStatus.AWAITING_APPROVAL,
            deliveries_from=[S.DRAFT],
            deliveries_to=S.AWAITING_APPROVAL,
            detail=_submitted_detail(rules),
        )
        approvers = account_selectors.approver_list(org=actor.organization, author=post.author, rules=rules)
        _editorial_news(post, actor, "post.submitted", NotificationKind.POST_SUBMITTED, [m.user for m in approvers])
        return post


def _submitted_detail(rules: account_selectors.ApprovalRules) -> str:
    """The audit trail's record of why the post waits for approval."""
    if not rules.requires_approval:
        return _("Sent for approval, although the author's rules do not require it.")
    if rules.team_names:
        return _("Sent for approval, as the rules of %(teams)s require.") % {"teams": ", ".join(rules.team_names)}
    return _("Sent for approval, as the organization's rules require.")


def _check_approver(post: Post, actor: Membership) -> account_selectors.ApprovalRules:
    """The rules of the post's author, if ``actor`` may approve under them; Forbidden with the reason if not."""
    rules = account_selectors.approval_rules(org=actor.organization, author=post.author)
    refused = account_selectors.approval_refusal(approver=actor, author=post.author, rules=rules)
    if refused is not None:
        raise Forbidden(refused)
    return rules


def _editorial_news(post: Post, actor: Membership, event: str, kind: str, recipients: list[User], **extra: Any) -> None:
    """Tell the organization's webhooks and the people concerned about an editorial step, in its transaction."""
    author = post.author
    event_publish(
        organization_id=post.organization_id,
        event=event,
        data={
            "post": post.id,
            "status": post.status,
            "text": post.text,
            "author": author.email if author is not None else None,
            "actor": actor.user.email if actor.user is not None else None,
            "scheduled_at": post.scheduled_at,
            **extra,
        },
    )
    account_services.notifications_create(
        organization_id=post.organization_id,
        recipients=recipients,
        kind=kind,
        params={
            "actor": str(actor.user) if actor.user is not None else "SMMS",
            "excerpt": account_services.excerpt(post.text),
            "text": post.text,
            **extra,
        },
        link=reverse("post_detail", args=[post.id]),
        actor=actor.user,
    )


def post_approve(*, post: Post, actor: Membership) -> Post:
    """Approve a post awaiting approval. With a time still ahead it is scheduled at once; otherwise it is
    approved and its deliveries wait, as drafts, for ``post_schedule``. The author's team rules say who may."""
    refusal = _("Only a post awaiting approval can be approved.")
    with _editing(post, actor, Perm.APPROVE_POSTS, when=PostStatus.AWAITING_APPROVAL, refusal=refusal) as post:
        _check_approver(post, actor)
        if _has_queued(post):  # each delivery keeps its queue slot, or takes the next free one if it is past
            post = _queue_place(
                post, actor=actor, deliveries_from=[S.AWAITING_APPROVAL], deliveries_to=S.SCHEDULED, keep=True,
                detail=_("Approved"),
            )  # fmt: skip
            _editorial_news(post, actor, "post.approved", NotificationKind.POST_APPROVED, _author(post))
            return post
        at = post.scheduled_at
        scheduling = _scheduling(at) if at is not None and at >= timezone.now() - SCHEDULE_GRACE else {}
        post = _move(
            post,
            actor=actor,
            status=PostStatus.SCHEDULED if scheduling else PostStatus.APPROVED,
            deliveries_from=[S.AWAITING_APPROVAL],
            deliveries_to=S.SCHEDULED if scheduling else S.DRAFT,
            detail=_("Approved"),
            **scheduling,
        )
        _editorial_news(post, actor, "post.approved", NotificationKind.POST_APPROVED, _author(post))
        return post


def _author(post: Post) -> list[User]:
    return [post.author] if post.author is not None else []


def post_send_back(*, post: Post, actor: Membership, comment: str) -> Post:
    """Return a post awaiting approval to its author as a draft, saying what to change."""
    comment = comment.strip()
    if not comment:
        raise ValidationFailed(_("Say what should change."), field="comment")
    refusal = _("Only a post awaiting approval can be sent back.")
    with _editing(post, actor, Perm.APPROVE_POSTS, when=PostStatus.AWAITING_APPROVAL, refusal=refusal) as post:
        _check_approver(post, actor)
        post = _move(
            post,
            actor=actor,
            status=PostStatus.DRAFT,
            deliveries_from=[S.AWAITING_APPROVAL],
            deliveries_to=S.DRAFT,
            detail=comment,
        )
        _editorial_news(post, actor, "post.sent_back", NotificationKind.POST_SENT_BACK, _author(post), comment=comment)
        return post


def post_schedule(*, post: Post, actor: Membership, at: datetime | None = None) -> Post:
    """Schedule (or reschedule) an approved post at ``at`` (default: its planned time). A draft (or a post
    awaiting approval) is scheduled directly by its author when the author's team rules require no approval,
    or by a member who may approve it under those rules: that is their approval. Failed deliveries are
    scheduled again."""
    require(actor, Perm.COMPOSE_POSTS)
    with transaction.atomic():
        post = _locked(post, actor)
        keep_queue = at is None and _has_queued(post)  # no time given: a queued post keeps its queue slots
        at = at or post.scheduled_at
        if at is None:
            raise ValidationFailed(_("Choose when to publish."), field="scheduled_at")
        if at < timezone.now() - SCHEDULE_GRACE and not keep_queue:
            raise ValidationFailed(_("Choose a time in the future."), field="scheduled_at")
        if post.status == PostStatus.CANCELLED:
            raise Conflict(_("This post was cancelled."))
        detail, approved = "", False
        if post.status in (PostStatus.DRAFT, PostStatus.AWAITING_APPROVAL):
            detail, approved = _direct_scheduling(post, actor)
        if keep_queue:
            post = _queue_place(
                post, actor=actor, deliveries_from=[*OPEN_STATES, S.FAILED], deliveries_to=S.SCHEDULED, keep=True,
                detail=detail,
            )  # fmt: skip
        else:
            post = _move(
                post,
                actor=actor,
                status=PostStatus.SCHEDULED,
                deliveries_from=[*OPEN_STATES, S.FAILED],
                deliveries_to=S.SCHEDULED,
                detail=detail,
                queued=False,  # a time chosen by hand (the calendar's drag and drop) takes the post out of the queue
                **_scheduling(at),
            )
        if approved:
            _editorial_news(post, actor, "post.approved", NotificationKind.POST_APPROVED, _author(post))
        return post


def _direct_scheduling(post: Post, actor: Membership) -> tuple[str, bool]:
    """May ``actor`` schedule this unapproved post? The trail's detail, and whether it counts as an approval;
    Forbidden, saying why, when they may not."""
    rules = account_selectors.approval_rules(org=actor.organization, author=post.author)
    if post.author_id == actor.user_id and not rules.requires_approval:
        if rules.team_names:
            why = _("Scheduled without approval: the rules of %(teams)s do not require it.")
            return why % {"teams": ", ".join(rules.team_names)}, False
        return _("Scheduled without approval: the organization's rules do not require it."), False
    if not role_allows(actor.role, Perm.APPROVE_POSTS):
        raise Forbidden(_("This post needs approval before it can be scheduled."))
    refused = account_selectors.approval_refusal(approver=actor, author=post.author, rules=rules)
    if refused is not None:
        raise Forbidden(refused)
    return _("Approved"), True


def post_cancel(*, post: Post, actor: Membership) -> Post:
    """Stop a post: deliveries not yet under way are cancelled; one being sent right now is cancelled by
    the engine's send-time check if it has not reached the network yet."""
    require(actor, Perm.COMPOSE_POSTS)
    with transaction.atomic():
        post = _locked(post, actor)
        if post.status == PostStatus.CANCELLED:
            return post
        if not post.deliveries.filter(state__in=(*OPEN_STATES, S.PUBLISHING)).exists():
            raise Conflict(_("Nothing is left to cancel: the post has been published or has failed everywhere."))
        return _move(
            post, actor=actor, status=PostStatus.CANCELLED, deliveries_from=OPEN_STATES, deliveries_to=S.CANCELLED
        )


# --- the queue ----------------------------------------------------------------------------------------------------
# How far ahead post_queue looks for a free slot before saying an account's queue is full.
QUEUE_HORIZON = timedelta(days=366)
# More slots than this in a week is a typing accident, not a publishing plan.
QUEUE_MAX_SLOTS = 7 * 24
# Two people queuing on one account at the same moment: the one who loses the slot looks again, this many times.
QUEUE_ATTEMPTS = 5


def slots_set(
    *,
    actor: Membership,
    slots: Iterable[tuple[int, time]],
    tz: str | None = None,
    account: SocialAccount | None = None,
    group: AccountGroup | None = None,
) -> list[QueueSchedule]:
    """Replace the weekly queue slots (weekday 0 = Monday, local time of day) of ``account``, or of every account
    of ``group`` at once, in the time zone ``tz`` (default: the schedule's own, else the actor's). No slots
    empties the queue. Posts already queued keep their times."""
    require(actor, Perm.APPROVE_POSTS)
    if (account is None) == (group is None):
        raise ValueError("slots_set takes an account or a group")
    org_id = actor.organization_id
    if account is not None:
        if account.organization_id != org_id:
            raise NotFound(_("No such account."))
        accounts = [account]
    else:
        assert group is not None
        if group.organization_id != org_id:
            raise NotFound(_("No such account group."))
        accounts = list(group.accounts.order_by("id"))  # locked in id order: two group edits cannot deadlock
    if tz is not None and tz not in zoneinfo.available_timezones():
        raise ValidationFailed(_("%(value)s is not a known time zone.") % {"value": tz}, field="timezone")
    wanted: set[tuple[int, time]] = set()
    for weekday, at in slots:
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValidationFailed(_("A weekday is a number from 0 (Monday) to 6 (Sunday)."), field="slots")
        wanted.add((weekday, at.replace(second=0, microsecond=0, tzinfo=None)))
    if len(wanted) > QUEUE_MAX_SLOTS:
        raise ValidationFailed(
            _("A queue holds at most %(count)s slots a week.") % {"count": QUEUE_MAX_SLOTS}, field="slots"
        )
    schedules = []
    with transaction.atomic():
        for target in accounts:
            schedule, _created = QueueSchedule.objects.get_or_create(
                account=target, defaults={"timezone": tz or actor.user.timezone}
            )
            schedule = QueueSchedule.objects.select_for_update().get(id=schedule.id)
            if tz is not None and schedule.timezone != tz:
                schedule.timezone = tz
            schedule.save(update_fields=["timezone", "updated_at"])
            schedule.slots.all().delete()
            QueueSlot.objects.bulk_create(
                QueueSlot(schedule=schedule, weekday=weekday, time=at) for weekday, at in sorted(wanted)
            )
            schedules.append(schedule)
    return schedules


def queue_times(*, tz: str, slots: Iterable[tuple[int, time]], after: datetime) -> Iterator[datetime]:
    """The times of weekly ``slots`` (local to ``tz``) strictly after ``after``, earliest first, in UTC, for a
    year. Each day's slots are read on the wall clock of that day, so a 09:00 slot stays at 09:00 local across
    the changes of summer time; a slot in the hour skipped in spring falls an hour later, one in the hour
    repeated in autumn on its first occurrence."""
    zone = zoneinfo.ZoneInfo(tz)
    by_weekday: dict[int, list[time]] = {}
    for weekday, at in slots:
        by_weekday.setdefault(weekday, []).append(at)
    if not by_weekday:
        return
    day = after.astimezone(zone).date()
    last = day + QUEUE_HORIZON
    while day <= last:
        local = {datetime.combine(day, at, zone).astimezone(UTC) for at in by_weekday.get(day.weekday(), ())}
        yield from (at for at in sorted(local) if at > after)
        day += timedelta(days=1)


def _queue_slots(account_ids: Iterable[int]) -> dict[int, tuple[str, list[tuple[int, time]]]]:
    """Per account that has queue slots: the schedule's time zone and its (weekday, time) slots."""
    found: dict[int, tuple[str, list[tuple[int, time]]]] = {}
    rows = QueueSlot.objects.filter(schedule__account_id__in=list(account_ids)).values_list(
        "schedule__account_id", "schedule__timezone", "weekday", "time"
    )
    for account_id, tz, weekday, at in rows:
        found.setdefault(account_id, (tz, []))[1].append((weekday, at))
    return found


def _has_queued(post: Post) -> bool:
    return Delivery.objects.filter(post=post, queued=True, state__in=OPEN_STATES).exists()


def _queue_place(
    post: Post,
    *,
    actor: Membership,
    deliveries_from: Iterable[str],
    deliveries_to: str | None,
    keep: bool,
    detail: str,
) -> Post:
    """Put each of the post's deliveries in ``deliveries_from`` on its own account's next free queue slot and
    move it to ``deliveries_to`` (None: it stays where it is, its slot reserved). With ``keep``, a delivery
    already queued at a time still ahead keeps it. The post is planned at the earliest of the times, and is
    scheduled when its deliveries are. Runs inside the caller's transaction, with the post locked.

    A slot is taken by any open delivery of the account due then. Two people queuing on one account at the same
    moment may both see a slot free: the partial unique index on queued deliveries makes the second write wait
    for the first transaction, then fail, and this function looks again with what the first one committed."""
    deliveries = list(
        Delivery.objects.select_for_update(of=("self",))
        .filter(post=post, state__in=list(deliveries_from))
        .select_related("account")
        .order_by("id")
    )
    if not deliveries:
        raise Conflict(_("Nothing is left to queue: the post has been published or cancelled everywhere."))
    slots = _queue_slots(d.account_id for d in deliveries)
    now = timezone.now()
    kept = {
        d.id: d.due_at
        for d in deliveries
        if keep and d.queued and d.due_at is not None and d.due_at >= now - SCHEDULE_GRACE
    }
    missing = sorted({str(d.account) for d in deliveries if d.id not in kept and d.account_id not in slots})
    if missing:
        raise ValidationFailed(
            _("These accounts have no queue slots yet: %(accounts)s. Set them on their Queue page.")
            % {"accounts": ", ".join(missing)}
        )
    for _attempt in range(QUEUE_ATTEMPTS):
        now = timezone.now()
        times = dict(kept)
        for d in deliveries:
            if d.id in times:
                continue
            taken = set(
                Delivery.objects.filter(account_id=d.account_id, state__in=OPEN_STATES, due_at__gt=now)
                .exclude(post=post)
                .values_list("due_at", flat=True)
            )
            tz, weekly = slots[d.account_id]
            free = next((at for at in queue_times(tz=tz, slots=weekly, after=now) if at not in taken), None)
            if free is None:
                raise Conflict(
                    _("The queue of %(account)s has no free slot in the coming year.") % {"account": d.account}
                )
            times[d.id] = free
        try:
            with transaction.atomic():  # a savepoint: losing a slot to someone else leaves the post as it was
                for d in deliveries:
                    at = times[d.id]
                    fields = _scheduling(at) if deliveries_to == S.SCHEDULED else {"due_at": at}
                    Delivery.objects.filter(id=d.id).update(
                        queued=True, state=deliveries_to or d.state, updated_at=now, **fields
                    )
        except IntegrityError:
            continue
        break
    else:
        raise Conflict(_("Others are adding posts to these queues right now: try again."))
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(
            delivery_id=d.id,
            from_state=d.state,
            to_state=deliveries_to or d.state,
            actor=actor.user,
            detail=detail,
        )
        for d in deliveries
    )
    status = PostStatus.SCHEDULED if deliveries_to == S.SCHEDULED else post.status
    Post.objects.filter(id=post.id).update(status=status, scheduled_at=min(times.values()), updated_at=now)
    post.refresh_from_db()
    return post


def post_queue(*, post: Post, actor: Membership) -> Post:
    """Add a post to the queue: each delivery gets its own account's next free slot after now. The same rules
    as ``post_schedule``: a member who may approve schedules the post at those times (that is their approval);
    a post that still needs approval keeps them reserved and is scheduled at them by ``post_approve`` (or at
    the next free slots if they have passed by then). Failed deliveries are queued again."""
    require(actor, Perm.COMPOSE_POSTS)
    with transaction.atomic():
        post = _locked(post, actor)
        if post.status == PostStatus.CANCELLED:
            raise Conflict(_("This post was cancelled."))
        detail, approved = _("Added to the queue."), False
        if post.status in (PostStatus.DRAFT, PostStatus.AWAITING_APPROVAL):
            try:  # the same decision as post_schedule: scheduling it is the actor's approval, or none is needed
                detail, approved = _direct_scheduling(post, actor)
            except Forbidden:  # the slots wait for the approver
                return _queue_place(
                    post, actor=actor, deliveries_from=OPEN_STATES, deliveries_to=None, keep=False,
                    detail=_("Queue slot reserved; published there once approved."),
                )  # fmt: skip
            if approved:
                detail = _("Approved; added to the queue.")
        post = _queue_place(
            post, actor=actor, deliveries_from=[*OPEN_STATES, S.FAILED], deliveries_to=S.SCHEDULED, keep=False,
            detail=detail,
        )  # fmt: skip
        if approved:
            _editorial_news(post, actor, "post.approved", NotificationKind.POST_APPROVED, _author(post))
        return post


# --- the engine ---------------------------------------------------------------------------------------------------
def deliveries_due(*, limit: int = 500) -> list[int]:
    """Scheduled deliveries whose next attempt has come, leased to the caller for DISPATCH_LEASE so the
    next dispatch does not queue them again while they wait for a worker."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(state=S.SCHEDULED, next_attempt_at__lte=now)
            .filter(Q(dispatched_until__isnull=True) | Q(dispatched_until__lt=now))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(id__in=ids).update(dispatched_until=now + DISPATCH_LEASE)
    return ids


def _claim_seconds() -> timedelta:
    return timedelta(seconds=settings.SMMS_PUBLISH_CLAIM_SECONDS)


def _load(delivery_id: int) -> Delivery:
    return Delivery.objects.select_related("post", "post__author", "account", "variant").get(id=delivery_id)


def _author_language(delivery: Delivery) -> str:
    author = delivery.post.author
    return author.language if author is not None else settings.LANGUAGE_CODE


def _draft(delivery: Delivery, *, media: bool = True) -> Draft:
    """What the connector sends for the delivery; without ``media`` (looking for the post, not sending it) the
    images are not read from storage."""
    variant = delivery.variant
    text, link = (variant.text, variant.link) if variant is not None else (delivery.post.text, "")
    return Draft(
        text=text, link=link or None, idempotency_key=str(delivery.idempotency_key),
        media=_media_items(delivery.post) if media else (),
    )  # fmt: skip


def delivery_publish(*, delivery_id: int) -> str:
    """Publish one delivery if it is due and no one else is. Returns what happened: "published",
    "retry" (back on the schedule), "failed", "cancelled", or "skipped" (not claimed: not due, taken by
    another worker, or already done)."""
    return deliveries_publish(delivery_ids=[delivery_id])[0]


def deliveries_publish(*, delivery_ids: Sequence[int]) -> list[str]:
    """Publish the deliveries of one dispatch message, in order, with what ``delivery_publish`` returns for
    each. They are claimed together (one transaction) and loaded together (one query); each is then sent
    and recorded on its own. A delivery whose turn comes after half of the claim has passed goes back on the
    schedule unsent, so no delivery is ever sent on a claim the recovery sweep may already have taken over."""
    now = timezone.now()
    claimed = _claim(delivery_ids, now)
    outcomes = dict.fromkeys(delivery_ids, "skipped")
    if not claimed:
        return list(outcomes.values())
    deliveries = (
        Delivery.objects.select_related("post", "post__author", "account", "variant")
        .prefetch_related(Prefetch("post__media", queryset=PostMedia.objects.select_related("asset")))
        .order_by()
        .in_bulk(claimed)
    )
    send_until = now + _claim_seconds() / 2
    for delivery_id in claimed:
        delivery = deliveries[delivery_id]
        if timezone.now() > send_until:
            outcomes[delivery_id] = _release(delivery)
            continue
        try:
            with translation.override(_author_language(delivery)):
                outcomes[delivery_id] = _publish_claimed(delivery, timezone.now())
        except Exception:  # one delivery's failure must not hold the others: the sweep reconciles this one
            logger.exception("delivery %s: publishing stopped on an unexpected error", delivery_id)
            outcomes[delivery_id] = "error"
    return list(outcomes.values())


def _claim(delivery_ids: Sequence[int], now: datetime) -> list[int]:
    """Claim those of ``delivery_ids`` that are scheduled and due, in the given order: a conditional UPDATE
    (a row another worker claims first no longer matches) and their trail entries, in one transaction."""
    wanted = list(dict.fromkeys(delivery_ids))
    if not wanted:
        return []
    table = Delivery._meta.db_table
    marks = ", ".join(["%s"] * len(wanted))
    stamp = db_datetime(now)
    with transaction.atomic():
        got = set(
            update_returning(
                f"UPDATE {table} SET state = %s, claimed_until = %s, attempts = attempts + 1, "  # noqa: S608
                f"dispatched_until = NULL, updated_at = %s "
                f"WHERE id IN ({marks}) AND state = %s AND next_attempt_at <= %s",
                [S.PUBLISHING, db_datetime(now + _claim_seconds()), stamp, *wanted, S.SCHEDULED, stamp],
            )
        )
        DeliveryEvent.objects.bulk_create(
            DeliveryEvent(delivery_id=delivery_id, from_state=S.SCHEDULED, to_state=S.PUBLISHING) for delivery_id in got
        )
    return [delivery_id for delivery_id in wanted if delivery_id in got]


def _release(delivery: Delivery) -> str:
    """Hand a claimed delivery back to the schedule, unsent (the attempt it was claimed for did not happen)."""
    moved = _transition(
        delivery,
        to_state=S.SCHEDULED,
        detail=_("Not sent in its turn: back on the schedule."),
        next_attempt_at=timezone.now(),
        claimed_until=None,
        attempts=max(0, delivery.attempts - 1),
    )
    return "retry" if moved else "skipped"


def _publish_claimed(delivery: Delivery, now: datetime) -> str:
    post, account = delivery.post, delivery.account
    if post.status == PostStatus.CANCELLED:
        return _end(delivery, S.CANCELLED, "post_cancelled", _("The post was cancelled before it was published."))
    if post.status not in (PostStatus.APPROVED, PostStatus.SCHEDULED):
        return _end(delivery, S.CANCELLED, "not_approved", _("The post is no longer approved."))
    if account.status != SocialAccountStatus.CONNECTED:
        return _end(
            delivery,
            S.FAILED,
            "account_disconnected",
            _("%(account)s is not connected any more. Reconnect it, then schedule the post again.")
            % {"account": account},
        )
    connector, ref = account_services.social_account_connector(account=delivery.account)
    try:
        if delivery.unknown_outcome:  # an earlier attempt may have made the post
            found = _reconcile(delivery, connector, ref)
            if found is not None:
                return _stamp(delivery, found, _("Found on the network: an earlier attempt had published it."))
        late = _too_late(delivery, now)
        if late is not None:
            return _end(delivery, S.FAILED, "too_late", late)
        remote = connector.publish(ref, _draft(delivery))
    except cx.ConnectorError as exc:
        return _after_error(delivery, exc, connector, ref)
    outcome = _stamp(delivery, remote)
    if outcome == "published":
        _first_comment_post(delivery, connector, ref)
    return outcome


def _first_comment_post(delivery: Delivery, connector: Connector, ref: AccountRef) -> None:
    """Post the first comment under a post just published on Facebook or Instagram, once: the comment's id is
    stamped on the delivery, and a failure is written in the trail (the post itself stays published)."""
    text = delivery.post.first_comment
    if not text or delivery.account.platform not in FIRST_COMMENT_NETWORKS or delivery.first_comment_id:
        return
    comment = getattr(connector, "comment", None)
    if comment is None:
        return
    try:
        made = comment(ref, delivery.remote_id, text)
    except cx.ConnectorError as exc:
        detail = _("The first comment could not be posted: %(detail)s") % {"detail": exc}
    else:
        Delivery.objects.filter(id=delivery.id, first_comment_id="").update(first_comment_id=str(made.id)[:300])
        detail = _("First comment posted.")
    DeliveryEvent.objects.create(delivery_id=delivery.id, from_state=S.PUBLISHED, to_state=S.PUBLISHED, detail=detail)


def _too_late(delivery: Delivery, now: datetime) -> str | None:
    cutoff = timedelta(seconds=settings.SMMS_PUBLISH_LATENESS_CUTOFF)
    if delivery.due_at is None or now - delivery.due_at <= cutoff:
        return None
    author = delivery.post.author
    due = timezone.localtime(delivery.due_at, timezone=_zone(author.timezone if author else "UTC"))
    return _(
        "Not published: it was due at %(due)s and could not be sent within %(minutes)s minutes. "
        "Schedule it again if it is still timely."
    ) % {"due": due.strftime("%Y-%m-%d %H:%M %Z"), "minutes": int(cutoff.total_seconds() // 60)}


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _reconcile(delivery: Delivery, connector: Connector, ref: AccountRef) -> RemotePost | None:
    """Our post on the network, if an attempt whose answer was lost made it."""
    draft = _draft(delivery, media=False)
    since = (delivery.due_at or delivery.created_at) - RECONCILE_MARGIN
    return connector.find_post(ref, text=posted_text(draft.text, draft.link), since=since)


def _after_error(delivery: Delivery, exc: cx.ConnectorError, connector: Connector, ref: AccountRef) -> str:
    account = delivery.account
    network = account.get_platform_display()
    if outcome_unknown(exc) or isinstance(exc, cx.Duplicate):
        Delivery.objects.filter(id=delivery.id, state=S.PUBLISHING).update(unknown_outcome=True)
        delivery.unknown_outcome = True
        try:
            found = _reconcile(delivery, connector, ref)
        except cx.NotSupported:
            if capabilities(account.platform).idempotency_key:  # sending again with the same key is safe
                return _retry(delivery, exc)
            return _end(delivery, S.FAILED, "unknown_outcome", _unknown_reason(network, exc))
        except cx.AuthRevoked as check_exc:
            account_services.social_account_mark_revoked(account_id=account.id, reason=str(check_exc))
            return _end(delivery, S.FAILED, "auth_revoked", _unknown_reason(network, check_exc))
        except cx.ConnectorError as check_exc:  # cannot ask now: the next attempt asks before sending
            logger.warning("delivery %s: could not check the network: %s", delivery.id, check_exc)
            return _retry(delivery, exc)
        if found is not None:
            return _stamp(delivery, found, _("Found on the network after its answer was lost."))
        if isinstance(exc, cx.Duplicate):
            return _end(
                delivery,
                S.FAILED,
                "duplicate",
                _("%(network)s refused the post as a duplicate of an earlier one.") % {"network": network},
            )
        return _retry(delivery, exc)
    if isinstance(exc, cx.AuthRevoked):
        account_services.social_account_mark_revoked(account_id=account.id, reason=str(exc))
        return _end(
            delivery,
            S.FAILED,
            "auth_revoked",
            _(
                "%(account)s no longer lets SMMS publish (its access was revoked). "
                "Reconnect it, then schedule the post again."
            )
            % {"account": account},
        )
    if not exc.permanent:
        return _retry(delivery, exc)
    if isinstance(exc, cx.ValidationError):
        return _end(
            delivery,
            S.FAILED,
            "rejected",
            _("%(network)s refused the post: %(detail)s") % {"network": network, "detail": exc.message},
        )
    if isinstance(exc, cx.PermissionDenied):
        return _end(
            delivery,
            S.FAILED,
            "not_allowed",
            _("SMMS is not allowed to publish on %(account)s (%(detail)s). Check the account's permissions.")
            % {"account": account, "detail": exc.message},
        )
    if isinstance(exc, cx.NotSupported):
        return _end(
            delivery, S.FAILED, "not_supported", _("SMMS cannot publish on %(network)s yet.") % {"network": network}
        )
    return _end(
        delivery, S.FAILED, "error", _("%(network)s refused the post: %(detail)s") % {"network": network, "detail": exc}
    )


def _unknown_reason(network: str, exc: cx.ConnectorError) -> str:
    return _(
        "%(network)s did not answer (%(detail)s) and SMMS cannot check whether the post was made. "
        "Look at the account before publishing it again."
    ) % {"network": network, "detail": exc}


def _retry(delivery: Delivery, exc: cx.ConnectorError) -> str:
    network = delivery.account.get_platform_display()
    if delivery.attempts >= settings.SMMS_PUBLISH_MAX_ATTEMPTS:
        reason = _("%(network)s did not take the post after %(attempts)s attempts (last error: %(detail)s).") % {
            "network": network,
            "attempts": delivery.attempts,
            "detail": exc,
        }
        if delivery.unknown_outcome:
            reason = f"{reason} {_unknown_reason(network, exc)}"
        return _end(delivery, S.FAILED, "retries_exhausted", reason)
    when = retry_at(delivery.attempts, exc, base_seconds=settings.SMMS_PUBLISH_RETRY_BASE)
    reason = attempt_failed(delivery.attempts, exc, when)
    moved = _transition(
        delivery,
        to_state=S.SCHEDULED,
        detail=reason,
        next_attempt_at=when,
        claimed_until=None,
        last_error=reason,
        error_code="transient",
    )
    return "retry" if moved else "skipped"


def _stamp(delivery: Delivery, remote: RemotePost, detail: str = "") -> str:
    """Record the network's post: one UPDATE, guarded by the claim's state."""
    moved = _transition(
        delivery,
        to_state=S.PUBLISHED,
        detail=detail,
        remote_id=remote.id[:300],
        remote_url=remote.url[:1000],
        published_at=remote.created_at or timezone.now(),
        claimed_until=None,
        unknown_outcome=False,
        last_error="",
        error_code="",
    )
    if not moved:  # another process decided about this delivery meanwhile: keep the evidence in the log
        logger.error("delivery %s published as %s but no longer claimed", delivery.id, remote.id)
        return "skipped"
    return "published"


def _end(delivery: Delivery, state: str, code: str, reason: str) -> str:
    moved = _transition(delivery, to_state=state, detail=reason, claimed_until=None, last_error=reason, error_code=code)
    return state if moved else "skipped"


def _transition(delivery: Delivery, *, to_state: str, detail: str = "", **fields: Any) -> bool:
    """Move a claimed delivery (state publishing) to ``to_state`` with its trail entry and, for an outcome,
    its webhook event, in one transaction. False when the row is no longer in publishing."""
    with transaction.atomic():
        if to_state == S.PUBLISHED:
            # A stamp lost in a crash of PostgreSQL leaves the row claimed in publishing: the recovery sweep
            # finds the post on the network and stamps it again, so the stamp need not wait for the disk.
            commit_without_waiting_for_disk()
        changed = Delivery.objects.filter(id=delivery.id, state=S.PUBLISHING).update(
            state=to_state, updated_at=timezone.now(), **fields
        )
        if not changed:
            return False
        DeliveryEvent.objects.create(delivery_id=delivery.id, from_state=S.PUBLISHING, to_state=to_state, detail=detail)
        delivery.state = to_state
        for name, value in fields.items():  # the row as the UPDATE left it, without reading it back
            setattr(delivery, name, value)
        if to_state in (S.PUBLISHED, S.FAILED):
            event_publish(
                organization_id=delivery.post.organization_id, event=f"delivery.{to_state}", data=_event_data(delivery)
            )
        if to_state == S.FAILED:
            from .tasks import delivery_notify_failed

            transaction.on_commit(lambda: delivery_notify_failed.delay(delivery.id))
    return True


def _event_data(delivery: Delivery) -> dict[str, Any]:
    account = delivery.account
    return {
        "delivery": delivery.id,
        "post": delivery.post_id,
        "account": {"id": account.id, "platform": account.platform, "handle": account.handle},
        "state": delivery.state,
        "due_at": delivery.due_at,
        "remote_id": delivery.remote_id,
        "remote_url": delivery.remote_url,
        "published_at": delivery.published_at,
        "error": delivery.last_error,
        "error_code": delivery.error_code,
    }


# --- recovery ---------------------------------------------------------------------------------------------------
def deliveries_recover_stuck(*, limit: int = 100) -> int:
    """Take over deliveries left in publishing by a worker that stopped (claim expired). Returns how many
    were looked at."""
    now = timezone.now()
    ids = list(
        Delivery.objects.filter(state=S.PUBLISHING, claimed_until__lt=now)
        .order_by("claimed_until")
        .values_list("id", flat=True)[:limit]
    )
    for delivery_id in ids:
        try:
            delivery_recover(delivery_id=delivery_id)
        except Exception:  # one delivery's bug must not stop the others' recovery
            logger.exception("recovery of delivery %s failed", delivery_id)
    return len(ids)


def delivery_recover(*, delivery_id: int) -> str:
    """Reconcile one stuck delivery: the post found on the network is stamped; otherwise the delivery goes
    back on the schedule (its next attempt still checks first). Never sends anything itself."""
    now = timezone.now()
    claimed = Delivery.objects.filter(id=delivery_id, state=S.PUBLISHING, claimed_until__lt=now).update(
        claimed_until=now + _claim_seconds(), unknown_outcome=True, updated_at=now
    )
    if not claimed:
        return "skipped"
    delivery = _load(delivery_id)
    network = delivery.account.get_platform_display()
    with translation.override(_author_language(delivery)):
        try:
            connector, ref = account_services.social_account_connector(account=delivery.account)
            found = _reconcile(delivery, connector, ref)
        except cx.NotSupported as exc:
            if capabilities(delivery.account.platform).idempotency_key:
                return _requeue(delivery, now, unknown=True)
            return _end(delivery, S.FAILED, "unknown_outcome", _unknown_reason(network, exc))
        except cx.AuthRevoked as exc:
            account_services.social_account_mark_revoked(account_id=delivery.account_id, reason=str(exc))
            return _end(delivery, S.FAILED, "auth_revoked", _unknown_reason(network, exc))
        except cx.ConnectorError as exc:  # ask again at a later sweep
            logger.warning("delivery %s: could not check the network: %s", delivery_id, exc)
            Delivery.objects.filter(id=delivery_id, state=S.PUBLISHING).update(claimed_until=now)
            return "skipped"
        if found is not None:
            return _stamp(delivery, found, _("Found on the network after the worker publishing it stopped."))
        return _requeue(delivery, now, unknown=False)


def _requeue(delivery: Delivery, now: datetime, *, unknown: bool) -> str:
    moved = _transition(
        delivery,
        to_state=S.SCHEDULED,
        detail=_("The worker publishing it stopped before the post was made: it is sent again."),
        next_attempt_at=now,
        claimed_until=None,
        unknown_outcome=unknown,
    )
    return "retry" if moved else "skipped"


# --- telling the author ----------------------------------------------------------------------------------------
def delivery_notify_failed(*, delivery_id: int) -> bool:
    """E-mail the post's author that a delivery failed, and why. Once per failure."""
    claimed = Delivery.objects.filter(id=delivery_id, state=S.FAILED, failure_notified_at__isnull=True).update(
        failure_notified_at=timezone.now()
    )
    if not claimed:
        return False
    delivery = _load(delivery_id)
    author = delivery.post.author
    if author is None or not author.email:
        return False
    # In the bell too; the e-mail below is the notification's e-mail. Once, even when that e-mail is retried.
    account_services.notification_create_once(
        organization_id=delivery.post.organization_id,
        recipient=author,
        kind=NotificationKind.DELIVERY_FAILED,
        params={"delivery": delivery.id, "account": str(delivery.account),
                "excerpt": account_services.excerpt(delivery.post.text), "reason": delivery.last_error},
        link=reverse("post_detail", args=[delivery.post_id]),
    )  # fmt: skip
    with translation.override(author.language):
        subject = _("Not published on %(account)s") % {"account": delivery.account}
        body = render_to_string(
            "publishing/email/delivery_failed.txt",
            {"delivery": delivery, "link": f"{settings.SMMS_BASE_URL.rstrip('/')}/publishing/"},
        )
    try:
        send_mail(subject, body, None, [author.email])
    except Exception:
        Delivery.objects.filter(id=delivery_id).update(failure_notified_at=None)
        raise
    return True
