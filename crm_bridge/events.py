"""The catalogue of webhook events: the one place that names them.

An event name is ``<object>.<what happened>``; its label says what the receiver is told, in the reader's
language. To publish a new event, add one line here and call ``crm_bridge.services.event_publish`` with it.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

TEST = "webhook.test"

EVENTS: dict[str, Promise] = {
    "alert.opened": _("A fire alert opened on a listening topic"),
    "alert.resolved": _("A fire alert was resolved"),
    "post.submitted": _("A post was sent for approval"),
    "post.approved": _("A post was approved (and scheduled, when it has a time)"),
    "post.sent_back": _("A post was sent back to its author with what should change"),
    "delivery.published": _("A scheduled post was published on one of the organization's accounts"),
    "delivery.failed": _("A scheduled post could not be published on one of the organization's accounts"),
    "conversation.assigned": _("An inbox conversation was assigned, reassigned or unassigned"),
    "conversation.status_changed": _(
        "An inbox conversation was opened, set waiting for them, resolved, marked as spam or reopened"
    ),
    "conversation.escalated": _("An inbox conversation was escalated"),
    "conversation.replied": _("A reply was sent to a conversation on its network"),
    "conversation.sla_breached": _("A conversation waited longer than its queue's response time"),
    TEST: _("A test event, sent on request from the webhooks page or the API"),
}

# Sent to one endpoint on request, whatever it subscribes to: subscribing to it would change nothing.
ON_REQUEST_ONLY = frozenset({TEST})


def subscribable() -> list[tuple[str, Promise]]:
    """(name, label) of every event an endpoint may subscribe to, in catalogue order."""
    return [(name, label) for name, label in EVENTS.items() if name not in ON_REQUEST_ONLY]
