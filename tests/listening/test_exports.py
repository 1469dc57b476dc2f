"""CSV exports of a topic's mentions: a worker writes them in chunks while the page shows the progress; they hold
exactly what the page's filters select, are safe to open in a spreadsheet, survive a rerun or a dead worker,
belong to one organization, and are deleted after a week."""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from listening import exports, services
from listening.models import ExportStatus, Mention, MentionExport, Topic, TopicMention
from listening.selectors import MentionFilters

BOM = b"\xef\xbb\xbf"
_ids = itertools.count(1)


def add_mention(topic: Topic, *, text: str = "Une lampe", lang: str = "fr", sentiment: str = "neutral",
                network: str = "mastodon", author: str = "claire", minutes_ago: int = 0) -> Mention:  # fmt: skip
    """A mention stored and linked to the topic, as ingestion leaves it."""
    published = timezone.now() - timedelta(minutes=minutes_ago)
    mention = Mention.objects.create(
        organization=topic.organization, platform=network, external_id=f"e-{next(_ids)}", kind="mention",
        author_id="1", author_handle=author, text=text, lang=lang, sentiment=sentiment, published_at=published,
        permalink="https://mastodon.example/@claire/1",
    )  # fmt: skip
    TopicMention.objects.create(
        topic=topic, mention=mention, published_at=published, platform=network, lang=lang, sentiment=sentiment
    )
    return mention


def csv_rows(export: MentionExport) -> list[list[str]]:
    """The export's file as a spreadsheet reads it: UTF-8 with a BOM, then the header and the rows."""
    export.refresh_from_db()
    with export.file.open("rb") as f:
        raw = f.read()
    assert raw.startswith(BOM)
    return list(csv.reader(io.StringIO(raw[len(BOM) :].decode("utf-8"))))


def export_of(actor, topic: Topic, **filters) -> MentionExport:
    export = exports.export_start(actor=actor, topic=topic, filters=MentionFilters(**filters))
    assert exports.export_run(export_id=export.id)
    export.refresh_from_db()
    return export


@pytest.fixture
def topic(personas) -> Topic:
    return Topic.objects.create(organization=personas.org, name="Maison Lumière", query="lumière")


# --- what the file holds -------------------------------------------------------------------------------------
def test_the_export_holds_exactly_the_mentions_the_filters_select(personas, topic):
    wanted = [
        add_mention(topic, text="Très déçue : la lampe clignote déjà", sentiment="negative", minutes_ago=3),
        add_mention(topic, text="Livraison ratée, SAV injoignable", sentiment="negative", minutes_ago=1),
    ]
    add_mention(topic, text="J'adore ma lampe", sentiment="positive")
    add_mention(topic, text="Worst lamp ever", lang="en", sentiment="negative")
    add_mention(topic, text="Bof, pas terrible", sentiment="negative", network="bluesky")
    # A person's correction wins over the model, in both directions.
    corrected_in = add_mention(topic, text="Pas terrible du tout", sentiment="neutral", minutes_ago=2)
    services.mention_correct_sentiment(mention=corrected_in, sentiment="negative", actor=personas.lead)
    corrected_out = add_mention(topic, text="Mortel, cette lampe", sentiment="negative")
    services.mention_correct_sentiment(mention=corrected_out, sentiment="positive", actor=personas.lead)
    other_topic = Topic.objects.create(organization=personas.org, name="Concurrent", query="concurrent")
    add_mention(other_topic, text="Déçue aussi", sentiment="negative")

    export = export_of(personas.analyst, topic, lang="fr", sentiment="negative", network="mastodon")

    header, *rows = csv_rows(export)
    assert header == ["published_at", "network", "author", "lang", "sentiment", "text", "url"]
    assert [row[5] for row in rows] == [  # newest first, like the page
        "Livraison ratée, SAV injoignable",
        "Pas terrible du tout",
        "Très déçue : la lampe clignote déjà",
    ]
    assert {(row[1], row[3], row[4]) for row in rows} == {("mastodon", "fr", "negative")}
    assert rows[2][0] == wanted[0].published_at.isoformat()
    assert rows[2][6] == "https://mastodon.example/@claire/1"
    assert export.filters == {"network": "mastodon", "lang": "fr", "sentiment": "negative"}


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(personas, topic):
    hostile = ['=HYPERLINK("http://evil.example","clic")', "+33 6 12 34 56 78", "-2+3", "@SUM(A1:A9)", "\t=1+1"]
    for i, text in enumerate(hostile):
        add_mention(topic, text=text, minutes_ago=i)
    add_mention(topic, text="Une remarque sans danger", author="=cmd|' /C calc'!A0", minutes_ago=10)

    _header, *rows = csv_rows(export_of(personas.owner, topic))

    assert [row[5] for row in rows] == ["'" + text for text in hostile] + ["Une remarque sans danger"]
    assert rows[-1][2] == "'=cmd|' /C calc'!A0"


