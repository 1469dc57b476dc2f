"""Dashboard pages of publishing: the posts, the composer, the approval queue, a post's trail, campaigns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors as account_selectors
from accounts.models import Membership, Platform, SocialAccount, SocialAccountStatus
from accounts.permissions import org_required
from accounts.roles import Perm, refusal, role_allows
from analytics import selectors as analytics_selectors
from smms.errors import DomainError, Forbidden, ValidationFailed

from . import imports, selectors, services
from .forms import (
    ApproveForm,
    CalendarForm,
    CalendarMoveForm,
    CampaignForm,
    ComposeForm,
    PostFilterForm,
    PostImportForm,
    QueueSlotsForm,
)
from .models import Campaign, ImportMode, MediaAsset, Post, PostImport, PostStatus

# Room for the multipart envelope and the other fields around an uploaded image.
UPLOAD_OVERHEAD = 64 * 1024


def _add_error(form: Form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    campaigns = selectors.campaign_list(org=org)
    form = PostFilterForm(request.GET or None, campaigns=campaigns)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    posts = selectors.post_list(org=org, status=data.get("status", ""), campaign_id=data.get("campaign"))
    context = selectors.index_context(org=org)
    context.update(form=form, posts=posts)
    return render(request, "publishing/index.html", context)


def _compose_form(request: HttpRequest, initial: dict[str, Any] | None = None) -> ComposeForm:
    org = request.org  # type: ignore[attr-defined]
    accounts = account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED)
    return ComposeForm(
        request.POST or None,
        initial=initial,
        accounts=accounts.order_by("platform", "handle"),
        campaigns=selectors.campaign_list(org=org),
        groups=account_selectors.account_group_list(org=org),
    )


def _targets(request: HttpRequest, form: ComposeForm) -> list[SocialAccount]:
    """The accounts ticked and the connected accounts of the groups chosen, each once."""
    chosen = form.chosen_accounts()
    group_ids = form.chosen_group_ids()
    if group_ids:
        chosen += selectors.group_accounts(org=request.org, group_ids=group_ids)  # type: ignore[attr-defined]
    return list({account.id: account for account in chosen}.values())


def _images(request: HttpRequest, form: ComposeForm) -> list[MediaAsset]:
    ids = form.cleaned_data.get("media") or []
    return selectors.media_asset_list(org=request.org, asset_ids=ids) if ids else []  # type: ignore[attr-defined]


def _save(request: HttpRequest, form: ComposeForm, action: str, post: Post | None = None) -> Post:
    """Create the post (or rewrite the draft ``post``), then submit or schedule it as the pressed button says."""
    actor = request.membership  # type: ignore[attr-defined]
    data = form.cleaned_data
    at = data["scheduled_at"]
    if action == "schedule" and at is None:
        raise ValidationFailed(_("Choose when to publish."), field="scheduled_at")
    targets = _targets(request, form)
    media = _images(request, form)
    values: dict[str, Any] = {
        "actor": actor,
        "text": data["text"],
        "accounts": targets,
        "variants": {p: {"text": text, "link": link} for p, (text, link) in form.variants(targets).items()},
        "scheduled_at": at,
        "campaign": form.chosen_campaign(),
        "media": media,
        "alt_texts": form.alt_texts(asset.id for asset in media),
        "first_comment": data["first_comment"],
    }
    post = services.post_create(**values) if post is None else services.post_update(post=post, **values)
    if action == "schedule":
        return services.post_schedule(post=post, actor=actor, at=at)
    if action == "queue":
        post = services.post_queue(post=post, actor=actor)
        if post.status == PostStatus.DRAFT:  # the author may not approve: the reserved slots wait for approval
            return services.post_submit(post=post, actor=actor)
        return post
    if action == "submit":
        return services.post_submit(post=post, actor=actor)
    return post


def _composer(request: HttpRequest, form: ComposeForm, post: Post | None = None) -> HttpResponse:
    """Save what was posted and go to the post, or show the composer again with what went wrong."""
    membership = request.membership  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action", "submit")
        if action == "schedule" and not selectors.may_schedule_own_posts(actor=membership):
            action = "submit"
        try:
            with transaction.atomic():  # a refused queue (an account without slots) leaves no stray draft
                saved = _save(request, form, action, post)
        except DomainError as exc:
            _add_error(form, exc)
        else:
            done = {
                "submit": _("Post sent for approval."),
                "schedule": _("Post scheduled."),
                "draft": _("Draft saved."),
                "queue": _("Post added to the queue.")
                if saved.status == PostStatus.SCHEDULED
                else _("Post sent for approval; its queue slots are kept for it."),
            }
            messages.success(request, done.get(action, done["draft"]))
            return redirect("post_detail", post_id=saved.id)
    media: list[MediaAsset] = []
    if request.method == "POST":
        try:
            media = _images(request, form) if form.is_valid() else []
        except DomainError:  # already said when saving was tried
            media = []
    elif post is not None:
        media = selectors.post_media(org=request.org, post=post)  # type: ignore[attr-defined]
    alts = form.alt_texts(asset.id for asset in media) if form.is_bound else {}
    accounts = form.account_by_id.values()
    context = {
        "form": form,
        "post": post,
        "networks": [(Platform(p).label, [a for a in accounts if a.platform == p]) for p in form.platforms],
        "account_groups": form.group_by_id.values(),
        "may_schedule": selectors.may_schedule_own_posts(actor=membership),
        "media": [(asset, alts.get(asset.id, asset.alt_text)) for asset in media],
        "max_megabytes": services.megabytes(settings.SMMS_MEDIA_MAX_BYTES),
        "first_comment_networks": bool(set(form.platforms) & set(services.FIRST_COMMENT_NETWORKS)),
    }
    if post is not None:
        context["send_back_comment"] = selectors.post_send_back_comment(org=request.org, post=post)  # type: ignore[attr-defined]
    return render(request, "publishing/compose.html", context)


@org_required(Perm.COMPOSE_POSTS)
def compose(request: HttpRequest) -> HttpResponse:
    return _composer(request, _compose_form(request))


@org_required(Perm.COMPOSE_POSTS)
def post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    """The composer on a draft (new, or sent back with the approver's comment shown); other posts are not
    edited: what was submitted is what the approver approves."""
    post = selectors.post_get(org=request.org, post_id=post_id)  # type: ignore[attr-defined]
    if post.status != PostStatus.DRAFT:
        messages.error(request, _("Only a draft can be changed: send it back first."))
        return redirect("post_detail", post_id=post.id)
    variants = {v.platform: v for v in post.variants.all()}
    initial: dict[str, Any] = {
        "text": post.text,
        "first_comment": post.first_comment,
        "accounts": [str(d.account_id) for d in post.deliveries.all()],
        "campaign": str(post.campaign_id or ""),
        "scheduled_at": timezone.localtime(post.scheduled_at) if post.scheduled_at else None,
    }
    for platform, variant in variants.items():
        initial[f"variant_{platform}_text"] = variant.text
        initial[f"variant_{platform}_link"] = variant.link
    return _composer(request, _compose_form(request, initial=initial), post)


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def compose_check(request: HttpRequest) -> HttpResponse:
    """Live feedback in the composer: per chosen network (per instance on Mastodon), the text as it will be
    posted, its count, the accounts it goes to (groups expanded), the images, and what would be refused."""
    form = _compose_form(request)
    form.is_valid()  # a half-written form still gets its counts: read what parsed
    chosen = _targets(request, form)
    variants = form.variants(chosen) if chosen else {}
    try:
        media = _images(request, form)
    except DomainError:
        media = []
    checks = selectors.text_checks(accounts=chosen, text=request.POST.get("text", ""), variants=variants, media=media)
    return render(request, "publishing/partials/checks.html", {"checks": checks})


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def media_upload(request: HttpRequest) -> HttpResponse:
    """An image added in the composer: stored, then shown as a thumbnail whose hidden input joins the form.
    A body larger than the cap is refused before its file is read."""
    limit = settings.SMMS_MEDIA_MAX_BYTES
    error = ""
    asset = None
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + UPLOAD_OVERHEAD:
        error = _("The file is too large: images can be at most %(max)s MB.") % {"max": services.megabytes(limit)}
    elif "upload" not in request.FILES:
        error = _("Choose an image to add.")
    else:
        upload = request.FILES["upload"]
        try:
            asset = services.media_asset_upload(
                actor=request.membership,  # type: ignore[attr-defined]
                file=upload,
                name=upload.name or "",
                alt_text=request.POST.get("alt_text", ""),
            )
        except DomainError as exc:
            error = exc.message
    context = {"asset": asset, "alt": asset.alt_text if asset else "", "error": error}
    # htmx swaps only successful answers: a refusal is shown in the list all the same.
    response = render(
        request, "publishing/partials/media_item.html", context, status=200 if asset or request.htmx else 400
    )
    response["HX-Trigger-After-Settle"] = "media-changed"  # the previews show the new image
    return response


def _image(asset: MediaAsset, cache: str) -> FileResponse:
    try:
        content = asset.file.open("rb")
    except OSError:  # lost from storage
        raise Http404(_("No such image.")) from None
    response = FileResponse(content, content_type=asset.mime_type)
    response["Content-Disposition"] = f'inline; filename="image-{asset.id}.{asset.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = cache
    return response


@org_required(Perm.VIEW)
def media_file(request: HttpRequest, asset_id: int) -> HttpResponse:
    """One of the organization's images, for its members' pages."""
    asset = selectors.media_asset_get(org=request.org, asset_id=asset_id)  # type: ignore[attr-defined]
    return _image(asset, "private, max-age=3600")


@require_GET
def media_public(request: HttpRequest, token: str) -> HttpResponse:
    """The one image a signed, expiring URL names, for a network fetching it (Facebook, Instagram): the
    signature is the permission, so no session is asked for."""
    return _image(selectors.media_asset_from_token(token=token), "private, max-age=600")


@org_required(Perm.VIEW)
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    post = selectors.post_get(org=org, post_id=post_id)
    deliveries = list(selectors.delivery_list(org=org, post=post).order_by("id"))
    context = {
        "post": post,
        "deliveries": deliveries,
        # Cancelling stops what is not under way; a post whose deliveries are all done has nothing to stop.
        "can_cancel": post.status != PostStatus.CANCELLED and any(d.state in services.OPEN_STATES for d in deliveries),
        "variants": post.variants.all(),
        "media": selectors.post_media(org=org, post=post),
        "trail": selectors.post_trail(org=org, post=post),
        "approve_form": ApproveForm(initial={"at": post.scheduled_at}),
        "may_approve": selectors.may_approve(actor=request.membership, post=post),  # type: ignore[attr-defined]
        # An author whose rules need no approval schedules their own draft instead of submitting it.
        "may_schedule_draft": post.status == PostStatus.DRAFT
        and post.author_id == request.user.id
        and selectors.may_schedule_own_posts(actor=request.membership),  # type: ignore[attr-defined]
    }
    return render(request, "publishing/post.html", context)


@org_required(Perm.APPROVE_POSTS)
def approvals(request: HttpRequest) -> HttpResponse:
    posts = selectors.approval_queue(actor=request.membership)  # type: ignore[attr-defined]
    rows = [(post, ApproveForm(initial={"at": post.scheduled_at}, prefix=f"p{post.id}")) for post in posts]
    return render(request, "publishing/approvals.html", {"rows": rows})


def _editorial(request: HttpRequest, post_id: int, act: Callable[[Post, Membership], Post], done: str) -> HttpResponse:
    """One step of the editorial workflow on one of the organization's posts; a refusal is shown as a message.
    Back to the approval queue when the step was taken there, to the post otherwise."""
    post = selectors.post_get(org=request.org, post_id=post_id)  # type: ignore[attr-defined]
    try:
        act(post, request.membership)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    except Forbidden as exc:  # the approval rules refuse this member: say why, on the page they came from
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    if request.POST.get("next") == "approvals":
        return redirect("approvals")
    return redirect("post_detail", post_id=post.id)


def _unchanged(at: datetime | None, planned: datetime | None) -> bool:
    """No time typed, or the planned time the form was filled with (to the minute)."""
    return at is None or (planned is not None and abs(at - planned) < timedelta(minutes=1))


@org_required(Perm.APPROVE_POSTS)
@require_POST
def post_approve(request: HttpRequest, post_id: int) -> HttpResponse:
    """Approve; with a time chosen, schedule at that time (scheduling is approving)."""
    form = ApproveForm(request.POST, prefix=request.POST.get("prefix") or None)
    at = form.cleaned_data["at"] if form.is_valid() else None

    def approve(post: Post, actor: Membership) -> Post:
        if selectors.post_is_queued(org=actor.organization, post=post) and _unchanged(at, post.scheduled_at):
            return services.post_schedule(post=post, actor=actor)  # each delivery keeps its own queue slot
        if at is not None:
            return services.post_schedule(post=post, actor=actor, at=at)
        return services.post_approve(post=post, actor=actor)

    return _editorial(request, post_id, approve, _("Post scheduled.") if at else _("Post approved."))


@org_required(Perm.APPROVE_POSTS)
@require_POST
def post_send_back(request: HttpRequest, post_id: int) -> HttpResponse:
    comment = request.POST.get("comment", "")
    return _editorial(
        request,
        post_id,
        lambda post, actor: services.post_send_back(post=post, actor=actor, comment=comment),
        _("Post sent back to its author."),
    )


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def post_submit(request: HttpRequest, post_id: int) -> HttpResponse:
    return _editorial(
        request,
        post_id,
        lambda post, actor: services.post_submit(post=post, actor=actor),
        _("Post sent for approval."),
    )


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def post_schedule(request: HttpRequest, post_id: int) -> HttpResponse:
    """Schedule a draft whose author needs no approval (the services check who may)."""
    form = ApproveForm(request.POST)
    at = form.cleaned_data["at"] if form.is_valid() else None
    return _editorial(
        request,
        post_id,
        lambda post, actor: services.post_schedule(post=post, actor=actor, at=at),
        _("Post scheduled."),
    )


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def post_cancel(request: HttpRequest, post_id: int) -> HttpResponse:
    return _editorial(
        request, post_id, lambda post, actor: services.post_cancel(post=post, actor=actor), _("Post cancelled.")
    )


def _campaign_form(request: HttpRequest, campaign: Campaign | None = None) -> tuple[CampaignForm, Campaign | None]:
    """The campaign form, and the saved campaign when it was posted and saved."""
    initial: dict[str, Any] = {}
    if campaign is not None:
        initial = {f: getattr(campaign, f) for f in ("name", "goal", "starts_on", "ends_on", "utm_campaign")}
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.campaign_save(
                actor=request.membership,  # type: ignore[attr-defined]
                campaign=campaign,
                **form.cleaned_data,
            )
        except DomainError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("Campaign saved."))
            return form, saved
    return form, None


@org_required(Perm.VIEW)
def campaigns(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    if request.method == "POST" and not role_allows(membership.role, Perm.APPROVE_POSTS):
        raise Forbidden(Perm.APPROVE_POSTS.value)
    form, saved = _campaign_form(request)
    if saved is not None:
        return redirect("campaigns")
    context = {"form": form, "campaigns": selectors.campaign_list(org=request.org)}  # type: ignore[attr-defined]
    return render(request, "publishing/campaigns.html", context)


@org_required(Perm.APPROVE_POSTS)
def campaign_edit(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_get(org=request.org, campaign_id=campaign_id)  # type: ignore[attr-defined]
    form, saved = _campaign_form(request, campaign)
    if saved is not None:
        return redirect("campaigns")
    return render(request, "publishing/campaign_edit.html", {"form": form, "campaign": campaign})


def _calendar_days(view: str, day: date) -> list[date]:
    """The days a calendar page shows: Monday to Sunday around ``day``, or the whole weeks of its month."""
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        return [monday + timedelta(days=n) for n in range(7)]
    first = day.replace(day=1)
    start = first - timedelta(days=first.weekday())
    next_month = (first + timedelta(days=32)).replace(day=1)
    weeks = ((next_month - start).days + 6) // 7
    return [start + timedelta(days=n) for n in range(weeks * 7)]


def _calendar_step(view: str, day: date, forward: bool) -> date:
    if view == "week":
        return day + timedelta(days=7 if forward else -7)
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1) if forward else (first - timedelta(days=1)).replace(day=1)


@org_required(Perm.VIEW)
def calendar(request: HttpRequest) -> HttpResponse:
    """The planned posts by week (in hour slots) or by month, in the user's time zone."""
    form = CalendarForm(request.GET)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    view = data.get("view") or "week"
    today = timezone.localdate()
    day = data.get("date") or today
    days = _calendar_days(view, day)
    zone = timezone.get_current_timezone()
    start = datetime.combine(days[0], time(), zone)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), zone)
    by_slot: dict[tuple[date, int], list[Post]] = defaultdict(list)
    for post in selectors.calendar_posts(org=request.org, start=start, end=end):  # type: ignore[attr-defined]
        local = timezone.localtime(post.scheduled_at)
        by_slot[(local.date(), local.hour if view == "week" else -1)].append(post)
    rows: list[tuple[int | None, list[tuple[date, list[Post]]]]]
    if view == "week":
        rows = [(hour, [(d, by_slot[(d, hour)]) for d in days]) for hour in range(24)]
    else:
        rows = [(None, [(d, by_slot[(d, -1)]) for d in days[i : i + 7]]) for i in range(0, len(days), 7)]
    context = {
        "view": view,
        "day": day,
        "today": today,
        "days": days[:7],
        "rows": rows,
        "previous": _calendar_step(view, day, forward=False),
        "next": _calendar_step(view, day, forward=True),
        "can_move": role_allows(request.membership.role, Perm.APPROVE_POSTS),  # type: ignore[attr-defined]
    }
    return render(request, "publishing/calendar.html", context)


