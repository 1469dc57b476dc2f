"""What the inbox does on the networks: replies, likes, hiding, unhiding and deleting messages, each sent once.

A request (``reply_request``, ``message_action_request``) stores a NetworkAction in the state *pending* (a reply
also stores its own outbound Message, shown at once as "sending") and queues it after commit. A worker then
sends it the way a scheduled post is sent (see publishing.services):

- it claims the action with one conditional UPDATE (pending and due → sending, with a claim that expires), so
  of two workers handed the same action one sends it and the other does nothing;
- it calls the network outside any transaction, with the action's idempotency key where the network takes one;
- success is recorded in one transaction guarded by the claim: the network's id on the action and on the
  reply's message, the conversation's first-response time, status and response clock, an audit record and the
  ``conversation.replied`` webhook;
- a lost answer (timeout, reset, unreadable success) marks the outcome unknown: before anything is sent again
  SMMS looks for the reply on the network (``find_reply``) and records it if it is there;
- 5xx and 429 are retried with backoff and jitter (never before the network's reset); a revoked token, a refused
  text or a missing permission fails at once, with a reason the agent reads on the message and in the bell;
- a sweep takes over actions whose worker died (claim expired): a reply found on the network is recorded, and
  anything else goes back to pending, to be checked before it is sent.

Likes, hides and deletes are idempotent on the networks (liking twice likes once; deleting what is gone is
done), so they are simply sent again after an unknown outcome.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Membership, NotificationKind, SocialAccountStatus
from accounts.platforms import capabilities
from accounts.roles import Perm
from accounts.services import require
from crm_bridge.services import event_publish
from smms.connectors import errors as cx
from smms.connectors.base import Connector
from smms.connectors.types import AccountRef, RemotePost
from smms.errors import Conflict, ValidationFailed
from smms.lib.backoff import attempt_failed, outcome_unknown, retry_at
from smms.lib.db import db_datetime, update_returning

from .models import (
    AWAITING_US,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    NetworkAction,
    NetworkActionKind,
    NetworkActionState,
)
from .services import _audit, _event_data, _excerpt, _news

logger = logging.getLogger(__name__)

K, S = NetworkActionKind, NetworkActionState
# How far before the request a reply found on the network may have been made (clocks differ).
RECONCILE_MARGIN = timedelta(minutes=10)
# A request is queued at once after commit; the dispatcher hands it out again only if that enqueue was lost.
DISPATCH_LEASE = timedelta(seconds=30)
REPLY_MAX_LENGTH = 10_000


# --- requests ------------------------------------------------------------------------------------------------
def reply_target(conversation: Conversation) -> Message | None:
    """The message a reply answers by default: their latest message still on the network."""
    return (
        Message.objects.filter(conversation=conversation, direction=Direction.INBOUND, is_deleted=False)
        .exclude(remote_id="")
        .order_by("-created_at", "-id")
        .first()
    )


def reply_posted_text(conversation: Conversation, target: Message, text: str) -> str:
    """The text as the network will count it: Mastodon replies start with the author's @handle (the connector
    adds it, as Mastodon's own clients do)."""
    handle = target.author_handle
    if conversation.platform == "mastodon" and handle and f"@{handle}" not in text:
        return f"@{handle} {text}"
    return text


def reply_problems(*, conversation: Conversation, text: str, target: Message | None = None) -> list[str]:
    """Why this reply cannot be sent as it is (empty: it can): the network's rules for its length and what it
    may do, checked with the account's own limits (a Mastodon instance's character limit)."""
    from publishing.services import text_check  # the composer's per-network counting rules

    account = conversation.account
    network = account.get_platform_display()
    if not capabilities(account.platform).reply:
        return [_("SMMS cannot reply on %(network)s.") % {"network": network}]
    if account.status != SocialAccountStatus.CONNECTED:
        return [_("%(account)s is not connected: reconnect it to reply.") % {"account": account}]
    target = target or reply_target(conversation)
    if target is None:
        return [_("There is no message of theirs left on %(network)s to answer.") % {"network": network}]
    if not text.strip():
        return [_("Write the reply.")]
    if len(text) > REPLY_MAX_LENGTH:
        return [
            _("A reply is at most %(limit)s characters.")
            % {"limit": number_format(REPLY_MAX_LENGTH, force_grouping=True)}
        ]
    check = text_check(account.platform, reply_posted_text(conversation, target, text), account.extra.get("instance"))
    if not check.ok:
        return [
            _("Too long for %(network)s: %(length)s of %(limit)s characters.")
            % {"network": network, "length": check.length, "limit": check.limit},
            *check.problems,
        ]
    return list(check.problems)


