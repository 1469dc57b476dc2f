"""Dashboard pages of moderation: the inbox, a conversation, and its status actions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.permissions import org_required
from accounts.roles import Perm
from smms.errors import DomainError

from . import selectors, services
from .forms import InboxFilterForm, StatusForm
from .selectors import InboxFilters


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    accounts = account_selectors.social_account_list(org=org).order_by("platform", "handle")
    form = InboxFilterForm(request.GET or None, accounts=accounts)
    filters = form.filters() if form.is_valid() else InboxFilters()
    try:
        page = selectors.conversation_page(
            org=org,
            actor=request.membership,
            filters=filters,
            after=request.GET.get("after", ""),  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        page = selectors.conversation_page(org=org, actor=request.membership, filters=filters)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("after", None)
    query["after"] = page.next_cursor
    context = selectors.index_context(org=org)
    context.update(form=form, page=page, next_query=query.urlencode() if page.next_cursor else "")
    return render(request, "moderation/index.html", context)


@org_required(Perm.VIEW)
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    conversation = selectors.conversation_get(org=org, conversation_id=conversation_id)
    context = {
        "conversation": conversation,
        "messages_": selectors.message_list(org=org, conversation=conversation),
        "others": selectors.author_conversations(org=org, conversation=conversation),
        "actions": selectors.action_list(org=org, conversation=conversation),
        "status_actions": _actions_for(conversation.status),
    }
    return render(request, "moderation/conversation.html", context)


def _actions_for(status: str) -> list[tuple[str, str]]:
    labels = dict(StatusForm.base_fields["action"].choices)  # type: ignore[attr-defined]
    return [(action, labels[action]) for action, (_t, allowed) in services.STATUS_ACTIONS.items() if status in allowed]


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.conversation_get(org=request.org, conversation_id=conversation_id)  # type: ignore[attr-defined]
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose open, resolve, spam or reopen."))
        return redirect("conversation_detail", conversation_id=conversation.id)
    try:
        conversation = services.conversation_status_change(
            conversation=conversation,
            action=form.cleaned_data["action"],
            actor=request.membership,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Conversation marked as %(status)s.") % {"status": conversation.get_status_display().lower()}
        )
    return redirect("conversation_detail", conversation_id=conversation.id)