# --- progress and runs ---------------------------------------------------------------------------------------
def test_progress_is_recorded_after_every_chunk_and_ends_complete(personas, topic):
    for i in range(5):
        add_mention(topic, minutes_ago=i)
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())
    assert (export.status, export.rows_done, export.rows_total) == (ExportStatus.QUEUED, 0, None)

    with CaptureQueriesContext(connection) as queries:
        assert exports.export_run(export_id=export.id, chunk_size=2)

    progress = [int(n) for q in queries for n in re.findall(r'"rows_done" = (\d+)', q["sql"])]
    assert progress == [0, 2, 4, 5, 5]  # claimed, three chunks, finished
    export.refresh_from_db()
    assert (export.status, export.rows_done, export.rows_total) == (ExportStatus.DONE, 5, 5)
    assert export.finished_at is not None
    assert len(csv_rows(export)) == 1 + 5


def test_a_rerun_of_a_finished_export_changes_nothing(personas, topic, celery_eager):
    from listening.export_tasks import export_run

    add_mention(topic)
    export = export_of(personas.analyst, topic)
    before = MentionExport.objects.filter(id=export.id).values().get()

    assert export_run.delay(export.id).get() is False  # a second delivery of the task

    assert MentionExport.objects.filter(id=export.id).values().get() == before
    assert len(csv_rows(export)) == 2


def test_a_run_that_died_is_restarted_from_the_start_once_its_lease_ran_out(personas, topic):
    for i in range(3):
        add_mention(topic, minutes_ago=i)
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())
    died = {"status": ExportStatus.RUNNING, "attempts": 1, "rows_total": 3, "rows_done": 2}
    MentionExport.objects.filter(id=export.id).update(**died, claimed_until=timezone.now() + timedelta(seconds=30))

    assert exports.export_run(export_id=export.id) is False  # its lease still runs: it may be alive
    assert MentionExport.objects.filter(id=export.id, **died).exists()

    MentionExport.objects.filter(id=export.id).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert exports.export_run(export_id=export.id) is True

    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_done, export.rows_total) == (ExportStatus.DONE, 2, 3, 3)
    assert len(csv_rows(export)) == 1 + 3


def test_a_run_that_lost_its_claim_leaves_the_export_to_the_run_that_took_it(personas, topic, monkeypatch):
    for i in range(5):
        add_mention(topic, minutes_ago=i)
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())
    real_chunks = exports._chunks

    def another_run_takes_over_after_the_first_chunk(links, size):
        for i, chunk in enumerate(real_chunks(links, size)):
            if i == 1:
                MentionExport.objects.filter(id=export.id).update(attempts=F("attempts") + 1, rows_done=0)
            yield chunk

    monkeypatch.setattr(exports, "_chunks", another_run_takes_over_after_the_first_chunk)

    assert exports.export_run(export_id=export.id, chunk_size=2) is False

    export.refresh_from_db()
    assert (export.status, export.attempts, export.rows_done, export.file.name) == (ExportStatus.RUNNING, 2, 0, "")
    assert not default_storage.exists("exports")  # the loser stored nothing


