"""Composing, approving and scheduling posts: who may do what, and what the networks would refuse."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from publishing import services
from publishing.models import Delivery
from smms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import SocialAccountFactory


@pytest.fixture
def accounts(personas):
    return {
        "x": SocialAccountFactory(organization=personas.org, platform="x"),
        "mastodon": SocialAccountFactory(organization=personas.org, platform="mastodon"),
    }


def states(post) -> list[str]:
    return sorted(Delivery.objects.filter(post=post).values_list("state", flat=True))


def test_a_post_has_one_delivery_per_account_with_its_networks_variant(personas, accounts):
    post = services.post_create(
        actor=personas.agent,
        text="A long announcement for the networks that have room for it",
        accounts=accounts.values(),
        variants={"x": {"text": "Short for X", "link": "https://acme.test/spring"}},
    )
    x = Delivery.objects.get(post=post, account=accounts["x"])
    mastodon = Delivery.objects.get(post=post, account=accounts["mastodon"])
    assert (x.variant.text, x.variant.link) == ("Short for X", "https://acme.test/spring")
    assert mastodon.variant is None
    assert states(post) == ["draft", "draft"]
    assert x.idempotency_key != mastodon.idempotency_key


def test_another_organizations_accounts_are_refused(personas, accounts):
    theirs = SocialAccountFactory(organization=personas.other_org)
    with pytest.raises(ValidationFailed) as refused:
        services.post_create(actor=personas.agent, text="Hello", accounts=[accounts["x"], theirs])
    assert refused.value.field == "accounts"


def test_a_text_too_long_for_a_network_is_refused_with_its_count(personas, accounts):
    with pytest.raises(ValidationFailed) as refused:
        services.post_create(actor=personas.agent, text="a" * 300, accounts=[accounts["x"]])
    assert refused.value.message == "The X version is too long: 300 characters where 280 are allowed."


def test_a_variant_too_long_for_its_network_is_refused(personas, accounts):
    with pytest.raises(ValidationFailed) as refused:
        services.post_create(
            actor=personas.agent, text="Fine", accounts=accounts.values(), variants={"mastodon": "b" * 501}
        )
    assert refused.value.message == "The Mastodon version is too long: 501 characters where 500 are allowed."
    assert refused.value.field == "variants"


def test_a_text_only_post_to_instagram_is_refused(personas):
    instagram = SocialAccountFactory(organization=personas.org, platform="instagram")
    with pytest.raises(ValidationFailed) as refused:
        services.post_create(actor=personas.agent, text="Caption", accounts=[instagram])
    assert refused.value.message == "Instagram posts need an image: add one, or leave Instagram out."
    assert refused.value.field == "media"


def test_an_account_that_needs_reconnecting_is_refused(personas, accounts):
    accounts["x"].status = "needs_reconnect"
    with pytest.raises(ValidationFailed):
        services.post_create(actor=personas.agent, text="Hello", accounts=[accounts["x"]])


def test_an_analyst_cannot_compose(personas, accounts):
    with pytest.raises(Forbidden):
        services.post_create(actor=personas.analyst, text="Hello", accounts=[accounts["x"]])


def test_a_community_manager_cannot_approve_and_a_team_lead_can(personas, accounts):
    at = timezone.now() + timedelta(hours=1)
    post = services.post_create(actor=personas.agent, text="Approve me", accounts=accounts.values(), scheduled_at=at)
    services.post_submit(post=post, actor=personas.agent)
    assert states(post) == ["awaiting_approval", "awaiting_approval"]

    with pytest.raises(Forbidden):
        services.post_approve(post=post, actor=personas.agent)
    post = services.post_approve(post=post, actor=personas.lead)

    assert post.status == "scheduled"
    assert states(post) == ["scheduled", "scheduled"]
    assert set(Delivery.objects.filter(post=post).values_list("due_at", flat=True)) == {at}


def test_a_community_manager_cannot_schedule_a_draft_without_approval(personas, accounts):
    post = services.post_create(actor=personas.agent, text="Skip the queue", accounts=[accounts["x"]])
    with pytest.raises(Forbidden):
        services.post_schedule(post=post, actor=personas.agent, at=timezone.now() + timedelta(hours=1))
    assert states(post) == ["draft"]


def test_sending_back_returns_the_post_to_its_author_with_the_comment(personas, accounts):
    post = services.post_create(actor=personas.agent, text="Typo in here", accounts=[accounts["x"]])
    services.post_submit(post=post, actor=personas.agent)
    post = services.post_send_back(post=post, actor=personas.lead, comment="Fix the typo, please")

    assert post.status == "draft"
    delivery = Delivery.objects.get(post=post)
    last = delivery.events.last()
    assert (last.from_state, last.to_state, last.detail, last.actor) == (
        "awaiting_approval",
        "draft",
        "Fix the typo, please",
        personas.lead.user,
    )
    with pytest.raises(Conflict):
        services.post_approve(post=post, actor=personas.lead)


def test_approval_without_a_time_waits_for_scheduling(personas, accounts):
    post = services.post_create(actor=personas.agent, text="Whenever", accounts=[accounts["x"]])
    services.post_submit(post=post, actor=personas.agent)
    post = services.post_approve(post=post, actor=personas.lead)
    assert (post.status, states(post)) == ("approved", ["draft"])

    post = services.post_schedule(post=post, actor=personas.agent, at=timezone.now() + timedelta(minutes=5))
    assert (post.status, states(post)) == ("scheduled", ["scheduled"])


def test_a_time_in_the_past_is_refused(personas, accounts):
    post = services.post_create(actor=personas.lead, text="Too late", accounts=[accounts["x"]])
    with pytest.raises(ValidationFailed):
        services.post_schedule(post=post, actor=personas.lead, at=timezone.now() - timedelta(hours=1))


def test_another_organization_cannot_act_on_a_post(personas, accounts):
    post = services.post_create(actor=personas.agent, text="Ours", accounts=[accounts["x"]])
    with pytest.raises(NotFound):
        services.post_cancel(post=post, actor=personas.outsider)


def test_campaign_names_are_unique_in_an_organization_and_get_a_utm_tag(personas):
    campaign = services.campaign_save(
        actor=personas.lead, name="Spring Sale 2027", starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 31)
    )
    assert (campaign.utm_campaign, campaign.owner) == ("spring-sale-2027", personas.lead.user)
    with pytest.raises(Conflict):
        services.campaign_save(actor=personas.lead, name="Spring Sale 2027")
    with pytest.raises(ValidationFailed):
        services.campaign_save(
            actor=personas.lead, name="Backwards", starts_on=date(2027, 3, 2), ends_on=date(2027, 3, 1)
        )
    with pytest.raises(Forbidden):
        services.campaign_save(actor=personas.agent, name="Mine")
