"""The publishing calendar through the Django test client: posts in their day and hour slot in the user's
time zone, the week and month ranges, and moving a post by dropping it on another slot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from publishing import services
from publishing.models import Delivery, Post
from tests.factories import SocialAccountFactory
from tests.publishing.conftest import allow_self_approval

HOSTILE = "<script>alert(1)</script>"
JUNE = datetime(2030, 6, 12, 8, 0, tzinfo=UTC)  # a Wednesday; 10:00 in Paris (summer time)


@pytest.fixture
def account(personas):
    return SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme_m")


@pytest.fixture
def scheduled(personas, account):
    allow_self_approval(personas)
    post = services.post_create(actor=personas.lead, text=f"Summer sale {HOSTILE}", accounts=[account])
    return services.post_schedule(post=post, actor=personas.lead, at=JUNE)


def slot(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</td>", start)]


def test_a_post_shows_in_its_hour_slot_in_the_users_time_zone(personas, client_for, scheduled):
    page = client_for(personas.lead).get(reverse("calendar"), {"date": "2030-06-12"}).content.decode()
    cell = slot(page, "slot-2030-06-12-10")
    assert 'data-testid="calendar-post"' in cell
    assert "10:00" in cell
    assert "acme_m" in cell
    assert "status-scheduled" in cell
    assert "&lt;script&gt;" in cell
    assert "<script>alert" not in page
    assert 'data-testid="calendar-post"' not in slot(page, "slot-2030-06-12-08")


def test_the_week_runs_monday_to_sunday_and_the_month_covers_its_weeks(personas, client_for, scheduled):
    client = client_for(personas.lead)
    week = client.get(reverse("calendar"), {"view": "week", "date": "2030-06-16"}).content.decode()
    assert 'data-testid="slot-2030-06-10-00"' in week  # the Monday
    assert 'data-testid="slot-2030-06-16-23"' in week  # the Sunday
    assert 'data-testid="slot-2030-06-17-00"' not in week
    assert "calendar-post" in slot(week, "slot-2030-06-12-10")
    other_week = client.get(reverse("calendar"), {"view": "week", "date": "2030-06-17"}).content.decode()
    assert 'data-testid="calendar-post"' not in other_week
    month = client.get(reverse("calendar"), {"view": "month", "date": "2030-06-20"}).content.decode()
    assert 'data-testid="slot-2030-05-27"' in month  # the Monday before 1 June
    assert 'data-testid="slot-2030-06-30"' in month  # a Sunday: the month ends with its week
    assert 'data-testid="slot-2030-07-01"' not in month
    assert "10:00" in slot(month, "slot-2030-06-12")


def test_a_draft_is_not_on_the_calendar(personas, client_for, account):
    services.post_create(actor=personas.lead, text="Not yet", accounts=[account], scheduled_at=JUNE)
    page = client_for(personas.lead).get(reverse("calendar"), {"date": "2030-06-12"}).content.decode()
    assert "Not yet" not in page


def test_a_team_lead_moves_a_post_and_its_deliveries_are_due_at_the_new_time(personas, client_for, scheduled):
    client = client_for(personas.lead)
    page = client.get(reverse("calendar"), {"date": "2030-06-12"}).content.decode()
    assert 'draggable="true"' in page
    response = client.post(reverse("post_move", args=[scheduled.id]), {"at": "2030-06-14T15:30", "view": "week"})
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar") + "?view=week&date=2030-06-14"
    moved = datetime(2030, 6, 14, 13, 30, tzinfo=UTC)  # 15:30 in Paris
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at == moved
    assert Delivery.objects.get(post=scheduled).due_at == moved
    page = client.get(response["Location"]).content.decode()
    assert "Post rescheduled." in page
    assert "calendar-post" in slot(page, "slot-2030-06-14-15")


def test_a_community_manager_sees_the_calendar_but_cannot_move(personas, client_for, scheduled):
    client = client_for(personas.agent)
    page = client.get(reverse("calendar"), {"date": "2030-06-12"}).content.decode()
    assert "calendar-post" in slot(page, "slot-2030-06-12-10")
    assert 'draggable="true"' not in page
    assert reverse("post_move", args=[scheduled.id]) not in page
    response = client.post(reverse("post_move", args=[scheduled.id]), {"at": "2030-06-14T15:30"})
    assert response.status_code == 403
    scheduled.refresh_from_db()
    assert scheduled.scheduled_at == JUNE


def test_a_past_target_is_refused_with_a_message(personas, client_for, scheduled):
    client = client_for(personas.lead)
    response = client.post(reverse("post_move", args=[scheduled.id]), {"at": "2020-06-14T15:30"}, follow=True)
    assert "Choose a time in the future." in response.content.decode()
    assert Post.objects.get(id=scheduled.id).scheduled_at == JUNE


def test_the_posts_page_links_to_the_calendar(personas, client_for):
    page = client_for(personas.agent).get(reverse("publishing")).content.decode()
    assert reverse("calendar") in page


def test_the_calendar_reads_a_fixed_number_of_queries(personas, client_for, account, scheduled):
    client = client_for(personas.lead)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("calendar"), {"date": "2030-06-12"}).status_code == 200
        return len(captured)

    one = queries()
    for hour in (9, 14):
        post = services.post_create(actor=personas.lead, text="More", accounts=[account])
        services.post_schedule(post=post, actor=personas.lead, at=JUNE.replace(hour=hour))
    assert queries() == one


def test_the_sidebar_leads_to_the_calendar_and_marks_it_current(personas, client_for):
    page = client_for(personas.agent).get(reverse("calendar")).content.decode()
    assert 'href="/publishing/calendar/" data-nav="calendar" aria-current="page"' in page
    assert 'data-nav="publishing" aria-current' not in page
