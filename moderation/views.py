"""Dashboard pages of moderation: the inbox (live, with saved views and bulk actions), a conversation (reply,
canned replies, notes, network actions, assignment, collision warnings), the team lead's view, queues, canned
replies, VIPs and the audit log. Views parse, call one service or selector, and render."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors as account_selectors
from accounts.models import Membership
from accounts.permissions import org_required
from accounts.roles import Perm, role_allows
from smms.errors import Conflict, DomainError

from . import outbox, selectors, services
from .forms import (
    AgentForm,
    AssignForm,
    BulkForm,
    CannedReplyForm,
    EscalateForm,
    InboxFilterForm,
    MessageActionForm,
    MoveForm,
    NoteForm,
    PriorityForm,
    QueueForm,
    ReplyForm,
    SavedViewForm,
    StatusForm,
    VipForm,
)
from .models import Conversation, PresenceState
from .selectors import InboxFilters


def _org(request: HttpRequest) -> Any:
    return request.org  # type: ignore[attr-defined]


def _me(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined, no-any-return]


def _add_error(form: Form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default)


# --- the inbox ---------------------------------------------------------------------------------------------------
def _filter_form(request: HttpRequest, choices: dict[str, Any]) -> InboxFilterForm:
    return InboxFilterForm(
        request.GET or None, accounts=choices["accounts"], queues=choices["queues"], members=choices["members"]
    )


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    org, me = _org(request), _me(request)
    version = services.inbox_version(org_id=org.id)  # before the query: a change committed meanwhile bumps it
    context = selectors.index_context(org=org, actor=me)
    form = _filter_form(request, context)
    filters = form.filters() if form.is_valid() else InboxFilters()
    after = request.GET.get("after", "")
    try:
        page = selectors.conversation_page(org=org, actor=me, filters=filters, after=after)
    except DomainError as exc:
        messages.error(request, exc.message)
        after = ""
        page = selectors.conversation_page(org=org, actor=me, filters=filters)
    query = request.GET.copy()
    query.pop("after", None)
    filter_query = query.urlencode()
    live_query = query.copy()
    live_query["version"] = version
    query["after"] = page.next_cursor
    context.update(
        form=form,
        page=page,
        filter_query=filter_query,
        next_query=query.urlencode() if page.next_cursor else "",
        live=not after,
        live_query=live_query.urlencode(),
        agent=selectors.agent_state(membership=me),
        bulk_form=BulkForm(members=context["members"], queues=context["queues"]),
        saved_view_form=SavedViewForm(initial={"query": filter_query}),
    )
    return render(request, "moderation/index.html", context)


@org_required(Perm.VIEW)
@require_GET
def inbox_live(request: HttpRequest) -> HttpResponse:
    """The first page's rows again if anything changed in the organization's inbox since the page was drawn
    (its version; a change that takes a row out of the filters counts too), 204 otherwise, which htmx leaves
    alone."""
    org, me = _org(request), _me(request)
    version = services.inbox_version(org_id=org.id)
    if request.GET.get("version") == version:
        return HttpResponse(status=204)
    form = _filter_form(request, selectors.filter_choices(org=org, actor=me))
    filters = form.filters() if form.is_valid() else InboxFilters()
    page = selectors.conversation_page(org=org, actor=me, filters=filters)
    query = request.GET.copy()
    query["version"] = version
    return render(
        request,
        "moderation/partials/inbox_table.html",
        {"page": page, "live_query": query.urlencode(), "live": True},
    )


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def inbox_bulk(request: HttpRequest) -> HttpResponse:
    org, me = _org(request), _me(request)
    form = BulkForm(request.POST, members=selectors.assignable_members(org=org), queues=selectors.queue_list(org=org))
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(request, reverse("inbox"))
    data = form.cleaned_data
    conversations = list(selectors.conversation_queryset(org=org, actor=me).filter(id__in=data["ids"]))
    try:
        to = selectors.member_get(org=org, membership_id=data["assignee"]) if data["assignee"] else None
        queue = selectors.queue_get(org=org, queue_id=data["queue"]) if data["queue"] else None
        result = services.conversations_bulk(
            conversations=conversations, action=data["action"], actor=me, to=to, queue=queue
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result.done:
            messages.success(
                request,
                ngettext("%(n)s conversation changed.", "%(n)s conversations changed.", result.done)
                % {"n": result.done},
            )
        for problem in result.problems[:10]:
            messages.error(request, problem)
    return _back(request, reverse("inbox"))


@org_required(Perm.VIEW)
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = services.saved_view_save(
                actor=_me(request),
                name=form.cleaned_data["name"],
                query=form.cleaned_data["query"],
                shared=form.cleaned_data["shared"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
            return redirect(f"{reverse('inbox')}?{view.query}")
    else:
        messages.error(request, _("Give the view a name."))
    return redirect("inbox")


@org_required(Perm.VIEW)
@require_POST
def saved_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = selectors.saved_view_get(org=_org(request), actor=_me(request), view_id=view_id)
    try:
        services.saved_view_delete(actor=_me(request), view=view)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("View deleted."))
    return redirect("inbox")


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """An agent marks themselves available (automatic queues give them conversations) or away."""
    me = _me(request)
    available = request.POST.get("available") == "1"
    services.agent_update(actor=me, membership=me, available=available)
    messages.success(request, _("You are available.") if available else _("You are away."))
    return _back(request, reverse("inbox"))


# --- a conversation ----------------------------------------------------------------------------------------------
def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return selectors.conversation_get(org=_org(request), conversation_id=conversation_id, actor=_me(request))


def _actions_for(status: str) -> list[tuple[str, str]]:
    labels = dict(StatusForm.base_fields["action"].choices)  # type: ignore[attr-defined]
    return [(action, labels[action]) for action, (_t, allowed) in services.STATUS_ACTIONS.items() if status in allowed]


def _thread_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    org = _org(request)
    messages_ = list(selectors.message_list(org=org, conversation=conversation))
    return {
        "conversation": conversation,
        "messages_": messages_,
        "notes": selectors.note_list(org=org, conversation=conversation),
        "network_actions": selectors.network_action_list(org=org, conversation=conversation)[:20],
        "abilities": selectors.message_abilities(conversation=conversation),
        "version": conversation.updated_at.isoformat(),
        "last_message_id": messages_[-1].id if messages_ else 0,
        "now": timezone.now(),
    }


def _conversation_page(
    request: HttpRequest, conversation: Conversation, reply_form: ReplyForm | None = None, status: int = 200
) -> HttpResponse:
    org, me = _org(request), _me(request)
    services.presence_touch(conversation=conversation, actor=me, state=PresenceState.VIEWING)
    context = _thread_context(request, conversation)
    canned = selectors.canned_reply_list(org=org, language=conversation.lang)
    context.update(
        others=selectors.author_conversations(org=org, conversation=conversation, actor=me),
        actions=selectors.action_list(org=org, conversation=conversation),
        names=selectors.audit_names(org=org),
        status_actions=_actions_for(conversation.status),
        reply_form=reply_form
        or ReplyForm(initial={"client_token": uuid.uuid4().hex, "seen_message": context["last_message_id"]}),
        note_form=NoteForm(auto_id="note_%s"),
        canned=[(c, services.canned_reply_render(canned=c, conversation=conversation, actor=me)) for c in canned],
        reply_problems=outbox.reply_problems(conversation=conversation, text="x"),
        escalate_form=EscalateForm(),
        priority_form=PriorityForm(initial={"priority": conversation.priority}),
        presence=selectors.presence_others(conversation=conversation, actor=me),
        presence_seconds=min(5, settings.SMMS_LIVE_POLL_SECONDS),
        mine=conversation.assignee_id == me.pk,
    )
    if role_allows(me.role, Perm.ASSIGN_CONVERSATIONS):
        context.update(
            assign_form=AssignForm(
                initial={"assignee": conversation.assignee_id, "expected": conversation.assignee_id or ""},
                members=selectors.assignable_members(org=org),
            ),
            move_form=MoveForm(initial={"queue": conversation.queue_id}, queues=selectors.queue_list(org=org)),
        )
    return render(request, "moderation/conversation.html", context, status=status)


@org_required(Perm.VIEW)
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _conversation_page(request, _conversation(request, conversation_id))


@org_required(Perm.VIEW)
@require_GET
def conversation_thread(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The messages, notes and actions again when the conversation changed since ``version`` (204 otherwise)."""
    conversation = _conversation(request, conversation_id)
    if request.GET.get("version") == conversation.updated_at.isoformat():
        return HttpResponse(status=204)
    return render(request, "moderation/partials/thread.html", _thread_context(request, conversation))


