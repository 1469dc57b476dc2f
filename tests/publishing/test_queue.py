"""The queue: weekly time slots per account, and "add to queue" giving each delivery its own account's next free
slot — in the slots' time zone across the changes of summer time, skipping taken slots, under the same approval
rules as scheduling, and never twice the same slot when two people queue at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta
from itertools import islice

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from publishing import services
from publishing.models import Delivery, DeliveryEvent, Post, QueueSchedule, QueueSlot
from smms.errors import Forbidden, NotFound, ValidationFailed
from tests.factories import AccountGroupFactory, SocialAccountFactory

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
NINE = time(9, 0)
# Tuesday 20 October 2026, 12:00 in Paris (summer time, UTC+2); summer time ends on Sunday 25 October.
T0 = datetime(2026, 10, 20, 10, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def times(tz: str, slots: list[tuple[int, time]], after: datetime, n: int) -> list[datetime]:
    return list(islice(services.queue_times(tz=tz, slots=slots, after=after), n))


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_fr")


@pytest.fixture
def other_account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_us")


def write(personas, *accounts, by=None, text="Autumn collection") -> Post:
    return services.post_create(actor=by or personas.agent, text=text, accounts=accounts)


def due(post: Post) -> dict[str, datetime | None]:
    return {d.account.handle: d.due_at for d in Delivery.objects.filter(post=post).select_related("account")}


# --- the slots' times -------------------------------------------------------------------------------------------
def test_a_nine_oclock_paris_slot_stays_at_nine_in_paris_when_summer_time_ends():
    mondays = times("Europe/Paris", [(MON, NINE)], utc(2026, 10, 13, 12), 3)
    assert mondays == [utc(2026, 10, 19, 7), utc(2026, 10, 26, 8), utc(2026, 11, 2, 8)]  # CEST, then CET


def test_a_nine_oclock_paris_slot_stays_at_nine_in_paris_when_summer_time_starts():
    mondays = times("Europe/Paris", [(MON, NINE)], utc(2027, 3, 16, 12), 2)
    assert mondays == [utc(2027, 3, 22, 8), utc(2027, 3, 29, 7)]  # CET, then CEST (from Sunday 28 March)


def test_a_slot_in_the_hour_skipped_in_spring_falls_an_hour_later_and_the_next_day_is_normal():
    nights = times("Europe/Paris", [(SUN, time(2, 30)), (MON, time(2, 30))], utc(2027, 3, 27, 12), 2)
    assert nights == [utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)]  # 03:30 CEST, then 02:30 CEST


def test_the_week_wraps_from_sunday_evening_to_monday_morning():
    sunday_evening = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)  # 21:00 in Paris
    slots = [(SUN, time(10, 0)), (MON, NINE)]
    assert times("Europe/Paris", slots, sunday_evening, 2) == [utc(2026, 11, 2, 8), utc(2026, 11, 8, 9)]


def test_a_slot_exactly_now_is_past_and_the_slots_time_zone_not_utc_decides_the_day():
    now = utc(2026, 11, 2, 8)  # Monday 09:00 in Paris, Monday 17:00 in Tokyo
    assert times("Europe/Paris", [(MON, NINE)], now, 1) == [utc(2026, 11, 9, 8)]
    assert times("Asia/Tokyo", [(TUE, NINE)], now, 1) == [utc(2026, 11, 3, 0)]  # Tuesday 09:00 in Tokyo


def test_no_slots_no_times():
    assert times("Europe/Paris", [], T0, 3) == []


# --- setting slots ----------------------------------------------------------------------------------------------
def test_setting_slots_replaces_them_in_the_editors_time_zone_by_default(personas, account):
    services.slots_set(actor=personas.lead, account=account, slots=[(MON, NINE), (WED, time(18, 30))])
    services.slots_set(actor=personas.lead, account=account, slots=[(FRI, time(12, 0)), (FRI, time(12, 0))])
    schedule = QueueSchedule.objects.get(account=account)
    assert schedule.timezone == "Europe/Paris"  # the lead's
    assert list(schedule.slots.values_list("weekday", "time")) == [(FRI, time(12, 0))]


def test_a_group_gets_the_same_slots_on_every_account(personas, account, other_account):
    group = AccountGroupFactory(organization=personas.org)
    group.accounts.add(account, other_account)
    services.slots_set(actor=personas.lead, group=group, slots=[(TUE, NINE)], tz="America/New_York")
    for member in (account, other_account):
        schedule = QueueSchedule.objects.get(account=member)
        assert schedule.timezone == "America/New_York"
        assert list(schedule.slots.values_list("weekday", "time")) == [(TUE, NINE)]


def test_bad_slots_are_refused_and_the_old_ones_kept(personas, account):
    services.slots_set(actor=personas.lead, account=account, slots=[(MON, NINE)])
    with pytest.raises(ValidationFailed) as refused:
        services.slots_set(actor=personas.lead, account=account, slots=[(7, NINE)])
    assert refused.value.message == "A weekday is a number from 0 (Monday) to 6 (Sunday)."
    with pytest.raises(ValidationFailed) as refused:
        services.slots_set(actor=personas.lead, account=account, slots=[(MON, NINE)], tz="Europe/Atlantis")
    assert refused.value.message == "Europe/Atlantis is not a known time zone."
    assert list(QueueSlot.objects.filter(schedule__account=account).values_list("weekday", "time")) == [(MON, NINE)]


def test_the_database_refuses_a_bad_weekday_and_a_duplicate_slot(personas, account):
    schedule = QueueSchedule.objects.create(account=account, timezone="Europe/Paris")
    QueueSlot.objects.create(schedule=schedule, weekday=MON, time=NINE)
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueSlot.objects.create(schedule=schedule, weekday=7, time=NINE)
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueSlot.objects.create(schedule=schedule, weekday=MON, time=NINE)


def test_only_who_may_approve_sets_slots_and_only_on_their_organizations_accounts(personas, account):
    for member in (personas.agent, personas.analyst):
        with pytest.raises(Forbidden):
            services.slots_set(actor=member, account=account, slots=[(MON, NINE)])
    theirs = SocialAccountFactory(organization=personas.other_org)
    with pytest.raises(NotFound):
        services.slots_set(actor=personas.lead, account=theirs, slots=[(MON, NINE)])
    assert not QueueSlot.objects.exists()


# --- adding to the queue ----------------------------------------------------------------------------------------
def test_a_lead_queuing_schedules_each_delivery_at_its_own_accounts_next_slot(personas, account, other_account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)], tz="Europe/Paris")
    services.slots_set(actor=personas.lead, account=other_account, slots=[(TUE, NINE)], tz="America/New_York")
    post = services.post_queue(post=write(personas, account, other_account), actor=personas.lead)
    paris_wednesday, new_york_tuesday = utc(2026, 10, 21, 7), utc(2026, 10, 20, 13)
    assert due(post) == {"acme_fr": paris_wednesday, "acme_us": new_york_tuesday}
    assert (post.status, post.scheduled_at) == ("scheduled", new_york_tuesday)  # the earliest of the two
    for delivery in Delivery.objects.filter(post=post):
        assert (delivery.state, delivery.queued, delivery.next_attempt_at) == ("scheduled", True, delivery.due_at)
    assert set(DeliveryEvent.objects.filter(delivery__post=post).values_list("to_state", "detail")) == {
        ("scheduled", "Approved; added to the queue.")
    }


def test_taken_slots_are_skipped_whether_queued_or_scheduled_by_hand(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE), (THU, NINE), (FRI, NINE)])
    first = services.post_queue(post=write(personas, account, text="First"), actor=personas.lead)
    by_hand = write(personas, account, text="By hand")
    services.post_schedule(post=by_hand, actor=personas.lead, at=utc(2026, 10, 22, 7))  # Thursday 09:00
    third = services.post_queue(post=write(personas, account, text="Third"), actor=personas.lead)
    assert first.scheduled_at == utc(2026, 10, 21, 7)
    assert third.scheduled_at == utc(2026, 10, 23, 7)  # Friday: Wednesday and Thursday are taken


def test_a_cancelled_post_frees_its_slot(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE), (THU, NINE)])
    first = services.post_queue(post=write(personas, account), actor=personas.lead)
    services.post_cancel(post=first, actor=personas.lead)
    again = services.post_queue(post=write(personas, account), actor=personas.lead)
    assert again.scheduled_at == first.scheduled_at == utc(2026, 10, 21, 7)


def test_accounts_without_slots_are_named_and_nothing_changes(personas, account, other_account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = write(personas, account, other_account)
    with pytest.raises(ValidationFailed) as refused:
        services.post_queue(post=post, actor=personas.lead)
    assert refused.value.message == (
        f"These accounts have no queue slots yet: {other_account}. Set them on their Queue page."
    )
    assert due(post) == {"acme_fr": None, "acme_us": None}
    assert Post.objects.get(id=post.id).status == "draft"


def test_the_analyst_may_not_queue(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = write(personas, account)
    with pytest.raises(Forbidden):
        services.post_queue(post=post, actor=personas.analyst)
    assert due(post) == {"acme_fr": None}


def test_a_community_managers_queued_post_keeps_its_slot_through_approval(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE), (THU, NINE)])
    post = services.post_queue(post=write(personas, account), actor=personas.agent)
    wednesday = utc(2026, 10, 21, 7)
    assert (post.status, post.scheduled_at) == ("draft", wednesday)  # reserved, not scheduled: it needs approval
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.queued, delivery.due_at) == ("draft", True, wednesday)
    # The slot is taken while the post waits: someone else's post goes to Thursday.
    other = services.post_queue(post=write(personas, account, text="Other"), actor=personas.lead)
    assert other.scheduled_at == utc(2026, 10, 22, 7)
    services.post_submit(post=post, actor=personas.agent)
    approved = services.post_approve(post=Post.objects.get(id=post.id), actor=personas.lead)
    delivery.refresh_from_db()
    assert (approved.status, approved.scheduled_at) == ("scheduled", wednesday)
    assert (delivery.state, delivery.due_at, delivery.next_attempt_at, delivery.queued) == (
        "scheduled",
        wednesday,
        wednesday,
        True,
    )


def test_a_post_approved_after_its_slot_passed_takes_the_next_free_slot(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE), (THU, NINE), (FRI, NINE)])
    post = services.post_queue(post=write(personas, account), actor=personas.agent)
    services.post_submit(post=post, actor=personas.agent)
    services.post_queue(post=write(personas, account, text="Thursday's"), actor=personas.lead)
    clock.move_to(utc(2026, 10, 21, 12))  # Wednesday afternoon: its slot has passed
    approved = services.post_approve(post=post, actor=personas.lead)
    assert (approved.status, approved.scheduled_at) == ("scheduled", utc(2026, 10, 23, 7))  # Friday


def test_approving_by_scheduling_without_a_time_keeps_the_queue_slots(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = services.post_queue(post=write(personas, account), actor=personas.agent)
    scheduled = services.post_schedule(post=post, actor=personas.lead)
    assert (scheduled.status, scheduled.scheduled_at) == ("scheduled", utc(2026, 10, 21, 7))
    assert Delivery.objects.get(post=post).queued


def test_rescheduling_a_queued_post_at_a_chosen_time_takes_it_out_of_the_queue(personas, account, clock, client_for):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = services.post_queue(post=write(personas, account), actor=personas.lead)
    client_for(personas.lead).post(reverse("post_move", args=[post.id]), {"at": "2026-10-23T15:00", "view": "week"})
    delivery = Delivery.objects.get(post=post)
    assert (delivery.state, delivery.queued, delivery.due_at) == ("scheduled", False, utc(2026, 10, 23, 13))
    again = services.post_queue(post=write(personas, account), actor=personas.lead)
    assert again.scheduled_at == utc(2026, 10, 21, 7)  # the Wednesday slot is free again


def test_the_database_refuses_two_queued_deliveries_in_one_slot_of_one_account(personas, account, clock):
    first, second = write(personas, account), write(personas, account)
    Delivery.objects.filter(post=first).update(queued=True, due_at=utc(2026, 10, 21, 7))
    Delivery.objects.filter(post=second).update(queued=False, due_at=utc(2026, 10, 21, 7))  # by hand: allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.filter(post=second).update(queued=True)


@pytest.mark.django_db(transaction=True)
def test_two_people_queuing_at_the_same_moment_never_share_a_slot(personas, account):
    """The first queues inside a transaction it keeps open; the second, not seeing that uncommitted work, picks
    the same slot and waits on the unique index. Once the first commits, the second looks again."""
    services.slots_set(actor=personas.lead, account=account, slots=[(d, NINE) for d in range(7)])
    first, second = write(personas, account, text="First"), write(personas, account, text="Second")
    queued, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def in_a_thread(target) -> threading.Thread:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # reported by the assertions below
                errors.append(exc)
                queued.set()
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def first_person() -> None:
        with transaction.atomic():
            services.post_queue(post=first, actor=personas.lead)
            queued.set()
            release.wait(timeout=20)

    one = in_a_thread(first_person)
    assert queued.wait(timeout=20)
    two = in_a_thread(lambda: services.post_queue(post=second, actor=personas.owner))
    waiting = False
    for _ in range(200):  # until the second is blocked on the first's uncommitted slot
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
            waiting = cursor.fetchone()[0] > 0
        if waiting:
            break
        threading.Event().wait(0.05)
    release.set()
    one.join(timeout=20)
    two.join(timeout=20)
    assert not errors
    assert waiting, "the second person never waited on the first one's slot"
    a, b = Delivery.objects.get(post=first), Delivery.objects.get(post=second)
    assert a.due_at != b.due_at
    assert b.due_at == a.due_at + timedelta(days=1)  # the next slot, the first's taken


# --- pages --------------------------------------------------------------------------------------------------------
def test_the_queue_page_sets_slots_and_shows_the_next_ones_with_what_is_booked(personas, account, client_for, clock):
    client = client_for(personas.lead)
    url = reverse("queue_account", args=[account.id])
    answer = client.post(url, {"day_2": "09:00, 18:30", "day_4": "12:00", "timezone": "Europe/Paris"})
    assert answer.status_code == 302
    assert list(QueueSlot.objects.filter(schedule__account=account).values_list("weekday", "time")) == [
        (WED, NINE),
        (WED, time(18, 30)),
        (FRI, time(12, 0)),
    ]
    services.post_queue(post=write(personas, account, text="<b>Autumn</b> is here"), actor=personas.lead)
    page = client.get(url).content.decode()
    assert page.count('data-testid="slot"') == 10
    first = page[page.index('data-testid="slot"') :]
    first = first[: first.index("</li>")]
    assert "&lt;b&gt;Autumn&lt;/b&gt; is here" in first  # the post's text is data, not markup
    assert 'value="09:00, 18:30"' in page


def test_a_mistyped_time_is_refused_and_what_was_typed_is_kept(personas, account, client_for):
    services.slots_set(actor=personas.lead, account=account, slots=[(MON, NINE)])
    url = reverse("queue_account", args=[account.id])
    page = client_for(personas.lead).post(url, {"day_0": "9h, 25:00", "day_1": "10:00", "timezone": "Europe/Paris"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "“9h” is not a time of day like 09:30." in html
    assert 'value="9h, 25:00"' in html
    assert 'value="10:00"' in html
    assert list(QueueSlot.objects.filter(schedule__account=account).values_list("weekday", "time")) == [(MON, NINE)]


def test_a_community_manager_sees_the_queue_but_may_not_change_it(personas, account, client_for):
    client = client_for(personas.agent)
    url = reverse("queue_account", args=[account.id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"day_0": "09:00", "timezone": "Europe/Paris"}).status_code == 403
    assert not QueueSlot.objects.exists()


def test_the_group_page_sets_the_slots_of_every_account(personas, account, other_account, client_for):
    group = AccountGroupFactory(organization=personas.org)
    group.accounts.add(account, other_account)
    answer = client_for(personas.lead).post(
        reverse("queue_group", args=[group.id]), {"day_1": "08:15", "timezone": "Europe/London"}
    )
    assert answer.status_code == 302
    assert sorted(QueueSlot.objects.values_list("schedule__account__handle", "weekday", "time")) == [
        ("acme_fr", TUE, time(8, 15)),
        ("acme_us", TUE, time(8, 15)),
    ]


def test_a_community_manager_adds_to_the_queue_from_the_composer_and_it_goes_for_approval(
    personas, account, client_for, clock
):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    answer = client_for(personas.agent).post(
        reverse("compose"), {"text": "Autumn is here", "accounts": [account.id], "action": "queue"}
    )
    assert answer.status_code == 302
    post = Post.objects.get(text="Autumn is here")
    assert (post.status, post.scheduled_at) == ("awaiting_approval", utc(2026, 10, 21, 7))
    assert Delivery.objects.get(post=post).queued


def test_adding_to_the_queue_of_an_account_without_slots_leaves_no_stray_draft(personas, account, client_for):
    page = client_for(personas.lead).post(
        reverse("compose"), {"text": "Autumn is here", "accounts": [account.id], "action": "queue"}
    )
    assert page.status_code == 200
    assert "These accounts have no queue slots yet" in page.content.decode()
    assert "Autumn is here</textarea>" in page.content.decode()
    assert not Post.objects.exists()


def test_add_to_queue_on_the_post_page(personas, account, client_for, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = write(personas, account)
    client = client_for(personas.lead)
    assert "Add to queue" in client.get(reverse("post_detail", args=[post.id])).content.decode()
    client.post(reverse("post_queue", args=[post.id]))
    post.refresh_from_db()
    assert (post.status, post.scheduled_at) == ("scheduled", utc(2026, 10, 21, 7))
    assert client_for(personas.analyst).post(reverse("post_queue", args=[post.id])).status_code == 403


# --- API ----------------------------------------------------------------------------------------------------------
def test_the_api_reads_and_replaces_an_accounts_slots(personas, account, api_client_for, clock):
    client = api_client_for(personas.lead)
    url = f"/api/v1/social-accounts/{account.id}/queue-slots/"
    assert client.get(url).json() == {"account": account.id, "timezone": None, "slots": [], "upcoming": []}
    body = {"timezone": "Europe/Paris", "slots": [{"weekday": WED, "time": "09:00"}]}
    answer = client.put(url, body, format="json")
    assert answer.status_code == 200
    data = answer.json()
    assert (data["timezone"], data["slots"]) == ("Europe/Paris", [{"weekday": WED, "time": "09:00"}])
    assert len(data["upcoming"]) == 10
    assert data["upcoming"][0] == {"at": "2026-10-21T09:00:00+02:00", "post_ids": []}
    refused = client.put(url, {"slots": [{"weekday": 9, "time": "09:00"}]}, format="json")
    assert refused.status_code == 400
    assert api_client_for(personas.agent).put(url, body, format="json").status_code == 403


def test_the_api_queues_a_post_and_respects_scopes(personas, account, api_client_for, api_key_client, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = write(personas, account)
    read_only = api_key_client(personas.owner, ["publishing:read"])
    assert read_only.post(f"/api/v1/posts/{post.id}/queue/").status_code == 403
    assert read_only.get(f"/api/v1/social-accounts/{account.id}/queue-slots/").status_code == 200
    answer = api_key_client(personas.owner, ["publishing:write"]).post(f"/api/v1/posts/{post.id}/queue/")
    assert answer.status_code == 200
    delivery = answer.json()["deliveries"][0]
    assert (answer.json()["status"], parse_datetime(delivery["due_at"])) == ("scheduled", utc(2026, 10, 21, 7))


def test_the_api_names_accounts_without_slots(personas, account, api_client_for):
    post = write(personas, account)
    answer = api_client_for(personas.lead).post(f"/api/v1/posts/{post.id}/queue/")
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith(f"These accounts have no queue slots yet: {account}.")


def test_approving_on_the_page_with_the_prefilled_time_keeps_each_accounts_slot(
    personas, account, other_account, client_for, clock
):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)], tz="Europe/Paris")
    services.slots_set(actor=personas.lead, account=other_account, slots=[(THU, NINE)], tz="Europe/Paris")
    post = services.post_queue(post=write(personas, account, other_account), actor=personas.agent)
    services.post_submit(post=post, actor=personas.agent)
    # The approve form shows the post's planned time (the earliest slot), in the lead's time zone.
    client_for(personas.lead).post(reverse("post_approve", args=[post.id]), {"at": "2026-10-21T09:00"})
    assert Post.objects.get(id=post.id).status == "scheduled"
    assert due(post) == {"acme_fr": utc(2026, 10, 21, 7), "acme_us": utc(2026, 10, 22, 7)}


def test_the_api_sets_a_groups_slots_on_every_account(personas, account, other_account, api_client_for, clock):
    group = AccountGroupFactory(organization=personas.org)
    group.accounts.add(account, other_account)
    body = {"timezone": "Asia/Tokyo", "slots": [{"weekday": THU, "time": "08:00"}]}
    answer = api_client_for(personas.lead).put(f"/api/v1/account-groups/{group.id}/queue-slots/", body, format="json")
    assert answer.status_code == 200
    assert [(a["account"], a["timezone"], a["slots"]) for a in answer.json()] == [
        (account.id, "Asia/Tokyo", [{"weekday": THU, "time": "08:00"}]),
        (other_account.id, "Asia/Tokyo", [{"weekday": THU, "time": "08:00"}]),
    ]
    assert parse_datetime(answer.json()[0]["upcoming"][0]["at"]) == utc(2026, 10, 21, 23)  # Thursday 08:00 Tokyo


def test_the_queue_overview_takes_the_same_queries_for_one_account_or_many(personas, account, client_for):
    client = client_for(personas.lead)
    services.slots_set(actor=personas.lead, account=account, slots=[(MON, NINE)])
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("queue")).status_code == 200
    for n in range(3):
        services.slots_set(
            actor=personas.lead, account=SocialAccountFactory(organization=personas.org), slots=[(n, NINE)]
        )
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("queue")).content.decode()
    assert page.count('data-testid="queue-account"') == 4
    assert len(four) == len(one)


def test_a_community_manager_schedules_an_approved_post_by_queuing_it(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)])
    post = write(personas, account)
    services.post_submit(post=post, actor=personas.agent)
    services.post_approve(post=post, actor=personas.lead)  # no time: approved, waiting to be scheduled
    queued = services.post_queue(post=post, actor=personas.agent)
    assert (queued.status, queued.scheduled_at) == ("scheduled", utc(2026, 10, 21, 7))
    assert Delivery.objects.get(post=post).state == "scheduled"


def test_queuing_again_keeps_the_post_on_its_slot_and_another_organization_cannot(personas, account, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE), (THU, NINE)])
    post = services.post_queue(post=write(personas, account), actor=personas.lead)
    assert services.post_queue(post=post, actor=personas.lead).scheduled_at == utc(2026, 10, 21, 7)
    with pytest.raises(NotFound):
        services.post_queue(post=post, actor=personas.outsider)


def test_the_queue_page_shows_a_new_york_schedule_in_the_readers_time_zone(personas, account, client_for, clock):
    services.slots_set(actor=personas.lead, account=account, slots=[(WED, NINE)], tz="America/New_York")
    page = client_for(personas.lead).get(reverse("queue_account", args=[account.id])).content.decode()
    assert 'datetime="2026-10-21T15:00:00+02:00"' in page  # 09:00 in New York is 15:00 in Paris
    assert '<option value="America/New_York" selected>' in page
