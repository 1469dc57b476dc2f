"""Images on posts: what an upload really is, each network's limits at compose time, the images reaching the
networks over HTTP (the simulator), and the signed public URL Meta fetches them from."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.demo import _sim_users, connect_simulated
from publishing import selectors, services
from publishing.models import Delivery, MediaAsset
from smms.errors import NotFound, ValidationFailed
from tests.accounts.test_connections import connect_mastodon
from tests.factories import SocialAccountFactory
from tests.images import jpeg, png

MB = 1024 * 1024


def upload(personas, data: bytes, name: str = "photo.png", alt: str = "") -> MediaAsset:
    return services.media_asset_upload(actor=personas.agent, file=io.BytesIO(data), name=name, alt_text=alt)


def connect(personas, platform: str):
    return connect_simulated(personas.admin, platform, _sim_users(platform)[:1])[0]


def publish(personas, account, text: str, media: list[MediaAsset]) -> Delivery:
    """Written, scheduled now by the team lead and published by the engine; the delivery, published."""
    post = services.post_create(actor=personas.lead, text=text, accounts=[account], media=media)
    services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    delivery = Delivery.objects.get(post=post)
    assert services.delivery_publish(delivery_id=delivery.id) == "published", Delivery.objects.get(
        id=delivery.id
    ).last_error
    return delivery


def on_network(simulator, platform: str, text: str) -> dict:
    [post] = [p for p in simulator.posts(platform) if p["text"] == text and not p["deleted"]]
    return post


# --- what an upload is ---------------------------------------------------------------------------------------
def test_an_upload_is_typed_by_its_bytes_and_measured(personas):
    asset = upload(personas, png(3, 2), name="holiday.jpg")  # a PNG named .jpg is a PNG
    assert (asset.mime_type, asset.width, asset.height) == ("image/png", 3, 2)
    assert asset.size == len(png(3, 2))
    assert len(asset.sha256) == 64
    photo = upload(personas, jpeg(640, 480), name="photo.jpg")
    assert (photo.mime_type, photo.width, photo.height) == ("image/jpeg", 640, 480)


@pytest.mark.parametrize(
    "data",
    [b"<html><script>alert(1)</script></html>", b"just some text, honestly a JPEG", b"%PDF-1.7\n", b"GIF"],
)
def test_a_jpg_that_is_really_html_or_text_is_refused_and_nothing_is_stored(personas, data):
    with pytest.raises(ValidationFailed) as refused:
        upload(personas, data, name="cat.jpg")
    assert refused.value.message == (
        "cat.jpg is not an image SMMS can post: only JPEG, PNG, GIF and WebP images are accepted."
    )
    assert not MediaAsset.objects.exists()


def test_an_upload_over_the_cap_is_refused(personas, settings):
    settings.SMMS_MEDIA_MAX_BYTES = 1000
    with pytest.raises(ValidationFailed, match=r"big\.png is too large: images can be at most 0 MB"):
        upload(personas, png(size=1001), name="big.png")
    assert upload(personas, png(size=1000)).size == 1000


def test_a_hostile_file_name_never_reaches_the_disk(personas):
    asset = upload(personas, png(), name="../../etc/passwd\x00<script>.png")
    assert asset.name == "passwd<script>.png"  # shown escaped; no folder, no control character
    stored = asset.file.name
    assert stored.startswith(f"media/{personas.org.id}/")
    assert stored.endswith(".png")
    assert "passwd" not in stored
    assert ".." not in stored
    assert asset.file.open("rb").read() == png()


def test_an_analyst_cannot_upload(personas):
    from smms.errors import Forbidden

    with pytest.raises(Forbidden):
        services.media_asset_upload(actor=personas.analyst, file=io.BytesIO(png()), name="a.png")


# --- each network's limits, at compose time ------------------------------------------------------------------
def compose(personas, platform: str, media: list[MediaAsset], text: str = "With a picture"):
    account = SocialAccountFactory(organization=personas.org, platform=platform)
    return services.post_create(actor=personas.agent, text=text, accounts=[account], media=media)


def test_bluesky_refuses_an_image_over_its_cap_naming_the_file(personas):
    big = upload(personas, png(size=2_000_001), name="poster.png")
    with pytest.raises(ValidationFailed) as refused:
        compose(personas, "bluesky", [big])
    assert refused.value.message == "poster.png is too large for Bluesky: 1.9 MB where at most 1.9 MB are allowed."
    assert refused.value.field == "media"
    compose(personas, "mastodon", [big])  # Mastodon takes it


def test_x_refuses_an_image_over_5_mb(personas):
    big = upload(personas, jpeg(size=5 * MB + 1), name="huge.jpg")
    with pytest.raises(ValidationFailed, match=r"huge\.jpg is too large for X: 5 MB where at most 5 MB"):
        compose(personas, "x", [big])


def test_instagram_takes_jpeg_only_and_needs_an_image(personas):
    with pytest.raises(ValidationFailed, match="Instagram posts need an image"):
        compose(personas, "instagram", [])
    with pytest.raises(ValidationFailed) as refused:
        compose(personas, "instagram", [upload(personas, png(), name="logo.png")])
    assert refused.value.message == "Instagram does not take PNG images: logo.png. Use JPEG."
    post = compose(personas, "instagram", [upload(personas, jpeg(), name="shot.jpg")])
    assert [m.asset.name for m in post.media.all()] == ["shot.jpg"]


def test_too_many_images_for_a_network_are_refused(personas):
    five = [upload(personas, png(n + 1, 1), name=f"{n}.png") for n in range(5)]
    with pytest.raises(ValidationFailed) as refused:
        compose(personas, "x", five)
    assert refused.value.message == "X takes at most 4 images per post; this post has 5."
    post = compose(personas, "facebook", five)  # a Facebook post holds 10
    assert [m.asset_id for m in post.media.order_by("position")] == [a.id for a in five]


def test_a_post_with_an_image_still_needs_text(personas):
    with pytest.raises(ValidationFailed, match="The Mastodon version has no text"):
        compose(personas, "mastodon", [upload(personas, png())], text="")


def test_another_organizations_image_is_refused(personas):
    theirs = services.media_asset_upload(actor=personas.outsider, file=io.BytesIO(png()), name="x.png")
    with pytest.raises(ValidationFailed, match="Some images are not in this organization"):
        compose(personas, "mastodon", [theirs])
    with pytest.raises(ValidationFailed):
        selectors.media_asset_list(org=personas.org, asset_ids=[theirs.id])


def test_the_alternative_text_typed_in_the_composer_is_saved_with_the_post(personas):
    asset = upload(personas, png(), alt="old")
    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    services.post_create(
        actor=personas.agent, text="Hi", accounts=[account], media=[asset], alt_texts={asset.id: " A red dot "}
    )
    asset.refresh_from_db()
    assert asset.alt_text == "A red dot"


# --- the images reach the networks ---------------------------------------------------------------------------
def test_an_image_reaches_mastodon_with_its_description(personas, simulator):
    account = connect_mastodon(personas)
    publish(personas, account, "Mastodon with a picture", [upload(personas, png(4, 4), alt="Four red squares")])
    [media] = on_network(simulator, "mastodon", "Mastodon with a picture")["media"]
    assert (media["mime"], media["size"], media["description"]) == ("image/png", len(png(4, 4)), "Four red squares")


def test_images_reach_bluesky_in_order(personas, simulator):
    account = connect(personas, "bluesky")
    first, second = upload(personas, png(1, 1), alt="one"), upload(personas, jpeg(), alt="two")
    publish(personas, account, "Bluesky with two pictures", [first, second])
    post = on_network(simulator, "bluesky", "Bluesky with two pictures")
    assert [(m["mimeType"], m["size"]) for m in post["media"]] == [
        ("image/png", first.size),
        ("image/jpeg", second.size),
    ]
    assert [i["alt"] for i in post["extra"]["record"]["embed"]["images"]] == ["one", "two"]


def test_an_image_reaches_x(personas, simulator):
    account = connect(personas, "x")
    photo = upload(personas, jpeg(1200, 675), alt="A view")
    publish(personas, account, "X with a picture", [photo])
    [media] = on_network(simulator, "x", "X with a picture")["media"]
    assert (media["mime"], media["size"]) == ("image/jpeg", photo.size)


def test_instagram_receives_the_signed_public_url_of_the_image(personas, simulator, settings, client):
    settings.SMMS_PUBLIC_BASE_URL = "https://smms.example.org"
    account = connect(personas, "instagram")
    photo = upload(personas, jpeg(1080, 1080), alt="Our shop")
    publish(personas, account, "Instagram with a picture", [photo])
    [media] = on_network(simulator, "instagram", "Instagram with a picture")["media"]
    assert media["alt_text"] == "Our shop"
    url = media["image_url"]
    assert url.startswith("https://smms.example.org/publishing/m/")
    response = client.get(url.removeprefix("https://smms.example.org"))  # anyone, with no session
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == jpeg(1080, 1080)


def test_facebook_receives_the_signed_public_url_of_the_image(personas, simulator, settings):
    settings.SMMS_PUBLIC_BASE_URL = "https://smms.example.org"
    account = connect(personas, "facebook")
    publish(personas, account, "Facebook with a picture", [upload(personas, png(8, 8), alt="A lamp")])
    [media] = on_network(simulator, "facebook", "Facebook with a picture")["media"]
    assert media["url"].startswith("https://smms.example.org/publishing/m/")


# --- the signed public URL -----------------------------------------------------------------------------------
def test_a_signed_url_expires(personas, settings, client):
    settings.SMMS_MEDIA_URL_MAX_AGE = 3600
    url = services.media_public_url(asset=upload(personas, png()))
    path = url[url.index("/publishing/") :]
    assert client.get(path).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=3601)):
        assert client.get(path).status_code == 404


def test_a_signed_url_opens_its_own_image_and_no_other(personas, client):
    mine, other = upload(personas, png(1, 1)), upload(personas, png(2, 2))
    base = reverse("media_public", kwargs={"token": "x"}).removesuffix("x/")

    def token(asset: MediaAsset) -> str:
        return services.media_public_url(asset=asset).rstrip("/").rsplit("/", 1)[1]

    signed = token(mine)
    assert b"".join(client.get(f"{base}{signed}/").streaming_content) == png(1, 1)
    # the other image's payload under this image's signature, or a signature changed by hand, opens nothing
    payload, stamp, signature = signed.split(":")
    other_payload = token(other).split(":")[0]
    assert other_payload != payload
    assert client.get(f"{base}{other_payload}:{stamp}:{signature}/").status_code == 404
    assert client.get(f"{base}{payload}:{stamp}:{signature[:-2]}xx/").status_code == 404
    with pytest.raises(NotFound):
        selectors.media_asset_from_token(token=f"{signed}x")


def test_a_signed_url_dies_with_a_replaced_file(personas, client):
    asset = upload(personas, png(1, 1))
    url = services.media_public_url(asset=asset)
    MediaAsset.objects.filter(id=asset.id).update(sha256="0" * 64)
    assert client.get(url[url.index("/publishing/") :]).status_code == 404


# --- the pages ---------------------------------------------------------------------------------------------
def test_the_composer_uploads_an_image_and_shows_its_thumbnail(personas, client_for):
    client = client_for(personas.agent)
    response = client.post(reverse("media_upload"), {"upload": io.BytesIO(png(5, 5)), "alt_text": "Dot"})
    assert response.status_code == 200
    asset = MediaAsset.objects.get()
    assert asset.uploaded_by == personas.agent.user
    assert asset.alt_text == "Dot"
    html = response.content.decode()
    assert f'name="media" value="{asset.id}"' in html
    assert reverse("media_file", kwargs={"asset_id": asset.id}) in html


def test_the_composer_refuses_a_fake_image_with_a_readable_message(personas, client_for):
    fake = io.BytesIO(b"<script>alert('x')</script>")
    fake.name = "<img src=x onerror=alert(1)>.jpg"
    response = client_for(personas.agent).post(reverse("media_upload"), {"upload": fake})
    assert response.status_code == 400
    html = response.content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg is not an image SMMS can post" in html
    assert "<img" not in html
    assert "<script>" not in html
    assert not MediaAsset.objects.exists()


def test_a_body_over_the_cap_is_refused_before_it_is_stored(personas, client_for, settings):
    settings.SMMS_MEDIA_MAX_BYTES = 10_000
    big = io.BytesIO(png(size=200_000))
    big.name = "big.png"
    response = client_for(personas.agent).post(reverse("media_upload"), {"upload": big})
    assert response.status_code == 400
    assert "too large" in response.content.decode()
    assert not MediaAsset.objects.exists()


def test_an_analyst_sees_images_but_cannot_upload(personas, client_for):
    asset = upload(personas, png())
    analyst = client_for(personas.analyst)
    assert analyst.get(reverse("media_file", kwargs={"asset_id": asset.id})).status_code == 200
    assert analyst.post(reverse("media_upload"), {"upload": io.BytesIO(png())}).status_code == 403


def test_an_image_lost_from_storage_fails_the_delivery_with_its_reason(personas, simulator, client_for):
    account = connect_mastodon(personas)
    asset = upload(personas, png(), name="gone.png")
    post = services.post_create(actor=personas.lead, text="Lost image", accounts=[account], media=[asset])
    services.post_schedule(post=post, actor=personas.lead, at=timezone.now())
    asset.file.delete(save=False)
    delivery = Delivery.objects.get(post=post)
    assert services.delivery_publish(delivery_id=delivery.id) == "failed"
    delivery.refresh_from_db()
    assert "the image gone.png cannot be read from storage" in delivery.last_error
    assert not on_network_all(simulator, "Lost image")
    assert client_for(personas.agent).get(reverse("media_file", kwargs={"asset_id": asset.id})).status_code == 404


def on_network_all(simulator, text: str) -> list[dict]:
    return [p for p in simulator.posts("mastodon") if p["text"] == text]
