"""End to end in Chromium: a community manager adds an image in the composer, sees it in the previews of two
networks, saves the post, and finds the image on the post's page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.demo import connect_simulated
from publishing.models import MediaAsset, Post
from tests.browser.test_connect_account import sign_in
from tests.images import png

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_image_is_uploaded_previewed_per_network_and_shown_on_the_post(
    live_server, page, personas, simulator, tmp_path
):
    [mastodon] = connect_simulated(personas.admin, "mastodon", simulator.users("mastodon")[:1])
    [bluesky] = connect_simulated(personas.admin, "bluesky", simulator.users("bluesky")[:1])
    image = tmp_path / "<lamp>.png"
    image.write_bytes(png(40, 30))

    sign_in(page, live_server.url, "agent@acme.test")
    page.goto(f"{live_server.url}/publishing/compose/")
    page.get_by_label("Text", exact=True).fill("Our new lamp")
    page.get_by_label(str(mastodon)).check()
    page.get_by_label(str(bluesky)).check()
    page.get_by_label("Add an image").set_input_files(str(image))
    added = page.get_by_test_id("media-item")
    expect(added).to_have_count(1)
    expect(added.get_by_test_id("media-name")).to_have_text("<lamp>.png · 40\u00d730")  # the name, as text
    added.get_by_label("Alternative text").fill("A brass lamp")
    for network in ("mastodon", "bluesky"):
        expect(page.get_by_test_id(f"check-{network}").get_by_test_id("preview-image")).to_have_count(1)
    expect(page.get_by_test_id("check-mastodon")).to_contain_text("Our new lamp")

    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_test_id("post-status")).to_have_text("Awaiting approval")
    post = Post.objects.get()
    asset = MediaAsset.objects.get()
    assert [m.asset_id for m in post.media.all()] == [asset.id]
    assert asset.alt_text == "A brass lamp"
    shown = page.get_by_test_id("post-image")
    expect(shown).to_have_count(1)
    expect(shown).to_have_attribute("alt", "A brass lamp")
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 40  # the image itself, served and decoded