def _existing(
    org_id: int, client_token: str, *, conversation_id: int, kind: str, actor: Membership
) -> NetworkAction | None:
    """The action an earlier request with this token made: the same request again. A token reused for another
    conversation, kind of action or person is refused rather than answered with someone else's action."""
    if not client_token:
        return None
    action = NetworkAction.objects.filter(organization_id=org_id, client_token=client_token).first()
    if action is None:
        return None
    same = (action.conversation_id, action.kind, action.requested_by_id) == (conversation_id, kind, actor.pk)
    if not same:
        raise Conflict(_("This request token was already used for another action: send a new one."))
    return action


def _enqueue(action_id: int) -> None:
    from .tasks import network_action_run

    network_action_run.delay(action_id)


def reply_request(
    *,
    conversation: Conversation,
    actor: Membership,
    text: str,
    client_token: str = "",
    resolve: bool = False,
    target: Message | None = None,
    seen_message_id: int | None = None,
) -> NetworkAction:
    """Ask for a reply to be sent (it is sent by a worker, once). The same ``client_token`` twice (a double
    click, a retried API call) is one reply. With ``seen_message_id`` (the last message the agent saw), a reply
    someone else sent meanwhile stops this one with a Conflict that says who: read it before answering again.
    Replying to an unassigned conversation assigns it to the agent."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    text = text.strip()
    org_id = conversation.organization_id
    if len(client_token) > 64:
        raise ValidationFailed(_("The request token is at most 64 characters."), field="client_token")
    if (
        done := _existing(org_id, client_token, conversation_id=conversation.id, kind=K.REPLY, actor=actor)
    ) is not None:
        return done
    if target is not None and (target.conversation_id != conversation.id or target.direction != Direction.INBOUND):
        raise ValidationFailed(_("Answer one of their messages in this conversation."), field="in_reply_to")
    target = target or reply_target(conversation)
    if problems := reply_problems(conversation=conversation, text=text, target=target):
        raise ValidationFailed(" ".join(problems), field="text")
    assert target is not None  # reply_problems says so otherwise
    if seen_message_id is not None:
        newer = (
            Message.objects.filter(conversation=conversation, direction=Direction.OUTBOUND, id__gt=seen_message_id)
            .exclude(sent_by=actor if actor.pk else None)
            .select_related("sent_by__user")
            .order_by("-id")
            .first()
        )
        if newer is not None:
            raise Conflict(
                _(
                    "%(who)s replied while you were writing: “%(excerpt)s”. "
                    "Read it, then send yours if it still applies."
                )
                % {"who": _who_sent(newer), "excerpt": account_services.excerpt(newer.text)}
            )
    account = conversation.account
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=conversation, organization_id=conversation.organization_id, platform=account.platform,
                direction=Direction.OUTBOUND, remote_id="", in_reply_to_id=target.remote_id,
                author_id=account.remote_id[:200], author_handle=account.handle[:300],
                author_name=account.display_name[:300], text=text, created_at=now, sent_by=actor if actor.pk else None,
            )  # fmt: skip
            action = NetworkAction.objects.create(
                organization_id=conversation.organization_id, conversation=conversation, account=account,
                kind=K.REPLY, target=target, reply=message, text=text, resolve=resolve, next_attempt_at=now,
                dispatched_until=now + DISPATCH_LEASE, client_token=client_token,
                requested_by=actor if actor.pk else None,
            )  # fmt: skip
            Conversation.objects.filter(id=conversation.id).update(message_count=F("message_count") + 1, updated_at=now)
            if actor.pk:
                Conversation.objects.filter(id=conversation.id, assignee__isnull=True).update(
                    assignee=actor, assigned_at=now
                )
            _audit(conversation, actor, "reply_requested", action=action.id, resolve=resolve)
            transaction.on_commit(lambda: _enqueue(action.id))
    except IntegrityError:  # the same token, sent twice at once: the other request made it
        existing = _existing(org_id, client_token, conversation_id=conversation.id, kind=K.REPLY, actor=actor)
        if existing is None:
            raise
        return existing
    return action


def _who_sent(message: Message) -> str:
    return str(message.sent_by.user) if message.sent_by is not None else _("someone")


def message_action_request(*, message: Message, actor: Membership, kind: str, client_token: str = "") -> NetworkAction:
    """Ask for a like, hide, unhide or delete of a message on its network, if the network allows it."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    if kind not in (K.LIKE, K.HIDE, K.UNHIDE, K.DELETE):
        raise ValidationFailed(_("Choose like, hide, unhide or delete."), field="kind")
    conversation = message.conversation

    def existing() -> NetworkAction | None:
        return _existing(message.organization_id, client_token, conversation_id=conversation.id, kind=kind, actor=actor)

    if (done := existing()) is not None:
        return done
    account = conversation.account
    caps = capabilities(account.platform)
    network = account.get_platform_display()
    ours = message.direction == Direction.OUTBOUND
    allowed: dict[str, bool] = {
        K.LIKE.value: caps.like and not ours,
        K.HIDE.value: caps.hide and not ours,
        K.UNHIDE.value: caps.hide and not ours,
        K.DELETE.value: caps.delete if ours else caps.delete_comment,
    }
    if not allowed[kind]:
        refusals = {
            K.LIKE.value: _("%(network)s does not let SMMS like this message."),
            K.HIDE.value: _("%(network)s does not let SMMS hide this message."),
            K.UNHIDE.value: _("%(network)s does not let SMMS unhide this message."),
            K.DELETE.value: _("%(network)s does not let SMMS delete this message."),
        }
        raise ValidationFailed(refusals[kind] % {"network": network}, field="kind")
    if not message.remote_id:
        raise ValidationFailed(_("This message is not on %(network)s yet.") % {"network": network}, field="kind")
    if message.is_deleted:
        raise ValidationFailed(_("This message was deleted."), field="kind")
    if account.status != SocialAccountStatus.CONNECTED:
        raise ValidationFailed(_("%(account)s is not connected: reconnect it first.") % {"account": account})
    now = timezone.now()
    try:
        with transaction.atomic():
            action = NetworkAction.objects.create(
                organization_id=message.organization_id, conversation=conversation, account=account, kind=kind,
                target=message, next_attempt_at=now, dispatched_until=now + DISPATCH_LEASE,
                client_token=client_token[:64],
                requested_by=actor if actor.pk else None,
            )  # fmt: skip
            _audit(conversation, actor, f"{kind}_requested", action=action.id, message=message.id)
            transaction.on_commit(lambda: _enqueue(action.id))
    except IntegrityError:
        made = existing()
        if made is None:
            raise
        return made
    return action


