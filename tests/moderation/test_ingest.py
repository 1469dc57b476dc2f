"""Threading the account's mentions stream into conversations: over HTTP through the simulator where the
connectors produce the kinds, and with crafted pages for the edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import social_account_connector
from listening import services as listening_services
from listening.models import Mention, PollCursor
from moderation import services
from moderation.models import Conversation, ConversationKind, ConversationStatus, Message
from smms.connectors.types import Author, Interaction, InteractionKind, Page
from tests.accounts.test_connections import connect_mastodon
from tests.factories import SocialAccountFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def setup_stream(personas):
    account = connect_mastodon(personas)
    listening_services.poll_cursors_ensure()
    cursor = PollCursor.objects.get(account=account, stream="mentions")
    listening_services.account_poll(cursor_id=cursor.id)  # the first poll sets the cursor
    return account, cursor


def item(remote_id, kind=InteractionKind.MENTION, *, author="42", reply_to=None, root=None, minutes=0, text="hi"):
    return Interaction(
        platform="mastodon", remote_id=remote_id, kind=kind, text=text,
        author=Author(id=author, handle=f"user{author}", display_name=f"User {author}", followers=10),
        created_at=T0 + timedelta(minutes=minutes), in_reply_to_id=reply_to, root_id=root,
    )  # fmt: skip


def ingest(account, *items, stream="mentions"):
    return listening_services.mentions_ingest(account=account, stream=stream, page=Page(items=list(items), cursor="c"))


def mastodon_account(personas):
    account = SocialAccountFactory(organization=personas.org, platform="mastodon")
    PollCursor.objects.create(account=account, stream="mentions", next_poll_at=T0)
    return account


# --- over HTTP, through the simulator ---------------------------------------------------------------------
def test_mentions_replies_and_direct_messages_polled_from_the_network_become_conversations(personas, simulator):
    account, cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=6, kind="mention", target="maisonlumiere", hostile_rate=0)
    simulator.generate(platform="mastodon", count=4, kind="reply", target="maisonlumiere", hostile_rate=0)
    simulator.generate(platform="mastodon", count=5, kind="dm", target="maisonlumiere", hostile_rate=0)
    listening_services.account_poll(cursor_id=cursor.id)

    assert Message.objects.filter(conversation__account=account).count() == 15
    mentions = Conversation.objects.filter(account=account, kind=ConversationKind.MENTION)
    assert mentions.count() == 6  # each mention starts its own thread
    assert all(c.message_count == 1 and c.status == ConversationStatus.NEW for c in mentions)
    # The replies all answer the brand's post: one thread keyed by that post.
    [comments] = Conversation.objects.filter(account=account, kind=ConversationKind.COMMENTS)
    assert comments.message_count == 4
    reply_parents = set(Message.objects.filter(conversation=comments).values_list("in_reply_to_id", flat=True))
    assert [comments.thread_key] == [f"t:{p}" for p in reply_parents]
    # Direct messages: one conversation per correspondent, each holding all of that person's messages.
    dms = Conversation.objects.filter(account=account, kind=ConversationKind.MESSAGE)
    for conversation in dms:
        assert conversation.thread_key == f"dm:{conversation.author_id}"
        assert set(conversation.messages.values_list("author_id", flat=True)) == {conversation.author_id}
    assert sum(c.message_count for c in dms) == 5
    # Each message is linked to the mention listening stored, with its language and sentiment.
    for message in Message.objects.filter(conversation__account=account).select_related("mention"):
        assert message.mention.external_id == message.remote_id
        assert (message.lang, message.sentiment) == (message.mention.lang, message.mention.sentiment)
    assert listening_services.account_poll(cursor_id=cursor.id).stored == 0
    assert Message.objects.filter(conversation__account=account).count() == 15  # polled again: nothing twice


def test_a_page_fetched_twice_adds_each_message_once(personas, simulator):
    account, _cursor = setup_stream(personas)
    simulator.generate(platform="mastodon", count=8, kind="dm", target="maisonlumiere")
    connector, ref = social_account_connector(account=account)
    page = connector.fetch_mentions(ref, None)
    listening_services.mentions_ingest(account=account, stream="mentions", page=page)
    counts = dict(Conversation.objects.values_list("id", "message_count"))
    listening_services.mentions_ingest(account=account, stream="mentions", page=page)
    assert dict(Conversation.objects.values_list("id", "message_count")) == counts
    assert sum(counts.values()) == Message.objects.count() == 8


# --- crafted pages: the threading rules -------------------------------------------------------------------
def test_a_reply_joins_the_conversation_of_the_message_it_answers(personas):
    account = mastodon_account(personas)
    ingest(account, item("1", text="first"))
    ingest(account, item("2", InteractionKind.REPLY, author="43", reply_to="1", minutes=5, text="second"))
    ingest(account, item("3", InteractionKind.REPLY, author="44", reply_to="2", minutes=9, text="third"))
    [conversation] = Conversation.objects.all()
    assert (conversation.thread_key, conversation.kind, conversation.author_id) == ("t:1", "mention", "42")
    assert conversation.message_count == 3
    assert conversation.excerpt == "third"
    assert (conversation.first_message_at, conversation.last_message_at) == (T0, T0 + timedelta(minutes=9))


def test_a_reply_and_its_parent_on_the_same_page_share_a_conversation(personas):
    account = mastodon_account(personas)
    ingest(account, item("b", InteractionKind.REPLY, reply_to="a", minutes=1), item("a", minutes=0))
    [conversation] = Conversation.objects.all()
    assert conversation.message_count == 2
    assert conversation.thread_key == "t:a"


def test_a_reply_to_an_unknown_message_starts_a_thread_its_parent_joins_later(personas):
    account = mastodon_account(personas)
    ingest(account, item("r", InteractionKind.REPLY, reply_to="p", minutes=3, text="reply"))
    ingest(account, item("p", minutes=1, text="parent"))  # arrives later, older on the network
    [conversation] = Conversation.objects.all()
    assert conversation.thread_key == "t:p"
    assert conversation.message_count == 2
    assert conversation.excerpt == "reply"  # the latest message on the network, not the latest polled
    assert conversation.first_message_at == T0 + timedelta(minutes=1)


def test_top_level_comments_under_one_post_are_one_conversation(personas):
    account = mastodon_account(personas)
    ingest(
        account,
        item("c1", InteractionKind.COMMENT, author="1", reply_to="post9", root="post9"),
        item("c2", InteractionKind.COMMENT, author="2", reply_to="post9", root="post9", minutes=1),
        item("c3", InteractionKind.COMMENT, author="3", reply_to="post8", root="post8", minutes=2),
    )
    threads = dict(Conversation.objects.values_list("thread_key", "message_count"))
    assert threads == {"t:post9": 2, "t:post8": 1}
    assert set(Conversation.objects.values_list("kind", flat=True)) == {"comments"}


def test_direct_messages_are_one_conversation_per_correspondent_and_account(personas):
    account, other_account = mastodon_account(personas), mastodon_account(personas)
    ingest(account, item("d1", InteractionKind.MESSAGE, author="7"), item("d2", InteractionKind.MESSAGE, author="8"))
    ingest(account, item("d3", InteractionKind.MESSAGE, author="7", minutes=4))
    ingest(other_account, item("d4", InteractionKind.MESSAGE, author="7", minutes=5))
    counts = {(c.account_id, c.thread_key): c.message_count for c in Conversation.objects.all()}
    assert counts == {(account.id, "dm:7"): 2, (account.id, "dm:8"): 1, (other_account.id, "dm:7"): 1}


def test_a_new_message_reopens_a_resolved_conversation_but_not_spam(personas):
    account = mastodon_account(personas)
    ingest(account, item("1"), item("9", author="99"))
    resolved = Conversation.objects.get(thread_key="t:1")
    spam = Conversation.objects.get(thread_key="t:9")
    services.conversation_status_change(conversation=resolved, action="resolve", actor=personas.agent)
    services.conversation_status_change(conversation=spam, action="spam", actor=personas.agent)
    ingest(account, item("2", InteractionKind.REPLY, reply_to="1", minutes=1),
           item("10", InteractionKind.REPLY, reply_to="9", minutes=1))  # fmt: skip
    resolved.refresh_from_db()
    spam.refresh_from_db()
    assert (resolved.status, resolved.resolved_at) == (ConversationStatus.OPEN, None)
    assert spam.status == ConversationStatus.SPAM
    assert spam.message_count == 2


def test_an_item_a_search_stream_stored_first_still_reaches_the_inbox_with_its_sentiment(personas):
    account = mastodon_account(personas)
    PollCursor.objects.create(account=account, stream="search:abc", next_poll_at=T0)
    ingest(account, item("s1", text="I love the Lumière X2, brilliant"), stream="search:abc")
    assert not Conversation.objects.exists()  # a search result is not addressed to us
    mention = Mention.objects.get(external_id="s1")
    ingest(account, item("s1", text="I love the Lumière X2, brilliant"))
    message = Message.objects.get(remote_id="s1")
    assert message.mention_id == mention.id
    assert (message.lang, message.sentiment) == (mention.lang, mention.sentiment)
    assert Conversation.objects.get().sentiment == mention.sentiment


def test_a_page_repeating_an_item_stores_it_once(personas):
    account = mastodon_account(personas)
    ingest(account, item("1"), item("1"), item("2", InteractionKind.REPLY, reply_to="1"))
    assert Message.objects.count() == 2
    assert Conversation.objects.get().message_count == 2


def test_a_message_a_concurrent_poll_stored_first_is_not_counted_twice(personas, monkeypatch):
    account = mastodon_account(personas)
    ingest(account, item("1"))
    [conversation] = Conversation.objects.all()
    real = services._thread_of

    reply = item("2", InteractionKind.REPLY, reply_to="1", minutes=1)
    raced = []

    def competitor_wins(entry, parents):  # between this page's lookup and its insert, another poll stores "2"
        if not raced:
            raced.append(True)
            assert services.conversations_ingest(account=account, items=[(reply, None, "en", "neutral", 0.0)]) == 1
        return real(entry, parents)

    monkeypatch.setattr(services, "_thread_of", competitor_wins)
    assert services.conversations_ingest(account=account, items=[(reply, None, "en", "neutral", 0.0)]) == 0
    conversation.refresh_from_db()
    assert conversation.message_count == Message.objects.filter(conversation=conversation).count() == 2


def test_ingesting_a_page_costs_the_same_queries_whatever_its_size(personas):
    account = mastodon_account(personas)

    def page(start, n):
        return [
            item(str(start + i), InteractionKind.REPLY if i % 3 else InteractionKind.MENTION, author=str(i % 5),
                 reply_to=str(start + i - 1) if i % 3 else None, minutes=i)
            for i in range(n)
        ]  # fmt: skip

    ingest(account, item("warm-up"))  # the routing rules are read once, then kept for a few seconds
    with CaptureQueriesContext(connection) as small:
        ingest(account, *page(1000, 3))
    with CaptureQueriesContext(connection) as large:
        ingest(account, *page(5000, 60), item("d", InteractionKind.MESSAGE), item("1000", minutes=1))
    moderation = [q["sql"] for q in large.captured_queries if "moderation_" in q["sql"]]
    assert len(small.captured_queries) == len(large.captured_queries)
    assert len(moderation) == 2  # lookup of stored items and parents; conversation upsert with message insert
    assert Message.objects.count() == 65


def test_the_demo_traffic_of_every_network_fills_the_inbox(personas, simulator):
    """What `make run` does: demo accounts connected through the simulator, its mixed traffic (mentions,
    replies, comments, direct messages), the mentions streams polled."""
    from accounts.demo import connect_demo_accounts, generate_demo_traffic

    accounts = connect_demo_accounts(personas.owner, lambda _line: None)
    listening_services.poll_cursors_ensure()
    cursors = PollCursor.objects.filter(account__in=accounts, stream="mentions")
    for cursor in cursors:
        listening_services.account_poll(cursor_id=cursor.id)  # the first polls set the cursors
    generate_demo_traffic(count_per_platform=30)
    for cursor in cursors:
        listening_services.account_poll(cursor_id=cursor.id)
    platforms = {a.platform for a in accounts}
    inbox = Conversation.objects.filter(organization=personas.org)
    assert set(inbox.values_list("platform", flat=True)) == platforms
    mentions = Mention.objects.filter(organization=personas.org, account__isnull=False)
    assert Message.objects.filter(organization=personas.org).count() == mentions.count() > 0
    assert set(inbox.values_list("kind", flat=True)) == {"comments", "mention", "message"}
