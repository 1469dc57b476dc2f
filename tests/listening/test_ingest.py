"""The ingestion pipeline against the simulator: poll → normalize → dedupe → language → sentiment → store."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from listening import services
from listening.models import Mention, PollCursor, QuarantinedItem, TopicBucket, TopicMention
from tests.accounts.test_connections import connect_mastodon


def setup_stream(personas):
    account = connect_mastodon(personas)
    services.poll_cursors_ensure()
    return account, PollCursor.objects.get(account=account, stream="mentions")


def sim_mentions(simulator, account) -> set[str]:
    return {p["id"] for p in simulator.posts("mastodon") if account.remote_id in p["mentions"]}


def test_a_poll_stores_every_mention_once_with_language_and_sentiment(personas, simulator):
    account, cursor = setup_stream(personas)
    services.account_poll(cursor_id=cursor.id)  # first poll sets the cursor
    simulator.generate(platform="mastodon", count=120, kind="mention", target="maisonlumiere", lang="fr",
                       sentiment="negative", hostile_rate=0)  # fmt: skip
    simulator.generate(platform="mastodon", count=30, kind="mention", target="maisonlumiere", lang="en",
                       sentiment="positive", hostile_rate=0)  # fmt: skip
    result = services.account_poll(cursor_id=cursor.id)
    assert result.stored == 150
    stored = Mention.objects.filter(organization=personas.org, platform="mastodon")
    assert set(stored.values_list("external_id", flat=True)) == sim_mentions(simulator, account)
    assert stored.filter(lang="fr").count() >= 110
    assert stored.filter(lang="en").count() >= 25
    # Every English and French mention is scored by its language's model (accuracy: `evaluate`, issue 5).
    scored = stored.filter(lang__in=["en", "fr"])
    assert not scored.filter(sentiment_score__isnull=True).exists()
    assert set(scored.values_list("sentiment", flat=True)) <= {"positive", "neutral", "negative"}
    assert (
        stored.filter(lang="en", sentiment="positive").count() > stored.filter(lang="en", sentiment="negative").count()
    )
    assert services.account_poll(cursor_id=cursor.id).stored == 0  # nothing new, nothing twice


def test_a_page_ingested_twice_is_stored_once(personas, simulator):
    account, cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=10, kind="mention", target="maisonlumiere")
    from accounts.services import social_account_connector

    connector, ref = social_account_connector(account=account)
    page = connector.fetch_mentions(ref, None)
    first = services.mentions_ingest(account=account, stream="mentions", page=page)
    again = services.mentions_ingest(account=account, stream="mentions", page=page)
    assert (first.stored, again.stored, again.duplicates) == (10, 0, 10)
    assert PollCursor.objects.get(id=cursor.id).cursor == page.cursor


def test_a_crash_before_storing_loses_nothing(personas, simulator):
    account, cursor = setup_stream(personas)
    services.account_poll(cursor_id=cursor.id)
    simulator.generate(platform="mastodon", count=45, kind="mention", target="maisonlumiere")
    from accounts.services import social_account_connector

    connector, ref = social_account_connector(account=account)
    connector.fetch_mentions(ref, PollCursor.objects.get(id=cursor.id).cursor)  # fetched, then the worker died
    services.account_poll(cursor_id=cursor.id)
    stored = set(Mention.objects.filter(platform="mastodon").values_list("external_id", flat=True))
    assert stored == sim_mentions(simulator, account)


def test_topics_collect_matching_mentions_and_count_buckets(personas, simulator):
    topic = services.topic_save(actor=personas.lead, name="X2", query='"Lumière X2" lang:fr')
    _account, cursor = setup_stream(personas)
    services.account_poll(cursor_id=cursor.id)
    simulator.generate(platform="mastodon", count=20, kind="mention", target="maisonlumiere", lang="fr",
                       product="Lumière X2", sentiment="negative", hostile_rate=0)  # fmt: skip
    simulator.generate(platform="mastodon", count=20, kind="mention", target="maisonlumiere", lang="en",
                       product="Lumière X2", hostile_rate=0)  # fmt: skip
    services.account_poll(cursor_id=cursor.id)
    linked = TopicMention.objects.filter(topic=topic)
    assert linked.count() == Mention.objects.filter(lang="fr", text__icontains="Lumière X2").count() >= 18
    assert sum(TopicBucket.objects.filter(topic=topic).values_list("volume", flat=True)) == linked.count()
    negatives = sum(TopicBucket.objects.filter(topic=topic).values_list("negative", flat=True))
    assert negatives == linked.filter(sentiment="negative").count()


def test_malformed_items_are_quarantined_with_their_reason(personas, simulator):
    _account, cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=4, kind="mention", target="maisonlumiere", malformed_rate=1)
    simulator.generate(platform="mastodon", count=3, kind="mention", target="maisonlumiere")
    services.account_poll(cursor_id=cursor.id)
    assert Mention.objects.count() == 3
    assert QuarantinedItem.objects.count() == 4
    assert all(q.reason for q in QuarantinedItem.objects.all())


def test_hostile_text_is_stored_as_it_was_written(personas, simulator):
    _account, cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=20, kind="mention", target="maisonlumiere", hostile_rate=1)
    services.account_poll(cursor_id=cursor.id)
    assert Mention.objects.filter(text__contains="<script>").exists()


def test_a_rate_limited_poll_waits_until_the_reset(personas, simulator):
    _account, cursor = setup_stream(personas)
    simulator.faults({"kind": "rate_limit", "platform": "mastodon", "count": 1, "retry_after": 120})
    assert services.account_poll(cursor_id=cursor.id) is None
    cursor.refresh_from_db()
    assert 100 < (cursor.next_poll_at - timezone.now()).total_seconds() <= 121
    assert "rate limited" in cursor.last_error.lower() or "429" in cursor.last_error


def test_a_revoked_account_is_flagged_and_no_longer_polled(personas, simulator, celery_eager):
    account, cursor = setup_stream(personas)
    simulator.revoke(platform="mastodon", user_id=account.remote_id)
    services.account_poll(cursor_id=cursor.id)
    account.refresh_from_db()
    assert account.status == "needs_reconnect"
    assert cursor.id not in services.polls_due()


def test_a_claimed_stream_is_not_polled_twice(personas, simulator):
    _account, cursor = setup_stream(personas)
    PollCursor.objects.filter(id=cursor.id).update(claimed_until=datetime(2999, 1, 1, tzinfo=UTC))
    assert services.account_poll(cursor_id=cursor.id) is None
    assert cursor.id not in services.polls_due()


def test_a_bad_topic_query_is_refused_with_its_position(personas):
    import pytest

    from smms.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as error:
        services.topic_save(actor=personas.lead, name="Bad", query="lumière AND")
    assert "at character 9" in error.value.message


def search_cursor(account, topic_query: str):
    return PollCursor.objects.get(account=account, stream=services.search_stream(
        services._search_query(topic_query, account.platform)))  # fmt: skip


def test_a_new_topic_searches_the_network_and_backfills_what_was_said_before(personas, simulator):
    account = connect_mastodon(personas)
    # Posts about the product from people who do not mention the brand account: only search finds them.
    simulator.generate(platform="mastodon", count=30, kind="mention", target="lumiere_uk", product="Lumière X2",
                       lang="fr", hostile_rate=0)  # fmt: skip
    topic = services.topic_save(actor=personas.lead, name="X2", query='"Lumière X2"')
    services.poll_cursors_ensure()
    search = search_cursor(account, topic.query)
    assert search.query == '"Lumière X2"'
    result = services.account_poll(cursor_id=search.id)
    assert result.stored >= 25
    linked = TopicMention.objects.filter(topic=topic)
    assert linked.count() == result.stored
    assert all("lumière x2" in m.text.lower() for m in Mention.objects.filter(topic_mentions__topic=topic))


def test_topics_asking_a_network_the_same_thing_share_one_search(personas, simulator):
    account = connect_mastodon(personas)
    services.topic_save(actor=personas.lead, name="Brand", query="lumière")
    services.topic_save(actor=personas.lead, name="Brand in French", query="lumière lang:fr")
    services.poll_cursors_ensure()
    assert PollCursor.objects.filter(account=account, stream__startswith="search:").count() == 1


def test_a_topic_limited_to_another_network_gets_no_search_stream(personas, simulator):
    account = connect_mastodon(personas)
    services.topic_save(actor=personas.lead, name="X only", query="lumière network:x")
    services.poll_cursors_ensure()
    assert not PollCursor.objects.filter(account=account, stream__startswith="search:").exists()


def test_a_deleted_topic_stops_its_search(personas, simulator):
    account = connect_mastodon(personas)
    topic = services.topic_save(actor=personas.lead, name="Gone", query="lumière")
    services.poll_cursors_ensure()
    search = search_cursor(account, topic.query)
    topic.delete()
    services.poll_cursors_ensure()
    assert not PollCursor.objects.filter(id=search.id).exists()


def test_a_new_topic_is_matched_against_what_is_already_stored(personas, simulator):
    _account, cursor = setup_stream(personas)
    before = services.topic_save(actor=personas.lead, name="Before", query="lumi* OR x2")
    simulator.generate(platform="mastodon", count=30, kind="mention", target="maisonlumiere", hostile_rate=0)
    services.account_poll(cursor_id=cursor.id)  # links the mentions to the topic that existed then
    expected = set(TopicMention.objects.filter(topic=before).values_list("mention_id", flat=True))
    assert 0 < len(expected) < Mention.objects.filter(organization=personas.org).count() + 1

    after = services.topic_save(actor=personas.lead, name="After", query="lumi* OR x2")
    assert services.topic_rematch(topic_id=after.id) == len(expected)
    assert set(TopicMention.objects.filter(topic=after).values_list("mention_id", flat=True)) == expected
    assert sum(TopicBucket.objects.filter(topic=after).values_list("volume", flat=True)) == len(expected)
    assert services.topic_rematch(topic_id=after.id) == len(expected)  # again: replaced, not added
    assert sum(TopicBucket.objects.filter(topic=after).values_list("volume", flat=True)) == len(expected)


def test_changing_a_query_relinks_the_stored_mentions(personas, simulator, django_capture_on_commit_callbacks,
                                                       celery_eager):  # fmt: skip
    _account, cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=20, kind="mention", target="maisonlumiere", hostile_rate=0)
    services.account_poll(cursor_id=cursor.id)
    with django_capture_on_commit_callbacks(execute=True):
        topic = services.topic_save(actor=personas.lead, name="Narrow", query="zzzunheardof")
    assert not TopicMention.objects.filter(topic=topic).exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.topic_save(actor=personas.lead, topic=topic, name="Narrow", query="maisonlumiere")
    assert TopicMention.objects.filter(topic=topic).count() == Mention.objects.filter(
        organization=personas.org, text__icontains="maisonlumiere").count() > 0  # fmt: skip
