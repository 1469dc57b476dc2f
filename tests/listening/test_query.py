"""The boolean query language of listening topics."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from listening.query import And, Not, Or, QuerySyntaxError, networks, parse, search_terms


@dataclass
class Mention:
    text: str
    lang: str | None = "fr"
    network: str = "x"
    author_handle: str = "lea"


def hits(query: str, text: str, **kw) -> bool:
    return parse(query).matches(Mention(text, **kw))


def test_juxtaposed_terms_are_and():
    assert hits("lampe lumière", "Ma lampe Lumière est belle")
    assert not hits("lampe lumière", "Ma lampe est belle")


def test_and_binds_tighter_than_or():
    tree = parse("a OR b AND c")
    assert isinstance(tree, Or)
    assert isinstance(tree.children[1], And)
    assert hits("a OR b AND c", "a seul")
    assert not hits("a OR b AND c", "b seul")
    assert hits("(a OR b) AND c", "b et c")


def test_not_binds_tighter_than_and():
    tree = parse("NOT a b")
    assert isinstance(tree, And)
    assert isinstance(tree.children[0], Not)
    assert hits("lumière -promo", "Lumière est top")
    assert not hits("lumière -promo", "Lumière en promo")
    assert not hits("lumière NOT (promo OR soldes)", "Lumière: soldes")


def test_phrases_match_words_in_a_row():
    assert hits('"service client"', "le service client est nul")
    assert not hits('"service client"', "le client du service")
    assert hits("«service client»", "Service   Client !")


def test_matching_ignores_case_and_accents():
    assert hits("electrique", "Voiture ÉLECTRIQUE")
    assert hits("Lumière", "lumiere")


def test_prefix_wildcard():
    assert hits("rembours*", "toujours pas remboursé")
    assert not hits("rembours*", "payé")


def test_hashtags_and_handles():
    assert hits("#LumièreX2", "Trop bien #lumierex2 !")
    assert not hits("#LumièreX2", "Trop bien lumierex2")
    assert hits("@maisonlumiere", "merci @MaisonLumiere")
    assert hits("@lea", "un texte", author_handle="Lea")


def test_language_network_and_author_filters():
    assert hits("lumière lang:fr", "lumière", lang="fr")
    assert not hits("lumière lang:fr", "lumière", lang="en")
    assert hits("lumière network:mastodon", "lumière", network="mastodon")
    assert not hits("lumière network:mastodon", "lumière", network="x")
    assert hits("lumière author:@lea", "lumière", author_handle="lea")


def test_words_with_apostrophes_and_hyphens():
    assert hits("l'appli", "J'adore l'appli")
    assert hits("e-mail", "envoyez un e-mail")


def test_lower_case_or_and_are_searchable_words():
    assert hits("or", "l'or est cher")


def test_search_terms_and_networks():
    tree = parse('lumière ("lampe de chevet" OR #x2) -promo network:x')
    assert search_terms(tree) == ["lumiere", '"lampe de chevet"', "#x2"]
    assert networks(tree) == {"x"}
    assert networks(parse("a (network:x OR network:mastodon)")) == {"x", "mastodon"}
    assert networks(parse("a OR network:x b")) is None


@pytest.mark.parametrize(
    ("query", "position", "reason"),
    [
        ("", 0, "the query is empty"),
        ("   ", 0, "the query is empty"),
        ('lumière "lampe', 8, "this quote is never closed"),
        ("(a OR b", 0, "this parenthesis is never closed"),
        ("a OR b)", 6, "this closing parenthesis has no opening one"),
        ("a OR", 2, "OR needs a term after it"),
        ("AND a", 0, "AND needs a term before it"),
        ("a AND OR b", 2, "AND needs a term after it"),
        ("a NOT", 2, "NOT needs a term after it"),
        ("()", 0, "these parentheses are empty"),
        ("a network:myspace", 2, "unknown network 'myspace'; use one of x, facebook, instagram, mastodon, bluesky"),
        ("a lang:french", 2, "'french' is not a language code like fr or en"),
        ("a colour:red", 2, "unknown filter colour:; use lang:, network: or author:"),
        ("a lang:", 2, "lang: needs a value"),
        ("# a", 0, "a hashtag needs letters or digits after #"),
        ("NOT promo", 0, "the query needs at least one term that is not negated"),
        ("lang:fr", 0, "the query needs at least one term that is not negated"),
        ('a ""', 2, "this phrase is empty"),
    ],
)
def test_bad_queries_say_where_and_why(query, position, reason):
    with pytest.raises(QuerySyntaxError) as error:
        parse(query)
    assert (error.value.position, error.value.reason) == (position, reason)


def test_urls_are_words_not_filters():
    assert hits("https://lumiere.fr", "voir https://lumiere.fr")


@given(st.text(max_size=80))
def test_any_text_parses_or_fails_with_a_position(query):
    try:
        tree = parse(query)
    except QuerySyntaxError as error:
        position = error.position
    else:
        tree.matches(Mention(query))
        position = 0
    assert 0 <= position <= len(query)
