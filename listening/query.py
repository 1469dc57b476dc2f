"""Boolean keyword queries for listening topics.

    lumière AND (lampe OR "lampe de chevet") -promo #LumièreX2 @maisonlumiere lang:fr network:mastodon

- Terms are words (``lamp*`` matches a prefix), "exact phrases", #hashtags and @handles. Matching ignores
  case and accents ("electrique" finds "électrique").
- Operators: ``AND`` (also implied between terms), ``OR``, ``NOT`` or a leading ``-``, parentheses. ``NOT``
  binds tighter than ``AND``, which binds tighter than ``OR``. Operators are upper case, so the words "or"
  and "and" can still be searched.
- Filters: ``lang:fr``, ``network:x`` (x, facebook, instagram, mastodon, bluesky), ``author:handle``.

``parse(text)`` returns the tree or raises QuerySyntaxError with the position (0-based) and the reason;
``node.matches(mention)`` evaluates it on a mention; ``search_terms(node)`` lists what a network's search
endpoint can be asked for.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Protocol

import regex

NETWORKS = ("x", "facebook", "instagram", "mastodon", "bluesky")
FILTERS = ("lang", "network", "author")
MAX_LENGTH = 1000
MAX_TERMS = 100

WORD_RE = regex.compile(r"[\p{L}\p{N}_]+")  # l'appli → l, appli: French elisions split
HASHTAG_RE = regex.compile(r"#([\p{L}\p{N}_]+)")
HANDLE_RE = regex.compile(r"@([\p{L}\p{N}_.\-]+[\p{L}\p{N}_])")


class QuerySyntaxError(ValueError):
    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} (at character {position + 1})")
        self.reason = reason
        self.position = position


class Searchable(Protocol):
    """What a query is evaluated on: the mention's text and a few attributes."""

    @property
    def text(self) -> str: ...
    @property
    def lang(self) -> str | None: ...
    @property
    def network(self) -> str: ...
    @property
    def author_handle(self) -> str: ...


def fold(text: str) -> str:
    """Case- and accent-insensitive form used on both sides of every comparison."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True)
class Prepared:
    """A mention's text analysed once for every query that looks at it."""

    words: tuple[str, ...]
    hashtags: frozenset[str]
    handles: frozenset[str]
    lang: str
    network: str
    author: str

    @classmethod
    def of(cls, item: Searchable) -> Prepared:
        folded = fold(item.text)
        return cls(
            words=tuple(WORD_RE.findall(folded)),
            hashtags=frozenset(HASHTAG_RE.findall(folded)),
            handles=frozenset(h.lower() for h in HANDLE_RE.findall(folded)),
            lang=(item.lang or "").lower(),
            network=item.network.lower(),
            author=fold(item.author_handle.lstrip("@")),
        )


# --- the tree ---------------------------------------------------------------------------------------------
class Node:
    def evaluate(self, p: Prepared) -> bool:
        raise NotImplementedError

    def matches(self, item: Searchable) -> bool:
        return self.evaluate(Prepared.of(item))


@dataclass(frozen=True)
class Word(Node):
    value: str  # folded; a trailing * means prefix

    def evaluate(self, p: Prepared) -> bool:
        if self.value.endswith("*"):
            stem = self.value[:-1]
            return any(w.startswith(stem) for w in p.words)
        return self.value in p.words


@dataclass(frozen=True)
class Phrase(Node):
    words: tuple[str, ...]

    def evaluate(self, p: Prepared) -> bool:
        n = len(self.words)
        return any(p.words[i : i + n] == self.words for i in range(len(p.words) - n + 1))


@dataclass(frozen=True)
class Hashtag(Node):
    tag: str

    def evaluate(self, p: Prepared) -> bool:
        return self.tag in p.hashtags


@dataclass(frozen=True)
class Handle(Node):
    handle: str

    def evaluate(self, p: Prepared) -> bool:
        return self.handle in p.handles or self.handle == p.author


@dataclass(frozen=True)
class Filter(Node):
    key: str
    value: str

    def evaluate(self, p: Prepared) -> bool:
        if self.key == "lang":
            return p.lang == self.value
        if self.key == "network":
            return p.network == self.value
        return p.author == self.value


@dataclass(frozen=True)
class Not(Node):
    child: Node

    def evaluate(self, p: Prepared) -> bool:
        return not self.child.evaluate(p)


@dataclass(frozen=True)
class And(Node):
    children: tuple[Node, ...]

    def evaluate(self, p: Prepared) -> bool:
        return all(c.evaluate(p) for c in self.children)


@dataclass(frozen=True)
class Or(Node):
    children: tuple[Node, ...]

    def evaluate(self, p: Prepared) -> bool:
        return any(c.evaluate(p) for c in self.children)


