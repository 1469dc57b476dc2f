"""The publishing API: posts composed for several networks, the approval workflow with its roles, deliveries with
their audit trail, campaigns, scopes and pagination. Accounts are connected to the simulator over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from publishing import services
from tests.accounts.test_connections import connect_mastodon, connect_x
from tests.factories import SocialAccountFactory
from tests.publishing.conftest import allow_self_approval


@pytest.fixture
def accounts(personas, simulator):
    return {"mastodon": connect_mastodon(personas), "x": connect_x(personas, simulator)}


def compose(client, accounts, **fields):
    body = {"text": "Our spring collection is out, with forty new pieces", "account_ids": [a.id for a in accounts]}
    return client.post("/api/v1/posts/", {**body, **fields}, format="json")


def test_a_post_for_two_networks_is_created_with_its_variants_and_deliveries(personas, accounts, api_client_for):
    created = compose(
        api_client_for(personas.agent),
        accounts.values(),
        variants={"x": {"text": "Spring is out", "link": "https://acme.test/spring"}},
    )
    assert created.status_code == 201
    post = created.json()
    assert (post["status"], post["author"]) == ("draft", "agent@acme.test")
    assert post["variants"] == [{"platform": "x", "text": "Spring is out", "link": "https://acme.test/spring"}]
    deliveries = {d["account"]["platform"]: d for d in post["deliveries"]}
    assert set(deliveries) == {"mastodon", "x"}
    assert deliveries["x"]["account"] == {"id": accounts["x"].id, "platform": "x", "handle": accounts["x"].handle}
    assert {d["state"] for d in deliveries.values()} == {"draft"}
    assert api_client_for(personas.analyst).get(f"/api/v1/posts/{post['id']}/").json() == post


def test_a_too_long_x_variant_is_refused_with_the_networks_count(personas, accounts, api_client_for):
    refused = compose(api_client_for(personas.agent), accounts.values(), variants={"x": {"text": "a" * 281}})
    assert refused.status_code == 400
    message = "The X version is too long: 281 characters where 280 are allowed."
    assert refused.json()["error"] == {
        "status": 400,
        "code": "invalid",
        "message": message,
        "fields": {"variants": [message]},
    }


def test_another_organizations_account_or_campaign_is_refused(personas, accounts, api_client_for):
    theirs = SocialAccountFactory(organization=personas.other_org)
    client = api_client_for(personas.agent)
    refused = compose(client, [accounts["x"], theirs])
    assert (refused.status_code, refused.json()["error"]["message"]) == (
        400,
        "Some accounts are not in this organization.",
    )
    campaign = services.campaign_save(actor=personas.outsider, name="Theirs")
    refused = compose(client, [accounts["x"]], campaign_id=campaign.id)
    assert refused.json()["error"]["fields"] == {"campaign": ["This campaign is not in this organization."]}


def test_a_time_in_the_past_is_refused(personas, accounts, api_client_for):
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    refused = compose(api_client_for(personas.agent), [accounts["x"]], scheduled_at=past)
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"scheduled_at": ["Choose a time in the future."]}


def test_submitted_approved_and_scheduled_the_delivery_is_scheduled(personas, accounts, api_client_for):
    agent, lead = api_client_for(personas.agent), api_client_for(personas.lead)
    post_id = compose(agent, [accounts["mastodon"]]).json()["id"]

    assert agent.post(f"/api/v1/posts/{post_id}/submit/").json()["status"] == "awaiting_approval"
    assert lead.post(f"/api/v1/posts/{post_id}/approve/").json()["status"] == "approved"
    at = timezone.now() + timedelta(hours=2)
    scheduled = lead.post(f"/api/v1/posts/{post_id}/schedule/", {"at": at.isoformat()}, format="json").json()

    assert scheduled["status"] == "scheduled"
    [delivery] = scheduled["deliveries"]
    assert delivery["state"] == "scheduled"
    assert parse_datetime(delivery["due_at"]) == at


def test_a_community_manager_cannot_approve(personas, accounts, api_client_for):
    agent = api_client_for(personas.agent)
    post_id = compose(agent, [accounts["x"]]).json()["id"]
    agent.post(f"/api/v1/posts/{post_id}/submit/")
    assert agent.post(f"/api/v1/posts/{post_id}/approve/").status_code == 403
    assert agent.get(f"/api/v1/posts/{post_id}/").json()["status"] == "awaiting_approval"


def test_a_post_in_the_wrong_state_is_a_conflict(personas, accounts, api_client_for):
    lead = api_client_for(personas.lead)
    post_id = compose(lead, [accounts["x"]]).json()["id"]
    conflict = lead.post(f"/api/v1/posts/{post_id}/approve/")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["message"] == "Only a post awaiting approval can be approved."


def test_a_post_sent_back_is_a_draft_again_with_the_comment_in_its_trail(personas, accounts, api_client_for):
    agent, lead = api_client_for(personas.agent), api_client_for(personas.lead)
    post_id = compose(agent, [accounts["x"]]).json()["id"]
    agent.post(f"/api/v1/posts/{post_id}/submit/")
    blank = lead.post(f"/api/v1/posts/{post_id}/send-back/", {"comment": " "}, format="json")
    assert blank.json()["error"]["fields"] == {"comment": ["Say what should change."]}

    sent_back = lead.post(f"/api/v1/posts/{post_id}/send-back/", {"comment": "Add the price"}, format="json")
    assert sent_back.json()["status"] == "draft"
    [delivery] = sent_back.json()["deliveries"]
    trail = lead.get(f"/api/v1/deliveries/{delivery['id']}/").json()["events"]
    assert (trail[-1]["to_state"], trail[-1]["actor"], trail[-1]["detail"]) == (
        "draft",
        "lead@acme.test",
        "Add the price",
    )


def test_a_cancelled_post_cancels_its_deliveries(personas, accounts, api_client_for):
    agent = api_client_for(personas.agent)
    post_id = compose(agent, accounts.values()).json()["id"]
    cancelled = agent.post(f"/api/v1/posts/{post_id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    assert {d["state"] for d in cancelled["deliveries"]} == {"cancelled"}


def test_a_deliverys_events_show_its_trail_up_to_the_network(personas, accounts, api_client_for):
    agent, lead = api_client_for(personas.agent), api_client_for(personas.lead)
    post_id = compose(agent, [accounts["mastodon"]]).json()["id"]
    agent.post(f"/api/v1/posts/{post_id}/submit/")
    lead.post(f"/api/v1/posts/{post_id}/approve/")
    [delivery] = lead.post(
        f"/api/v1/posts/{post_id}/schedule/", {"at": timezone.now().isoformat()}, format="json"
    ).json()["deliveries"]
    assert services.delivery_publish(delivery_id=delivery["id"]) == "published"

    published = agent.get(f"/api/v1/deliveries/{delivery['id']}/").json()
    assert published["state"] == "published"
    assert all(published[field] for field in ("remote_id", "remote_url", "published_at"))
    assert published["attempts"] == 1
    assert [(e["from_state"], e["to_state"], e["actor"], e["detail"]) for e in published["events"]] == [
        ("draft", "awaiting_approval", "agent@acme.test", "Sent for approval, as the organization's rules require."),
        ("awaiting_approval", "draft", "lead@acme.test", "Approved"),
        ("draft", "scheduled", "lead@acme.test", ""),
        ("scheduled", "publishing", None, ""),
        ("publishing", "published", None, ""),
    ]


def test_deliveries_and_posts_are_filtered(personas, accounts, api_client_for):
    allow_self_approval(personas)
    lead = api_client_for(personas.lead)
    campaign = lead.post("/api/v1/campaigns/", {"name": "Spring"}, format="json").json()
    on_x = compose(lead, [accounts["x"]], campaign_id=campaign["id"]).json()
    later = (timezone.now() + timedelta(days=2)).isoformat()
    on_mastodon = compose(lead, [accounts["mastodon"]], scheduled_at=later).json()
    lead.post(f"/api/v1/posts/{on_mastodon['id']}/schedule/")

    def ids(url):
        return [row["id"] for row in lead.get(url).json()["results"]]

    assert ids(f"/api/v1/posts/?campaign={campaign['id']}") == [on_x["id"]]
    assert ids(f"/api/v1/posts/?account={accounts['mastodon'].id}") == [on_mastodon["id"]]
    assert ids("/api/v1/posts/?status=scheduled") == [on_mastodon["id"]]
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat().replace("+", "%2B")
    assert ids(f"/api/v1/posts/?scheduled_after={tomorrow}") == [on_mastodon["id"]]
    assert ids(f"/api/v1/posts/?scheduled_before={tomorrow}") == []
    assert ids("/api/v1/deliveries/?state=scheduled") == [on_mastodon["deliveries"][0]["id"]]
    assert ids(f"/api/v1/deliveries/?post={on_x['id']}") == [on_x["deliveries"][0]["id"]]
    assert ids(f"/api/v1/deliveries/?account={accounts['x'].id}") == [on_x["deliveries"][0]["id"]]
    assert lead.get("/api/v1/posts/?status=published").status_code == 400


def test_an_api_key_without_publishing_write_cannot_create(personas, accounts, api_key_client):
    client = api_key_client(personas.admin, ["publishing:read"])
    refused = compose(client, [accounts["x"]])
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "This API key lacks the scope publishing:write."
    assert client.get("/api/v1/posts/").status_code == 200
    writer = api_key_client(personas.admin, ["publishing:write"])
    assert compose(writer, [accounts["x"]]).status_code == 201
    assert writer.get("/api/v1/posts/").status_code == 403


def make_posts(personas, count):
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon")
    x = SocialAccountFactory(organization=personas.org, platform="x")
    campaign = services.campaign_save(actor=personas.lead, name=f"Campaign of {count}")
    return [
        services.post_create(
            actor=personas.agent, text=f"Post {i}", accounts=[mastodon, x], variants={"x": f"X {i}"}, campaign=campaign
        ).id
        for i in range(count)
    ]


def test_posts_are_paged_with_a_stable_cursor(personas, api_key_client):
    ids = make_posts(personas, 5)
    client = api_key_client(personas.admin, ["publishing:read"])
    seen, url = [], "/api/v1/posts/?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [post["id"] for post in page["results"]]
        url = page["next"]
    assert seen == ids


def test_the_posts_list_takes_as_many_queries_for_25_posts_as_for_5(personas, api_client_for):
    client = api_client_for(personas.analyst)
    counts = []
    for size in (5, 25):
        make_posts(personas, size)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/api/v1/posts/?page_size={size}").json()
        counts.append(len(queries))
        assert len(page["results"]) == size
    assert counts[0] == counts[1]


def test_campaigns_are_planned_by_team_leads_and_deleted_only_when_unused(personas, accounts, api_client_for):
    lead = api_client_for(personas.lead)
    assert api_client_for(personas.agent).post("/api/v1/campaigns/", {"name": "X"}, format="json").status_code == 403
    created = lead.post("/api/v1/campaigns/", {"name": "Spring sale", "starts_on": "2026-03-01"}, format="json")
    assert created.status_code == 201
    campaign = created.json()
    assert (campaign["utm_campaign"], campaign["owner"]) == ("spring-sale", "lead@acme.test")

    bad = {"name": "Spring sale", "starts_on": "2026-03-01", "ends_on": "2026-02-01"}
    refused = lead.put(f"/api/v1/campaigns/{campaign['id']}/", bad, format="json")
    assert refused.json()["error"]["fields"] == {"ends_on": ["A campaign cannot end before it starts."]}
    renamed = api_client_for(personas.admin).put(
        f"/api/v1/campaigns/{campaign['id']}/", {"name": "Spring", "utm_campaign": "spring26"}, format="json"
    )
    assert (renamed.json()["name"], renamed.json()["utm_campaign"], renamed.json()["owner"]) == (
        "Spring",
        "spring26",
        "lead@acme.test",
    )

    compose(lead, [accounts["x"]], campaign_id=campaign["id"])
    in_use = lead.delete(f"/api/v1/campaigns/{campaign['id']}/")
    assert in_use.status_code == 409
    assert in_use.json()["error"]["message"] == "Posts belong to this campaign: move or delete them before deleting it."
    unused = lead.post("/api/v1/campaigns/", {"name": "Autumn"}, format="json").json()
    assert lead.delete(f"/api/v1/campaigns/{unused['id']}/").status_code == 204
    assert [c["name"] for c in lead.get("/api/v1/campaigns/").json()["results"]] == ["Spring"]


def test_a_draft_is_rewritten_with_put_and_a_submitted_post_is_not(personas, accounts, api_client_for):
    client = api_client_for(personas.agent)
    post = compose(client, [accounts["mastodon"]], text="First try").json()
    body = {"text": "Second try", "account_ids": [accounts["mastodon"].id, accounts["x"].id]}
    rewritten = client.put(f"/api/v1/posts/{post['id']}/", body, format="json")
    assert rewritten.status_code == 200, rewritten.json()
    assert rewritten.json()["text"] == "Second try"
    assert {d["account"]["platform"] for d in rewritten.json()["deliveries"]} == {"mastodon", "x"}

    assert client.post(f"/api/v1/posts/{post['id']}/submit/").status_code == 200
    refused = client.put(f"/api/v1/posts/{post['id']}/", {**body, "text": "Sneaky"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "Only a draft can be changed: send it back first."


# --- images ---------------------------------------------------------------------------------------------------
def upload(client, data: bytes, name: str = "spring.png", alt: str = "") -> object:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/media/", {"file": SimpleUploadedFile(name, data), "alt_text": alt}, format="multipart")


def test_an_image_uploaded_through_the_api_goes_with_the_post_and_is_kept_by_a_rewrite(
    personas, accounts, api_client_for
):
    from tests.images import TINY_PNG

    client = api_client_for(personas.agent)
    uploaded = upload(client, TINY_PNG, alt="Forty new pieces")
    assert uploaded.status_code == 201
    image = uploaded.json()
    assert (image["mime_type"], image["alt_text"]) == ("image/png", "Forty new pieces")
    assert image["width"] > 0

    post = compose(client, accounts.values(), media_ids=[image["id"]], first_comment="#spring").json()
    assert (post["media_ids"], post["first_comment"]) == ([image["id"]], "#spring")

    body = {"text": "Rewritten", "account_ids": [accounts["mastodon"].id]}
    rewritten = client.put(f"/api/v1/posts/{post['id']}/", body, format="json").json()
    assert (rewritten["text"], rewritten["media_ids"], rewritten["first_comment"]) == (
        "Rewritten",
        [image["id"]],
        "#spring",
    )
    assert client.get(f"/api/v1/media/{image['id']}/").json()["sha256"] == image["sha256"]


def test_a_file_that_is_not_an_image_and_another_organizations_image_are_refused(personas, accounts, api_client_for):
    from tests.images import TINY_PNG

    client = api_client_for(personas.agent)
    refused = upload(client, b"<html><script>alert(1)</script></html>", name="spring.jpg")
    assert refused.status_code == 400
    assert "only JPEG, PNG, GIF and WebP images are accepted" in refused.json()["error"]["message"]

    theirs = upload(api_client_for(personas.outsider), TINY_PNG).json()
    other = compose(client, accounts.values(), media_ids=[theirs["id"]])
    assert other.status_code == 400
    assert other.json()["error"]["message"] == "Some images are not in this organization."
    assert client.get(f"/api/v1/media/{theirs['id']}/").status_code == 404
    assert upload(api_client_for(personas.analyst), TINY_PNG).status_code == 403