@org_required(Perm.APPROVE_POSTS)
@require_POST
def post_move(request: HttpRequest, post_id: int) -> HttpResponse:
    """Reschedule a post dropped on the calendar; the time arrives in the user's time zone."""
    post = selectors.post_get(org=request.org, post_id=post_id)  # type: ignore[attr-defined]
    form = CalendarMoveForm(request.POST)
    view = "week"
    if not form.is_valid():
        messages.error(request, _("Choose when to publish."))
        return redirect(f"{reverse('calendar')}?view={view}")
    view = form.cleaned_data["view"] or view
    at = form.cleaned_data["at"]
    try:
        services.post_schedule(post=post, actor=request.membership, at=at)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    except Forbidden as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Post rescheduled."))
    return redirect(f"{reverse('calendar')}?view={view}&date={timezone.localtime(at).date().isoformat()}")


# --- the queue --------------------------------------------------------------------------------------------------
@org_required(Perm.COMPOSE_POSTS)
@require_POST
def post_queue(request: HttpRequest, post_id: int) -> HttpResponse:
    """Add a post to its accounts' queues: scheduled at their next free slots, or reserved until approved."""
    post = selectors.post_get(org=request.org, post_id=post_id)  # type: ignore[attr-defined]
    try:
        post = services.post_queue(post=post, actor=request.membership)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if post.status == PostStatus.SCHEDULED:
            messages.success(request, _("Post added to the queue."))
        else:
            messages.success(request, _("Queue slots reserved: the post is published there once approved."))
    return redirect("post_detail", post_id=post.id)


