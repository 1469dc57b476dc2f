"""The listening API: topics with validated queries, mentions for CRMs, scopes and isolation."""

from __future__ import annotations

from django.utils import timezone

from listening.models import Mention, TopicMention
from listening.services import topic_save


def test_topics_are_created_with_a_validated_query(personas, api_key_client):
    client = api_key_client(personas.admin, ["listening:read", "listening:write"])
    created = client.post("/api/v1/topics/", {"name": "X2", "query": '"Lumière X2" lang:fr'}, format="json")
    assert created.status_code == 201
    bad = client.post("/api/v1/topics/", {"name": "Bad", "query": "x AND"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"query": ["AND needs a term after it (at character 3)"]}


def test_a_read_key_cannot_change_topics(personas, api_key_client):
    client = api_key_client(personas.admin, ["listening:read"])
    assert client.post("/api/v1/topics/", {"name": "X2", "query": "x"}, format="json").status_code == 403


def test_a_topics_mentions_are_listed_with_filters(personas, api_key_client):
    topic = topic_save(actor=personas.admin, name="X2", query="x2")
    for i, (lang, sentiment) in enumerate([("fr", "negative"), ("fr", "positive"), ("en", "negative")]):
        mention = Mention.objects.create(
            organization=personas.org, platform="x", external_id=str(i), kind="mention", author_id="a",
            author_handle="a", text="x2", lang=lang, sentiment=sentiment, published_at=timezone.now(),
        )  # fmt: skip
        TopicMention.objects.create(topic=topic, mention=mention, published_at=mention.published_at,
                                    platform="x", lang=lang, sentiment=sentiment)  # fmt: skip
    client = api_key_client(personas.admin, ["listening:read"])
    page = client.get(f"/api/v1/topics/{topic.id}/mentions/?lang=fr&sentiment=negative").json()
    assert [m["external_id"] for m in page["results"]] == ["0"]
    assert client.get("/api/v1/mentions/").json()["results"][0]["text"] == "x2"
