"""End to end in Chromium: a team lead uploads a CSV with a bad row, watches the check reach 100 % and reads the
report, imports the good rows only, and sees the imported posts listed. The worker's steps are run by the
test (as the worker would) while the page polls for them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AccountGroup
from publishing import imports
from publishing.models import Post, PostImport
from tests.browser.test_connect_account import sign_in
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.browser

CSV = (
    "text,accounts,scheduled_at\n"
    "Spring lamps are in,mastodon:acme,2030-03-01 09:30\n"
    "<script>alert('x')</script>,x:<img src=x onerror=alert(1)>,\n"
    "Summer shades,group:Launch,\n"
)


@pytest.mark.django_db(transaction=True)
def test_a_file_with_a_bad_row_is_reported_and_its_good_rows_imported(live_server, page, personas):
    mastodon = SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme")
    bluesky = SocialAccountFactory(organization=personas.org, platform="bluesky", handle="acme.bsky.social")
    AccountGroup.objects.create(organization=personas.org, name="Launch").accounts.add(mastodon, bluesky)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    sign_in(page, live_server.url, "lead@acme.test")
    page.goto(f"{live_server.url}/publishing/")
    page.get_by_role("link", name="Import from CSV").click()
    expect(page.get_by_role("link", name="Download an example CSV")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_test_id("import-status")).to_have_text("Checking")

    job = PostImport.objects.get()
    imports.post_import_validate(import_id=job.id)  # the worker's check; the page polls for it
    expect(page.get_by_test_id("import-status")).to_have_text("Has problems")
    expect(page.get_by_test_id("import-progress")).to_have_text("100 %")
    problem = page.get_by_test_id("import-problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("3")
    expect(problem).to_contain_text("No X account @<img src=x onerror=alert(1)> in this organization.")
    assert Post.objects.count() == 0

    page.get_by_role("button", name="Import the 2 good rows only").click()
    expect(page.get_by_test_id("import-status")).to_have_text(re.compile("Checked|Importing"))
    imports.post_import_run(import_id=job.id)  # the worker's import
    expect(page.get_by_test_id("import-done")).to_have_text("2 posts imported.")
    expect(page.get_by_test_id("import-progress")).to_have_text("100 %")
    posts = page.get_by_test_id("imported-post")
    expect(posts).to_have_count(2)
    expect(posts.nth(0)).to_contain_text("Spring lamps are in")
    expect(posts.nth(0)).to_contain_text("Scheduled")
    expect(posts.nth(1)).to_contain_text("Summer shades")
    expect(posts.nth(1)).to_contain_text("@acme.bsky.social")

    page.goto(f"{live_server.url}/publishing/")
    expect(page.get_by_test_id("post-row")).to_have_count(2)
    assert dialogs == []  # the hostile row's text never ran
