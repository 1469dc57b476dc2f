"""Bulk import of posts from a CSV file: every problem of every row is reported, and nothing is imported until
the file is right (or the person asks for the good rows only); the import itself is all rows or none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AccountGroup, SocialAccountStatus
from publishing import imports, services
from publishing.models import Delivery, Post, PostImport
from smms.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import SocialAccountFactory


@pytest.fixture
def accounts(personas):
    made = {
        "mastodon": SocialAccountFactory(organization=personas.org, platform="mastodon", handle="acme"),
        "x": SocialAccountFactory(organization=personas.org, platform="x", handle="AcmeHQ"),
        "bluesky": SocialAccountFactory(organization=personas.org, platform="bluesky", handle="acme.bsky.social"),
        "gone": SocialAccountFactory(
            organization=personas.org, platform="mastodon", handle="old", status=SocialAccountStatus.NEEDS_RECONNECT
        ),
    }
    launch = AccountGroup.objects.create(organization=personas.org, name="Launch")
    launch.accounts.add(made["mastodon"], made["bluesky"])
    return made


def checked(actor, content: str, mode: str = "all") -> PostImport:
    """Upload ``content`` as ``actor`` and run the check, as the worker does."""
    job = imports.post_import_start(actor=actor, file_name="posts.csv", data=content.encode(), mode=mode)
    assert imports.post_import_validate(import_id=job.id) in ("validated", "invalid")
    job.refresh_from_db()
    return job


def imported(actor, content: str, mode: str = "all") -> PostImport:
    job = checked(actor, content, mode)
    imports.post_import_run(import_id=job.id)
    job.refresh_from_db()
    return job


def problems(job: PostImport) -> list[tuple[int, str, str]]:
    return [(p["row"], p["column"], p["message"]) for p in job.report]


GOOD = (
    "text,accounts,scheduled_at,campaign,link,text_x,link_x\n"
    '"Spring is here, with lamps",mastodon:acme;x:@acmehq,2030-03-01 09:30,Spring,https://acme.test/spring,'
    '"Spring, short",https://acme.test/x\n'
    "Shades for the summer,group:Launch,2030-03-01T10:00:00-05:00,,,,\n"
    "A draft to finish,bluesky:acme.bsky.social,,,,,\n"
)


# --- a good file --------------------------------------------------------------------------------------------------
def test_a_good_file_imports_every_row_with_its_accounts_variants_and_times_in_the_uploaders_zone(personas, accounts):
    services.campaign_save(actor=personas.lead, name="Spring", utm_campaign="spring")
    job = imported(personas.lead, GOOD)  # the lead's time zone is Europe/Paris; a lead may schedule

    assert (job.status, job.rows_total, job.rows_checked, job.rows_good, job.rows_imported) == (
        "imported", 3, 3, 3, 3,
    )  # fmt: skip
    assert job.report == []
    first, second, third = Post.objects.filter(post_import=job).order_by("id")
    assert (first.status, first.scheduled_at) == ("scheduled", datetime(2030, 3, 1, 8, 30, tzinfo=UTC))
    assert first.campaign.name == "Spring"
    assert {d.account for d in first.deliveries.all()} == {accounts["mastodon"], accounts["x"]}
    variants = {v.platform: (v.text, v.link) for v in first.variants.all()}
    assert variants == {
        "x": ("Spring, short", "https://acme.test/x?utm_source=x&utm_medium=social&utm_campaign=spring"),
        "mastodon": (
            "Spring is here, with lamps",
            "https://acme.test/spring?utm_source=mastodon&utm_medium=social&utm_campaign=spring",
        ),
    }
    assert set(first.deliveries.values_list("state", flat=True)) == {"scheduled"}
    assert (second.status, second.scheduled_at) == ("scheduled", datetime(2030, 3, 1, 15, 0, tzinfo=UTC))
    assert {d.account for d in second.deliveries.all()} == {accounts["mastodon"], accounts["bluesky"]}
    assert (third.status, third.scheduled_at, third.text) == ("draft", None, "A draft to finish")
    assert all(post.author == personas.lead.user for post in (first, second, third))


def test_a_semicolon_file_with_a_bom_and_capitalised_headers_is_read(personas, accounts):
    content = "\ufeffText;Accounts;Scheduled_At\nBonjour, le printemps;mastodon:acme|x:AcmeHQ;2030-03-01 09:30\n"
    job = imported(personas.lead, content)
    assert job.status == "imported"
    post = Post.objects.get(post_import=job)
    assert post.text == "Bonjour, le printemps"
    assert post.deliveries.count() == 2


def test_a_member_who_needs_approval_sends_the_timed_rows_for_approval_and_keeps_the_others_as_drafts(
    personas, accounts
):
    job = imported(personas.agent, GOOD.replace(",Spring,", ",,"))
    assert job.status == "imported"
    assert list(Post.objects.filter(post_import=job).order_by("id").values_list("status", flat=True)) == [
        "awaiting_approval", "awaiting_approval", "draft",
    ]  # fmt: skip


def test_every_network_having_its_own_text_makes_the_main_text_optional(personas, accounts):
    job = imported(personas.lead, "accounts,text_x\nx:acmehq,Only for X\n")
    assert job.status == "imported"
    post = Post.objects.get(post_import=job)
    assert post.variants.get().text == "Only for X"
    job = checked(personas.lead, "accounts,text_x,text_mastodon\nx:acmehq;mastodon:acme,Only for X,\nx:nobody,,\n")
    assert problems(job) == [
        (2, "text", "The text is empty, and not every network of the row has its own text_<network>."),
        (3, "accounts", "No X account @nobody in this organization."),
        (3, "text", "The text is empty, and not every network of the row has its own text_<network>."),
    ]


# --- a file with problems -----------------------------------------------------------------------------------------
BAD = (
    "text,accounts,scheduled_at,campaign,link\n"  # row 1
    "Good one,mastodon:acme,2030-03-01 09:30,,\n"  # row 2
    "Lost,x:nobody;facebook2:acme,2020-01-01 10:00,,\n"  # row 3: two unknown accounts, a past time
    f"{'a' * 300},x:acmehq,tomorrow,Winter,\n"  # row 4: too long for X, a bad time, an unknown campaign
    "\n"  # row 5: blank, skipped
    "Good one,mastodon:acme,2030-03-01 09:30,,\n"  # row 6: the same as row 2
    "Reconnect,mastodon:old;group:Nobody,,,not a link\n"  # row 7
    ",bluesky:acme.bsky.social,,,\n"  # row 8: no text
    "Second good one,group:Launch,,,\n"  # row 9
)


def test_a_file_with_bad_rows_imports_nothing_and_reports_every_problem_of_every_row(personas, accounts):
    job = checked(personas.lead, BAD)

    assert job.status == "invalid"
    assert (job.rows_total, job.rows_checked, job.rows_good) == (7, 7, 2)
    assert problems(job) == [
        (3, "accounts", "No X account @nobody in this organization."),
        (3, "accounts", "Unknown network “facebook2” (known: x, facebook, instagram, mastodon, bluesky, linkedin, "
                        "youtube, reddit)."),
        (3, "scheduled_at", "2020-01-01 10:00 CET is in the past: choose a time in the future, or leave it empty "
                            "for a draft."),
        (4, "scheduled_at", "“tomorrow” is not a date and time: write 2030-03-01 09:30 (in your time zone, "
                            "Europe/Paris) or 2030-03-01T09:30:00+01:00."),
        (4, "campaign", "No campaign is named “Winter”."),
        (4, "text", "The X version is too long: 300 characters where 280 are allowed."),
        (6, "", "Same post as row 2."),
        (7, "accounts", "No account group is named “Nobody”."),
        (7, "accounts", "Mastodon @old needs reconnecting before anything can be published on it."),
        (7, "link", "“not a link” is not a web address (https://…)."),
        (8, "text", "The text is empty, and not every network of the row has its own text_<network>."),
    ]  # fmt: skip
    assert imports.post_import_run(import_id=job.id) == "skipped"  # an invalid file is not imported
    assert Post.objects.count() == 0


def test_unknown_columns_are_reported_on_the_header_row_and_no_row_is_imported(personas, accounts):
    job = checked(personas.lead, "text,accounts,txt_x,text\nHello,x:acmehq,Hi,Hello\n", mode="good_rows")
    assert job.status == "invalid"
    assert problems(job) == [
        (1, "txt_x", "Unknown column “txt_x”. The columns are: text, accounts, scheduled_at, campaign, link, "
                     "text_<network>, link_<network>."),
        (1, "text", "The column “text” appears twice."),
    ]  # fmt: skip
    assert job.rows_good == 0  # what is under a misspelt column would be silently lost: nothing is good
    with pytest.raises(Conflict):
        imports.post_import_good_rows(post_import=job, actor=personas.lead)


def test_importing_the_good_rows_only_imports_exactly_them(personas, accounts):
    job = checked(personas.lead, BAD)
    imports.post_import_good_rows(post_import=job, actor=personas.agent)
    job.refresh_from_db()
    assert (job.status, job.mode) == ("validated", "good_rows")

    assert imports.post_import_run(import_id=job.id) == "imported"
    job.refresh_from_db()
    assert (job.status, job.rows_imported) == ("imported", 2)
    assert sorted(Post.objects.values_list("text", flat=True)) == ["Good one", "Second good one"]
    assert Post.objects.filter(post_import=job).count() == 2
    assert imports.post_import_run(import_id=job.id) == "skipped"  # a re-delivered task imports nothing twice
    with pytest.raises(Conflict):  # nor does a second press of the button
        imports.post_import_good_rows(post_import=job, actor=personas.lead)
    assert Post.objects.count() == 2


def test_choosing_the_good_rows_at_upload_imports_them_after_the_check(personas, accounts):
    job = checked(personas.lead, BAD, mode="good_rows")
    assert job.status == "validated"
    assert len(job.report) == 11  # the report stays for the person to fix the others
    imports.post_import_run(import_id=job.id)
    assert sorted(Post.objects.values_list("text", flat=True)) == ["Good one", "Second good one"]


def test_an_account_disconnected_between_the_check_and_the_import_rolls_everything_back(personas, accounts):
    job = checked(personas.lead, GOOD.replace(",Spring,", ",,"))
    assert job.status == "validated"
    accounts["bluesky"].status = SocialAccountStatus.NEEDS_RECONNECT  # used by rows 3 and 4, after row 2
    accounts["bluesky"].save()

    assert imports.post_import_run(import_id=job.id) == "failed"
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == (
        "Nothing was imported: row 3 (accounts) has changed since the file was checked: "
        "Bluesky @acme.bsky.social needs reconnecting before anything can be published on it."
    )
    assert Post.objects.count() == 0  # row 2's post, made before, was rolled back
    assert Delivery.objects.count() == 0


def test_a_row_whose_time_passed_between_the_check_and_the_import_fails_the_whole_import(
    personas, accounts, time_machine
):
    time_machine.move_to(datetime(2030, 3, 1, 8, 0, tzinfo=UTC), tick=False)
    job = checked(personas.lead, GOOD.replace(",Spring,", ",,"))
    time_machine.move_to(datetime(2030, 3, 1, 9, 0, tzinfo=UTC), tick=False)  # row 2 was due at 08:30 UTC
    assert imports.post_import_run(import_id=job.id) == "failed"
    job.refresh_from_db()
    assert "row 2 (scheduled_at)" in job.error
    assert Post.objects.count() == 0


# --- refused at upload: nothing stored ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"text,accounts\n" + b"x" * (2 * 1024 * 1024), "The file is larger than 2 MB: split it into smaller files."),
        ("text,accounts\nCafé,x:a\n".encode("latin-1"),
         "The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8”."),
        (b"", "The file is empty: it needs a header row and one row per post."),
        (b"PK\x03\x04\x00\x00text,accounts\n",
         "The file is not a CSV text file. Save it from your spreadsheet as “CSV UTF-8”."),
        (b"text,accounts\n\n", "The file has a header but no post."),
        (b"text,accounts\n" + b"Hi,x:a\n" * 5001,
         "The file has 5001 rows; at most 5000 can be imported at once: split it."),
    ],
)  # fmt: skip
def test_a_file_that_cannot_be_imported_is_refused_at_once_and_nothing_is_stored(personas, data, message):
    with pytest.raises(ValidationFailed) as refused:
        imports.post_import_start(actor=personas.lead, file_name="posts.csv", data=data)
    assert refused.value.message == message
    assert PostImport.objects.count() == 0


# --- progress and idempotence ---------------------------------------------------------------------------------------
def test_the_check_counts_its_progress_every_50_rows(personas, accounts):
    content = "text,accounts\n" + "".join(f"Post {n},x:acmehq\n" for n in range(120))
    job = imports.post_import_start(actor=personas.lead, file_name="many.csv", data=content.encode())
    assert (job.rows_total, job.rows_checked) == (120, 0)
    with CaptureQueriesContext(connection) as queries:
        imports.post_import_validate(import_id=job.id)
    counted = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "publishing_postimport"')]
    assert [f'"rows_checked" = {n}' in sql for n, sql in zip((50, 100, 120), counted[1:4], strict=True)] == [True] * 3
    job.refresh_from_db()
    assert (job.status, job.rows_checked, job.rows_good) == ("validated", 120, 120)


def test_the_page_shows_the_imported_rows_counted_while_the_import_runs(personas, accounts, client_for):
    job = checked(personas.lead, "text,accounts\n" + "".join(f"Post {n},x:acmehq\n" for n in range(120)))
    PostImport.objects.filter(id=job.id).update(status="importing")
    from django.core.cache import cache

    cache.set(imports.progress_key(job.id), 50)
    page = client_for(personas.lead).get(reverse("post_import_progress", args=[job.id])).content.decode()
    assert '<progress value="50" max="120"' in page
    assert "50 of 120 posts imported" in page
    assert 'hx-trigger="every 1s"' in page
    cache.delete(imports.progress_key(job.id))


def test_a_redelivered_check_does_nothing_and_a_lost_claim_writes_nothing(personas, accounts):
    job = checked(personas.lead, GOOD.replace(",Spring,", ",,"))
    assert imports.post_import_validate(import_id=job.id) == "skipped"
    PostImport.objects.filter(id=job.id).update(status="importing")  # another run has claimed the import
    assert imports.post_import_run(import_id=job.id) == "skipped"
    assert Post.objects.count() == 0


def test_an_import_that_loses_its_claim_midway_rolls_its_posts_back(personas, accounts):
    job = checked(personas.lead, GOOD.replace(",Spring,", ",,"))

    def competitor(sender, instance, created, **kwargs):  # the sweep handed the job to another run meanwhile
        if created:
            PostImport.objects.filter(id=job.id).update(attempts=F("attempts") + 1)

    post_save.connect(competitor, sender=Post)
    try:
        assert imports.post_import_run(import_id=job.id) == "skipped"
    finally:
        post_save.disconnect(competitor, sender=Post)
    assert Post.objects.count() == 0


def test_the_sweep_restarts_an_import_whose_worker_died(personas, accounts, celery_eager, time_machine):
    job = checked(personas.lead, GOOD.replace(",Spring,", ",,"))
    PostImport.objects.filter(id=job.id).update(status="importing", claimed_until=datetime(2020, 1, 1, tzinfo=UTC))
    assert imports.post_imports_recover() == [job.id]  # eager: the import runs again, from the start
    job.refresh_from_db()
    assert (job.status, job.rows_imported) == ("imported", 3)


def test_a_job_whose_runs_keep_dying_fails_instead_of_being_retried_forever(personas, accounts, celery_eager):
    job = checked(personas.lead, GOOD)
    PostImport.objects.filter(id=job.id).update(
        status="importing", attempts=imports.MAX_ATTEMPTS, claimed_until=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert imports.post_imports_recover() == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "Nothing was imported: the import stopped 5 times. Split the file and try again."


def test_the_import_tasks_may_run_longer_than_the_default_limit_but_not_past_the_jobs_lease():
    from django.conf import settings

    from publishing import tasks

    assert settings.CELERY_TASK_TIME_LIMIT < tasks.IMPORT_TIME_LIMIT < imports.LEASE.total_seconds()
    assert tasks.post_import_run.time_limit == tasks.IMPORT_TIME_LIMIT


def test_the_sweep_sends_again_a_check_whose_enqueue_was_lost(personas, accounts, celery_eager, time_machine):
    time_machine.move_to(datetime(2029, 1, 1, 12, 0, tzinfo=UTC), tick=False)
    job = imports.post_import_start(
        actor=personas.lead, file_name="p.csv", data=GOOD.replace(",Spring,", ",,").encode()
    )
    assert imports.post_imports_recover() == []  # just uploaded: its message may still be on its way
    time_machine.move_to(datetime(2029, 1, 1, 12, 3, tzinfo=UTC), tick=False)
    assert imports.post_imports_recover() == [job.id]  # eager: checked now
    job.refresh_from_db()
    assert job.status == "validated"  # and the import's enqueue lost too (never run on commit in this test)
    time_machine.move_to(datetime(2029, 1, 1, 12, 6, tzinfo=UTC), tick=False)
    assert imports.post_imports_recover() == [job.id]
    job.refresh_from_db()
    assert (job.status, job.rows_imported) == ("imported", 3)


def test_workers_know_the_import_tasks_and_run_them_on_the_default_queue():
    from smms.celery import app

    app.loader.import_default_modules()
    names = {"publishing.tasks.post_import_validate", "publishing.tasks.post_import_run"}
    assert names | {"publishing.tasks.post_imports_recover"} <= set(app.tasks)
    assert {app.amqp.router.route({}, name)["queue"].name for name in names} == {"default"}
    assert app.amqp.router.route({}, "publishing.tasks.delivery_publish")["queue"].name == "publishing"


def test_the_check_starts_after_the_upload_commits_and_the_import_after_the_check(
    personas, accounts, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = imports.post_import_start(
            actor=personas.lead, file_name="posts.csv", data=GOOD.replace(",Spring,", ",,").encode()
        )
    job.refresh_from_db()
    assert job.status == "imported"
    assert Post.objects.filter(post_import=job).count() == 3


# --- roles and organizations --------------------------------------------------------------------------------------
def test_an_analyst_cannot_import(personas, accounts, client_for, api_client_for):
    with pytest.raises(Forbidden):
        imports.post_import_start(actor=personas.analyst, file_name="p.csv", data=GOOD.encode())
    response = client_for(personas.analyst).get(reverse("post_import"))
    assert response.status_code == 403
    assert "Your role (Analyst (read-only)) does not allow you to compose posts." in response.content.decode()
    upload = SimpleUploadedFile("p.csv", GOOD.encode(), content_type="text/csv")
    assert client_for(personas.analyst).post(reverse("post_import"), {"file": upload}).status_code == 403
    upload.seek(0)
    api = api_client_for(personas.analyst)
    assert api.post("/api/v1/post-imports/", {"file": upload}, format="multipart").status_code == 403
    assert PostImport.objects.count() == 0


def test_another_organization_cannot_see_or_import_the_job(personas, accounts, client_for, api_client_for):
    job = checked(personas.lead, BAD)
    outsider = client_for(personas.outsider)
    assert outsider.get(reverse("post_import_detail", args=[job.id])).status_code == 404
    assert outsider.get(reverse("post_import_progress", args=[job.id])).status_code == 404
    assert outsider.post(reverse("post_import_good_rows", args=[job.id])).status_code == 404
    api = api_client_for(personas.outsider)
    assert api.get(f"/api/v1/post-imports/{job.id}/").status_code == 404
    assert api.post(f"/api/v1/post-imports/{job.id}/import-good-rows/").status_code == 404
    with pytest.raises(NotFound):
        imports.post_import_good_rows(post_import=job, actor=personas.outsider)
    job.refresh_from_db()
    assert job.status == "invalid"
    assert "Acme" not in client_for(personas.outsider).get(reverse("post_import")).content.decode()


# --- pages ----------------------------------------------------------------------------------------------------------
def test_the_upload_page_checks_the_file_and_shows_the_report_with_hostile_text_as_text(
    personas, accounts, client_for, django_capture_on_commit_callbacks
):
    client = client_for(personas.agent)
    page = client.get(reverse("publishing")).content.decode()
    assert reverse("post_import") in page
    hostile = "text,accounts\n<script>alert(1)</script>,x:<img src=x onerror=alert(2)>\n"
    upload = SimpleUploadedFile("<i>posts.csv", hostile.encode(), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("post_import"), {"file": upload})
    job = PostImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("post_import_detail", args=[job.id])
    live = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in live  # checking: the page polls

    imports.post_import_validate(import_id=job.id)
    page = client.get(reverse("post_import_progress", args=[job.id])).content.decode()
    assert "hx-trigger" not in page
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "<i>posts" not in page
    assert "No X account @&lt;img src=x onerror=alert(2)&gt; in this organization." in page
    assert '<progress value="1" max="1"' in page
    assert "100 %" in page
    assert "Import the" not in page  # no good row to import
    detail = client.get(reverse("post_import_detail", args=[job.id])).content.decode()
    assert "&lt;i&gt;posts.csv" in detail
    assert "<i>posts" not in detail


def test_the_good_rows_button_imports_them_and_the_page_lists_the_posts(
    personas, accounts, client_for, celery_eager, django_capture_on_commit_callbacks
):
    job = checked(personas.lead, BAD.replace("Second good one", "<script>alert(3)</script>"))
    client = client_for(personas.lead)
    page = client.get(reverse("post_import_detail", args=[job.id])).content.decode()
    assert "Nothing was imported: 5 rows have problems." in page
    assert page.count('data-testid="import-problem"') == 11
    assert "Import the 2 good rows only" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("post_import_good_rows", args=[job.id]))
    assert response.status_code == 302
    page = client.get(reverse("post_import_detail", args=[job.id])).content.decode()
    assert "2 posts imported." in page
    assert page.count('data-testid="imported-post"') == 2
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert "<script>alert(3)" not in page


def test_the_upload_page_explains_the_columns_as_text(personas, client_for):
    page = client_for(personas.agent).get(reverse("post_import")).content.decode()
    assert "<code>text_&lt;network&gt;</code>" in page
    assert "<network>" not in page
    assert reverse("post_import_template") in page


def test_the_job_page_costs_the_same_queries_for_few_or_many_posts(personas, accounts, client_for):
    def queries_for(rows: int) -> int:
        body = "".join(f"Post {n},mastodon:acme;x:acmehq\n" for n in range(rows))
        job = imported(personas.lead, "text,accounts\n" + body)
        client = client_for(personas.lead)
        with CaptureQueriesContext(connection) as queries:
            page = client.get(reverse("post_import_progress", args=[job.id])).content.decode()
        assert page.count('data-testid="imported-post"') == rows
        return len(queries)

    assert queries_for(2) == queries_for(8)


def test_a_refused_upload_shows_why_on_the_form(personas, client_for):
    upload = SimpleUploadedFile("p.csv", "Café".encode("latin-1"), content_type="text/csv")
    response = client_for(personas.agent).post(reverse("post_import"), {"file": upload})
    assert response.status_code == 200
    assert "The file is not UTF-8 text." in response.content.decode()
    assert PostImport.objects.count() == 0


def test_the_example_csv_is_a_file_the_import_reads(personas, client_for):
    response = client_for(personas.agent).get(reverse("post_import_template"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufefftext,accounts,scheduled_at".encode())
    header, records = imports._records(response.content.decode("utf-8-sig"))
    assert set(header) <= set(imports.COLUMNS)
    assert len(records) == 3


# --- API ------------------------------------------------------------------------------------------------------------
def test_the_api_uploads_reports_and_imports_the_good_rows(
    personas, accounts, api_key_client, celery_eager, django_capture_on_commit_callbacks
):
    api = api_key_client(personas.owner, ["publishing:read", "publishing:write"])
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/v1/post-imports/",
            {"file": SimpleUploadedFile("bad.csv", BAD.encode(), content_type="text/csv")},
            format="multipart",
        )
    assert created.status_code == 201, created.content
    job_id = created.json()["id"]
    body = api.get(f"/api/v1/post-imports/{job_id}/").json()
    assert (body["status"], body["rows_total"], body["rows_good"], body["posts"]) == ("invalid", 7, 2, [])
    first = {"row": 3, "column": "accounts", "message": "No X account @nobody in this organization."}
    assert body["report"][0] == first
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(f"/api/v1/post-imports/{job_id}/import-good-rows/")
    assert answer.status_code == 202
    body = api.get(f"/api/v1/post-imports/{job_id}/").json()
    assert (body["status"], body["rows_imported"]) == ("imported", 2)
    assert sorted(body["posts"]) == sorted(Post.objects.values_list("id", flat=True))
    again = api.post(f"/api/v1/post-imports/{job_id}/import-good-rows/")
    assert again.status_code == 409


def test_the_api_refuses_a_bad_file_and_a_read_only_key(personas, api_key_client):
    writer = api_key_client(personas.owner, ["publishing:write"])
    refused = writer.post(
        "/api/v1/post-imports/",
        {"file": SimpleUploadedFile("p.csv", b"", content_type="text/csv")},
        format="multipart",
    )
    assert refused.status_code == 400
    reader = api_key_client(personas.owner, ["publishing:read"])
    upload = SimpleUploadedFile("p.csv", GOOD.encode(), content_type="text/csv")
    assert reader.post("/api/v1/post-imports/", {"file": upload}, format="multipart").status_code == 403
    assert PostImport.objects.count() == 0


# --- a real worker ------------------------------------------------------------------------------------------------
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_and_imports_the_uploaded_file(personas, accounts, client_for, settings, tmp_path):
    from smms.celery import app
    from tests.subprocesses import start_worker, stop, wait_for, worker_env

    app.control.purge()  # leftovers of earlier runs must not be mistaken for this test's tasks
    env = worker_env()
    worker = start_worker(env, queues="default", log=tmp_path / "worker.log")
    try:
        client = client_for(personas.lead)
        upload = SimpleUploadedFile("posts.csv", GOOD.replace(",Spring,", ",,").encode(), content_type="text/csv")
        client.post(reverse("post_import"), {"file": upload})
        job = PostImport.objects.get()

        def done() -> bool:
            job.refresh_from_db()
            return job.status in ("imported", "failed", "invalid")

        wait_for(done, timeout=60, what="the worker to check and import the file", proc=worker)
        assert (job.status, job.rows_imported) == ("imported", 3)
        assert Post.objects.filter(post_import=job).count() == 3
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text()[-3000:])
