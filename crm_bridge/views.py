"""Dashboard pages of crm_bridge: thin, each parses input, calls one service or selector, renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import org_required
from accounts.roles import Perm
from smms.errors import DomainError

from . import selectors, services
from .events import EVENTS
from .forms import WebhookEndpointForm
from .models import WebhookEndpoint

T = TypeVar("T")


def _saved(form: WebhookEndpointForm, action: Callable[[dict[str, Any]], T]) -> T | None:
    """Run the service with a valid form's data; its domain error becomes a form error. None: show the form."""
    if not form.is_bound or not form.is_valid():
        return None
    try:
        return action(form.cleaned_data)
    except DomainError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


def _pressed(request: HttpRequest, action: Callable[[], object], success: str) -> None:
    """Run the service behind a button; its domain error or the success is the message on the next page."""
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@org_required(Perm.VIEW)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "crm_bridge/index.html", selectors.index_context(org=request.org))  # type: ignore[attr-defined]


# --- webhooks -----------------------------------------------------------------------------------------------
@org_required(Perm.MANAGE_WEBHOOKS)
def webhooks(request: HttpRequest) -> HttpResponse:
    endpoints = selectors.webhook_endpoint_list(org=request.org)  # type: ignore[attr-defined]
    return render(request, "crm_bridge/webhooks.html", {"endpoints": endpoints, "event_labels": EVENTS})


def _show_secret(request: HttpRequest, endpoint: WebhookEndpoint, secret: str, *, created: bool) -> HttpResponse:
    """The only page that ever shows a secret: answered to the POST that made it, never stored for later."""
    context = {"endpoint": endpoint, "secret": secret, "created": created}
    return render(request, "crm_bridge/webhook_secret.html", context)


@org_required(Perm.MANAGE_WEBHOOKS)
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    endpoint = _saved(form, lambda data: services.webhook_endpoint_save(actor=request.membership, **data))  # type: ignore[attr-defined]
    if endpoint is not None:
        return _show_secret(request, endpoint, endpoint.secret, created=True)
    return render(request, "crm_bridge/webhook_form.html", {"form": form})


@org_required(Perm.MANAGE_WEBHOOKS)
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)  # type: ignore[attr-defined]
    deliveries = list(selectors.webhook_delivery_list(endpoint=endpoint)[:50])
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "in_flight": selectors.webhook_deliveries_in_flight(deliveries),
        "event_labels": EVENTS,
    }
    template = "crm_bridge/partials/deliveries.html" if request.htmx else "crm_bridge/webhook_detail.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@org_required(Perm.MANAGE_WEBHOOKS)
def webhook_edit(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)  # type: ignore[attr-defined]
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "is_active": endpoint.is_active,
    }
    form = WebhookEndpointForm(request.POST or None, initial=initial, editing=True)
    actor = request.membership  # type: ignore[attr-defined]
    if _saved(form, lambda data: services.webhook_endpoint_save(actor=actor, endpoint=endpoint, **data)):
        messages.success(request, _("Endpoint saved."))
        return redirect("webhook_detail", endpoint_id=endpoint.id)
    return render(request, "crm_bridge/webhook_form.html", {"form": form, "endpoint": endpoint})


@org_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)  # type: ignore[attr-defined]
    services.webhook_endpoint_delete(endpoint=endpoint, actor=request.membership)  # type: ignore[attr-defined]
    messages.success(request, _("Endpoint deleted: it receives no more events."))
    return redirect("webhooks")


@org_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def webhook_rotate_secret(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)  # type: ignore[attr-defined]
    secret = services.webhook_secret_rotate(endpoint=endpoint, actor=request.membership)  # type: ignore[attr-defined]
    return _show_secret(request, endpoint, secret, created=False)


@org_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org=request.org, endpoint_id=endpoint_id)  # type: ignore[attr-defined]
    _pressed(
        request,
        lambda: services.webhook_test_send(endpoint=endpoint, actor=request.membership),  # type: ignore[attr-defined]
        _("Test event queued: its delivery appears below within seconds."),
    )
    return redirect("webhook_detail", endpoint_id=endpoint.id)


@org_required(Perm.MANAGE_WEBHOOKS)
@require_POST
def webhook_redeliver(request: HttpRequest, delivery_id: int) -> HttpResponse:
    delivery = selectors.webhook_delivery_get(org=request.org, delivery_id=delivery_id)  # type: ignore[attr-defined]
    _pressed(
        request,
        lambda: services.webhook_redeliver(delivery=delivery, actor=request.membership),  # type: ignore[attr-defined]
        _("Delivery queued again."),
    )
    return redirect("webhook_detail", endpoint_id=delivery.endpoint_id)
