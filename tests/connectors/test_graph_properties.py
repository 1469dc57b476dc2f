"""Property tests of the Graph connectors (Facebook, Instagram): arbitrary JSON never escapes the normalizers
as anything but MalformedPayload, error and usage parsing never crash, counting follows the documented rules."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from smms.connectors import facebook, instagram
from smms.connectors.endpoints import platform_config
from smms.connectors.errors import ConnectorError, MalformedPayload
from smms.connectors.graph import _read_state, graph_error, graph_list, newest_comment_marker
from smms.connectors.http import Response
from smms.connectors.ratelimit import meta_usage
from smms.connectors.text import check_facebook, check_instagram

fb = facebook.FacebookConnector(platform_config("facebook", simulator="http://127.0.0.1:9"))
ig = instagram.InstagramConnector(platform_config("instagram", simulator="http://127.0.0.1:9"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
times = st.sampled_from(["2019-09-16T21:07:51+0000", "2017-08-31T18:10:00+0000", "", "yesterday", 10**20, -1])
people = json_values | st.fixed_dictionaries({}, optional={"id": json_values, "name": json_values,
                                                           "username": json_values})  # fmt: skip
fb_comment = st.fixed_dictionaries(
    {},
    optional={"id": json_values | st.text(max_size=10), "message": json_values | st.text(max_size=20),
              "created_time": json_values | times, "from": people, "parent": json_values,
              "is_hidden": json_values, "permalink_url": json_values},
)  # fmt: skip
ig_comment = st.fixed_dictionaries(
    {},
    optional={"id": json_values | st.text(max_size=10), "text": json_values | st.text(max_size=20),
              "timestamp": json_values | times, "from": people, "username": json_values,
              "parent_id": json_values, "hidden": json_values, "replies": json_values},
)  # fmt: skip


def only_malformed(normalize, raw):
    try:
        item = normalize(raw)
    except MalformedPayload:
        return None
    if item is not None:
        assert isinstance(item.text, str)
        assert item.created_at.tzinfo is not None
        assert isinstance(item.author.id, str)
    return item


@settings(max_examples=300, deadline=None)
@given(json_values | fb_comment)
def test_any_json_given_to_the_facebook_comment_normalizer_is_an_item_or_malformed(raw):
    only_malformed(lambda r: facebook.normalize_comment(r, post_id="1_2", page_id="1"), raw)


@settings(max_examples=300, deadline=None)
@given(json_values | ig_comment)
def test_any_json_given_to_the_instagram_comment_normalizer_is_an_item_or_malformed(raw):
    only_malformed(lambda r: instagram.normalize_comment(r, media_id="179", account_id="178"), raw)
    for expanded in ig._expand(raw):  # nested replies too
        only_malformed(lambda r: instagram.normalize_comment(r, media_id="179", account_id="178"), expanded)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values | fb_comment | ig_comment, max_size=6))
def test_a_page_of_anything_is_normalized_or_quarantined_never_raised(raw_items):
    for connector, normalize in (
        (fb, lambda r: facebook.normalize_comment(r, post_id="1_2", page_id="1")),
        (ig, lambda r: instagram.normalize_comment(r, media_id="179", account_id="178")),
    ):
        items, quarantined = connector.normalize_page(raw_items, normalize)
        assert len(items) + len(quarantined) <= len(raw_items)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([400, 403, 404, 429, 500, 503]), json_values)
def test_any_error_body_maps_to_a_connector_error(body, status, header):
    headers = {"X-Business-Use-Case-Usage": json.dumps(header), "Retry-After": str(header)[:10]}
    for data in (body, {"error": body}):
        error = graph_error(Response(status, headers, data, "http://x"), "facebook")
        assert isinstance(error, ConnectorError)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_usage_headers_and_list_envelopes_never_crash(value):
    text = json.dumps(value)
    for name in ("X-App-Usage", "X-Business-Use-Case-Usage", "X-Page-Usage"):
        meta_usage({name: text})
    with contextlib.suppress(MalformedPayload):
        graph_list(Response(200, {}, value, "http://x"), "facebook", "feed")
    marker = newest_comment_marker(value)
    assert marker is None or isinstance(marker, str)
    bounds, queue, walk = _read_state(value if isinstance(value, dict) else {"b": value, "q": value, "w": value})
    assert isinstance(bounds, dict)
    assert isinstance(queue, list)
    assert walk is None or isinstance(walk, dict)


def test_documented_error_codes_map_as_meta_describes_them():
    # https://developers.facebook.com/docs/graph-api/guides/error-handling
    def mapped(code, subcode=None, status=400):
        body = {"error": {"message": "m", "type": "OAuthException", "code": code, "error_subcode": subcode}}
        return type(graph_error(Response(status, {}, body, "http://x"), "facebook")).__name__

    assert mapped(190, 463) == "AuthExpired"
    assert mapped(190, 460) == "AuthRevoked"
    assert mapped(190) == "AuthRevoked"
    assert [mapped(c) for c in (4, 17, 32, 613, 80001)] == ["RateLimited"] * 5
    assert mapped(506) == "Duplicate"
    assert mapped(100) == "ValidationError"
    assert mapped(100, 33) == "NotFound"
    assert mapped(200) == mapped(10) == "PermissionDenied"
    assert mapped(2, status=500) == mapped(1) == "Transient"
    assert mapped(9, 2207042) == "QuotaExhausted"


def test_documented_usage_header_gives_minutes_to_regain_access():
    header = json.dumps(
        {"123": [{"type": "pages", "call_count": 100, "total_cputime": 25, "total_time": 25,
                  "estimated_time_to_regain_access": 15}]}
    )  # fmt: skip
    info = meta_usage({"X-Business-Use-Case-Usage": header})
    assert info is not None
    assert info.remaining == 0
    minutes = (info.reset_at - datetime.now(UTC)).total_seconds() / 60
    assert 14.9 < minutes <= 15
    app = meta_usage({"X-App-Usage": '{"call_count":28,"total_cputime":25,"total_time":25}'})
    assert app is not None
    assert app.remaining == 72


def test_documented_timestamps_parse_as_utc():
    item = {"id": "1_2", "message": "hi", "created_time": "2019-09-16T21:07:51+0000", "from": {"id": "9", "name": "A"}}
    assert facebook.normalize_comment(item, post_id="1", page_id="0").created_at == datetime(
        2019, 9, 16, 21, 7, 51, tzinfo=UTC
    )
    reply = {"id": "3", "text": "ok", "timestamp": "2017-08-31T18:10:00+0000", "username": "bob", "parent_id": "2"}
    normalized = instagram.normalize_comment(reply, media_id="1", account_id="0")
    assert normalized.created_at == datetime(2017, 8, 31, 18, 10, tzinfo=UTC)
    assert normalized.kind == "reply"
    assert normalized.in_reply_to_id == "2"


@given(st.text(max_size=300))
def test_facebook_counts_plain_characters(text):
    check = check_facebook(text)
    assert check.length == len(text)
    assert check.ok == (len(text) <= 63206)


def test_documented_text_limits():
    # facebook.md: message ≤ 63,206 characters; instagram.md: caption ≤ 2,200, ≤ 30 hashtags, ≤ 20 mentions.
    assert fb.validate_text("a" * 63206).ok
    assert not fb.validate_text("a" * 63207).ok
    assert ig.validate_text("a" * 2200).ok
    assert not ig.validate_text("a" * 2201).ok
    assert ig.validate_text(" ".join(f"#tag{n}" for n in range(30))).ok
    assert not ig.validate_text(" ".join(f"#tag{n}" for n in range(31))).ok
    assert ig.validate_text(" ".join(f"@user{n}" for n in range(20))).ok
    assert not ig.validate_text(" ".join(f"@user{n}" for n in range(21))).ok


@given(st.text(max_size=2400))
def test_instagram_counts_characters_hashtags_and_mentions(text):
    check = check_instagram(text)
    assert check.length == len(text)
    if len(text) > 2200:
        assert not check.ok
