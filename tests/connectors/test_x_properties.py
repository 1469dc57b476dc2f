"""Properties of the X connector: its tweet normalizer survives any JSON, and its text check follows X's
documented counting rules (shared/platforms/x.md, section g)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.platforms.x import weighted_length as simulator_weighted_length
from smms.connectors.endpoints import platform_config
from smms.connectors.errors import MalformedPayload
from smms.connectors.types import Author, InteractionKind
from smms.connectors.x import XConnector, x_text

CONNECTOR = XConnector(platform_config("x", simulator="http://127.0.0.1:9"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
tweet_keys = st.sampled_from(["id", "text", "author_id", "created_at", "referenced_tweets", "conversation_id", "lang"])
tweet_like = st.dictionaries(tweet_keys, json_values, max_size=7) | st.fixed_dictionaries(
    {
        "id": st.one_of(st.from_regex(r"\A[0-9]{1,19}\Z"), json_values),
        "text": st.one_of(st.text(max_size=60), json_values),
        "author_id": st.one_of(st.from_regex(r"\A[0-9]{1,19}\Z"), json_values),
        "created_at": st.one_of(st.just("2026-03-01T10:00:00.000Z"), st.integers(), json_values),
        "referenced_tweets": st.one_of(
            st.lists(st.fixed_dictionaries({"type": st.sampled_from(["replied_to", "quoted"]), "id": json_values})),
            json_values,
        ),
    }
)


@given(st.one_of(json_values, tweet_like))
@settings(max_examples=400, deadline=None)
def test_the_tweet_normalizer_raises_nothing_but_malformed_payload(raw):
    try:
        item = CONNECTOR.normalize_tweet(raw, {})
    except MalformedPayload:
        return
    assert item.remote_id.isdigit()
    assert isinstance(item.text, str)
    assert item.created_at.tzinfo is not None


@given(st.lists(st.one_of(json_values, tweet_like), max_size=8))
@settings(max_examples=150, deadline=None)
def test_a_page_of_arbitrary_items_is_split_into_items_and_quarantine(raw_items):
    items, quarantined = CONNECTOR.normalize_page(raw_items, lambda raw: CONNECTOR.normalize_tweet(raw, {}))
    assert len(items) + len(quarantined) == len(raw_items)


def test_a_well_formed_reply_is_normalized_with_its_author_and_unescaped_text():
    raw = {
        "id": "1445880548472328192",
        "text": "@maisonlumiere &lt;b&gt;top&lt;/b&gt; &amp; merci",
        "author_id": "2244994945",
        "created_at": "2020-05-12T19:44:51.000Z",
        "conversation_id": "1445880548472328100",
        "referenced_tweets": [{"type": "replied_to", "id": "1445880548472328100"}],
        "lang": "fr",
    }
    author = Author(id="2244994945", handle="XDevelopers", display_name="Developers")
    item = CONNECTOR.normalize_tweet(raw, {"2244994945": author})
    assert item.kind is InteractionKind.REPLY
    assert item.text == "@maisonlumiere <b>top</b> & merci"
    assert item.in_reply_to_id == item.root_id == "1445880548472328100"
    assert item.permalink == "https://x.com/XDevelopers/status/1445880548472328192"
    assert item.created_at.isoformat() == "2020-05-12T19:44:51+00:00"


@given(st.text(max_size=80))
def test_unescaping_undoes_exactly_the_three_entities_x_escapes(text):
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert x_text(escaped) == text


# --- text counting: the documented examples -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "length", "ok"),
    [
        ("a" * 280, 280, True),  # the limit is 280 weighted
        ("a" * 281, 281, False),
        ("é" * 280, 280, True),  # U+0000 to U+10FF weigh 1
        ("日本語", 6, True),  # CJK weighs 2
        ("日" * 140, 280, True),
        ("日" * 141, 282, False),
        ("\u2014" * 10, 10, True),  # U+2010 to U+201F (dashes, quotes) weigh 1
        ("\u2026", 2, True),  # the ellipsis U+2026 is outside the light ranges
        ("👍", 2, True),  # an emoji weighs 2
        ("👨‍👩‍👧‍👦", 2, True),  # a ZWJ family is one emoji sequence: 2
        ("👍🏽", 2, True),  # a skin tone modifier does not add
        ("🇫🇷", 2, True),  # a flag
        ("e\u0301", 1, True),  # NFC first: e + combining acute is é
        ("https://example.com/a/very/long/path/that/goes/on/and/on?with=query&and=more", 23, True),  # URL = 23
        ("voir https://example.com et http://example.org/x", 5 + 23 + 4 + 23, True),
        ("a" * 257 + " https://example.com/" + "x" * 300, 281, False),
        ("a" * 256 + " https://example.com/" + "x" * 300, 280, True),
        ("   ", 3, False),  # nothing to post
    ],
)
def test_validate_text_follows_the_documented_x_counting(text, length, ok):
    check = CONNECTOR.validate_text(text)
    assert (check.length, check.limit, check.ok) == (length, 280, ok)


light = st.characters(min_codepoint=0x20, max_codepoint=0x10FF, exclude_categories=("Cs", "Mn", "Me", "Cc"))
heavy = st.sampled_from(["日", "한", "字", "…", "€"])
emoji = st.sampled_from(["👍", "😡", "❤️", "🔥", "👨‍👩‍👧", "🇫🇷", "👍🏽"])
words = st.lists(st.one_of(light, heavy, emoji), max_size=200).map("".join)


@given(words)
@settings(max_examples=300)
def test_the_connector_and_the_simulator_count_the_same_weighted_length(text):
    assert CONNECTOR.validate_text(text).length == simulator_weighted_length(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters=":/"), max_size=400))
def test_plain_ascii_without_urls_counts_one_per_character(text):
    check = CONNECTOR.validate_text(text)
    assert check.length == len(unicodedata.normalize("NFC", text))
    assert check.ok == (len(text) <= 280 and bool(text.strip()))
