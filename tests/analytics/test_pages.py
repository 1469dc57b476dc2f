"""The analytics pages: accounts, one account with its best times, one campaign, and a post's metrics block,
rendered with their figures, their empty states explained, and networks' text shown as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import MetricsSnapshot
from publishing import services as publishing_services
from tests.factories import SocialAccountFactory

from .conftest import measured, published

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
AT = datetime(2026, 11, 3, 17, tzinfo=UTC)


def test_the_accounts_page_lists_each_accounts_figures(personas, client_for):
    x = SocialAccountFactory(organization=personas.org, platform="x", handle="maison")
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="lumiere")
    measured(published(personas, x, "1", at=AT), likes=1200, shares=30, replies=0, quotes=0, impressions=50000)
    measured(published(personas, mastodon, "2", at=AT), likes=7, shares=1, replies=0, quotes=0)

    page = client_for(personas.analyst).get(reverse("analytics"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "@maison" in html
    assert "50,000" in html  # reach, grouped
    assert "2.46 %" in html  # (1200 + 30) / 50000
    assert "not reported by Mastodon" in html
    assert "engagements ÷ reach" in html  # the definitions are on the page


def test_the_accounts_page_runs_a_fixed_number_of_queries(personas, client_for):
    client = client_for(personas.analyst)
    client.get(reverse("analytics"))
    for n in range(6):
        account = SocialAccountFactory(organization=personas.org, platform="x")
        measured(published(personas, account, str(n), at=AT), likes=1, shares=0, replies=0, quotes=0, impressions=9)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("analytics"))
    account = SocialAccountFactory(organization=personas.org, platform="x")
    measured(published(personas, account, "more", at=AT), likes=1, shares=0, replies=0, quotes=0, impressions=9)
    with CaptureQueriesContext(connection) as more:
        client.get(reverse("analytics"))
    assert len(more) == len(few)


def test_the_account_page_suggests_best_times_in_the_users_time_zone(personas, client_for):
    personas.analyst.user.timezone = "Europe/Paris"
    personas.analyst.user.save()
    account = SocialAccountFactory(organization=personas.org, platform="x")
    for n in range(10):
        at = AT + timedelta(weeks=n // 2) if n < 4 else AT + timedelta(days=1, hours=n)
        measured(published(personas, account, str(n), at=at), likes=50 if n < 4 else 1, shares=0, replies=0,
                 quotes=0, impressions=1000)  # fmt: skip
    html = client_for(personas.analyst).get(reverse("analytics_account", args=[account.id])).content.decode()
    assert "Best times to post:" in html
    assert "Tue 18:00" in html  # 17:00 UTC on a Tuesday is 18:00 in Paris


def test_an_account_without_history_says_so(personas, client_for):
    account = SocialAccountFactory(organization=personas.org, platform="bluesky")
    html = client_for(personas.analyst).get(reverse("analytics_account", args=[account.id])).content.decode()
    assert "Not enough history yet: 0 measured posts, 10 needed." in html
    assert "No post measured yet" in html


def test_the_campaign_page_shows_totals_networks_top_posts_and_days_with_hostile_text_escaped(personas, client_for):
    campaign = publishing_services.campaign_save(actor=personas.lead, name=f"Spring {HOSTILE}")
    account = SocialAccountFactory(organization=personas.org, platform="x", handle="maison")
    delivery = published(personas, account, "1", at=AT, campaign=campaign, text=f"Look {HOSTILE}")
    measured(delivery, likes=40, shares=10, replies=0, quotes=0, impressions=1000)
    for day, likes in ((0, 10), (1, 40)):
        MetricsSnapshot.objects.create(delivery=delivery, at=AT + timedelta(days=day), likes=likes, shares=0,
                                       impressions=1000)  # fmt: skip

    page = client_for(personas.analyst).get(reverse("analytics_campaign", args=[campaign.id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert 'data-testid="network-row"' in html
    assert "5.00 %" in html  # 50 / 1000
    assert html.count('class="hour"') == 2  # two days of bars
    assert 'data-testid="top-post"' in html


def test_a_campaign_without_figures_explains_why(personas, client_for):
    campaign = publishing_services.campaign_save(actor=personas.lead, name="Quiet")
    html = client_for(personas.analyst).get(reverse("analytics_campaign", args=[campaign.id])).content.decode()
    assert "No post of this campaign has been measured yet" in html


def test_the_post_page_loads_a_metrics_block_with_a_growth_chart_per_delivery(personas, client_for):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle=HOSTILE[:60])
    delivery = published(personas, account, "1", at=AT, text="Hello")
    row = measured(delivery, likes=12, shares=3, replies=1, quotes=0)
    row.note = HOSTILE
    row.save()
    for minutes, likes in ((10, 2), (30, 6), (60, 12)):
        MetricsSnapshot.objects.create(delivery=delivery, at=AT + timedelta(minutes=minutes), likes=likes, shares=3)
    client = client_for(personas.analyst)

    post_page = client.get(reverse("post_detail", args=[delivery.post_id])).content.decode()
    assert reverse("analytics_post_metrics", args=[delivery.post_id]) in post_page

    html = client.get(reverse("analytics_post_metrics", args=[delivery.post_id])).content.decode()
    assert 'data-testid="delivery-metrics"' in html
    assert "<polyline" in html
    assert "not reported by Mastodon" in html
    assert HOSTILE not in html
    assert HOSTILE[:60] not in html


def test_a_post_not_published_yet_has_no_figures_and_says_why(personas, client_for):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    post = publishing_services.post_create(actor=personas.lead, text="Draft", accounts=[account])
    html = client_for(personas.analyst).get(reverse("analytics_post_metrics", args=[post.id])).content.decode()
    assert "Figures appear once the post is published" in html