# --- tokens -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # LPAREN RPAREN AND OR NOT MINUS PHRASE TERM
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token("LPAREN" if char == "(" else "RPAREN", char, i))
            i += 1
        elif char in '"“”«»':
            closing = {"“": "”", "«": "»"}.get(char, '"”')
            end = next((j for j in range(i + 1, len(text)) if text[j] in closing), -1)
            if end == -1:
                raise QuerySyntaxError("this quote is never closed", i)
            tokens.append(Token("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif char == "-" and i + 1 < len(text) and not text[i + 1].isspace() and (not tokens or _starts(text, i)):
            tokens.append(Token("MINUS", "-", i))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()"“”«»':
                i += 1
            word = text[start:i]
            kind = word if word in ("AND", "OR", "NOT") else "TERM"
            tokens.append(Token(kind, word, start))
    return tokens


def _starts(text: str, i: int) -> bool:
    return i == 0 or text[i - 1].isspace() or text[i - 1] == "("


# --- parser -----------------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[Token], length: int) -> None:
        self.tokens = tokens
        self.i = 0
        self.length = length

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        leftover = self.peek()
        if leftover is not None:
            raise QuerySyntaxError("this closing parenthesis has no opening one", leftover.position)
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.and_expr(after=token))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, after: Token | None = None) -> Node:
        children = [self.not_expr(after)]
        while (token := self.peek()) is not None and token.kind not in ("OR", "RPAREN"):
            if token.kind == "AND":
                self.take()
                children.append(self.not_expr(after=token))
            else:
                children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self, after: Token | None = None) -> Node:
        token = self.peek()
        if token is None or token.kind in ("OR", "AND", "RPAREN"):
            where = token.position if token is not None else self.length
            if after is not None:
                raise QuerySyntaxError(f"{after.text} needs a term after it", after.position)
            if token is not None and token.kind in ("OR", "AND"):
                raise QuerySyntaxError(f"{token.text} needs a term before it", token.position)
            if token is not None:
                raise QuerySyntaxError("this closing parenthesis has no opening one", token.position)
            raise QuerySyntaxError("the query is empty", where)
        if token.kind in ("NOT", "MINUS"):
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "AND", "RPAREN"):
                raise QuerySyntaxError(f"{token.text} needs a term after it", token.position)
            return Not(self.not_expr())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "LPAREN":
            if (nxt := self.peek()) is not None and nxt.kind == "RPAREN":
                raise QuerySyntaxError("these parentheses are empty", token.position)
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError("this parenthesis is never closed", token.position)
            self.take()
            return node
        if token.kind == "PHRASE":
            words = tuple(WORD_RE.findall(fold(token.text)))
            if not words:
                raise QuerySyntaxError("this phrase is empty", token.position)
            return Phrase(words) if len(words) > 1 else Word(words[0])
        return _term(token)


def _term(token: Token) -> Node:
    text, position = token.text, token.position
    key, colon, value = text.partition(":")
    if colon and key.lower() in FILTERS:
        value = value.strip().lower()
        if not value:
            raise QuerySyntaxError(f"{key}: needs a value", position)
        if key.lower() == "network" and value not in NETWORKS:
            raise QuerySyntaxError(f"unknown network {value!r}; use one of {', '.join(NETWORKS)}", position)
        if key.lower() == "lang" and not regex.fullmatch(r"[a-z]{2,3}", value):
            raise QuerySyntaxError(f"{value!r} is not a language code like fr or en", position)
        return Filter(key.lower(), fold(value.lstrip("@")))
    if colon and regex.fullmatch(r"[A-Za-z]+", key) and not value.startswith("//"):
        raise QuerySyntaxError(f"unknown filter {key}:; use lang:, network: or author:", position)
    if text.startswith("#"):
        tag = fold(text[1:])
        if not regex.fullmatch(r"[\p{L}\p{N}_]+", tag):
            raise QuerySyntaxError("a hashtag needs letters or digits after #", position)
        return Hashtag(tag)
    if text.startswith("@"):
        handle = fold(text[1:])
        if not HANDLE_RE.fullmatch(f"@{handle}"):
            raise QuerySyntaxError("a handle needs letters or digits after @", position)
        return Handle(handle)
    folded = fold(text)
    star = folded.endswith("*")
    words = WORD_RE.findall(folded)
    if not words:
        raise QuerySyntaxError(f"{text!r} has no letters or digits to search", position)
    if len(words) > 1:  # l'appli, e-mail, U.S. → the words in a row
        return Phrase(tuple(words))
    return Word(words[0] + ("*" if star else ""))


def parse(text: str) -> Node:
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"the query is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = tokenize(text)
    if not tokens:
        raise QuerySyntaxError("the query is empty", 0)
    terms = sum(1 for t in tokens if t.kind in ("TERM", "PHRASE"))
    if terms > MAX_TERMS:
        raise QuerySyntaxError(f"the query has more than {MAX_TERMS} terms", tokens[-1].position)
    node = _Parser(tokens, len(text)).parse()
    if not _has_positive(node):
        raise QuerySyntaxError("the query needs at least one term that is not negated", 0)
    return node


def _has_positive(node: Node) -> bool:
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_has_positive(c) for c in node.children)
    if isinstance(node, Or):
        return all(_has_positive(c) for c in node.children)
    return not isinstance(node, Filter)


def search_terms(node: Node) -> list[str]:
    """The positive words, phrases, hashtags and handles: what a network's search endpoint is asked for
    (each result is then checked against the whole query locally)."""
    out: list[str] = []
    if isinstance(node, And | Or):
        for child in node.children:
            out += search_terms(child)
    elif isinstance(node, Word):
        out.append(node.value.rstrip("*"))
    elif isinstance(node, Phrase):
        out.append(f'"{" ".join(node.words)}"')
    elif isinstance(node, Hashtag):
        out.append(f"#{node.tag}")
    elif isinstance(node, Handle):
        out.append(f"@{node.handle}")
    return list(dict.fromkeys(out))


def networks(node: Node) -> set[str] | None:
    """The networks the query is limited to by network: filters, or None for all."""
    if isinstance(node, Filter) and node.key == "network":
        return {node.value}
    if isinstance(node, And):
        limits = [n for n in (networks(c) for c in node.children) if n is not None]
        return set.intersection(*limits) if limits else None
    if isinstance(node, Or):
        parts = [networks(c) for c in node.children]
        return None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
    return None
