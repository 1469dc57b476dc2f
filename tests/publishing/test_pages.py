"""The publishing pages through the Django test client: who sees and may do what, live validation, the
composer's writes and the user's time zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from publishing import services
from publishing.models import Campaign, Delivery, Post
from tests.factories import SocialAccountFactory

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def accounts(personas):
    return {
        "x": SocialAccountFactory(organization=personas.org, platform="x", handle="acme_x"),
        "mastodon": SocialAccountFactory(organization=personas.org, platform="mastodon", display_name=HOSTILE),
    }


@pytest.fixture
def awaiting(personas, accounts):
    post = services.post_create(actor=personas.agent, text=f"Spring {HOSTILE}", accounts=[accounts["mastodon"]])
    return services.post_submit(post=post, actor=personas.agent)


def test_a_community_manager_sees_no_approve_button_and_cannot_approve(personas, client_for, awaiting):
    client = client_for(personas.agent)
    page = client.get(reverse("post_detail", args=[awaiting.id])).content.decode()
    assert "Submit for approval" not in page  # already submitted
    assert reverse("post_approve", args=[awaiting.id]) not in page
    assert client.post(reverse("post_approve", args=[awaiting.id])).status_code == 403
    assert client.get(reverse("approvals")).status_code == 403
    awaiting.refresh_from_db()
    assert awaiting.status == "awaiting_approval"


def test_a_team_lead_approves_from_the_queue_with_a_time_and_the_post_is_scheduled(personas, client_for, awaiting):
    client = client_for(personas.lead)
    queue = client.get(reverse("approvals")).content.decode()
    assert reverse("post_approve", args=[awaiting.id]) in queue
    assert "&lt;script&gt;" in queue
    assert "<script>alert" not in queue
    response = client.post(
        reverse("post_approve", args=[awaiting.id]),
        {"prefix": f"p{awaiting.id}", f"p{awaiting.id}-at": "2030-01-15T09:30", "next": "approvals"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("approvals")
    awaiting.refresh_from_db()
    assert awaiting.status == "scheduled"
    # The lead's time zone (Europe/Paris by default) is UTC+1 in January.
    assert awaiting.scheduled_at == datetime(2030, 1, 15, 8, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    assert Delivery.objects.get(post=awaiting).state == "scheduled"


def test_sending_back_needs_a_comment_and_it_shows_in_the_trail(personas, client_for, awaiting):
    client = client_for(personas.lead)
    client.post(reverse("post_send_back", args=[awaiting.id]), {"comment": "  "})
    awaiting.refresh_from_db()
    assert awaiting.status == "awaiting_approval"
    client.post(reverse("post_send_back", args=[awaiting.id]), {"comment": "Say <b>when</b> it opens"})
    awaiting.refresh_from_db()
    assert awaiting.status == "draft"
    page = client.get(reverse("post_detail", args=[awaiting.id])).content.decode()
    assert "Say &lt;b&gt;when&lt;/b&gt; it opens" in page
    assert "Awaiting approval → Draft" in page


def test_an_analyst_cannot_compose(personas, client_for, accounts):
    client = client_for(personas.analyst)
    assert client.get(reverse("compose")).status_code == 403
    response = client.post(reverse("compose"), {"text": "Hi", "accounts": [accounts["x"].id]})
    assert response.status_code == 403
    assert client.post(reverse("compose_check"), {"text": "Hi"}).status_code == 403
    assert not Post.objects.exists()
    assert "New post" not in client.get(reverse("publishing")).content.decode()


def test_live_validation_reports_an_x_text_over_280_characters(personas, client_for, accounts):
    response = client_for(personas.agent).post(
        reverse("compose_check"), {"text": "a" * 300, "accounts": [accounts["x"].id, accounts["mastodon"].id]}
    )
    page = response.content.decode()
    assert "300 / 280" in page
    assert "The X version is too long: 300 characters where 280 are allowed." in page
    assert "300 / 500" in page
    assert 'data-testid="problem-mastodon"' not in page


def test_live_validation_counts_a_variant_and_previews_it_as_text(personas, client_for, accounts):
    response = client_for(personas.agent).post(
        reverse("compose_check"),
        {"text": "a" * 300, "accounts": [accounts["x"].id], "variant_x_text": "<b>Short</b>"},
    )
    page = response.content.decode()
    assert "12 / 280" in page
    assert "&lt;b&gt;Short&lt;/b&gt;" in page


def test_composing_creates_a_delivery_per_chosen_account_and_submits_it(personas, client_for, accounts):
    campaign = services.campaign_save(actor=personas.lead, name="Spring")
    response = client_for(personas.agent).post(
        reverse("compose"),
        {
            "text": "Our spring collection",
            "accounts": [accounts["x"].id, accounts["mastodon"].id],
            "variant_x_text": "Spring, short",
            "variant_x_link": "https://acme.test/spring",
            "campaign": campaign.id,
            "scheduled_at": "2030-06-01T10:00",
            "action": "schedule",  # not the community manager's to press: it is a submission
        },
    )
    post = Post.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("post_detail", args=[post.id])
    assert (post.status, post.campaign, post.author) == ("awaiting_approval", campaign, personas.agent.user)
    # June in Paris is UTC+2: the time typed is the user's.
    assert post.scheduled_at == datetime(2030, 6, 1, 8, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    deliveries = {d.account_id: d for d in Delivery.objects.filter(post=post).select_related("variant")}
    assert set(deliveries) == {accounts["x"].id, accounts["mastodon"].id}
    # The campaign's link carries its UTM tag and the network.
    assert deliveries[accounts["x"].id].variant.link == (
        "https://acme.test/spring?utm_source=x&utm_medium=social&utm_campaign=spring"
    )
    assert deliveries[accounts["mastodon"].id].variant is None


def test_a_team_lead_schedules_from_the_composer_when_approvers_may_approve_their_own_posts(
    personas, client_for, accounts
):
    account_services.approval_policy_save(
        actor=personas.owner, team=None, requires_approval=True, approvers="any", self_approval=True
    )
    at = timezone.localtime(timezone.now() + timedelta(hours=2), zoneinfo.ZoneInfo("Europe/Paris"))
    client_for(personas.lead).post(
        reverse("compose"),
        {"text": "Now", "accounts": [accounts["mastodon"].id], "scheduled_at": at.strftime("%Y-%m-%dT%H:%M"),
         "action": "schedule"},
    )  # fmt: skip
    post = Post.objects.get()
    assert post.status == "scheduled"
    assert Delivery.objects.get(post=post).due_at == at.replace(second=0, microsecond=0)


def test_a_service_refusal_is_shown_on_the_composer(personas, client_for, accounts):
    response = client_for(personas.lead).post(
        reverse("compose"), {"text": "a" * 300, "accounts": [accounts["x"].id], "action": "draft"}
    )
    assert response.status_code == 200
    assert "The X version is too long: 300 characters where 280 are allowed." in response.content.decode()
    assert not Post.objects.exists()


def test_the_posts_list_filters_by_status_and_campaign_and_shows_hostile_text_as_text(
    personas, client_for, accounts, awaiting
):
    campaign = services.campaign_save(actor=personas.lead, name="Autumn")
    draft = services.post_create(actor=personas.agent, text="Autumn draft", accounts=[accounts["x"]], campaign=campaign)
    client = client_for(personas.analyst)
    page = client.get(reverse("publishing")).content.decode()
    assert "Autumn draft" in page
    assert "Spring" in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    page = client.get(reverse("publishing"), {"campaign": campaign.id}).content.decode()
    assert "Autumn draft" in page
    assert "Spring &lt;script" not in page
    page = client.get(reverse("publishing"), {"status": "awaiting_approval"}).content.decode()
    assert "Autumn draft" not in page
    assert "Spring &lt;script" in page
    assert reverse("post_detail", args=[draft.id]) not in page


def test_the_posts_list_shows_published_links_and_failure_reasons(personas, client_for, accounts, awaiting):
    Delivery.objects.filter(post=awaiting).update(state="failed", last_error="The account was suspended.")
    Delivery.objects.create(
        post=awaiting, account=accounts["x"], state="published", remote_id="1", remote_url="https://x.test/acme/1"
    )
    page = client_for(personas.agent).get(reverse("publishing")).content.decode()
    assert 'href="https://x.test/acme/1"' in page
    assert "View on X" in page
    assert "The account was suspended." in page


def test_campaigns_are_created_and_edited_by_leads_with_their_post_count(personas, client_for, accounts):
    lead = client_for(personas.lead)
    lead.post(reverse("campaigns"), {"name": "Spring <b>sale</b>", "goal": "Sell", "utm_campaign": ""})
    campaign = Campaign.objects.get()
    assert campaign.utm_campaign == "spring-bsaleb"
    services.post_create(actor=personas.agent, text="One", accounts=[accounts["x"]], campaign=campaign)
    page = lead.get(reverse("campaigns")).content.decode()
    assert "Spring &lt;b&gt;sale&lt;/b&gt;" in page
    assert f'?campaign={campaign.id}">1</a>' in page
    response = lead.post(
        reverse("campaign_edit", args=[campaign.id]),
        {"name": "Spring", "starts_on": "2030-03-10", "ends_on": "2030-03-01", "utm_campaign": "spring"},
    )
    assert "A campaign cannot end before it starts." in response.content.decode()
    lead.post(reverse("campaign_edit", args=[campaign.id]), {"name": "Spring", "utm_campaign": "spring"})
    campaign.refresh_from_db()
    assert campaign.name == "Spring"
    agent = client_for(personas.agent)
    assert agent.post(reverse("campaigns"), {"name": "Mine"}).status_code == 403
    assert agent.get(reverse("campaign_edit", args=[campaign.id])).status_code == 403


def test_cancelling_a_post_cancels_its_open_deliveries(personas, client_for, awaiting):
    client_for(personas.agent).post(reverse("post_cancel", args=[awaiting.id]))
    awaiting.refresh_from_db()
    assert awaiting.status == "cancelled"
    assert Delivery.objects.get(post=awaiting).state == "cancelled"


@pytest.mark.parametrize("name", ["post_detail", "post_approve", "post_cancel", "campaign_edit"])
def test_another_organizations_post_or_campaign_is_404(personas, client_for, name):
    theirs_campaign = services.campaign_save(actor=personas.outsider, name="Theirs")
    account = SocialAccountFactory(organization=personas.other_org)
    theirs = services.post_create(actor=personas.outsider, text="Theirs", accounts=[account])
    target = theirs_campaign.id if name == "campaign_edit" else theirs.id
    method = "get" if name in ("post_detail", "campaign_edit") else "post"
    assert getattr(client_for(personas.owner), method)(reverse(name, args=[target])).status_code == 404


def test_the_queue_shows_the_planned_time_in_the_users_time_zone(personas, client_for, accounts):
    at = datetime(2030, 1, 15, 8, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    post = services.post_create(actor=personas.agent, text="Planned", accounts=[accounts["x"]], scheduled_at=at)
    services.post_submit(post=post, actor=personas.agent)
    personas.lead.user.timezone = "America/New_York"
    personas.lead.user.save(update_fields=["timezone"])
    page = client_for(personas.lead).get(reverse("approvals")).content.decode()
    assert 'value="2030-01-15T03:30"' in page


def test_a_scheduled_post_is_rescheduled_from_its_page(personas, client_for, awaiting):
    client = client_for(personas.lead)
    client.post(reverse("post_approve", args=[awaiting.id]), {"at": "2030-01-15T09:30"})
    client.post(reverse("post_approve", args=[awaiting.id]), {"at": "2030-01-16T09:30"})
    awaiting.refresh_from_db()
    assert awaiting.scheduled_at == datetime(2030, 1, 16, 8, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    page = client.get(reverse("post_detail", args=[awaiting.id])).content.decode()
    assert "Reschedule" in page
    assert "Cancel the post" in page


def test_the_posts_list_reads_a_fixed_number_of_queries(personas, client_for, accounts, django_assert_num_queries):
    client = client_for(personas.agent)
    for n in range(3):
        services.post_create(actor=personas.agent, text=f"Post {n}", accounts=accounts.values())
    with django_assert_num_queries(10):
        client.get(reverse("publishing"))
    services.post_create(actor=personas.agent, text="One more", accounts=accounts.values())
    with django_assert_num_queries(10):
        client.get(reverse("publishing"))


def test_the_composer_shows_hostile_names_and_texts_as_text(personas, client_for, accounts):
    SocialAccountFactory(organization=personas.org, platform="bluesky", handle="h<b>andle", display_name=HOSTILE)
    response = client_for(personas.agent).post(
        reverse("compose"), {"text": HOSTILE + "a" * 300, "accounts": [accounts["x"].id]}
    )
    page = response.content.decode()
    assert "h&lt;b&gt;andle" in page
    assert "&lt;script&gt;alert" in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