@org_required(Perm.VIEW)
@require_POST
def conversation_presence(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The page checks in every few seconds (viewing, or replying while the reply box has text in it) and gets
    back who else is there."""
    conversation = _conversation(request, conversation_id)
    me = _me(request)
    state = request.POST.get("state", PresenceState.VIEWING)
    if role_allows(me.role, Perm.REPLY_CONVERSATIONS) or state == PresenceState.VIEWING:
        services.presence_touch(conversation=conversation, actor=me, state=state)
    return render(
        request,
        "moderation/partials/presence.html",
        {"conversation": conversation, "presence": selectors.presence_others(conversation=conversation, actor=me)},
    )


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose open, wait, resolve, spam or reopen."))
        return redirect("conversation_detail", conversation_id=conversation.id)
    try:
        conversation = services.conversation_status_change(
            conversation=conversation, action=form.cleaned_data["action"], actor=_me(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Conversation marked as %(status)s.") % {"status": conversation.get_status_display().lower()}
        )
    return _back(request, reverse("conversation_detail", args=[conversation.id]))


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _conversation_page(request, conversation, form, status=400)
    data = form.cleaned_data
    target = None
    try:
        if data["in_reply_to"]:
            target = selectors.message_get(org=_org(request), message_id=data["in_reply_to"], actor=_me(request))
        outbox.reply_request(
            conversation=conversation,
            actor=_me(request),
            text=data["text"],
            client_token=data["client_token"],
            resolve=data["resolve"],
            target=target,
            seen_message_id=None if data["force"] else data["seen_message"],
        )
    except Conflict as exc:  # someone replied meanwhile: show it, keep the text, let the agent send anyway
        form.add_error(None, exc.message)
        form.data = form.data.copy()
        form.data["force"] = "1"
        return _conversation_page(request, conversation, form, status=409)
    except DomainError as exc:
        _add_error(form, exc)
        return _conversation_page(request, conversation, form, status=400)
    services.presence_touch(conversation=conversation, actor=_me(request), state=PresenceState.VIEWING)
    messages.success(
        request, _("Reply on its way to %(network)s.") % {"network": conversation.account.get_platform_display()}
    )
    return redirect("conversation_detail", conversation_id=conversation.id)


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_note(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.note_add(conversation=conversation, actor=_me(request), text=form.cleaned_data["text"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            told = note.mentioned.count()
            messages.success(
                request,
                ngettext("Note added; %(n)s person notified.", "Note added; %(n)s people notified.", told) % {"n": told}
                if told
                else _("Note added."),
            )
    else:
        messages.error(request, _("Write the note."))
    return redirect(f"{reverse('conversation_detail', args=[conversation.id])}#notes")


def _act(request: HttpRequest, conversation_id: int, do: Any, done: str) -> HttpResponse:
    """A conversation's one-click action: call the service, say what happened or why not, go back."""
    conversation = _conversation(request, conversation_id)
    try:
        do(conversation=conversation, actor=_me(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back(request, reverse("conversation_detail", args=[conversation.id]))


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_take(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _act(request, conversation_id, services.conversation_take, _("The conversation is yours."))


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_release(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _act(request, conversation_id, services.conversation_release, _("The conversation is back in its queue."))


@org_required(Perm.ASSIGN_CONVERSATIONS)
@require_POST
def conversation_assign(request: HttpRequest, conversation_id: int) -> HttpResponse:
    org = _org(request)
    conversation = _conversation(request, conversation_id)
    form = AssignForm(request.POST, members=selectors.assignable_members(org=org))
    if not form.is_valid():
        messages.error(request, _("Choose who should work on it."))
        return _back(request, reverse("conversation_detail", args=[conversation.id]))
    expected_raw = form.cleaned_data["expected"]
    expected: Any = services.ANYONE
    try:
        if "expected" in request.POST:
            expected = (
                selectors.member_get(org=org, membership_id=int(expected_raw)) if expected_raw.isdigit() else None
            )
        to = form.cleaned_data["assignee"]
        member = selectors.member_get(org=org, membership_id=to) if to else None
        conversation = services.conversation_assign(
            conversation=conversation, to=member, actor=_me(request), expected_assignee=expected
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if conversation.assignee is not None:
            messages.success(request, _("Assigned to %(who)s.") % {"who": conversation.assignee.user})
        else:
            messages.success(request, _("The conversation is unassigned."))
    return _back(request, reverse("conversation_detail", args=[conversation.id]))


@org_required(Perm.ASSIGN_CONVERSATIONS)
@require_POST
def conversation_move(request: HttpRequest, conversation_id: int) -> HttpResponse:
    org = _org(request)
    conversation = _conversation(request, conversation_id)
    form = MoveForm(request.POST, queues=selectors.queue_list(org=org))
    if form.is_valid():
        queue_id = form.cleaned_data["queue"]
        try:
            queue = selectors.queue_get(org=org, queue_id=queue_id) if queue_id else None
            services.conversation_move(conversation=conversation, queue=queue, actor=_me(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Moved to %(queue)s.") % {"queue": queue.name} if queue else _("Taken out of its queue.")
            )
    return redirect("conversation_detail", conversation_id=conversation.id)


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_escalate(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = EscalateForm(request.POST)
    form.is_valid()
    try:
        services.conversation_escalate(
            conversation=conversation, actor=_me(request), reason=form.cleaned_data.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Escalated: the team leads are told."))
    return redirect("inbox")  # it may have moved to a queue this agent's teams do not work


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def conversation_priority(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _conversation(request, conversation_id)
    form = PriorityForm(request.POST)
    if form.is_valid():
        services.conversation_priority_set(
            conversation=conversation, priority=form.cleaned_data["priority"], actor=_me(request)
        )
        messages.success(request, _("Priority changed."))
    return redirect("conversation_detail", conversation_id=conversation.id)


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def message_act(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(org=_org(request), message_id=message_id, actor=_me(request))
    form = MessageActionForm(request.POST)
    if form.is_valid():
        try:
            outbox.message_action_request(
                message=message,
                actor=_me(request),
                kind=form.cleaned_data["kind"],
                client_token=form.cleaned_data["client_token"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("On its way to the network."))
    return redirect("conversation_detail", conversation_id=message.conversation_id)


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def network_action_retry(request: HttpRequest, action_id: int) -> HttpResponse:
    action = selectors.network_action_get(org=_org(request), action_id=action_id, actor=_me(request))
    try:
        outbox.network_action_retry(action=action, actor=_me(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Sent again."))
    return redirect("conversation_detail", conversation_id=action.conversation_id)


# --- the team lead's view ----------------------------------------------------------------------------------------
def _bars(rows: list[tuple[str, int]]) -> list[dict[str, Any]]:
    top = max((n for _label, n in rows), default=0) or 1
    return [{"label": label, "count": n, "percent": round(100 * n / top)} for label, n in rows]


@org_required(Perm.ASSIGN_CONVERSATIONS)
def team(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    view = selectors.team_view(org=org)
    board = selectors.agent_board(org=org, agents=view.agents)
    backlog = _bars([(s.queue.name if s.queue else _("No queue"), s.backlog) for s in view.queues])
    context = {
        "view": view,
        "backlog_chart": backlog,
        "agents": [(row, view.agent_stats.get(row.membership.id)) for row in view.agents],
        "board": [(row, board.get(row.membership.id, [])) for row in view.agents],
        "unassigned": board.get(None, []),
        "now": timezone.now(),
    }
    return render(request, "moderation/team.html", context)


@org_required(Perm.ASSIGN_CONVERSATIONS)
@require_POST
def agent_update(request: HttpRequest, membership_id: int) -> HttpResponse:
    member = selectors.member_get(org=_org(request), membership_id=membership_id)
    form = AgentForm(request.POST)
    if form.is_valid():
        try:
            services.agent_update(
                actor=_me(request),
                membership=member,
                available=form.cleaned_data["available"],
                capacity=form.cleaned_data["capacity"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(who)s updated.") % {"who": member.user})
    else:
        messages.error(request, _("Give a capacity between 1 and 500."))
    return redirect("inbox_team")


# --- queues, canned replies, VIPs --------------------------------------------------------------------------------
def _queue_form(request: HttpRequest, data: Any = None, initial: dict[str, Any] | None = None) -> QueueForm:
    org = _org(request)
    return QueueForm(
        data,
        initial=initial,
        teams=account_selectors.team_list(org=org),
        accounts=account_selectors.social_account_list(org=org).order_by("platform", "handle"),
        groups=account_selectors.account_group_list(org=org),
        queues=selectors.queue_list(org=org),
    )


def _saved(request: HttpRequest, form: Form, save: Callable[[], Any], done: str, to: str) -> HttpResponse | None:
    """A settings form posted: save it through its service and go to ``to`` saying ``done``; None to show the
    page again (not posted, invalid, or refused by the service, whose reason is on the form)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        save()
    except DomainError as exc:
        _add_error(form, exc)
        return None
    messages.success(request, done)
    return redirect(to)


@org_required(Perm.VIEW)
def queues(request: HttpRequest) -> HttpResponse:
    form = _queue_form(request, request.POST or None)
    done = _saved(
        request,
        form,
        lambda: services.queue_save(actor=_me(request), spec=form.spec()),
        _("Queue created."),
        "inbox_queues",
    )
    return done or render(
        request, "moderation/queues.html", {"queues": selectors.queue_list(org=_org(request)), "form": form}
    )


@org_required(Perm.ASSIGN_CONVERSATIONS)
def queue_edit(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = selectors.queue_get(org=_org(request), queue_id=queue_id)
    form = _queue_form(request, request.POST or None, initial=QueueForm.initial_of(queue))
    save = lambda: services.queue_save(actor=_me(request), spec=form.spec(), queue=queue)  # noqa: E731
    done = _saved(request, form, save, _("Queue saved."), "inbox_queues")
    return done or render(request, "moderation/queue_edit.html", {"queue": queue, "form": form})


@org_required(Perm.ASSIGN_CONVERSATIONS)
@require_POST
def queue_delete(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = selectors.queue_get(org=_org(request), queue_id=queue_id)
    services.queue_delete(actor=_me(request), queue=queue)
    messages.success(request, _("Queue deleted; its conversations are kept, in no queue."))
    return redirect("inbox_queues")


@org_required(Perm.VIEW)
def canned_replies(request: HttpRequest) -> HttpResponse:
    form = CannedReplyForm(request.POST or None)
    save = lambda: services.canned_reply_save(actor=_me(request), **form.cleaned_data)  # noqa: E731
    done = _saved(request, form, save, _("Canned reply saved."), "inbox_canned")
    context = {
        "replies": selectors.canned_reply_list(org=_org(request)), "form": form, "variables": services.VARIABLES.items()
    }  # fmt: skip
    return done or render(request, "moderation/canned.html", context)


@org_required(Perm.ASSIGN_CONVERSATIONS)
def canned_reply_edit(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = selectors.canned_reply_get(org=_org(request), canned_id=canned_id)
    if request.method == "POST" and request.POST.get("delete"):
        services.canned_reply_delete(actor=_me(request), canned=canned)
        messages.success(request, _("Canned reply deleted."))
        return redirect("inbox_canned")
    form = CannedReplyForm(request.POST or None, instance=canned)
    save = lambda: services.canned_reply_save(actor=_me(request), canned=canned, **form.cleaned_data)  # noqa: E731
    done = _saved(request, form, save, _("Canned reply saved."), "inbox_canned")
    context = {"canned": canned, "form": form, "variables": services.VARIABLES.items()}
    return done or render(request, "moderation/canned_edit.html", context)


@org_required(Perm.VIEW)
def vips(request: HttpRequest) -> HttpResponse:
    form = VipForm(request.POST or None)
    save = lambda: services.vip_add(actor=_me(request), **form.cleaned_data)  # noqa: E731
    done = _saved(request, form, save, _("Added to the VIP list."), "inbox_vips")
    return done or render(
        request, "moderation/vips.html", {"vips": selectors.vip_list(org=_org(request)), "form": form}
    )


@org_required(Perm.ASSIGN_CONVERSATIONS)
@require_POST
def vip_remove(request: HttpRequest, vip_id: int) -> HttpResponse:
    vip = selectors.vip_get(org=_org(request), vip_id=vip_id)
    services.vip_remove(actor=_me(request), vip=vip)
    messages.success(request, _("Removed from the VIP list."))
    return redirect("inbox_vips")


# --- the audit log -----------------------------------------------------------------------------------------------
@org_required(Perm.VIEW_AUDIT_LOG)
def audit(request: HttpRequest) -> HttpResponse:
    org = _org(request)
    before = request.GET.get("before", "")
    actor = request.GET.get("actor", "")
    action = request.GET.get("action", "")[:32]
    page = selectors.audit_page(
        org=org,
        before=int(before) if before.isdigit() else None,
        actor_id=int(actor) if actor.isdigit() else None,
        action=action,
    )
    query = request.GET.copy()
    if page.next_before is not None:
        query["before"] = str(page.next_before)
    return render(
        request,
        "moderation/audit.html",
        {
            "page": page,
            "next_query": query.urlencode() if page.next_before is not None else "",
            "members": account_selectors.member_list(org=org).select_related("user"),
            "actor": actor,
            "action": action,
            "actions": AUDIT_ACTIONS,
            "names": selectors.audit_names(org=org),
        },
    )


AUDIT_ACTIONS = (
    "assign", "take", "release", "move", "escalate", "priority", "open", "wait", "resolve", "spam", "reopen", "note",
    "reply_requested", "replied", "like", "hide", "unhide", "delete", "action_failed", "retry", "sla_breached",
)  # fmt: skip