def network_action_retry(*, action: NetworkAction, actor: Membership) -> NetworkAction:
    """Send a failed action again (its idempotency key is kept; a reply whose outcome was unknown is looked
    for on the network first)."""
    require(actor, Perm.REPLY_CONVERSATIONS)
    now = timezone.now()
    with transaction.atomic():
        changed = NetworkAction.objects.filter(id=action.id, state=S.FAILED).update(
            state=S.PENDING,
            next_attempt_at=now,
            dispatched_until=now + DISPATCH_LEASE,
            attempts=0,
            error="",
            error_code="",
            updated_at=now,
        )
        if not changed:
            raise Conflict(_("Only a failed action can be sent again."))
        _audit(action.conversation, actor, "retry", action=action.id)
        transaction.on_commit(lambda: _enqueue(action.id))
    action.refresh_from_db()
    return action


# --- the engine ------------------------------------------------------------------------------------------------
def _claim_seconds() -> timedelta:
    return timedelta(seconds=settings.SMMS_INBOX_CLAIM_SECONDS)


def network_actions_due(*, limit: int = 500) -> list[int]:
    """Lease the pending actions that are due and not already handed to a worker (a lost message is handed
    out again once its lease ends)."""
    now = timezone.now()
    table = NetworkAction._meta.db_table
    return update_returning(
        f"UPDATE {table} SET dispatched_until = %s WHERE id IN (SELECT id FROM {table} "  # noqa: S608
        "WHERE state = %s AND next_attempt_at <= %s AND (dispatched_until IS NULL OR dispatched_until < %s) "
        "ORDER BY next_attempt_at LIMIT %s)",
        [db_datetime(now + DISPATCH_LEASE), S.PENDING, db_datetime(now), db_datetime(now), limit],
    )


