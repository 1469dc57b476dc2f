"""The publishing engine against the simulator over HTTP: every scheduled delivery ends as exactly one post on
the network, whatever is lost on the way (answers, workers, races)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts import services as account_services
from accounts.demo import connect_simulated
from accounts.models import SocialAccount
from crm_bridge.models import WebhookDelivery, WebhookEndpoint
from publishing import services, tasks
from publishing.models import Delivery
from smms.connectors.types import Draft
from tests.accounts.test_connections import connect_mastodon, connect_x
from tests.races import at_once

from .conftest import fired, made, schedule, trail


def test_a_scheduled_mastodon_post_is_published_once_with_its_remote_id(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Our spring collection is out")

    assert services.deliveries_due() == [delivery.id]
    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    assert services.delivery_publish(delivery_id=delivery.id) == "skipped"

    [post] = made(simulator, "mastodon", "Our spring collection is out")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id, delivery.attempts) == ("published", post["id"], 1)
    assert delivery.remote_url
    assert delivery.published_at is not None
    assert post["extra"]["idempotency_key"] == str(delivery.idempotency_key)
    assert trail(delivery)[-2:] == [("scheduled", "publishing"), ("publishing", "published")]
    assert services.deliveries_due() == []


def test_the_dispatcher_queues_due_deliveries_once(personas, simulator, celery_eager):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Dispatched by beat")
    later = schedule(personas, account, "Not yet", at=timezone.now() + timedelta(hours=1))

    assert tasks.deliveries_dispatch() == 1
    assert tasks.deliveries_dispatch() == 0

    delivery.refresh_from_db()
    later.refresh_from_db()
    assert (delivery.state, later.state) == ("published", "scheduled")
    assert len(made(simulator, "mastodon", "Dispatched by beat")) == 1


def test_the_organizations_webhooks_hear_of_the_published_delivery(personas, simulator):
    WebhookEndpoint.objects.create(
        organization=personas.org, url="https://crm.example/hook", secret="whsec_x", events=["delivery.published"]
    )
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Webhooks hear about this one")
    services.delivery_publish(delivery_id=delivery.id)

    [event] = WebhookDelivery.objects.filter(event="delivery.published")
    delivery.refresh_from_db()
    assert event.payload["delivery"] == delivery.id
    assert event.payload["remote_id"] == delivery.remote_id
    assert event.payload["account"]["handle"] == account.handle


def test_mastodon_idempotency_key_makes_a_resend_after_a_lost_answer_a_no_op(personas, simulator, lost_answer):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Sent twice, posted once")
    simulator.faults(lost_answer("mastodon", "/api/v1/statuses$"))

    assert services.delivery_publish(delivery_id=delivery.id) == "published"

    assert fired(simulator) == {"lost": 1}
    [post] = made(simulator, "mastodon", "Sent twice, posted once")
    delivery.refresh_from_db()
    assert delivery.remote_id == post["id"]


def test_on_a_network_without_idempotency_a_lost_answer_is_found_before_any_resend(personas, simulator, lost_answer):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Did this reach X?")
    simulator.faults(lost_answer("x", "/2/tweets$"))

    assert services.delivery_publish(delivery_id=delivery.id) == "published"

    assert fired(simulator) == {"lost": 1}
    [post] = made(simulator, "x", "Did this reach X?")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id, delivery.unknown_outcome) == ("published", post["id"], False)
    assert "answer was lost" in delivery.events.last().detail


def test_on_bluesky_a_lost_answer_is_found_before_any_resend(personas, simulator, lost_answer):
    [account] = connect_simulated(personas.admin, "bluesky", simulator.users("bluesky")[:1])
    delivery = schedule(personas, account, "Did this reach Bluesky?")
    simulator.faults(lost_answer("bluesky", "createRecord$", mode="reset"))

    assert services.delivery_publish(delivery_id=delivery.id) == "published"

    assert fired(simulator) == {"lost": 1}
    [post] = made(simulator, "bluesky", "Did this reach Bluesky?")
    delivery.refresh_from_db()
    assert delivery.remote_id.endswith(post["id"].rsplit("/", 1)[-1])


def test_a_lost_answer_that_cannot_be_checked_is_checked_before_the_next_attempt(personas, simulator, lost_answer):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Checked on the next attempt")
    # The post is made but its answer is lost, and the timeline cannot be read right now.
    simulator.faults(lost_answer("x", "/2/tweets$"), {"kind": "error", "status": 503, "methods": ["GET"], "count": 3})

    assert services.delivery_publish(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.unknown_outcome) == ("scheduled", True)

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        assert services.delivery_publish(delivery_id=delivery.id) == "published"
    assert len(made(simulator, "x", "Checked on the next attempt")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_publishing_the_same_delivery_post_once(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Two workers, one post")
    outcomes = at_once(*[lambda: services.delivery_publish(delivery_id=delivery.id)] * 2)

    assert sorted(outcomes) == ["published", "skipped"]
    assert len(made(simulator, "mastodon", "Two workers, one post")) == 1


def test_a_batch_publishes_what_is_still_due_and_reports_each_delivery_in_order(personas, simulator):
    account = connect_mastodon(personas)
    first = schedule(personas, account, "Batch one")
    taken = schedule(personas, account, "Batch two, taken by another worker")
    later = schedule(personas, account, "Batch three, not due", at=timezone.now() + timedelta(hours=1))
    last = schedule(personas, account, "Batch four")
    Delivery.objects.filter(id=taken.id).update(state="publishing", claimed_until=timezone.now() + timedelta(minutes=5))

    outcomes = services.deliveries_publish(delivery_ids=[first.id, taken.id, later.id, last.id, first.id])

    assert outcomes == ["published", "skipped", "skipped", "published"]
    assert [len(made(simulator, "mastodon", f"Batch {n}")) for n in ("one", "four")] == [1, 1]
    assert made(simulator, "mastodon", "Batch two, taken by another worker") == []
    later.refresh_from_db()
    assert (later.state, later.attempts) == ("scheduled", 0)


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_overlapping_batches_post_each_delivery_once(personas, simulator):
    account = connect_mastodon(personas)
    deliveries = [schedule(personas, account, f"Overlap {n}") for n in range(6)]
    ids = [delivery.id for delivery in deliveries]
    batches = at_once(
        lambda: services.deliveries_publish(delivery_ids=ids[:4]),
        lambda: services.deliveries_publish(delivery_ids=ids[2:]),
    )
    outcomes = [outcome for batch in batches for outcome in batch]

    assert sorted(outcomes).count("published") == 6
    assert [len(made(simulator, "mastodon", f"Overlap {n}")) for n in range(6)] == [1] * 6


def test_a_delivery_whose_turn_comes_late_in_its_batch_goes_back_unsent(personas, simulator, settings):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Too late in the batch")
    settings.SMMS_PUBLISH_CLAIM_SECONDS = 0  # half of the claim has passed before the first turn

    assert services.deliveries_publish(delivery_ids=[delivery.id]) == ["retry"]

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.claimed_until) == ("scheduled", 0, None)
    assert made(simulator, "mastodon", "Too late in the batch") == []
    assert trail(delivery)[-2:] == [("scheduled", "publishing"), ("publishing", "scheduled")]
    settings.SMMS_PUBLISH_CLAIM_SECONDS = 600
    assert services.delivery_publish(delivery_id=delivery.id) == "published"


def test_a_worker_that_loses_the_claim_does_nothing(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "The competitor has it")
    claim = timezone.now() + timedelta(minutes=5)
    Delivery.objects.filter(id=delivery.id).update(state="publishing", claimed_until=claim)

    assert services.delivery_publish(delivery_id=delivery.id) == "skipped"
    assert made(simulator, "mastodon", "The competitor has it") == []


def _crash_after_the_network_call(account: SocialAccount, delivery: Delivery, text: str) -> None:
    """What a worker killed between the network's answer and the record leaves: the post exists on the
    network, the delivery is still in publishing, its claim has expired."""
    connector, ref = account_services.social_account_connector(account=account)
    connector.publish(ref, Draft(text=text, idempotency_key=str(delivery.idempotency_key)))
    Delivery.objects.filter(id=delivery.id).update(
        state="publishing", attempts=1, claimed_until=timezone.now() - timedelta(seconds=1)
    )


def test_a_crash_between_the_network_and_the_record_is_recovered_without_a_second_post(personas, simulator):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Made before the crash")
    _crash_after_the_network_call(account, delivery, "Made before the crash")

    assert services.deliveries_recover_stuck() == 1

    [post] = made(simulator, "x", "Made before the crash")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.remote_id) == ("published", post["id"])
    assert services.deliveries_due() == []
    assert services.deliveries_recover_stuck() == 0


def test_a_crash_before_the_network_call_is_put_back_on_the_schedule_and_published_once(personas, simulator):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Never reached X")
    Delivery.objects.filter(id=delivery.id).update(state="publishing", claimed_until=timezone.now() - timedelta(1))

    services.deliveries_recover_stuck()
    delivery.refresh_from_db()
    assert delivery.state == "scheduled"

    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    assert len(made(simulator, "x", "Never reached X")) == 1


def test_a_claim_still_held_is_not_recovered(personas, simulator):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Still being sent")
    Delivery.objects.filter(id=delivery.id).update(state="publishing", claimed_until=timezone.now() + timedelta(1))

    assert services.deliveries_recover_stuck() == 0
    delivery.refresh_from_db()
    assert delivery.state == "publishing"


def test_a_revoked_token_fails_with_a_reason_and_the_author_is_emailed(
    personas, simulator, django_capture_on_commit_callbacks, celery_eager
):
    WebhookEndpoint.objects.create(
        organization=personas.org, url="https://crm.example/hook", secret="whsec_x", events=["delivery.failed"]
    )
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Nobody will read this")
    simulator.revoke(platform="mastodon", user_id=account.remote_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.delivery_publish(delivery_id=delivery.id) == "failed"

    delivery.refresh_from_db()
    assert delivery.error_code == "auth_revoked"
    assert delivery.last_error == (
        f"{account} no longer lets SMMS publish (its access was revoked). Reconnect it, then schedule the post again."
    )
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    [to_author] = [m for m in mail.outbox if m.to == ["lead@acme.test"]]
    assert to_author.subject == f"Not published on {account}"
    assert delivery.last_error in to_author.body
    assert "Nobody will read this" in to_author.body
    assert WebhookDelivery.objects.get(event="delivery.failed").payload["error_code"] == "auth_revoked"
    assert made(simulator, "mastodon", "Nobody will read this") == []


def test_a_post_the_network_refuses_fails_with_the_networks_words(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Refused at the door")
    simulator.faults({"kind": "error", "status": 422, "platform": "mastodon", "methods": ["POST"], "count": 1})

    assert services.delivery_publish(delivery_id=delivery.id) == "failed"
    delivery.refresh_from_db()
    assert delivery.error_code == "rejected"
    assert delivery.last_error.startswith("Mastodon refused the post: ")
    assert delivery.attempts == 1


def test_the_author_is_emailed_once_per_failure(personas, simulator, celery_eager):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Once is enough")
    simulator.revoke(platform="mastodon", user_id=account.remote_id)
    services.delivery_publish(delivery_id=delivery.id)
    mail.outbox.clear()

    assert services.delivery_notify_failed(delivery_id=delivery.id) is True
    assert services.delivery_notify_failed(delivery_id=delivery.id) is False
    assert len(mail.outbox) == 1


def test_a_server_error_is_retried_with_backoff_then_succeeds(personas, simulator, settings):
    settings.SMMS_PUBLISH_RETRY_BASE = 60
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Third time lucky")
    simulator.faults({"kind": "error", "status": 503, "platform": "x", "methods": ["POST"], "count": 1})

    before = timezone.now()
    assert services.delivery_publish(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.error_code) == ("scheduled", 1, "transient")
    assert before + timedelta(seconds=30) <= delivery.next_attempt_at <= before + timedelta(seconds=61)
    assert "Attempt 1 failed" in delivery.last_error
    assert services.delivery_publish(delivery_id=delivery.id) == "skipped"  # not due yet
    assert made(simulator, "x", "Third time lucky") == []

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        assert services.deliveries_due() == [delivery.id]
        assert services.delivery_publish(delivery_id=delivery.id) == "published"
    assert len(made(simulator, "x", "Third time lucky")) == 1


def test_a_rate_limit_waits_for_the_networks_reset_time(personas, simulator):
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "After the window")
    simulator.faults({"kind": "rate_limit", "platform": "x", "methods": ["POST"], "count": 1, "retry_after": 600})

    assert services.delivery_publish(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=590)


def test_a_delivery_fails_after_the_maximum_attempts(personas, simulator, settings):
    settings.SMMS_PUBLISH_MAX_ATTEMPTS = 2
    account = connect_x(personas, simulator)
    delivery = schedule(personas, account, "Never accepted")
    simulator.faults({"kind": "error", "status": 503, "platform": "x", "methods": ["POST"]})

    assert services.delivery_publish(delivery_id=delivery.id) == "retry"
    delivery.refresh_from_db()
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        assert services.delivery_publish(delivery_id=delivery.id) == "failed"
    delivery.refresh_from_db()
    assert delivery.error_code == "retries_exhausted"
    assert delivery.last_error.startswith("X did not take the post after 2 attempts")


def test_a_very_late_delivery_fails_instead_of_posting(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Yesterday's news", at=timezone.now() + timedelta(minutes=1))

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        assert services.delivery_publish(delivery_id=delivery.id) == "failed"

    delivery.refresh_from_db()
    assert delivery.error_code == "too_late"
    assert "could not be sent within 60 minutes" in delivery.last_error
    assert made(simulator, "mastodon", "Yesterday's news") == []


def test_a_delivery_to_an_account_disconnected_since_scheduling_fails_at_send_time(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Account gone")
    SocialAccount.objects.filter(id=account.id).update(status="needs_reconnect")

    assert services.delivery_publish(delivery_id=delivery.id) == "failed"
    delivery.refresh_from_db()
    assert delivery.error_code == "account_disconnected"
    assert made(simulator, "mastodon", "Account gone") == []


def test_a_post_cancelled_after_scheduling_is_not_published(personas, simulator):
    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Changed our minds")
    services.post_cancel(post=delivery.post, actor=personas.lead)

    assert services.deliveries_due() == []
    assert services.delivery_publish(delivery_id=delivery.id) == "skipped"
    delivery.refresh_from_db()
    assert delivery.state == "cancelled"
    assert made(simulator, "mastodon", "Changed our minds") == []


def test_a_post_published_everywhere_cannot_be_cancelled(personas, simulator):
    from smms.errors import Conflict

    account = connect_mastodon(personas)
    delivery = schedule(personas, account, "Already out")
    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    with pytest.raises(Conflict):
        services.post_cancel(post=delivery.post, actor=personas.lead)
    delivery.post.refresh_from_db()
    assert delivery.post.status != "cancelled"
