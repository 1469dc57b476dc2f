"""Template helpers of the inbox: the SLA state of a conversation, for its badge; audit records in words."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from moderation.models import Conversation, ConversationStatus, ModerationAction
from moderation.selectors import AT_RISK

register = template.Library()


@register.filter
def sla_state(conversation: Conversation) -> str:
    """ "breached" when our response is overdue, "at_risk" when it is due within 30 minutes, else ""."""
    due = conversation.response_due_at
    if due is None or conversation.status not in (ConversationStatus.NEW, ConversationStatus.OPEN):
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