def network_action_run(*, action_id: int) -> str:
    """Send one action if it is pending and due and nobody else is sending it. Returns "done", "retry",
    "failed" or "skipped" (not claimed)."""
    now = timezone.now()
    claimed = update_returning(
        f"UPDATE {NetworkAction._meta.db_table} SET state = %s, claimed_until = %s, attempts = attempts + 1, "  # noqa: S608
        "dispatched_until = NULL, updated_at = %s WHERE id = %s AND state = %s AND next_attempt_at <= %s",
        [S.SENDING, db_datetime(now + _claim_seconds()), db_datetime(now), action_id, S.PENDING, db_datetime(now)],
    )
    if not claimed:
        return "skipped"
    action = NetworkAction.objects.select_related(
        "account", "target", "reply", "conversation__account", "conversation__assignee__user", "requested_by__user"
    ).get(id=action_id)
    language = action.requested_by.user.language if action.requested_by is not None else settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            return _send(action)
        except Exception:  # the sweep reconciles it; one bug must not hide behind a worker's retry
            logger.exception("network action %s stopped on an unexpected error", action_id)
            return "error"


def _send(action: NetworkAction) -> str:
    account = action.account
    if account.status != SocialAccountStatus.CONNECTED:
        return _fail(
            action,
            "account_disconnected",
            _("%(account)s is not connected any more. Reconnect it, then try again.") % {"account": account},
        )
    connector, ref = account_services.social_account_connector(account=account)
    target = action.target
    try:
        if action.kind == K.REPLY:
            if action.unknown_outcome:
                found = _find_reply(action, connector, ref)
                if found is not None:
                    return _done(action, found, _("Found on the network: an earlier attempt had sent it."))
            remote = connector.reply(
                ref, _reply_target_id(action), action.text, idempotency_key=str(action.idempotency_key)
            )
            return _done(action, remote)
        if action.kind == K.LIKE:
            connector.like(ref, target.remote_id)
        elif action.kind in (K.HIDE, K.UNHIDE):
            connector.hide(ref, target.remote_id, hidden=action.kind == K.HIDE)
        elif target.direction == Direction.OUTBOUND:
            connector.delete(ref, target.remote_id)
        else:
            connector.delete_comment(ref, target.remote_id)
    except cx.ConnectorError as exc:
        return _after_error(action, exc, connector, ref)
    return _done(action, None)


def _reply_target_id(action: NetworkAction) -> str:
    """What the network is asked to answer. Instagram threads comments one level deep: a reply to a reply is
    posted under the comment it answers (the one our message's thread hangs from)."""
    target = action.target
    root = action.conversation.thread_key.removeprefix("t:")
    if action.account.platform == "instagram" and target.in_reply_to_id and target.in_reply_to_id != root:
        return target.in_reply_to_id
    return target.remote_id


