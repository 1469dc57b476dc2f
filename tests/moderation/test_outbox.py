"""Replies, likes, hides and deletes on the networks, over HTTP through the simulator: each sent once, checked
with the network's rules first, retried on transient errors, looked for on the network after a lost answer,
failed with a reason a person reads otherwise. The worker's part is called here as the worker calls it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.demo import _sim_users, connect_simulated
from accounts.models import Notification
from accounts.services import social_account_connector
from crm_bridge.models import WebhookDelivery, WebhookEndpoint
from listening import services as listening_services
from listening.models import PollCursor
from moderation import outbox, services
from moderation.models import Conversation, ConversationStatus, Message, ModerationAction, NetworkAction
from smms.errors import Conflict, ValidationFailed
from tests.accounts.test_connections import connect_mastodon
from tests.races import at_once


def poll(account):
    listening_services.poll_cursors_ensure()
    cursor = PollCursor.objects.get(account=account, stream="mentions")
    return listening_services.account_poll(cursor_id=cursor.id)


def inbox_of(personas, simulator, platform="mastodon", kind="mention", count=1):
    """A connected account with ``count`` conversations of ``kind`` polled from the network."""
    if platform == "mastodon":
        account = connect_mastodon(personas)
    else:
        connected = connect_simulated(personas.admin, platform, _sim_users(platform)[:1])
        account = next(a for a in connected if a.platform == platform)
    poll(account)  # the first poll sets the cursor
    simulator.generate(platform=platform, count=count, kind=kind, target=account.handle, hostile_rate=0)
    poll(account)
    conversations = list(Conversation.objects.filter(account=account).order_by("id"))
    assert len(conversations) >= 1, "the simulator's items did not arrive"
    return account, conversations


def run(action):
    return outbox.network_action_run(action_id=action.id)


def replies_on(simulator, platform, text):
    return [p for p in simulator.posts(platform) if text in p["text"]]


def test_a_reply_is_sent_once_and_recorded_on_the_conversation(personas, simulator):
    endpoint = WebhookEndpoint.objects.create(
        organization=personas.org, url="https://crm.example/hook", secret="whsec_x", events=["conversation.replied"]
    )
    _account, [conversation] = inbox_of(personas, simulator)
    target = conversation.messages.get()
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Merci, on regarde ça !")
    reply = action.reply
    assert (reply.direction, reply.remote_id, reply.sent_by) == ("out", "", personas.agent)
    assert Conversation.objects.get(id=conversation.id).assignee == personas.agent  # replying takes it

    assert run(action) == "done"
    assert run(action) == "skipped"  # a redelivered task sends nothing
    [made] = replies_on(simulator, "mastodon", "Merci, on regarde ça !")
    assert made["reply_to_id"] == target.remote_id
    action.refresh_from_db()
    reply.refresh_from_db()
    assert (action.state, action.remote_id, reply.remote_id) == ("done", made["id"], made["id"])
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING  # waiting for them now
    assert conversation.first_response_at is not None
    assert conversation.response_due_at is None
    assert conversation.message_count == 2
    assert conversation.excerpt == "Merci, on regarde ça !"
    assert ModerationAction.objects.filter(conversation=conversation, action="replied").count() == 1
    assert WebhookDelivery.objects.get(endpoint=endpoint).payload["remote_id"] == made["id"]


def test_the_same_request_twice_is_one_reply(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    first = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Once", client_token="tok-1")
    again = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Once", client_token="tok-1")
    assert first.id == again.id
    assert Message.objects.filter(conversation=conversation, direction="out").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_reply_send_it_once(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Two workers, one reply")
    outcomes = at_once(lambda: run(action), lambda: run(action))
    assert sorted(outcomes) == ["done", "skipped"]
    assert len(replies_on(simulator, "mastodon", "Two workers, one reply")) == 1


def test_a_reply_resolves_the_conversation_when_asked(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    run(outbox.reply_request(conversation=conversation, actor=personas.agent, text="Done!", resolve=True))
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.RESOLVED
    assert conversation.resolved_at is not None


def test_a_direct_message_is_answered_privately(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator, kind="dm")
    assert conversation.kind == "message"
    run(outbox.reply_request(conversation=conversation, actor=personas.agent, text="In private"))
    [made] = replies_on(simulator, "mastodon", "In private")
    assert made["extra"]["visibility"] == "direct"


def test_a_reply_too_long_for_the_network_is_refused_before_anything_is_stored(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    with pytest.raises(ValidationFailed, match="Too long for Mastodon"):
        outbox.reply_request(conversation=conversation, actor=personas.agent, text="x" * 600)
    with pytest.raises(ValidationFailed, match="Write the reply"):
        outbox.reply_request(conversation=conversation, actor=personas.agent, text="   ")
    assert not NetworkAction.objects.exists()
    assert Message.objects.filter(direction="out").count() == 0


def test_a_colleagues_reply_sent_while_you_wrote_stops_yours_until_you_have_seen_it(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    seen = conversation.messages.get().id
    outbox.reply_request(conversation=conversation, actor=personas.lead, text="I'm on it")
    with pytest.raises(Conflict, match=f"{personas.lead.user} replied while you were writing"):
        outbox.reply_request(conversation=conversation, actor=personas.agent, text="Me too", seen_message_id=seen)
    latest = conversation.messages.order_by("-id").first().id
    outbox.reply_request(conversation=conversation, actor=personas.agent, text="Me too", seen_message_id=latest)


def test_a_rate_limit_is_retried_after_the_networks_reset(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="After the limit")
    simulator.faults(
        {"kind": "rate_limit", "count": 1, "retry_after": 120, "platform": "mastodon", "methods": ["POST"]}
    )
    assert run(action) == "retry"
    action.refresh_from_db()
    assert action.state == "pending"
    assert (action.next_attempt_at - action.updated_at).total_seconds() >= 110
    assert "Attempt 1 failed" in action.error
    NetworkAction.objects.filter(id=action.id).update(next_attempt_at=action.updated_at)
    assert run(action) == "done"
    assert len(replies_on(simulator, "mastodon", "After the limit")) == 1


def test_a_lost_answer_is_looked_for_on_the_network_and_never_sent_twice(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator, platform="bluesky")
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Lost but made")
    simulator.faults({"kind": "lost", "mode": "reset", "count": 1, "platform": "bluesky", "methods": ["POST"],
                      "path": "createRecord"})  # fmt: skip
    assert run(action) == "done"  # the post was made, the answer lost: found on the network and recorded
    action.refresh_from_db()
    assert action.remote_id
    assert len(replies_on(simulator, "bluesky", "Lost but made")) == 1


def test_a_revoked_token_fails_the_reply_with_a_reason_and_tells_the_agent(personas, simulator):
    account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Never sent")
    simulator.revoke(platform="mastodon", user_id=account.remote_id)
    assert run(action) == "failed"
    action.refresh_from_db()
    assert action.error_code == "auth_revoked"
    assert "access was revoked" in action.error
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    [told] = Notification.objects.filter(kind="action_failed")
    assert told.recipient == personas.agent.user
    assert "access was revoked" in told.sentence
    assert replies_on(simulator, "mastodon", "Never sent") == []


def test_a_failed_reply_can_be_sent_again(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Second chance")
    simulator.faults({"kind": "error", "status": 400, "count": 1, "platform": "mastodon", "methods": ["POST"]})
    assert run(action) == "failed"
    outbox.network_action_retry(action=action, actor=personas.agent)
    assert run(action) == "done"
    with pytest.raises(Conflict):
        outbox.network_action_retry(action=action, actor=personas.agent)


def test_a_worker_that_died_after_sending_is_recovered_from_the_network(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Sent, then the worker died")
    # A worker claimed it and the network made the reply, but the worker stopped before recording anything.
    assert NetworkAction.objects.filter(id=action.id, state="pending").update(
        state="sending", claimed_until=timezone.now() - timedelta(minutes=1), attempts=1
    )
    connector, ref = social_account_connector(account=action.account)
    connector.reply(ref, action.target.remote_id, action.text)
    assert outbox.network_actions_recover_stuck() == 1
    action.refresh_from_db()
    assert action.state == "done"
    assert len(replies_on(simulator, "mastodon", "Sent, then the worker died")) == 1


def test_a_worker_that_died_before_sending_leaves_it_to_be_sent_once(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Never got out")
    NetworkAction.objects.filter(id=action.id).update(
        state="sending", claimed_until=timezone.now() - timedelta(minutes=1), attempts=1
    )
    assert outbox.network_actions_recover_stuck() == 1
    action.refresh_from_db()
    assert (action.state, action.unknown_outcome) == ("pending", True)  # looked for before it is sent again
    assert run(action) == "done"
    assert len(replies_on(simulator, "mastodon", "Never got out")) == 1


def test_like_hide_unhide_and_delete_on_facebook_comments(personas, simulator):
    _account, conversations = inbox_of(personas, simulator, platform="facebook", kind="comment", count=1)
    message = Message.objects.filter(conversation__in=conversations, direction="in").first()
    for kind, field, value in (("like", "is_liked", True), ("hide", "is_hidden", True), ("unhide", "is_hidden", False)):
        assert run(outbox.message_action_request(message=message, actor=personas.agent, kind=kind)) == "done"
        message.refresh_from_db()
        assert getattr(message, field) is value, kind
    assert run(outbox.message_action_request(message=message, actor=personas.agent, kind="delete")) == "done"
    message.refresh_from_db()
    assert message.is_deleted
    [comment] = [p for p in simulator.posts("facebook") if p["id"] == message.remote_id] or [None]
    assert comment is None or comment.get("deleted")
    with pytest.raises(ValidationFailed, match="deleted"):
        outbox.message_action_request(message=message, actor=personas.agent, kind="like")


def test_what_a_network_does_not_allow_is_not_offered(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)  # Mastodon: no hiding, no deleting others' posts
    message = conversation.messages.get()
    for kind in ("hide", "delete"):
        with pytest.raises(ValidationFailed, match="does not let SMMS"):
            outbox.message_action_request(message=message, actor=personas.agent, kind=kind)
    assert run(outbox.message_action_request(message=message, actor=personas.agent, kind="like")) == "done"


def test_analysts_cannot_reply(personas, simulator):
    from smms.errors import Forbidden

    _account, [conversation] = inbox_of(personas, simulator)
    with pytest.raises(Forbidden):
        outbox.reply_request(conversation=conversation, actor=personas.analyst, text="No")


def test_the_reply_form_queues_the_reply_and_the_page_shows_it_sending(personas, simulator, client_for):
    _account, [conversation] = inbox_of(personas, simulator)
    client = client_for(personas.agent)
    page = client.get(f"/inbox/conversations/{conversation.id}/")
    token = page.context["reply_form"]["client_token"].value()
    response = client.post(
        f"/inbox/conversations/{conversation.id}/reply/",
        {"text": "From the form <b>bold</b>", "client_token": token, "seen_message": conversation.messages.get().id},
    )
    assert response.status_code == 302
    page = client.get(f"/inbox/conversations/{conversation.id}/")
    assert b"Sending" in page.content
    assert b"From the form &lt;b&gt;bold&lt;/b&gt;" in page.content
    client.post(f"/inbox/conversations/{conversation.id}/reply/", {"text": "From the form", "client_token": token})
    assert NetworkAction.objects.count() == 1  # the same form sent twice


def test_escalations_and_notes_leave_the_conversation_visible_to_the_lead(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    note = services.note_add(conversation=conversation, actor=personas.agent, text="@lead can you look? cc @nobody")
    assert list(note.mentioned.all()) == [personas.lead]
    [told] = Notification.objects.filter(kind="note_mention")
    assert told.recipient == personas.lead.user


def test_on_instagram_an_answer_to_a_reply_goes_under_the_comment_it_answers(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator, platform="instagram", kind="comment")
    comment = conversation.messages.get()
    # Their reply to that comment (Instagram threads one level deep: a reply cannot be replied to).
    reply_of_theirs = Message.objects.create(
        conversation=conversation, organization=personas.org, platform="instagram", direction="in",
        remote_id="17800000000000001", in_reply_to_id=comment.remote_id, author_id="9", author_handle="fan",
        text="still waiting", created_at=timezone.now(),
    )  # fmt: skip
    action = outbox.reply_request(
        conversation=conversation, actor=personas.agent, text="Answer in the thread", target=reply_of_theirs
    )
    assert run(action) == "done"
    [made] = replies_on(simulator, "instagram", "Answer in the thread")
    assert made["reply_to_id"] == comment.remote_id


def test_the_dispatcher_hands_out_only_what_a_lost_enqueue_left_waiting(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Dispatched")
    assert outbox.network_actions_due() == []  # queued after commit: not handed out twice
    NetworkAction.objects.filter(id=action.id).update(dispatched_until=timezone.now() - timedelta(seconds=1))
    assert outbox.network_actions_due() == [action.id]  # the enqueue was lost: the dispatcher sends it
    assert outbox.network_actions_due() == []  # leased
    assert run(action) == "done"


def test_a_request_token_reused_for_another_conversation_is_refused(personas, simulator):
    _account, conversations = inbox_of(personas, simulator, count=2)
    first, second = conversations[:2]
    outbox.reply_request(conversation=first, actor=personas.agent, text="One", client_token="crm-1")
    with pytest.raises(Conflict, match="already used"):
        outbox.reply_request(conversation=second, actor=personas.agent, text="Two", client_token="crm-1")
    with pytest.raises(Conflict, match="already used"):
        outbox.message_action_request(
            message=first.messages.first(), actor=personas.agent, kind="like", client_token="crm-1"
        )


def test_a_colleagues_identical_reply_is_not_taken_for_ours(personas, simulator):
    _account, [conversation] = inbox_of(personas, simulator)
    theirs = outbox.reply_request(conversation=conversation, actor=personas.lead, text="Merci !")
    assert run(theirs) == "done"
    ours = outbox.reply_request(conversation=conversation, actor=personas.agent, text="Merci !")
    NetworkAction.objects.filter(id=ours.id).update(unknown_outcome=True)  # as after a lost answer
    assert run(ours) == "done"
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.remote_id != ours.remote_id  # found the colleague's post, knew it was not ours, sent ours
    assert Message.objects.filter(id=theirs.reply_id, remote_id=theirs.remote_id).exists()
    assert len(replies_on(simulator, "mastodon", "Merci !")) == 2


def test_a_message_of_theirs_that_came_while_the_reply_waited_keeps_the_clock_running(personas, simulator, team):
    from moderation.services import QueueSpec

    services.queue_save(actor=personas.lead, spec=QueueSpec(name="Care", team=team, first_response_minutes=30))
    _account, [conversation] = inbox_of(personas, simulator)
    action = outbox.reply_request(conversation=conversation, actor=personas.agent, text="On it")
    later = timezone.now() + timedelta(minutes=1)
    Message.objects.create(
        conversation=conversation, organization=personas.org, platform="mastodon", direction="in", remote_id="late",
        author_id="1", author_handle="x", text="Hello? Anyone?", created_at=later,
    )  # fmt: skip
    Conversation.objects.filter(id=conversation.id).update(last_message_at=later, excerpt="Hello? Anyone?")
    assert run(action) == "done"
    conversation.refresh_from_db()
    assert conversation.status == "new"  # not "waiting for them": their last message is unanswered
    assert conversation.response_due_at == later + timedelta(minutes=30)
    assert conversation.excerpt == "Hello? Anyone?"
    assert conversation.first_response_at is not None


def test_a_link_the_network_returns_that_is_not_a_web_address_is_not_kept(personas, simulator):
    from smms.connectors.types import RemotePost

    _account, [conversation] = inbox_of(personas, simulator)
    assert outbox._web_url(RemotePost(id="1", url="javascript:alert(1)")) == ""
    assert outbox._web_url(RemotePost(id="1", url="https://x.example/1")) == "https://x.example/1"
    assert conversation.id
