"""Dashboard pages of listening: topics, their live stream, charts and alerts."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import org_required
from accounts.roles import Perm
from smms.errors import DomainError, NotFound

from . import exports, selectors, services
from .forms import MentionFilterForm, TopicForm
from .models import ExportStatus, Mention
from .query import QuerySyntaxError, parse


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    form = TopicForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            topic = services.topic_save(actor=request.membership, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Topic created: mentions that match it appear as they arrive."))
            return redirect("topic_detail", topic_id=topic.id)
    context = selectors.index_context(org=org)
    context.update(form=form, share=selectors.share_of_voice(org=org))
    return render(request, "listening/index.html", context)


@org_required(Perm.VIEW)
def query_check(request: HttpRequest) -> HttpResponse:
    """Live feedback in the topic editor: where the query is wrong and why, or what it will look for."""
    text = request.GET.get("query", "")
    if not text.strip():
        return HttpResponse("")
    try:
        parse(text)
    except QuerySyntaxError as exc:
        message = services.query_error_text(exc)
        return render(
            request, "listening/partials/query_check.html", {"error": message, "query": text, "at": exc.position}
        )
    return render(request, "listening/partials/query_check.html", {"ok": True})


def _poll_url(request: HttpRequest, topic_id: int, newest_id: int) -> str:
    """The live stream's next request: the same filters, only what is newer than ``newest_id``."""
    query = request.GET.copy()
    query["after"] = str(newest_id)
    return f"{reverse('topic_stream', args=[topic_id])}?{query.urlencode()}"


def _filters(request: HttpRequest) -> tuple[MentionFilterForm, selectors.MentionFilters]:
    form = MentionFilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    tz = timezone.get_current_timezone()
    since = data.get("since")
    until = data.get("until")
    after = request.GET.get("after")
    return form, selectors.MentionFilters(
        network=data.get("network", ""),
        lang=data.get("lang", ""),
        sentiment=data.get("sentiment", ""),
        author=data.get("author", ""),
        since=datetime.combine(since, time.min, tz) if since else None,
        until=datetime.combine(until, time.max, tz) if until else None,
        after_id=int(after) if after and after.isdigit() else None,
    )


@org_required(Perm.VIEW)
def topic_detail(request: HttpRequest, topic_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    topic = selectors.topic_get(org=org, topic_id=topic_id)
    form, filters = _filters(request)
    mentions = selectors.topic_mentions(topic=topic, filters=filters)
    series = selectors.chart_bars(selectors.topic_series(topic=topic))
    context = {
        "topic": topic,
        "form": form,
        "mentions": mentions,
        "poll_url": _poll_url(request, topic.id, max((m.id for m in mentions), default=0)),
        "series": series,
        "leaders": selectors.topic_leaders(topic=topic),
        "alerts": selectors.alert_list(org=org, topic=topic),
        "share": selectors.share_of_voice(org=org),
        "querystring": request.GET.urlencode(),
        "exports": selectors.export_list(org=org, topic=topic),
    }
    return render(request, "listening/topic.html", context)


@org_required(Perm.VIEW)
def topic_stream(request: HttpRequest, topic_id: int) -> HttpResponse:
    """The live stream's new rows (htmx polls it); an empty answer changes nothing on the page."""
    topic = selectors.topic_get(org=request.org, topic_id=topic_id)  # type: ignore[attr-defined]
    _form, filters = _filters(request)
    mentions = selectors.topic_mentions(topic=topic, filters=filters, limit=100)
    context = {"mentions": mentions, "topic": topic}
    if mentions:
        context["poll_url"] = _poll_url(request, topic.id, max(m.id for m in mentions))
    return render(request, "listening/partials/mention_rows.html", context)


@org_required(Perm.MANAGE_TOPICS)
def topic_edit(request: HttpRequest, topic_id: int) -> HttpResponse:
    topic = selectors.topic_get(org=request.org, topic_id=topic_id)  # type: ignore[attr-defined]
    form = TopicForm(request.POST or None, initial={"name": topic.name, "kind": topic.kind, "query": topic.query})
    if request.method == "POST" and form.is_valid():
        try:
            services.topic_save(actor=request.membership, topic=topic, **form.cleaned_data)  # type: ignore[attr-defined]
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Topic saved. Its query is being applied to the mentions of the last %(days)s days.")
                % {"days": settings.SMMS_TOPIC_REMATCH_DAYS},
            )
            return redirect("topic_detail", topic_id=topic.id)
    return render(request, "listening/topic_edit.html", {"form": form, "topic": topic})


