"""Each platform's rule for counting text, from its own documentation (see shared/platforms/*.md).

- X: weighted length ≤ 280: code points in the Latin/punctuation ranges weigh 1, others 2, an emoji
  sequence 2 in all, every URL 23; NFC first.
- Bluesky: ≤ 300 grapheme clusters and ≤ 3,000 UTF-8 bytes; URLs count in full.
- Mastodon: ≤ 500 (instance setting) grapheme clusters, text and content warning together, URL = 23,
  ``@user@domain`` counts as ``@user``.
- Instagram: caption ≤ 2,200 characters, ≤ 30 hashtags, ≤ 20 @mentions.
- Facebook: ≤ 63,206 characters.
"""

from __future__ import annotations

import unicodedata

import regex

from .types import TextCheck

URL_RE = regex.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]", regex.IGNORECASE)
HASHTAG_RE = regex.compile(r"(?<![\w&])#(\w+)")
MENTION_RE = regex.compile(r"(?<![\w@])@(\w[\w.]*)(@[\w.-]+\w)?")
GRAPHEME_RE = regex.compile(r"\X")
EMOJI_RE = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\uFE0F|\u200D|[\U0001F3FB-\U0001F3FF]")

X_LIMIT = 280
X_URL_WEIGHT = 23
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))


def graphemes(text: str) -> int:
    return len(GRAPHEME_RE.findall(text))


def _x_codepoint_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(lo <= code <= hi for lo, hi in X_LIGHT_RANGES) else 2


def x_weighted_length(text: str) -> int:
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in URL_RE.finditer(text):
        total += _x_plain_weight(text[position : match.start()]) + X_URL_WEIGHT
        position = match.end()
    return total + _x_plain_weight(text[position:])


def _x_plain_weight(text: str) -> int:
    total = 0
    for cluster in GRAPHEME_RE.findall(text):
        if EMOJI_RE.search(cluster):
            total += 2  # an emoji sequence (ZWJ family, skin tone, flag) counts 2 in all
        else:
            total += sum(_x_codepoint_weight(c) for c in cluster)
    return total


def check_x(text: str) -> TextCheck:
    length = x_weighted_length(text)
    problems = () if length <= X_LIMIT else (f"{length - X_LIMIT} over the limit of {X_LIMIT}",)
    if not text.strip():
        problems = ("text is empty",)
    return TextCheck(length, X_LIMIT, not problems, problems)


def check_bluesky(text: str, limit: int = 300, max_bytes: int = 3000) -> TextCheck:
    length = graphemes(text)
    problems = []
    if length > limit:
        problems.append(f"{length - limit} over the limit of {limit}")
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        problems.append(f"{size} bytes, over {max_bytes}")
    return TextCheck(length, limit, not problems, tuple(problems))


def mastodon_length(text: str, spoiler_text: str = "", url_weight: int = 23) -> int:
    def count(part: str) -> int:
        total, position = 0, 0
        for match in URL_RE.finditer(part):
            total += graphemes(part[position : match.start()]) + url_weight
            position = match.end()
        return total + graphemes(part[position:])

    # A remote mention counts as its local part only.
    local = MENTION_RE.sub(lambda m: f"@{m.group(1)}", text)
    return count(local) + graphemes(spoiler_text)


def check_mastodon(text: str, limit: int = 500, spoiler_text: str = "") -> TextCheck:
    length = mastodon_length(text, spoiler_text)
    problems = () if length <= limit else (f"{length - limit} over the limit of {limit}",)
    if not text.strip():
        problems = ("text is empty",)
    return TextCheck(length, limit, not problems, problems)


def check_instagram(text: str, limit: int = 2200, max_hashtags: int = 30, max_mentions: int = 20) -> TextCheck:
    length = len(text)
    problems = []
    if length > limit:
        problems.append(f"{length - limit} over the limit of {limit}")
    tags = len(HASHTAG_RE.findall(text))
    if tags > max_hashtags:
        problems.append(f"{tags} hashtags, over {max_hashtags}")
    mentions = len(MENTION_RE.findall(text))
    if mentions > max_mentions:
        problems.append(f"{mentions} mentions, over {max_mentions}")
    return TextCheck(length, limit, not problems, tuple(problems))


def check_facebook(text: str, limit: int = 63206) -> TextCheck:
    length = len(text)
    problems = () if length <= limit else (f"{length - limit} over the limit of {limit}",)
    return TextCheck(length, limit, not problems, problems)
