"""Reads of moderation, scoped to the acting organization.

The inbox is read newest first by keyset (last_message_at, id), each filter combination served by one of
Conversation's composite indexes, so a page costs the same at the millionth conversation as at the first.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import Membership, Organization, SocialAccountStatus
from smms.errors import NotFound, ValidationFailed

from .models import Conversation, Message, ModerationAction

PAGE_SIZE = 50


def index_context(*, org: Organization) -> dict[str, Any]:
    """The accounts whose comments, mentions and messages feed the inbox, and the teams that work it."""
    return {
        "accounts": account_selectors.social_account_list(org=org, status=SocialAccountStatus.CONNECTED),
        "teams": account_selectors.team_list(org=org),
    }


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""
    network: str = ""
    account_id: int | None = None
    assignee: str = ""  # "mine", "unassigned" or "" (anyone)
    lang: str = ""
    sentiment: str = ""
    author_id: str = ""  # with network: one person's conversations


@dataclass
class InboxPage:
    conversations: list[Conversation]
    next_cursor: str = ""
    filters: InboxFilters = field(default_factory=InboxFilters)


def conversation_queryset(*, org: Organization) -> QuerySet[Conversation]:
    return Conversation.objects.filter(organization=org).select_related("account", "assignee__user")


def conversation_filter(
    *, org: Organization, actor: Membership | None, filters: InboxFilters
) -> QuerySet[Conversation]:
    """The organization's conversations narrowed by the inbox filters, newest first."""
    conversations = conversation_queryset(org=org)
    if filters.status:
        conversations = conversations.filter(status=filters.status)
    if filters.network:
        conversations = conversations.filter(platform=filters.network)
    if filters.account_id is not None:
        conversations = conversations.filter(account_id=filters.account_id)
    if filters.assignee == "mine":  # an API key is nobody: nothing is its own (not the unassigned ones)
        mine = actor is not None and actor.pk is not None
        conversations = conversations.filter(assignee_id=actor.pk) if mine else conversations.none()  # type: ignore[union-attr]
    elif filters.assignee == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    if filters.lang:
        conversations = conversations.filter(lang=filters.lang)
    if filters.sentiment:
        conversations = conversations.filter(sentiment=filters.sentiment)
    if filters.author_id:
        conversations = conversations.filter(author_id=filters.author_id)
    return conversations.order_by("-last_message_at", "-id")


def _encode(conversation: Conversation) -> str:
    raw = f"{conversation.last_message_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, conversation_id = raw.split("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment, int(conversation_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            _("This page link is not valid: start again from the first page."), field="after"
        ) from None


def conversation_page(
    *,
    org: Organization,
    actor: Membership | None,
    filters: InboxFilters,
    after: str = "",
    size: int | None = None,
) -> InboxPage:
    """One page of the inbox after the keyset ``after`` (opaque, from the previous page's ``next_cursor``)."""
    conversations = conversation_filter(org=org, actor=actor, filters=filters)
    if after:
        at, last_id = _decode(after)
        conversations = conversations.filter(Q(last_message_at__lt=at) | Q(last_message_at=at, id__lt=last_id))
    size = size or PAGE_SIZE
    rows = list(conversations[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return InboxPage(rows, _encode(rows[-1]) if more else "", filters)


def conversation_get(*, org: Organization, conversation_id: int) -> Conversation:
    """A conversation of the organization; any other id (another organization's included) is NotFound."""
    conversation = conversation_queryset(org=org).filter(id=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    return conversation


def message_list(*, org: Organization, conversation: Conversation) -> QuerySet[Message]:
    """A conversation's messages in the order they were written, ours included."""
    return (
        Message.objects.filter(organization=org, conversation=conversation)
        .select_related("sent_by__user")
        .order_by("created_at", "id")
    )


def author_conversations(*, org: Organization, conversation: Conversation, limit: int = 20) -> list[Conversation]:
    """The same person's other conversations in the organization, on any of its accounts of that network."""
    return list(
        conversation_queryset(org=org)
        .filter(platform=conversation.platform, author_id=conversation.author_id)
        .exclude(id=conversation.id)
        .order_by("-last_message_at", "-id")[:limit]
    )


def action_list(*, org: Organization, conversation: Conversation) -> QuerySet[ModerationAction]:
    return (
        ModerationAction.objects.filter(organization=org, conversation=conversation)
        .select_related("actor__user")
        .order_by("at", "id")
    )