@org_required(Perm.VIEW)
def queue_index(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    context = {"accounts": selectors.queue_overview(org=org), "groups": account_selectors.account_group_list(org=org)}
    return render(request, "publishing/queue_index.html", context)


def _slots_form(request: HttpRequest, tz: str, slots: list[tuple[int, time]]) -> QueueSlotsForm:
    membership = request.membership  # type: ignore[attr-defined]
    if request.method == "POST" and not role_allows(membership.role, Perm.APPROVE_POSTS):
        raise Forbidden(Perm.APPROVE_POSTS.value)
    return QueueSlotsForm(request.POST or None, initial=QueueSlotsForm.initial_for(tz, slots))


def _slots_save(request: HttpRequest, form: QueueSlotsForm, **target: Any) -> bool:
    if not (request.method == "POST" and form.is_valid()):
        return False
    try:
        services.slots_set(
            actor=request.membership,  # type: ignore[attr-defined]
            slots=form.slots(),
            tz=form.cleaned_data["timezone"],
            **target,
        )
    except DomainError as exc:
        _add_error(form, exc)
        return False
    messages.success(request, _("Queue slots saved."))
    return True


def _queue_of(request: HttpRequest, account: SocialAccount) -> tuple[str, list[tuple[int, time]]]:
    """The account's queue time zone (the reader's while it has none) and weekly slots."""
    schedule = selectors.queue_schedule(org=request.org, account=account)  # type: ignore[attr-defined]
    if schedule is None:
        return request.user.timezone, []  # type: ignore[union-attr]
    return schedule.timezone, [(slot.weekday, slot.time) for slot in schedule.slots.all()]


@org_required(Perm.VIEW)
def queue_account(request: HttpRequest, account_id: int) -> HttpResponse:
    """An account's weekly queue slots, editable by who may approve, and its next slots with what is booked."""
    org = request.org  # type: ignore[attr-defined]
    account = account_selectors.social_account_get(org=org, account_id=account_id)
    tz, slots = _queue_of(request, account)
    form = _slots_form(request, tz, slots)
    if _slots_save(request, form, account=account):
        return redirect("queue_account", account_id=account.id)
    context = {
        "account": account,
        "form": form,
        "schedule_tz": tz,
        "upcoming": selectors.queue_upcoming(org=org, account=account),
        "best": analytics_selectors.best_times(account=account, tz=tz),
    }
    return render(request, "publishing/queue.html", context)


@org_required(Perm.APPROVE_POSTS)
@require_POST
def queue_account_best(request: HttpRequest, account_id: int) -> HttpResponse:
    """Add the account's best times to post (from its own posts' engagement) to its weekly slots."""
    org = request.org  # type: ignore[attr-defined]
    account = account_selectors.social_account_get(org=org, account_id=account_id)
    tz, slots = _queue_of(request, account)
    best = analytics_selectors.best_times(account=account, tz=tz)
    if best.shortage or not best.times:
        messages.error(request, best.shortage or _("No best times yet: this account has no measured posts."))
        return redirect("queue_account", account_id=account.id)
    added = [(t.weekday, time(t.hour)) for t in best.times]
    try:
        services.slots_set(actor=request.membership, slots=[*slots, *added], tz=tz, account=account)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The best times were added to the queue slots."))
    return redirect("queue_account", account_id=account.id)


@org_required(Perm.VIEW)
def queue_group(request: HttpRequest, group_id: int) -> HttpResponse:
    """Set the same weekly slots on every account of a group at once; each account's next slots below."""
    org = request.org  # type: ignore[attr-defined]
    group = account_selectors.account_group_get(org=org, group_id=group_id)
    accounts = list(group.accounts.order_by("platform", "handle"))
    first = selectors.queue_schedule(org=org, account=accounts[0]) if accounts else None
    tz = first.timezone if first else request.user.timezone  # type: ignore[union-attr]
    form = _slots_form(request, tz, [(slot.weekday, slot.time) for slot in first.slots.all()] if first else [])
    if _slots_save(request, form, group=group):
        return redirect("queue_group", group_id=group.id)
    context = {
        "group": group,
        "form": form,
        "accounts": [(account, selectors.queue_upcoming(org=org, account=account, count=3)) for account in accounts],
    }
    return render(request, "publishing/queue_group.html", context)


# --- CSV imports --------------------------------------------------------------------------------------------------
@org_required(Perm.VIEW)
def post_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV of posts; the job's page then shows its check, its report and its import. A member who
    may not compose posts reads why (Django's bare 403 page would not say)."""
    org = request.org  # type: ignore[attr-defined]
    role = request.membership.role  # type: ignore[attr-defined]
    if not role_allows(role, Perm.COMPOSE_POSTS):
        context = {"refusal": refusal(role, Perm.COMPOSE_POSTS)}
        return render(request, "publishing/import.html", context, status=403)
    form = PostImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.post_import_start(
                actor=request.membership,  # type: ignore[attr-defined]
                file_name=upload.name,
                data=upload.read(imports.MAX_BYTES + 1),
                mode=ImportMode.GOOD_ROWS if form.cleaned_data["good_rows_only"] else ImportMode.ALL,
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("post_import_detail", import_id=job.id)
    context = {
        "form": form,
        "imports": selectors.post_import_list(org=org),
        "max_rows": imports.MAX_ROWS,
    }
    return render(request, "publishing/import.html", context)


@org_required(Perm.COMPOSE_POSTS)
def post_import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(imports.EXAMPLE_CSV.encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="posts-template.csv"'
    return response


# The job's page lists the first posts an import made; the posts page lists them all.
POSTS_SHOWN = 200


def _import_context(request: HttpRequest, job: PostImport) -> dict[str, Any]:
    org = request.org  # type: ignore[attr-defined]
    done = imports.rows_imported_so_far(job) if job.status in ("importing", "imported") else job.rows_checked
    total = job.rows_good if job.status in ("importing", "imported") else job.rows_total
    return {
        "job": job,
        "done": done,
        "total": total,
        "percent": 100 if not total else min(100, done * 100 // total),
        "posts": selectors.post_import_posts(org=org, post_import=job)[:POSTS_SHOWN]
        if job.status == "imported"
        else [],
        "more_posts": max(0, job.rows_imported - POSTS_SHOWN),
        "can_import": role_allows(request.membership.role, Perm.COMPOSE_POSTS),  # type: ignore[attr-defined]
    }


@org_required(Perm.VIEW)
def post_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = selectors.post_import_get(org=request.org, import_id=import_id)  # type: ignore[attr-defined]
    return render(request, "publishing/import_detail.html", _import_context(request, job))


@org_required(Perm.VIEW)
def post_import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The job's state; the fragment polls itself every second while the file is checked or imported."""
    job = selectors.post_import_get(org=request.org, import_id=import_id)  # type: ignore[attr-defined]
    return render(request, "publishing/partials/import.html", _import_context(request, job))


@org_required(Perm.COMPOSE_POSTS)
@require_POST
def post_import_good_rows(request: HttpRequest, import_id: int) -> HttpResponse:
    job = selectors.post_import_get(org=request.org, import_id=import_id)  # type: ignore[attr-defined]
    try:
        imports.post_import_good_rows(post_import=job, actor=request.membership)  # type: ignore[attr-defined]
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Importing the good rows."))
    return redirect("post_import_detail", import_id=job.id)