@org_required(Perm.MANAGE_TOPICS)
@require_POST
def topic_delete(request: HttpRequest, topic_id: int) -> HttpResponse:
    topic = selectors.topic_get(org=request.org, topic_id=topic_id)  # type: ignore[attr-defined]
    services.topic_delete(topic=topic, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("Topic deleted."))
    return redirect("listening")


@org_required(Perm.VIEW)
@require_POST
def export_start(request: HttpRequest, topic_id: int) -> HttpResponse:
    """Queue a CSV export of the topic's mentions with the filters the page shows (its query string)."""
    org = request.org  # type: ignore[attr-defined]
    topic = selectors.topic_get(org=org, topic_id=topic_id)
    _form, filters = _filters(request)
    exports.export_start(actor=request.membership, topic=topic, filters=filters)  # type: ignore[attr-defined]
    if request.htmx:  # type: ignore[attr-defined]
        context = {"exports": selectors.export_list(org=org, topic=topic)}
        return render(request, "listening/partials/exports.html", context)
    messages.success(request, _("Export started: the file appears below when it is ready."))
    query = request.GET.urlencode()
    return redirect(f"{reverse('topic_detail', args=[topic.id])}{'?' + query if query else ''}#exports")


@org_required(Perm.VIEW)
def export_progress(request: HttpRequest, export_id: int) -> HttpResponse:
    """One export's state; the fragment polls itself every second until the file is ready or the run failed."""
    export = selectors.export_get(org=request.org, export_id=export_id)  # type: ignore[attr-defined]
    return render(request, "listening/partials/export.html", {"export": export})


@org_required(Perm.VIEW)
def export_download(request: HttpRequest, export_id: int) -> FileResponse:
    export = selectors.export_get(org=request.org, export_id=export_id)  # type: ignore[attr-defined]
    if export.status != ExportStatus.DONE:
        raise NotFound("export file")
    try:
        file = export.file.open("rb")
    except FileNotFoundError:
        raise NotFound("export file") from None
    return FileResponse(file, as_attachment=True, filename=export.download_name(), content_type="text/csv")


@org_required(Perm.VIEW)
def alerts_live(request: HttpRequest) -> HttpResponse:
    """The fire banner, refreshed by every dashboard page without a reload."""
    alerts = selectors.alerts_open(org=request.org)  # type: ignore[attr-defined]
    return render(request, "listening/partials/alerts_live.html", {"alerts": alerts})


@org_required(Perm.MANAGE_TOPICS)
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get(org=request.org, alert_id=alert_id)  # type: ignore[attr-defined]
    services.alert_acknowledge(alert=alert, actor=request.membership)  # type: ignore[attr-defined]
    return redirect("topic_detail", topic_id=alert.topic_id)


@org_required(Perm.MANAGE_TOPICS)
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_get(org=request.org, alert_id=alert_id)  # type: ignore[attr-defined]
    services.alert_resolve(alert=alert, actor=request.membership)  # type: ignore[attr-defined]
    return redirect("topic_detail", topic_id=alert.topic_id)


@org_required(Perm.REPLY_CONVERSATIONS)
@require_POST
def mention_sentiment(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention: Mention = selectors.mention_get(org=request.org, mention_id=mention_id)  # type: ignore[attr-defined]
    try:
        services.mention_correct_sentiment(
            mention=mention,
            sentiment=request.POST.get("sentiment", ""),
            actor=request.membership,  # type: ignore[attr-defined]
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=400)
    return render(request, "listening/partials/mention_row.html", {"mention": mention})
