"""The definitions: reach, engagements and rates per post, sums weighted by reach per account and campaign,
and best times to post from crafted history."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest

from analytics import selectors
from analytics.definitions import Totals, rates_of
from publishing import services as publishing_services
from tests.factories import SocialAccountFactory

from .conftest import measured, published

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday


def test_reach_is_impressions_else_views_else_unknown():
    assert rates_of(likes=5, shares=2, replies=2, quotes=1, impressions=200, views=999).reach == 200
    assert rates_of(likes=5, shares=2, replies=2, quotes=1, impressions=None, views=400).reach == 400
    unknown = rates_of(likes=5, shares=2, replies=2, quotes=1, impressions=None, views=None)
    assert (unknown.reach, unknown.engagements) == (None, 10)
    assert (unknown.engagement_rate, unknown.virality_rate) == (None, None)


def test_engagement_and_virality_rates_divide_by_reach():
    rates = rates_of(likes=10, shares=5, replies=3, quotes=2, impressions=400, views=None)
    assert rates.engagements == 20
    assert rates.engagement_rate == pytest.approx(0.05)
    assert rates.virality_rate == pytest.approx(0.0125)


def test_a_reach_of_zero_gives_no_rate_rather_than_a_division_error():
    rates = rates_of(likes=0, shares=0, replies=None, quotes=None, impressions=0, views=None)
    assert (rates.reach, rates.engagement_rate) == (0, None)


def test_account_sums_weigh_by_reach_and_leave_posts_without_reach_out_of_the_rates(personas):
    x = SocialAccountFactory(organization=personas.org, platform="x")
    measured(published(personas, x, "1", at=MONDAY), likes=10, shares=0, replies=0, quotes=0, impressions=100)
    measured(published(personas, x, "2", at=MONDAY), likes=20, shares=10, replies=0, quotes=0, impressions=900)
    # A post whose reach is unknown adds to the engagements but not to the rates.
    measured(published(personas, x, "3", at=MONDAY), likes=50, shares=0, replies=0, quotes=0)
    published(personas, x, "4", at=MONDAY)  # published, never measured

    [figures] = [a for a in selectors.account_summaries(org=personas.org) if a.account == x]
    assert figures.totals == Totals(
        posts=3, engagements=90, shares=10, posts_with_reach=2, reach=1000, engagements_with_reach=40,
        shares_with_reach=10,
    )  # fmt: skip
    # (10 + 30) / (100 + 900), not the mean of 10 % and 3.3 %
    assert figures.totals.engagement_rate == pytest.approx(0.04)
    assert figures.totals.virality_rate == pytest.approx(0.01)


def test_an_account_without_reach_shows_engagements_per_follower_only_when_followers_are_known(personas):
    known = SocialAccountFactory(organization=personas.org, platform="mastodon", extra={"followers": 200})
    unknown = SocialAccountFactory(organization=personas.org, platform="bluesky")
    for account in (known, unknown):
        measured(published(personas, account, f"{account.id}-1", at=MONDAY), likes=8, shares=2, replies=0, quotes=0)
        measured(published(personas, account, f"{account.id}-2", at=MONDAY), likes=4, shares=0, replies=2, quotes=0)
    by_account = {a.account: a for a in selectors.account_summaries(org=personas.org)}
    assert by_account[known].totals.engagement_rate is None
    assert by_account[known].per_follower == pytest.approx(16 / 2 / 200)
    assert by_account[unknown].per_follower is None
    assert not by_account[unknown].reach_reported


def test_a_campaign_sums_its_posts_per_network_and_ranks_its_top_posts(personas):
    campaign = publishing_services.campaign_save(actor=personas.lead, name="Spring")
    other = publishing_services.campaign_save(actor=personas.lead, name="Autumn")
    x = SocialAccountFactory(organization=personas.org, platform="x")
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon")
    best = published(personas, x, "1", at=MONDAY, campaign=campaign, text="Best")
    measured(best, likes=30, shares=10, replies=0, quotes=0, impressions=1000)
    measured(published(personas, mastodon, "2", at=MONDAY, campaign=campaign), likes=5, shares=1, replies=0, quotes=0)
    measured(published(personas, x, "3", at=MONDAY, campaign=other), likes=999, shares=0, replies=0, quotes=0,
             impressions=1000)  # fmt: skip

    figures = selectors.campaign_figures(org=personas.org, campaign_id=campaign.id, tz=zoneinfo.ZoneInfo("UTC"))
    assert (figures.totals.posts, figures.totals.engagements, figures.totals.reach) == (2, 46, 1000)
    assert figures.totals.engagement_rate == pytest.approx(0.04)
    assert [(network, t.posts, t.engagements) for network, t in figures.by_network] == [
        ("Mastodon", 1, 6), ("X", 1, 40),
    ]  # fmt: skip
    assert figures.top[0].delivery == best


def _history(personas, account, slots, *, rate_of):
    """Posts published at each (day offset from MONDAY, hour UTC), measured with the engagement rate given."""
    for n, (day, hour) in enumerate(slots):
        at = MONDAY + timedelta(days=day, hours=hour)
        engagements = round(rate_of(day, hour) * 1000)
        measured(published(personas, account, f"h{n}", at=at), likes=engagements, shares=0, replies=0, quotes=0,
                 impressions=1000)  # fmt: skip


def test_best_times_rank_weekday_hours_by_their_average_engagement_rate_in_the_users_zone(personas):
    account = SocialAccountFactory(organization=personas.org, platform="x")
    # Tuesdays 17:00 UTC do best, then Thursdays 08:00 UTC; two weeks each, plus Monday noise at 03:00.
    slots = [(1, 17), (8, 17), (3, 8), (10, 8), (0, 3), (7, 3), (0, 4), (2, 12), (4, 20), (5, 9)]
    rates = {(1, 17): 0.09, (8, 17): 0.11, (3, 8): 0.06, (10, 8): 0.06}
    _history(personas, account, slots, rate_of=lambda day, hour: rates.get((day, hour), 0.01))

    best = selectors.best_times(account=account, tz="Europe/Paris", limit=3)
    assert best.shortage == ""
    assert [(t.weekday, t.hour, t.posts) for t in best.times] == [(1, 18, 2), (3, 9, 2), (0, 4, 2)]
    assert best.times[0].score == pytest.approx(0.10)


def test_best_times_say_when_there_is_not_enough_history(personas):
    account = SocialAccountFactory(organization=personas.org, platform="x")
    _history(personas, account, [(1, 17), (8, 17), (3, 8)], rate_of=lambda day, hour: 0.05)
    best = selectors.best_times(account=account, tz="UTC")
    assert best.times == []
    assert "3 measured posts, 10 needed" in best.shortage


def test_without_enough_posts_best_times_fall_back_to_when_the_audience_mentions_the_account(personas):
    from listening.models import Mention

    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    recent = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    for n in range(25):
        at = recent.replace(hour=19) if n < 20 else recent.replace(hour=6)
        Mention.objects.create(
            organization=personas.org, account=account, platform="mastodon", external_id=f"m{n}", kind="mention",
            author_id="1", author_handle="fan", text="hi", sentiment="neutral", published_at=at,
        )  # fmt: skip
    best = selectors.best_times(account=account, tz="UTC", limit=2)
    assert best.shortage
    assert [(t.hour, t.posts, t.basis) for t in best.times] == [(19, 20, "audience"), (6, 5, "audience")]


def test_the_queue_page_offers_the_best_times_and_a_lead_adds_them_to_the_slots(personas, client_for):
    from django.urls import reverse

    from publishing.models import QueueSlot

    account = SocialAccountFactory(organization=personas.org, platform="x")
    slots = [(1, 17), (8, 17), (3, 8), (10, 8), (0, 3), (7, 3), (0, 4), (2, 12), (4, 20), (5, 9)]
    rates = {(1, 17): 0.09, (8, 17): 0.11, (3, 8): 0.06, (10, 8): 0.06}
    _history(personas, account, slots, rate_of=lambda day, hour: rates.get((day, hour), 0.01))
    personas.lead.user.timezone = "UTC"
    personas.lead.user.save()
    client = client_for(personas.lead)

    html = client.get(reverse("queue_account", args=[account.id])).content.decode()
    assert "Tue 17:00" in html
    assert "Thu 08:00" in html
    assert client_for(personas.agent).post(reverse("queue_account_best", args=[account.id])).status_code == 403

    client.post(reverse("queue_account_best", args=[account.id]))

    got = sorted((slot.weekday, slot.time.hour) for slot in QueueSlot.objects.filter(schedule__account=account))
    assert got == [(0, 3), (1, 17), (3, 8)]
