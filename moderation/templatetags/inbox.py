"""Template helpers of the inbox: the SLA state of a conversation, for its badge."""

from __future__ import annotations

from django import template
from django.utils import timezone

from moderation.models import Conversation, ConversationStatus
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
