"""Campaigns: their links carry the UTM tag and the network, without losing what was there; edits keep the owner."""

from __future__ import annotations

from publishing import services
from publishing.links import utm_tagged
from tests.accounts.test_connections import connect_mastodon


def test_utm_parameters_are_added_and_what_the_link_had_is_kept():
    tagged = utm_tagged("https://lumiere.example/x2?color=red&utm_source=newsletter#specs", source="mastodon",
                        campaign="lumiere-x2")  # fmt: skip
    assert tagged == (
        "https://lumiere.example/x2?color=red&utm_source=newsletter&utm_medium=social&utm_campaign=lumiere-x2#specs"
    )
    assert utm_tagged("mailto:care@lumiere.example", source="x", campaign="c") == "mailto:care@lumiere.example"


def test_a_campaign_post_links_to_the_site_with_the_campaign_and_the_network(personas, simulator):
    account = connect_mastodon(personas)
    launch = services.campaign_save(actor=personas.lead, name="Lancement X2", utm_campaign="lumiere-x2")
    post = services.post_create(
        actor=personas.agent, accounts=[account], campaign=launch, text="La X2 est là",
        variants={"mastodon": {"text": "La X2 est là", "link": "https://lumiere.example/x2"}},
    )  # fmt: skip
    [variant] = post.variants.all()
    assert variant.link == "https://lumiere.example/x2?utm_source=mastodon&utm_medium=social&utm_campaign=lumiere-x2"


def test_without_a_campaign_links_are_left_alone(personas, simulator):
    account = connect_mastodon(personas)
    post = services.post_create(
        actor=personas.agent, accounts=[account], text="Hello",
        variants={"mastodon": {"text": "Hello", "link": "https://lumiere.example/"}},
    )  # fmt: skip
    assert post.variants.get().link == "https://lumiere.example/"


def test_editing_a_campaign_keeps_its_owner(personas):
    launch = services.campaign_save(actor=personas.lead, name="Lancement X2")
    services.campaign_save(actor=personas.admin, campaign=launch, name="Lancement X2", goal="Noël")
    launch.refresh_from_db()
    assert (launch.owner, launch.goal) == (personas.lead.user, "Noël")
