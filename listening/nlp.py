"""Language identification and sentiment scoring.

Language: lingua, restricted to the languages an organization meets (settings.SMMS_LISTENING_LANGUAGES), with
the network's own language tag as a fallback when the text is too short to tell. Sentiment: VADER for English
and its French adaptation (vadersentiment-fr) for French; other languages are stored as "unsupported" rather
than scored wrong. Scores use VADER's usual compound thresholds (±0.05).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import regex
from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

THRESHOLD = 0.05
SCORED = ("en", "fr")
MODEL_NAMES = {"en": "vaderSentiment 3.3.2", "fr": "vadersentiment-fr 1.3.4"}
URL_RE = regex.compile(r"https?://\S+")
HANDLE_RE = regex.compile(r"(?<![\w@])@[\w.\-]+")


@lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in settings.SMMS_LISTENING_LANGUAGES
    ]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


@lru_cache(maxsize=1)
def _analyzers() -> dict[str, object]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as English
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer as French

    return {"en": English(), "fr": French()}


def _clean(text: str) -> str:
    """Links and handles carry no sentiment and confuse both models."""
    return HANDLE_RE.sub(" ", URL_RE.sub(" ", text)).strip()


def detect_languages(texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[str]:
    """ISO 639-1 codes, "" when unknown. ``hints`` are the languages the networks declared, used when the
    text alone is too short to decide."""
    cleaned = [_clean(t) for t in texts]
    detected = _detector().detect_languages_in_parallel_of(cleaned)
    out = []
    for i, language in enumerate(detected):
        hint = (hints[i] if hints else None) or ""
        words = len(cleaned[i].split())
        if language is None or (words < 3 and hint):
            out.append(hint[:2].lower())
        else:
            out.append(language.iso_code_639_1.name.lower())
    return out


def score(text: str, lang: str) -> tuple[str, float | None]:
    """(positive | neutral | negative | unsupported, VADER compound score)."""
    analyzer = _analyzers().get(lang)
    if analyzer is None:
        return "unsupported", None
    compound = float(analyzer.polarity_scores(_clean(text))["compound"])  # type: ignore[attr-defined]
    if compound >= THRESHOLD:
        return "positive", compound
    if compound <= -THRESHOLD:
        return "negative", compound
    return "neutral", compound