def _find_reply(action: NetworkAction, connector: Connector, ref: AccountRef) -> RemotePost | None:
    """Our reply on the network, if an attempt whose answer was lost made it. A post that already belongs to
    another reply (a colleague sent the same words to the same message) is not this one."""
    since = action.created_at - RECONCILE_MARGIN
    found = connector.find_reply(ref, target_id=_reply_target_id(action), text=action.text, since=since)
    if found is None:
        return None
    remote_id = found.id[:300]
    others = NetworkAction.objects.filter(organization_id=action.organization_id, account=action.account)
    taken = (
        others.filter(remote_id=remote_id).exclude(id=action.id).exists()
        or Message.objects.filter(
            organization_id=action.organization_id, platform=action.account.platform, remote_id=remote_id,
            direction=Direction.OUTBOUND,
        ).exclude(id=action.reply_id or 0).exists()
    )  # fmt: skip
    return None if taken else found


def _after_error(action: NetworkAction, exc: cx.ConnectorError, connector: Connector, ref: AccountRef) -> str:
    account = action.account
    network = account.get_platform_display()
    if action.kind == K.REPLY and (outcome_unknown(exc) or isinstance(exc, cx.Duplicate)):
        NetworkAction.objects.filter(id=action.id, state=S.SENDING).update(unknown_outcome=True)
        action.unknown_outcome = True
        try:
            found = _find_reply(action, connector, ref)
        except cx.NotSupported:
            if capabilities(account.platform).idempotency_key:  # sending again with the same key is safe
                return _retry(action, exc)
            return _fail(action, "unknown_outcome", _unknown_reason(network, exc))
        except cx.AuthRevoked as check_exc:
            account_services.social_account_mark_revoked(account_id=account.id, reason=str(check_exc))
            return _fail(action, "auth_revoked", _unknown_reason(network, check_exc))
        except cx.ConnectorError as check_exc:  # cannot ask now: the next attempt asks before sending
            logger.warning("network action %s: could not check the network: %s", action.id, check_exc)
            return _retry(action, exc)
        if found is not None:
            return _done(action, found, _("Found on the network after its answer was lost."))
        if isinstance(exc, cx.Duplicate):
            return _fail(action, "duplicate", _("%(network)s refused the reply as a duplicate.") % {"network": network})
        return _retry(action, exc)
    if isinstance(exc, cx.AuthRevoked):
        account_services.social_account_mark_revoked(account_id=account.id, reason=str(exc))
        return _fail(
            action,
            "auth_revoked",
            _("%(account)s no longer lets SMMS act on it (its access was revoked). Reconnect it, then try again.")
            % {"account": account},
        )
    if isinstance(exc, cx.NotFound):
        if action.kind == K.DELETE:  # it is gone, which is what was asked
            return _done(action, None, _("It was already gone from the network."))
        return _fail(
            action,
            "not_found",
            _("The message is no longer on %(network)s (deleted by its author?).") % {"network": network},
        )
    if not exc.permanent:
        return _retry(action, exc)
    if isinstance(exc, cx.ValidationError):
        return _fail(
            action, "rejected", _("%(network)s refused it: %(detail)s") % {"network": network, "detail": exc.message}
        )
    if isinstance(exc, cx.PermissionDenied):
        return _fail(
            action,
            "not_allowed",
            _("SMMS is not allowed to do this on %(account)s (%(detail)s). Check the account's permissions.")
            % {"account": account, "detail": exc.message},
        )
    if isinstance(exc, cx.NotSupported):
        return _fail(action, "not_supported", _("%(network)s does not let SMMS do this.") % {"network": network})
    return _fail(action, "error", _("%(network)s refused it: %(detail)s") % {"network": network, "detail": exc})


def _unknown_reason(network: str, exc: cx.ConnectorError) -> str:
    return _(
        "%(network)s did not answer (%(detail)s) and SMMS cannot check whether the reply was made. "
        "Look at the conversation on %(network)s before sending it again."
    ) % {"network": network, "detail": exc}


