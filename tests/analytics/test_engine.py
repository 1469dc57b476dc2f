"""The metrics engine against the simulator over HTTP: rows for every published post, fetched on the decaying
schedule, figures that grow, and the network's refusals handled without losing anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from analytics import services, tasks
from analytics.definitions import FETCH_SCHEDULE, next_fetch
from analytics.models import DeliveryMetrics, MetricsSnapshot

from .conftest import connect, publish, published

T0 = timezone.now().replace(microsecond=0)


# --- the schedule ---------------------------------------------------------------------------------------------
def test_the_schedule_decays_from_ten_minutes_to_daily_and_ends_after_a_week():
    at = [T0]
    while (upcoming := next_fetch(published_at=T0, after=at[-1])) is not None:
        at.append(upcoming)
    offsets = [moment - T0 for moment in at[1:]]
    assert offsets[:8] == [
        timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4),
        timedelta(hours=8), timedelta(hours=12), timedelta(days=1),
    ]  # fmt: skip
    assert offsets[8:] == [timedelta(days=d) for d in range(2, 8)]
    assert offsets == list(FETCH_SCHEDULE)


def test_a_late_fetch_skips_the_steps_it_missed():
    assert next_fetch(published_at=T0, after=T0 + timedelta(hours=3)) == T0 + timedelta(hours=4)
    assert next_fetch(published_at=T0, after=T0 + timedelta(days=7)) is None


def test_the_first_step_can_be_made_shorter_for_a_demo():
    assert next_fetch(published_at=T0, after=T0, first=timedelta(minutes=1)) == T0 + timedelta(minutes=1)
    assert next_fetch(published_at=T0, after=T0 + timedelta(minutes=1), first=timedelta(minutes=1)) == T0 + timedelta(
        minutes=30
    )


# --- rows and leases --------------------------------------------------------------------------------------------
def test_every_published_delivery_gets_one_row_due_ten_minutes_after_publication(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    first = published(personas, account, "1001", at=T0)
    second = published(personas, account, "1002", at=T0 - timedelta(hours=1))

    assert services.metrics_rows_ensure(limit=1) == 1
    assert services.metrics_rows_ensure() == 1
    assert services.metrics_rows_ensure() == 0
    assert DeliveryMetrics.objects.get(delivery=first).next_fetch_at == T0 + timedelta(minutes=10)
    assert DeliveryMetrics.objects.get(delivery=second).next_fetch_at == T0 - timedelta(minutes=50)


def test_two_dispatchers_never_hand_out_the_same_row(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    for n in range(5):
        published(personas, account, str(2000 + n), at=T0 - timedelta(hours=1))
    services.metrics_rows_ensure()

    first = services.metrics_due(limit=3)
    second = services.metrics_due()
    assert (len(first), len(second)) == (3, 2)
    assert not set(first) & set(second)
    assert services.metrics_due() == []


def test_a_batch_fetched_once_is_not_fetched_again_by_a_repeat(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Fetched once")
    services.metrics_rows_ensure()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        [batch] = services.metrics_due_by_account()
        assert services.metrics_fetch(delivery_ids=batch) == {"fetched": 1}
        assert services.metrics_fetch(delivery_ids=batch) == {}
    assert MetricsSnapshot.objects.filter(delivery=delivery).count() == 1


# --- fetching from every network ------------------------------------------------------------------------------
@pytest.mark.parametrize("platform", ["x", "facebook", "instagram", "mastodon", "bluesky"])
def test_figures_are_fetched_on_schedule_and_grow(personas, simulator, platform):
    account = connect(personas, simulator, platform)
    delivery = publish(personas, account, f"Spring is here on {platform}")
    services.metrics_rows_ensure()
    start = timezone.now()

    likes, elapsed = [], 0
    for minutes in (11, 31, 61, 121):  # the simulator's clock and ours move together
        simulator.advance(minutes * 60 - elapsed)
        elapsed = minutes * 60
        with time_machine.travel(start + timedelta(minutes=minutes)):
            assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1}
        row = DeliveryMetrics.objects.get(delivery=delivery)
        likes.append(row.likes)
    assert likes == sorted(likes)
    assert likes[-1] > likes[0] > 0
    assert (row.fetch_count, row.stop_reason) == (4, "")
    assert row.next_fetch_at == delivery.published_at + timedelta(hours=4)
    assert MetricsSnapshot.objects.filter(delivery=delivery).count() == 4
    assert None not in (row.shares, row.replies)
    if platform in ("mastodon", "bluesky"):
        assert (row.impressions, row.views) == (None, None)  # these networks report no reach
    else:
        assert (row.impressions or row.views or 0) > 0


def test_the_schedule_stops_after_the_seventh_day(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "A week of figures")
    services.metrics_rows_ensure()
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=1)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1}
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"stopped": 1}
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert (row.stop_reason, row.next_fetch_at, row.fetch_count) == ("done", None, 2)


# --- what the networks refuse -----------------------------------------------------------------------------------
def test_a_rate_limit_defers_to_the_networks_reset_time(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Rate limited")
    services.metrics_rows_ensure()
    simulator.faults({"kind": "rate_limit", "platform": "mastodon", "count": 5, "retry_after": 120})
    later = timezone.now() + timedelta(minutes=11)
    with time_machine.travel(later):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"deferred": 1}
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert (row.fetch_count, row.stop_reason) == (0, "")
    assert "rate limit" in row.note
    assert row.next_fetch_at > timezone.now() + timedelta(seconds=60)
    simulator.clear_faults()
    with time_machine.travel(row.next_fetch_at + timedelta(seconds=1)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1}


def test_a_revoked_token_stops_the_accounts_rows_with_a_reason(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Revoked later")
    services.metrics_rows_ensure()
    simulator.revoke(platform="mastodon", user_id=account.remote_id)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"stopped": 1}
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert (row.stop_reason, row.next_fetch_at) == ("auth_revoked", None)
    assert "reconnect" in row.note
    account.refresh_from_db()
    assert account.status == "needs_reconnect"


def test_the_figures_resume_once_the_account_is_reconnected(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Revoked, then reconnected")
    services.metrics_rows_ensure()
    simulator.revoke(platform="mastodon", user_id=account.remote_id)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"stopped": 1}
    assert services.metrics_rows_resume() == 0  # still disconnected: nothing to resume

    again = connect(personas, simulator, "mastodon")
    assert again.id == account.id

    assert services.metrics_rows_resume() == 1
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert (row.stop_reason, row.note) == ("", "Resumed: the account is connected again.")
    with time_machine.travel(timezone.now() + timedelta(minutes=12)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1}
    row.refresh_from_db()
    assert row.likes is not None
    assert row.next_fetch_at is not None


def test_a_post_deleted_on_the_network_stops_with_a_note(personas, simulator):
    account = connect(personas, simulator, "x")
    kept = publish(personas, account, "This one stays")
    gone = published(personas, account, "1999999999999999999", at=kept.published_at)
    services.metrics_rows_ensure()
    moment = timezone.now() + timedelta(minutes=11)
    with time_machine.travel(moment):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1, "deferred": 1}
    with time_machine.travel(moment + services.RETRY_AFTER + timedelta(seconds=1)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"stopped": 1}
    row = DeliveryMetrics.objects.get(delivery=gone)
    assert row.stop_reason == "not_found"
    assert "deleted" in row.note
    assert DeliveryMetrics.objects.get(delivery=kept).likes is not None


def test_a_malformed_answer_is_noted_and_tried_again(personas, simulator):
    account = connect(personas, simulator, "mastodon")
    delivery = publish(personas, account, "Unreadable answer")
    services.metrics_rows_ensure()
    simulator.faults({"kind": "malformed", "platform": "mastodon", "rate": 1.0, "methods": ["GET"]})
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"deferred": 1}
    row = DeliveryMetrics.objects.get(delivery=delivery)
    assert row.stop_reason == ""
    assert row.next_fetch_at is not None
    assert "could not read" in row.note


def test_the_beat_task_makes_rows_and_fetches_through_the_queue(personas, simulator, celery_eager):
    account = connect(personas, simulator, "bluesky")
    delivery = publish(personas, account, "Through the beat")
    assert tasks.metrics_dispatch() == 0  # the row is made; its first fetch is ten minutes away
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert tasks.metrics_dispatch() == 1
        assert tasks.metrics_dispatch() == 0
    assert DeliveryMetrics.objects.get(delivery=delivery).fetch_count == 1


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
def test_networks_without_reach_give_their_follower_count_for_engagements_per_follower(personas, simulator, platform):
    from analytics import selectors
    from analytics.models import AccountAudience

    account = connect(personas, simulator, platform)
    publish(personas, account, "Per follower")
    services.metrics_rows_ensure()
    simulator.advance(3600)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        services.metrics_fetch(delivery_ids=services.metrics_due())

    [user] = [u for u in simulator.users(platform) if u["id"] == account.remote_id]
    assert AccountAudience.objects.get(account=account).followers == user["followers"] > 0
    [figures] = selectors.account_summaries(org=personas.org)
    assert figures.totals.engagement_rate is None
    assert figures.per_follower == pytest.approx(figures.totals.engagements / user["followers"])


def test_a_network_that_gives_no_follower_count_leaves_it_unknown(personas, simulator):
    from analytics.models import AccountAudience

    account = connect(personas, simulator, "x")
    publish(personas, account, "No audience asked")
    services.metrics_rows_ensure()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert services.metrics_fetch(delivery_ids=services.metrics_due()) == {"fetched": 1}
    assert not AccountAudience.objects.filter(account=account).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_given_the_same_batch_fetch_it_once(personas, simulator):
    from tests.races import at_once

    account = connect(personas, simulator, "mastodon")
    deliveries = [publish(personas, account, f"Raced {n}") for n in range(3)]
    services.metrics_rows_ensure()
    ids = [d.id for d in deliveries]
    later = timezone.now() + timedelta(minutes=11)

    def worker():
        with time_machine.travel(later, tick=False):
            return services.metrics_fetch(delivery_ids=ids)

    results = at_once(worker, worker)
    assert sorted(results, key=len) == [{}, {"fetched": 3}]
    assert MetricsSnapshot.objects.filter(delivery__in=deliveries).count() == 3