def test_a_run_that_breaks_shows_as_failed_instead_of_running_forever(personas, topic, monkeypatch, client_for):
    add_mention(topic)
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())

    def broken(links, size):
        raise OSError("disk full")
        yield

    monkeypatch.setattr(exports, "_chunks", broken)
    assert exports.export_run(export_id=export.id) is False

    export.refresh_from_db()
    assert (export.status, export.error) == (ExportStatus.FAILED, "OSError: disk full")
    page = client_for(personas.analyst).get(reverse("export_progress", args=[export.id])).content.decode()
    assert "The export failed." in page
    assert "hx-trigger" not in page


def test_asking_twice_for_the_same_export_shares_the_one_under_way(personas, topic):
    first = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters(lang="fr"))
    again = exports.export_start(actor=personas.owner, topic=topic, filters=MentionFilters(lang="fr"))
    other = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters(lang="en"))
    assert again.id == first.id
    assert other.id != first.id

    exports.export_run(export_id=first.id)
    later = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters(lang="fr"))
    assert later.id != first.id  # a finished export is a snapshot; asking later writes a new one


def test_lost_and_dead_runs_are_sent_again_by_the_sweep_and_hopeless_ones_given_up(
    personas, topic, monkeypatch, django_capture_on_commit_callbacks
):
    now = timezone.now()
    make = [exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters(author=f"a{i}"))
            for i in range(5)]  # fmt: skip
    lost, _fresh, dead, alive, hopeless = (e.id for e in make)

    def state(export_id, **fields):
        MentionExport.objects.filter(id=export_id).update(**fields)

    state(lost, created_at=now - timedelta(minutes=3))  # queued, and no worker ever took it
    state(dead, status="running", attempts=1, claimed_until=now - timedelta(seconds=1))
    state(alive, status="running", attempts=1, claimed_until=now + timedelta(minutes=1))
    state(hopeless, status="running", attempts=3, claimed_until=now - timedelta(seconds=1))
    sent: list[int] = []
    monkeypatch.setattr("listening.export_tasks.export_run.delay", sent.append)

    with django_capture_on_commit_callbacks(execute=True):
        assert sorted(exports.exports_sweep(now=now)) == sorted([lost, dead])

    assert sorted(sent) == sorted([lost, dead])
    assert MentionExport.objects.get(id=hopeless).status == ExportStatus.FAILED
    assert MentionExport.objects.get(id=alive).status == ExportStatus.RUNNING


def test_exports_older_than_a_week_are_deleted_with_their_file(personas, topic):
    add_mention(topic)
    old = export_of(personas.analyst, topic, lang="fr")
    recent = export_of(personas.analyst, topic, lang="en")
    MentionExport.objects.filter(id=recent.id).update(created_at=timezone.now() + timedelta(days=2))
    # Stored by a run that died before recording it, or left when its topic was deleted: no row points to it.
    orphan = default_storage.save(f"exports/{personas.org.id}/gone/topic-9-mentions.csv", ContentFile("x"))

    assert exports.exports_purge(now=timezone.now() + timedelta(days=7, minutes=1)) == 1

    assert list(MentionExport.objects.values_list("id", flat=True)) == [recent.id]
    assert not default_storage.exists(old.file.name)
    assert not default_storage.exists(orphan)
    assert default_storage.exists(recent.file.name)


