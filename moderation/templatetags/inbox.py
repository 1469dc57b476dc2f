"""Template helpers of the inbox: the SLA state of a conversation, for its badge; audit records in words."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from moderation.models import AWAITING_US, Conversation, ModerationAction
from moderation.selectors import AT_RISK

register = template.Library()


@register.filter
def sla_state(conversation: Conversation) -> str:
    """ "breached" when our response is overdue, "at_risk" when it is due within 30 minutes, else ""."""
    due = conversation.response_due_at
    if due is None or conversation.status not in AWAITING_US:
        return ""
    now = timezone.now()
    if due <= now:
        return "breached"
    return "at_risk" if due - now <= AT_RISK else ""


@register.simple_tag
def audit_detail(action: ModerationAction, names: dict[str, dict[int, str]]) -> str:
    """What an audit record changed, in words: members and queues by name rather than by id."""
    detail = action.detail or {}
    members, queues = names.get("members", {}), names.get("queues", {})
    nobody = _("nobody")

    def member(value: object) -> str:
        return members.get(value, f"#{value}") if isinstance(value, int) else nobody

    if action.action in ("assign", "take", "release"):
        return f"{member(detail.get('from'))} → {member(detail.get('to'))}"
    if action.action in ("move",) or (action.action == "escalate" and detail.get("to_queue")):
        target = detail.get("to") if action.action == "move" else detail.get("to_queue")
        where = queues.get(target, _("no queue")) if isinstance(target, int) else _("no queue")
        reason = detail.get("reason")
        return f"→ {where}" + (f" — {reason}" if reason else "")
    if "from" in detail and "to" in detail:
        return f"{detail['from']} → {detail['to']}"
    if detail.get("reason"):
        return str(detail["reason"])
    return ""


AUDIT_LABELS = {
    "assign": gettext_lazy("Assigned"),
    "take": gettext_lazy("Taken"),
    "release": gettext_lazy("Given back to the queue"),
    "move": gettext_lazy("Moved to another queue"),
    "escalate": gettext_lazy("Escalated"),
    "priority": gettext_lazy("Priority changed"),
    "open": gettext_lazy("Opened"),
    "wait": gettext_lazy("Set waiting for them"),
    "resolve": gettext_lazy("Resolved"),
    "spam": gettext_lazy("Marked as spam"),
    "reopen": gettext_lazy("Reopened"),
    "note": gettext_lazy("Note added"),
    "reply_requested": gettext_lazy("Reply written"),
    "replied": gettext_lazy("Reply sent"),
    "like": gettext_lazy("Liked"),
    "like_requested": gettext_lazy("Like asked"),
    "hide": gettext_lazy("Hidden"),
    "hide_requested": gettext_lazy("Hiding asked"),
    "unhide": gettext_lazy("Unhidden"),
    "unhide_requested": gettext_lazy("Unhiding asked"),
    "delete": gettext_lazy("Deleted on the network"),
    "delete_requested": gettext_lazy("Deletion asked"),
    "action_failed": gettext_lazy("Not sent"),
    "retry": gettext_lazy("Sent again"),
    "sla_breached": gettext_lazy("Answer overdue"),
}


@register.filter
def audit_label(code: str) -> str:
    """An audit record's action in words, in the reader's language (the code itself for one unknown here)."""
    return str(AUDIT_LABELS.get(code, code))


@register.filter
def sentiment_label(code: str) -> str:
    """A stored sentiment (positive, neutral…) in the reader's language."""
    from listening.models import Sentiment

    return str(dict(Sentiment.choices).get(code, code))