def _retry(action: NetworkAction, exc: cx.ConnectorError) -> str:
    network = action.account.get_platform_display()
    if action.attempts >= settings.SMMS_INBOX_MAX_ATTEMPTS:
        reason = _("%(network)s did not take it after %(attempts)s attempts (last error: %(detail)s).") % {
            "network": network,
            "attempts": action.attempts,
            "detail": exc,
        }
        if action.unknown_outcome:
            reason = f"{reason} {_unknown_reason(network, exc)}"
        return _fail(action, "retries_exhausted", reason)
    when = retry_at(action.attempts, exc, base_seconds=settings.SMMS_INBOX_RETRY_BASE)
    reason = attempt_failed(action.attempts, exc, when)
    moved = NetworkAction.objects.filter(id=action.id, state=S.SENDING).update(
        state=S.PENDING, next_attempt_at=when, claimed_until=None, error=reason, error_code="transient",
        updated_at=timezone.now(),
    )  # fmt: skip
    return "retry" if moved else "skipped"


def _done(action: NetworkAction, remote: RemotePost | None, detail: str = "") -> str:
    """Record what the network did, guarded by the claim, with its effects on the message and conversation."""
    now = timezone.now()
    with transaction.atomic():
        changed = NetworkAction.objects.filter(id=action.id, state=S.SENDING).update(
            state=S.DONE, claimed_until=None, done_at=now, error="", error_code="", unknown_outcome=False,
            remote_id=remote.id[:300] if remote is not None else "", remote_url=_web_url(remote),
            updated_at=now,
        )  # fmt: skip
        if not changed:  # another process decided about it meanwhile: keep the evidence in the log
            logger.error("network action %s done (%s) but no longer claimed", action.id, remote.id if remote else "")
            return "skipped"
        conversation = action.conversation
        requester = action.requested_by
        if action.kind == K.REPLY:
            assert remote is not None
            _reply_record(action, remote, now)
            conversation.refresh_from_db()
            _audit(conversation, requester, "replied", action=action.id, remote_id=remote.id, detail=detail)
            event_publish(
                organization_id=conversation.organization_id,
                event="conversation.replied",
                data=_event_data(
                    conversation,
                    message=action.reply_id,
                    text=action.text,
                    remote_id=remote.id,
                    remote_url=_web_url(remote),
                ),
            )
        else:
            flags: dict[str, dict[str, bool]] = {
                K.LIKE.value: {"is_liked": True},
                K.HIDE.value: {"is_hidden": True},
                K.UNHIDE.value: {"is_hidden": False},
                K.DELETE.value: {"is_deleted": True},
            }
            Message.objects.filter(id=action.target_id).update(**flags[action.kind])
            Conversation.objects.filter(id=action.conversation_id).update(updated_at=now)  # the live thread
            _audit(conversation, requester, action.kind, action=action.id, message=action.target_id, detail=detail)
    return "done"


def _web_url(remote: RemotePost | None) -> str:
    """The network's link to the reply, if it is a web address (a hostile server's ``javascript:`` is not)."""
    url = remote.url[:1000] if remote is not None else ""
    return url if url.startswith(("https://", "http://")) else ""


