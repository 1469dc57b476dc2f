"""The analytics API: read-only figures of deliveries, accounts and campaigns behind the analytics:read scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import MetricsSnapshot
from publishing import services as publishing_services
from tests.factories import SocialAccountFactory

from .conftest import measured, published

AT = datetime(2026, 11, 3, 17, tzinfo=UTC)


@pytest.fixture
def figures(personas):
    campaign = publishing_services.campaign_save(actor=personas.lead, name="Spring")
    x = SocialAccountFactory(organization=personas.org, platform="x")
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon")
    tweet = published(personas, x, "t1", at=AT, campaign=campaign)
    measured(tweet, likes=30, shares=10, replies=0, quotes=0, impressions=1000)
    toot = published(personas, mastodon, "m1", at=AT, campaign=campaign)
    measured(toot, likes=5, shares=1, replies=0, quotes=0)
    for minutes, likes in ((10, 4), (30, 30)):
        MetricsSnapshot.objects.create(delivery=tweet, at=AT + timedelta(minutes=minutes), likes=likes,
                                       impressions=1000)  # fmt: skip
    return {"campaign": campaign, "x": x, "mastodon": mastodon, "tweet": tweet, "toot": toot}


def test_a_key_with_analytics_read_lists_deliveries_with_their_rates(personas, figures, api_key_client):
    client = api_key_client(personas.admin, ["analytics:read"])
    body = client.get("/api/v1/analytics/deliveries/").json()
    by_id = {row["id"]: row for row in body["results"]}
    tweet, toot = by_id[figures["tweet"].id], by_id[figures["toot"].id]
    assert tweet["metrics"]["likes"] == 30
    assert tweet["rates"] == {"reach": 1000, "engagements": 40, "engagement_rate": 0.04, "virality_rate": 0.01}
    assert toot["rates"] == {"reach": None, "engagements": 6, "engagement_rate": None, "virality_rate": None}
    assert toot["metrics"]["impressions"] is None

    detail = client.get(f"/api/v1/analytics/deliveries/{figures['tweet'].id}/").json()
    assert [s["likes"] for s in detail["snapshots"]] == [4, 30]


def test_a_key_without_the_scope_is_refused_with_the_error_envelope(personas, figures, api_key_client):
    client = api_key_client(personas.admin, ["publishing:read"])
    response = client.get("/api/v1/analytics/deliveries/")
    assert response.status_code == 403
    assert "analytics:read" in response.json()["error"]["message"]


def test_writing_is_not_possible(personas, figures, api_key_client):
    client = api_key_client(personas.admin, ["analytics:read"])
    assert client.post("/api/v1/analytics/deliveries/", {}).status_code in (403, 405)


def test_account_figures_are_weighted_by_reach_and_the_detail_has_best_times(personas, figures, api_client_for):
    client = api_client_for(personas.analyst)
    rows = {row["account"]["id"]: row for row in client.get("/api/v1/analytics/accounts/").json()["results"]}
    assert rows[figures["x"].id]["totals"]["engagement_rate"] == 0.04
    assert rows[figures["mastodon"].id]["totals"]["reach"] == 0
    assert rows[figures["mastodon"].id]["totals"]["engagement_rate"] is None

    detail = client.get(f"/api/v1/analytics/accounts/{figures['x'].id}/?tz=Europe/Paris").json()
    assert detail["best_times"]["times"] == []
    assert "Not enough history" in detail["best_times"]["shortage"]
    bad = client.get(f"/api/v1/analytics/accounts/{figures['x'].id}/?tz=Mars/Olympus")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]


def test_a_campaign_summary_has_totals_networks_days_and_top_deliveries(personas, figures, api_client_for):
    body = api_client_for(personas.analyst).get(f"/api/v1/analytics/campaigns/{figures['campaign'].id}/").json()
    assert body["totals"]["posts"] == 2
    assert body["totals"]["engagements"] == 46
    assert [(n["network"], n["engagements"]) for n in body["by_network"]] == [("Mastodon", 6), ("X", 40)]
    assert body["by_day"] == [{"day": "2026-11-03", "engagements": 30}]
    assert body["top_deliveries"] == [figures["tweet"].id, figures["toot"].id]


def test_the_schema_lists_the_analytics_endpoints(db, tmp_path):
    import json

    from django.core.management import call_command

    out = tmp_path / "schema.json"
    call_command("spectacular", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    paths = json.loads(out.read_text())["paths"]
    assert {
        "/api/v1/analytics/deliveries/{id}/",
        "/api/v1/analytics/accounts/",
        "/api/v1/analytics/campaigns/{id}/",
    } <= set(paths)


def test_the_lists_run_a_fixed_number_of_queries(personas, figures, api_key_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_key_client(personas.admin, ["analytics:read"])
    client.get("/api/v1/analytics/accounts/")  # the key's first use is recorded once
    counts = []
    for extra in range(2):
        account = SocialAccountFactory(organization=personas.org, platform="x")
        measured(published(personas, account, f"more-{extra}", at=AT), likes=1, impressions=10)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/analytics/accounts/").status_code == 200
            assert client.get("/api/v1/analytics/deliveries/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
