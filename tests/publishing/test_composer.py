"""The composer's pages: account groups expanded to their connected accounts, drafts edited with the approver's
comment in view, and the live check's preview per network (per instance on Mastodon)."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.demo import _sim_users, connect_simulated
from accounts.models import PlatformApp, SocialAccountStatus
from publishing import services
from publishing.models import Delivery, Post, PostStatus
from smms.errors import ValidationFailed
from tests.accounts.test_connections import connect_mastodon
from tests.factories import AccountGroupFactory, SocialAccountFactory
from tests.images import jpeg, png


@pytest.fixture
def french(personas):
    """A group of two connected French accounts and one that needs reconnecting."""
    group = AccountGroupFactory(organization=personas.org, name="All French accounts")
    paris = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="paris")
    lyon = SocialAccountFactory(organization=personas.org, platform="x", handle="lyon")
    lille = SocialAccountFactory(
        organization=personas.org, platform="x", handle="lille", status=SocialAccountStatus.NEEDS_RECONNECT
    )
    group.accounts.add(paris, lyon, lille)
    return group, paris, lyon, lille


# --- account groups ----------------------------------------------------------------------------------------
def test_a_group_stands_for_its_connected_accounts_each_once(personas, client_for, french):
    group, paris, _lyon, _lille = french
    response = client_for(personas.lead).post(
        reverse("compose"),
        {"text": "Bonjour", "groups": [group.id], "accounts": [paris.id], "action": "draft"},
    )
    post = Post.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("post_detail", kwargs={"post_id": post.id})
    assert sorted(Delivery.objects.filter(post=post).values_list("account__handle", flat=True)) == ["lyon", "paris"]


def test_the_preview_shows_where_a_group_goes(personas, client_for, french):
    group, paris, lyon, lille = french
    html = client_for(personas.agent).post(reverse("compose_check"), {"text": "Salut", "groups": [group.id]})
    html = html.content.decode()
    assert f'data-testid="targets-mastodon">Goes to: {paris}</small>' in html
    assert f'data-testid="targets-x">Goes to: {lyon}</small>' in html
    assert str(lille) not in html  # needs reconnecting: not a target


def test_another_organizations_group_is_not_offered_nor_taken(personas, client_for):
    theirs = AccountGroupFactory(organization=personas.other_org, name="Theirs")
    account = SocialAccountFactory(organization=personas.other_org, platform="x", handle="globex")
    theirs.accounts.add(account)
    client = client_for(personas.lead)
    assert "Theirs" not in client.get(reverse("compose")).content.decode()
    response = client.post(reverse("compose"), {"text": "Hi", "groups": [theirs.id], "action": "draft"})
    assert response.status_code == 200  # the form says what is wrong
    assert not Post.objects.exists()


# --- editing drafts ----------------------------------------------------------------------------------------
@pytest.fixture
def sent_back(personas):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="shop")
    post = services.post_create(actor=personas.agent, text="Version 1", accounts=[account])
    services.post_submit(post=post, actor=personas.agent)
    services.post_send_back(post=post, actor=personas.lead, comment="Say <b>when</b> the sale ends")
    return post, account


def test_the_author_edits_a_sent_back_draft_with_the_approvers_comment_in_view(personas, client_for, sent_back):
    post, account = sent_back
    client = client_for(personas.agent)
    page = client.get(reverse("post_edit", kwargs={"post_id": post.id})).content.decode()
    assert "Say &lt;b&gt;when&lt;/b&gt; the sale ends" in page  # the comment, as text
    assert "Version 1" in page
    assert f'value="{account.id}" checked' in page
    image = services.media_asset_upload(actor=personas.agent, file=io.BytesIO(png()), name="sale.png")
    response = client.post(
        reverse("post_edit", kwargs={"post_id": post.id}),
        {"text": "Version 2: until Sunday", "accounts": [account.id], "media": [image.id], "action": "submit"},
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Version 2: until Sunday"
    assert post.status == PostStatus.AWAITING_APPROVAL
    assert [m.asset_id for m in post.media.all()] == [image.id]


@pytest.mark.parametrize(("role", "allowed"), [("lead", True), ("agent", True), ("analyst", False)])
def test_who_may_edit_a_draft(personas, client_for, sent_back, role, allowed):
    post, account = sent_back
    client = client_for(getattr(personas, role))
    url = reverse("post_edit", kwargs={"post_id": post.id})
    assert client.get(url).status_code == (200 if allowed else 403)
    client.post(url, {"text": f"By the {role}", "accounts": [account.id], "action": "draft"})
    post.refresh_from_db()
    assert (post.text == f"By the {role}") is allowed


def test_a_post_that_is_not_a_draft_cannot_be_edited(personas, client_for):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    post = services.post_create(actor=personas.agent, text="As submitted", accounts=[account])
    services.post_submit(post=post, actor=personas.agent)
    client = client_for(personas.agent)
    url = reverse("post_edit", kwargs={"post_id": post.id})
    response = client.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("post_detail", kwargs={"post_id": post.id})
    assert "Only a draft can be changed" in response.content.decode()
    client.post(url, {"text": "Sneaky change", "accounts": [account.id], "action": "draft"})
    post.refresh_from_db()
    assert post.text == "As submitted"


def test_drafts_link_to_their_edit_page(personas, client_for, sent_back):
    post, _account = sent_back
    edit = reverse("post_edit", kwargs={"post_id": post.id})
    client = client_for(personas.agent)
    assert edit in client.get(reverse("post_detail", kwargs={"post_id": post.id})).content.decode()
    assert edit in client.get(reverse("publishing")).content.decode()
    assert edit not in client_for(personas.analyst).get(reverse("publishing")).content.decode()


# --- the live check, per Mastodon instance -----------------------------------------------------------------
LIMIT_KEY = "publishing:mastodon-max-characters:{}"


@pytest.fixture
def instances(personas):
    """Two Mastodon accounts on instances SMMS is registered on, whose /api/v2/instance said 500 and 1,000."""
    accounts = []
    for name, limit in (("small", 500), ("big", 1000)):
        url = f"https://{name}.example"
        PlatformApp.objects.create(platform="mastodon", instance=url, client_id="c", client_secret="s")
        cache.set(LIMIT_KEY.format(url), limit)
        accounts.append(
            SocialAccountFactory(organization=personas.org, platform="mastodon", handle=name, extra={"instance": url})
        )
    yield accounts
    cache.delete_many([LIMIT_KEY.format(f"https://{name}.example") for name in ("small", "big")])


def test_each_mastodon_instance_is_checked_with_its_own_limit(personas, client_for, instances):
    small, big = instances
    html = client_for(personas.agent).post(
        reverse("compose_check"), {"text": "a" * 700, "accounts": [small.id, big.id]}
    )
    cards = html.content.decode().split('<section class="card preview"')[1:]
    assert len(cards) == 2
    [big_card] = [c for c in cards if 'data-instance="big.example"' in c]
    [small_card] = [c for c in cards if 'data-instance="small.example"' in c]
    assert "700 / 1000" in big_card
    assert "problem-mastodon" not in big_card
    assert "700 / 500" in small_card
    assert "The Mastodon version is too long: 700 characters where 500 are allowed." in small_card
    with pytest.raises(ValidationFailed, match="700 characters where 500 are allowed"):
        services.post_create(actor=personas.agent, text="a" * 700, accounts=[small, big])
    assert services.post_create(actor=personas.agent, text="a" * 700, accounts=[big]).text == "a" * 700


def test_an_instances_limit_is_read_from_the_instance_once(personas, simulator):
    account = connect_mastodon(personas)
    key = LIMIT_KEY.format(account.extra["instance"].rstrip("/"))
    cache.delete(key)
    assert services.text_check("mastodon", "a" * 501, account.extra["instance"]).limit == 500
    assert cache.get(key) == 500  # what the simulated instance said over HTTP, kept for a day
    cache.set(key, 600)
    assert services.text_check("mastodon", "a" * 501, account.extra["instance"]).ok
    cache.delete(key)


def test_the_preview_shows_the_text_as_posted_with_images_and_escapes_it(personas, client_for):
    x = SocialAccountFactory(organization=personas.org, platform="x", handle="shop")
    bluesky = SocialAccountFactory(organization=personas.org, platform="bluesky", handle="shop.bsky.social")
    image = services.media_asset_upload(
        actor=personas.agent, file=io.BytesIO(png()), name="a.png", alt_text='"><script>alert(1)</script>'
    )
    html = (
        client_for(personas.agent)
        .post(
            reverse("compose_check"),
            {
                "text": "<script>alert('hi')</script> Sale",
                "accounts": [x.id, bluesky.id],
                "variant_x_link": "https://shop.example/sale",
                "media": [image.id],
            },
        )
        .content.decode()
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt; Sale\nhttps://shop.example/sale" in html
    assert 'data-testid="count-x">57 / 280' in html  # 33 characters, a line break, a link counted as 23
    assert html.count('data-testid="preview-image"') == 2  # one thumbnail per network
    assert reverse("media_file", kwargs={"asset_id": image.id}) in html


# --- the first comment (Facebook, Instagram) ---------------------------------------------------------------
def facebook_page(personas):
    accounts = connect_simulated(personas.admin, "facebook", _sim_users("facebook")[:1])
    return next(a for a in accounts if a.platform == "facebook")


def test_the_first_comment_is_posted_under_a_new_facebook_post_once(personas, simulator, client_for):
    page = facebook_page(personas)
    client = client_for(personas.lead)
    response = client.post(
        reverse("compose"),
        {"text": "New shop", "accounts": [page.id], "first_comment": "#lamps #shop", "action": "draft"},
    )
    post = Post.objects.get()
    assert response.status_code == 302
    assert post.first_comment == "#lamps #shop"
    assert "#lamps #shop" in client.get(reverse("post_detail", kwargs={"post_id": post.id})).content.decode()
    services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    delivery = Delivery.objects.get(post=post)
    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    delivery.refresh_from_db()
    [comment] = [p for p in simulator.posts("facebook", kind="comment") if p["text"] == "#lamps #shop"]
    assert comment["id"] == delivery.first_comment_id
    assert delivery.events.filter(detail="First comment posted.").count() == 1


def test_a_failed_first_comment_leaves_the_post_published_and_says_why(personas, simulator):
    page = facebook_page(personas)
    post = services.post_create(actor=personas.lead, text="Shop", accounts=[page], first_comment="#shop")
    services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    simulator.faults({"kind": "error", "platform": "facebook", "methods": ["POST"], "path": "comments$", "status": 500})
    delivery = Delivery.objects.get(post=post)
    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    delivery.refresh_from_db()
    assert delivery.state == "published"
    assert delivery.first_comment_id == ""
    assert delivery.events.filter(detail__startswith="The first comment could not be posted").exists()


def test_a_first_comment_over_instagrams_limit_is_refused(personas):
    account = SocialAccountFactory(organization=personas.org, platform="facebook")
    with pytest.raises(ValidationFailed, match="The first comment is too long: 2201 characters"):
        services.post_create(actor=personas.agent, text="Hi", accounts=[account], first_comment="a" * 2201)


def test_the_first_comment_is_posted_under_a_new_instagram_post(personas, simulator):
    account = connect_simulated(personas.admin, "instagram", _sim_users("instagram")[:1])[0]
    photo = services.media_asset_upload(actor=personas.lead, file=io.BytesIO(jpeg()), name="shop.jpg")
    post = services.post_create(
        actor=personas.lead, text="Shop", accounts=[account], media=[photo], first_comment="#shop #lamps"
    )
    services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    delivery = Delivery.objects.get(post=post)
    assert services.delivery_publish(delivery_id=delivery.id) == "published"
    delivery.refresh_from_db()
    [comment] = [p for p in simulator.posts("instagram", kind="comment") if p["text"] == "#shop #lamps"]
    assert comment["id"] == delivery.first_comment_id
    assert comment["reply_to_id"] == delivery.remote_id  # under the new post itself


def test_another_organizations_image_sent_to_the_composer_is_refused_once(personas, client_for):
    theirs = services.media_asset_upload(actor=personas.outsider, file=io.BytesIO(png()), name="x.png")
    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    response = client_for(personas.lead).post(
        reverse("compose"), {"text": "Hi", "accounts": [account.id], "media": [theirs.id], "action": "draft"}
    )
    assert response.status_code == 200
    assert response.content.decode().count("Some images are not in this organization.") == 1
    assert reverse("media_file", kwargs={"asset_id": theirs.id}) not in response.content.decode()
    assert not Post.objects.exists()