def _reply_record(action: NetworkAction, remote: RemotePost, now: Any) -> None:
    """The reply's message gets the network's id; the conversation its first response, its new status (waiting
    for them, or resolved when asked) and no response clock until they write again."""
    sent_at = remote.created_at or now
    reply_id = action.reply_id
    assert reply_id is not None  # a reply has its message (a check constraint)
    stamp = {"remote_id": remote.id[:300], "created_at": sent_at}
    try:
        with transaction.atomic():
            Message.objects.filter(id=reply_id).update(**stamp)
    except IntegrityError:  # ingestion stored our reply first (a network that shows it in our mentions)
        Message.objects.filter(
            organization_id=action.organization_id, platform=action.account.platform, remote_id=remote.id[:300],
            direction=Direction.INBOUND,
        ).delete()  # fmt: skip
        Message.objects.filter(id=reply_id).update(**stamp)  # anything else holding the id is a bug: raise
    # What we answered: the message replied to, and everything of theirs before the request. A message of theirs
    # that came later (while the reply waited, or after the one an agent chose to answer) still waits for us.
    answered_until = max(action.target.created_at, action.created_at)
    unanswered = (
        Message.objects.filter(
            conversation_id=action.conversation_id, direction=Direction.INBOUND, created_at__gt=answered_until
        )
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    fields: dict[str, Any] = {
        "first_response_at": Coalesce(F("first_response_at"), Value(now)),
        "last_message_at": Greatest(F("last_message_at"), Value(sent_at)),
        "excerpt": Case(When(last_message_at__lte=sent_at, then=Value(_excerpt(action.text))), default=F("excerpt")),
        "updated_at": now,
    }
    if unanswered is None:
        fields.update(response_due_at=None, breach_notified_at=None)
        if action.resolve:
            fields.update(status=ConversationStatus.RESOLVED, resolved_at=now)
        else:
            fields["status"] = Case(
                When(status__in=AWAITING_US, then=Value(ConversationStatus.WAITING)), default=F("status")
            )
    else:
        conversation = action.conversation
        minutes = conversation.sla_response_minutes
        fields.update(
            response_due_at=unanswered + timedelta(minutes=minutes) if minutes is not None else None,
            breach_notified_at=None,
        )
    Conversation.objects.filter(id=action.conversation_id).update(**fields)


def _fail(action: NetworkAction, code: str, reason: str) -> str:
    with transaction.atomic():
        changed = NetworkAction.objects.filter(id=action.id, state=S.SENDING).update(
            state=S.FAILED, claimed_until=None, error=reason, error_code=code, updated_at=timezone.now()
        )
        if not changed:
            return "skipped"
        conversation = action.conversation
        Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now())  # the live thread
        _audit(conversation, None, "action_failed", action=action.id, kind=action.kind, code=code, reason=reason)
        requester = action.requested_by
        if requester is not None:
            _news(
                conversation,
                None,
                NotificationKind.ACTION_FAILED,
                [requester.user],
                account=str(action.account),
                reason=reason,
            )
    return "failed"


# --- recovery --------------------------------------------------------------------------------------------------
def network_actions_recover_stuck(*, limit: int = 100) -> int:
    """Take over actions left in sending by a worker that stopped (claim expired); how many were looked at."""
    ids = list(
        NetworkAction.objects.filter(state=S.SENDING, claimed_until__lt=timezone.now())
        .order_by("claimed_until")
        .values_list("id", flat=True)[:limit]
    )
    for action_id in ids:
        try:
            network_action_recover(action_id=action_id)
        except Exception:  # one action's bug must not stop the others' recovery
            logger.exception("recovery of network action %s failed", action_id)
    return len(ids)


def network_action_recover(*, action_id: int) -> str:
    """A reply found on the network is recorded; anything else goes back to pending (a reply is then looked
    for before it is sent again). Never sends anything itself."""
    now = timezone.now()
    # Re-claim it for the time of the check, so a second sweep leaves it alone.
    claimed = NetworkAction.objects.filter(id=action_id, state=S.SENDING, claimed_until__lt=now).update(
        claimed_until=now + _claim_seconds()
    )
    if not claimed:
        return "skipped"
    action = NetworkAction.objects.select_related(
        "account", "target", "reply", "conversation", "requested_by__user"
    ).get(id=action_id)
    if action.kind == K.REPLY and action.account.status == SocialAccountStatus.CONNECTED:
        connector, ref = account_services.social_account_connector(account=action.account)
        try:
            found = _find_reply(action, connector, ref)
        except cx.ConnectorError as exc:
            logger.warning("network action %s: could not check the network: %s", action_id, exc)
            found = None
        if found is not None:
            return _done(action, found, _("Found on the network after its worker stopped."))
    moved = NetworkAction.objects.filter(id=action_id, state=S.SENDING).update(
        state=S.PENDING, claimed_until=None, next_attempt_at=now, unknown_outcome=action.kind == K.REPLY,
        updated_at=now,
    )  # fmt: skip
    return "requeued" if moved else "skipped"