# --- the pages ------------------------------------------------------------------------------------------------
def test_an_analyst_exports_from_the_topic_page_and_downloads_the_file(
    personas, topic, client_for, celery_eager, django_capture_on_commit_callbacks
):
    add_mention(topic, text="Très déçue", lang="fr", sentiment="negative")
    add_mention(topic, text="Great lamp", lang="en", sentiment="positive")
    client = client_for(personas.analyst)

    with django_capture_on_commit_callbacks(execute=True):  # the worker's turn, inline
        response = client.post(f"{reverse('export_start', args=[topic.id])}?lang=fr&sentiment=negative")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('topic_detail', args=[topic.id])}?lang=fr&sentiment=negative#exports"
    export = MentionExport.objects.get()
    assert (export.requested_by, export.status) == (personas.analyst.user, ExportStatus.DONE)
    page = client.get(reverse("topic_detail", args=[topic.id])).content.decode()
    assert reverse("export_download", args=[export.id]) in page

    download = client.get(reverse("export_download", args=[export.id]))
    assert download.status_code == 200
    expected_name = f"topic-{topic.id}-mentions-{timezone.localdate(export.created_at):%Y-%m-%d}.csv"
    assert download["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    body = b"".join(download.streaming_content)
    assert body.startswith(BOM)
    assert "Très déçue" in body.decode("utf-8-sig")
    assert "Great lamp" not in body.decode("utf-8-sig")


def test_with_htmx_the_list_of_exports_is_swapped_in_place(personas, topic, client_for):
    response = client_for(personas.analyst).post(reverse("export_start", args=[topic.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<ul id="exports"')
    assert "Waiting for a worker…" in page


def test_the_progress_polls_every_second_while_running_and_offers_the_file_when_done(personas, topic, client_for):
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())
    MentionExport.objects.filter(id=export.id).update(status="running", rows_done=12000, rows_total=48000)
    client = client_for(personas.analyst)

    running = client.get(reverse("export_progress", args=[export.id])).content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert '<progress value="12000" max="48000"' in running
    assert "12,000 of 48,000 rows" in running

    add_mention(topic)
    MentionExport.objects.filter(id=export.id).update(status="queued", claimed_until=None)
    exports.export_run(export_id=export.id)
    done = client.get(reverse("export_progress", args=[export.id])).content.decode()
    assert "hx-trigger" not in done
    assert reverse("export_download", args=[export.id]) in done
    assert "1 row" in done


def test_another_organization_gets_404_for_the_progress_and_the_download(personas, topic, client_for):
    add_mention(topic)
    export = export_of(personas.analyst, topic)
    outsider = client_for(personas.outsider)
    assert outsider.get(reverse("export_progress", args=[export.id])).status_code == 404
    assert outsider.get(reverse("export_download", args=[export.id])).status_code == 404
    assert outsider.post(reverse("export_start", args=[topic.id])).status_code == 404
    assert MentionExport.objects.count() == 1


def test_a_file_not_ready_yet_is_not_found(personas, topic, client_for):
    export = exports.export_start(actor=personas.analyst, topic=topic, filters=MentionFilters())
    assert client_for(personas.analyst).get(reverse("export_download", args=[export.id])).status_code == 404


# --- wiring ---------------------------------------------------------------------------------------------------
def test_workers_know_the_export_tasks_and_run_them_on_the_default_queue():
    from smms.celery import app

    app.loader.import_default_modules()  # what a worker does at start
    assert {"listening.exports.run", "listening.exports.sweep", "listening.exports.purge"} <= set(app.tasks)
    assert app.amqp.router.route({}, "listening.exports.run")["queue"].name == "default"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_the_export_the_page_asked_for(personas, topic, client_for, settings, tmp_path):
    from smms.celery import app
    from tests.subprocesses import start_worker, stop, wait_for, worker_env

    app.control.purge()  # leftovers of earlier runs must not be mistaken for this test's task
    add_mention(topic, text="Très déçue", sentiment="negative")
    env = worker_env(
        MEDIA_ROOT=settings.MEDIA_ROOT,  # the web side and the worker share the files
    )
    worker = start_worker(env, queues="default", log=tmp_path / "worker.log")
    try:
        client = client_for(personas.analyst)
        client.post(reverse("export_start", args=[topic.id]))
        export = MentionExport.objects.get()

        def ready() -> bool:
            export.refresh_from_db()
            return export.status == ExportStatus.DONE

        wait_for(ready, timeout=60, what="the worker to write the export", proc=worker)
        body = b"".join(client.get(reverse("export_download", args=[export.id])).streaming_content)
        assert "Très déçue" in body.decode("utf-8-sig")
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text()[-3000:])
