"""A draft, new or sent back, is rewritten and checked again; what was submitted cannot change under the
approver; accounts kept keep their trail."""

from __future__ import annotations

import pytest

from publishing import services
from publishing.models import Delivery, DeliveryEvent
from smms.errors import Conflict, ValidationFailed
from tests.accounts.test_connections import connect_mastodon, connect_x


def test_a_sent_back_draft_is_rewritten_for_other_accounts_and_keeps_the_trail_of_those_kept(personas, simulator):
    mastodon, x = connect_mastodon(personas), connect_x(personas, simulator)
    post = services.post_create(actor=personas.agent, accounts=[mastodon], text="Version 1")
    services.post_submit(post=post, actor=personas.agent)
    services.post_send_back(post=post, actor=personas.lead, comment="Mention the price")
    kept = Delivery.objects.get(post=post, account=mastodon)

    services.post_update(
        post=post, actor=personas.agent, accounts=[mastodon, x], text="Version 2: 49 €",
        variants={"x": "V2 à 49 € #LumièreX2"},
    )  # fmt: skip
    post.refresh_from_db()
    assert post.text == "Version 2: 49 €"
    deliveries = {d.account_id: d for d in Delivery.objects.filter(post=post).select_related("variant")}
    assert set(deliveries) == {mastodon.id, x.id}
    assert deliveries[mastodon.id].id == kept.id  # the same delivery, with its history
    assert deliveries[x.id].variant.text == "V2 à 49 € #LumièreX2"
    details = list(DeliveryEvent.objects.filter(delivery=kept).values_list("detail", flat=True))
    assert "Mention the price" in details
    assert "Post edited." in details
    services.post_submit(post=post, actor=personas.agent)  # and off it goes again


def test_a_submitted_post_cannot_change_under_the_approver(personas, simulator):
    mastodon = connect_mastodon(personas)
    post = services.post_create(actor=personas.agent, accounts=[mastodon], text="As submitted")
    services.post_submit(post=post, actor=personas.agent)
    with pytest.raises(Conflict):
        services.post_update(post=post, actor=personas.agent, accounts=[mastodon], text="Sneaky change")


def test_an_edit_is_checked_like_a_new_post(personas, simulator):
    x = connect_x(personas, simulator)
    post = services.post_create(actor=personas.agent, accounts=[x], text="Short")
    with pytest.raises(ValidationFailed, match="too long"):
        services.post_update(post=post, actor=personas.agent, accounts=[x], text="a" * 281)
    post.refresh_from_db()
    assert post.text == "Short"
