"""Properties of the Bluesky connector: its notification and post-view normalizers survive any JSON, its facets
carry exact UTF-8 byte offsets, and its text check follows the documented rule (shared/platforms/bluesky.md,
section g: at most 300 graphemes and 3,000 UTF-8 bytes, URLs counted in full)."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from smms.connectors.bluesky import BlueskyConnector, build_facets
from smms.connectors.endpoints import platform_config
from smms.connectors.errors import MalformedPayload
from smms.connectors.types import InteractionKind

CONNECTOR = BlueskyConnector(platform_config("bluesky", simulator="http://127.0.0.1:9"))
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
times = st.one_of(st.just("2026-03-01T10:00:00.000Z"), st.just("2026-03-01T10:00:00+00:00"), st.integers(), json_values)
records = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"$type": st.just("app.bsky.feed.post"), "text": st.one_of(st.text(max_size=40), json_values),
         "createdAt": times},
        optional={
            "reply": st.one_of(
                json_values,
                st.fixed_dictionaries({"root": st.fixed_dictionaries({"uri": json_values, "cid": json_values}),
                                       "parent": st.fixed_dictionaries({"uri": json_values, "cid": json_values})}),
            ),
            "langs": st.one_of(st.lists(st.text(max_size=5), max_size=3), json_values),
        },
    ),
)  # fmt: skip
authors = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"did": st.one_of(st.just(DID), json_values), "handle": st.one_of(st.just("a.bsky.social"), json_values)},
        optional={"displayName": json_values, "avatar": json_values},
    ),
)
notification_like = st.fixed_dictionaries(
    {
        "uri": st.one_of(st.just(f"at://{DID}/app.bsky.feed.post/3jzfcijpj2z2a"), json_values),
        "cid": st.one_of(st.just("bafyreib2rxk3rh6kzwq"), json_values),
        "author": authors,
        "reason": st.one_of(st.sampled_from(["mention", "reply", "quote", "like", "follow"]), json_values),
        "record": records,
        "indexedAt": times,
    }
)


@given(st.one_of(json_values, notification_like))
@settings(max_examples=400, deadline=None)
def test_the_notification_normalizer_raises_nothing_but_malformed_payload(raw):
    try:
        item = CONNECTOR.normalize_notification(raw)
    except MalformedPayload:
        return
    if item is None:  # likes, follows, reposts: not an interaction
        assert raw.get("reason") not in ("mention", "reply", "quote")
        return
    assert item.remote_id.startswith("at://")
    assert item.kind in (InteractionKind.MENTION, InteractionKind.REPLY, InteractionKind.QUOTE)
    assert isinstance(item.text, str)
    assert item.created_at.tzinfo is not None
    assert item.in_reply_to_id is None or isinstance(item.in_reply_to_id, str)


@given(st.one_of(json_values, notification_like))
@settings(max_examples=300, deadline=None)
def test_the_post_view_normalizer_raises_nothing_but_malformed_payload(raw):
    try:
        item = CONNECTOR.normalize_post_view(raw)
    except MalformedPayload:
        return
    assert item.remote_id.startswith("at://")
    assert item.created_at.tzinfo is not None


@given(st.lists(st.one_of(json_values, notification_like), max_size=8))
@settings(max_examples=150, deadline=None)
def test_a_page_of_arbitrary_items_is_split_into_items_and_quarantine(raw_items):
    items, quarantined = CONNECTOR.normalize_page(raw_items, CONNECTOR.normalize_notification)
    assert len(items) + len(quarantined) <= len(raw_items)
    assert all(isinstance(reason, str) and reason for _raw, reason in quarantined)


# --- text ------------------------------------------------------------------------------------------------------
def test_the_documented_limits():
    check = CONNECTOR.validate_text
    assert check("a" * 300).ok
    assert not check("a" * 301).ok
    assert check("é" * 300).ok  # 600 bytes
    assert check("e\u0301" * 300).ok  # a combining accent makes one grapheme
    assert check("👨‍👩‍👧‍👦" * 100).length == 100  # a ZWJ family is one grapheme, 25 bytes
    assert check("👨‍👩‍👧‍👦" * 120).ok  # 3,000 bytes exactly
    too_heavy = check("👨‍👩‍👧‍👦" * 121)
    assert (too_heavy.length, too_heavy.ok) == (121, False)  # 121 graphemes but 3,025 bytes
    url = "https://example.com/" + "a" * 281
    assert check(url).length == 301  # URLs count in full: no shortening
    assert not check(url).ok


@given(st.text(max_size=400))
@settings(max_examples=300, deadline=None)
def test_the_text_check_is_graphemes_and_bytes(text):
    graphemes = len(regex.findall(r"\X", text))
    check = CONNECTOR.validate_text(text)
    assert check.length == graphemes
    assert check.limit == 300
    assert check.ok == (graphemes <= 300 and len(text.encode()) <= 3000)


# --- facets ----------------------------------------------------------------------------------------------------
pieces = st.one_of(
    st.text(max_size=8),
    st.sampled_from([" ", "\n", "(", "#", "@", "é", "☕", "👨‍👩‍👧‍👦", "#café", "#2026", "#tag!", "@lumiere.bsky.social",
                     "@a.b", "https://example.com/x?y=1", "http://a.fr/é.", "#", "\uff03Lumière", "mail@host.fr"]),
)  # fmt: skip


@given(st.lists(pieces, max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_facets_carry_exact_byte_offsets_and_never_overlap(text):
    facets = build_facets(text, lambda handle: DID)
    encoded = text.encode()
    last_end = 0
    for facet in facets:
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert last_end <= start < end <= len(encoded)
        last_end = end
        chunk = encoded[start:end].decode()  # on character boundaries
        [feature] = facet["features"]
        kind = feature["$type"].rsplit("#", 1)[1]
        if kind == "link":
            assert chunk == feature["uri"]
            assert chunk.startswith(("http://", "https://"))
        elif kind == "mention":
            assert chunk.startswith("@")
            assert "." in chunk
            assert feature["did"] == DID
        else:
            assert kind == "tag"
            assert chunk[0] in "#\uff03"
            assert chunk[1:] == feature["tag"]
            assert not feature["tag"].isascii() or not feature["tag"].isdigit()  # "#2026" is no tag; "#²" is


def test_facets_of_a_documented_example():
    text = "✨ Hello @alice.bsky.social! #python https://atproto.com"
    facets = build_facets(text, {"alice.bsky.social": DID}.get)
    spans = [(f["index"]["byteStart"], f["index"]["byteEnd"], f["features"][0]["$type"]) for f in facets]
    assert spans == [
        (10, 28, "app.bsky.richtext.facet#mention"),  # "✨" is 3 bytes
        (30, 37, "app.bsky.richtext.facet#tag"),
        (38, 57, "app.bsky.richtext.facet#link"),
    ]
    assert build_facets("Hello @nobody.example", lambda handle: None) == []
