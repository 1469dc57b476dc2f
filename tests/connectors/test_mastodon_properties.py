"""Property tests: arbitrary JSON never crashes the Mastodon normalizer; counting follows the docs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smms.connectors.endpoints import platform_config
from smms.connectors.errors import MalformedPayload
from smms.connectors.mastodon import MastodonConnector
from smms.connectors.text import check_mastodon, mastodon_length

connector = MastodonConnector(platform_config("mastodon", simulator="http://127.0.0.1:9"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25,
)
notification_like = st.fixed_dictionaries(
    {"id": st.text(max_size=8), "type": st.sampled_from(["mention", "favourite", 3, None])},
    optional={"status": json_values | st.fixed_dictionaries({}, optional={
        "id": json_values, "account": json_values, "content": json_values, "created_at": json_values,
        "visibility": json_values, "in_reply_to_id": json_values, "language": json_values, "url": json_values,
    })},
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values | notification_like, max_size=6))
def test_any_json_page_is_normalized_or_quarantined_never_raised(raw_items):
    try:
        items, quarantined = connector.normalize_page(raw_items, connector._from_notification)
    except MalformedPayload:
        return
    assert len(items) + len(quarantined) <= len(raw_items)
    for item in items:
        assert isinstance(item.text, str)
        assert item.created_at.tzinfo is not None


@given(st.text(max_size=600))
def test_counting_never_crashes_and_matches_the_check(text):
    length = mastodon_length(text)
    check = check_mastodon(text)
    assert check.length == length
    assert check.ok == (length <= 500 and bool(text.strip()))


def test_documented_counting_rules():
    # https://docs.joinmastodon.org/user/posting/#text: URLs count 23, remote mentions count the local part.
    assert mastodon_length("https://example.com/" + "a" * 100) == 23
    assert mastodon_length("@alice@example.social hi") == len("@alice hi")
    assert mastodon_length("👨‍👩‍👧‍👦") == 1  # one grapheme cluster
    assert mastodon_length("é") == 1
    assert mastodon_length("e\u0301") == 1
    assert check_mastodon("a" * 500).ok
    assert not check_mastodon("a" * 501).ok
    assert mastodon_length("hi", spoiler_text="CW") == 4  # content warning counts too
