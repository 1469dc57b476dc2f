"""Language identification and sentiment scoring.

Language: lingua, restricted to the languages an organization meets (settings.SMMS_LISTENING_LANGUAGES), with
the network's own language tag as a fallback when the text is too short to tell. Sentiment: VADER for English
and its French adaptation (vadersentiment-fr) for French; other languages are stored as "unsupported" rather
than scored wrong. Scores use VADER's usual compound thresholds (±0.05).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import regex
from django.conf import settings
from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

THRESHOLD = 0.05
# A question to a brand without strongly charged words is a request for information, not a mood.
QUESTION_NEUTRAL_BELOW = 0.7  # chosen on the dev half of the evaluation sets
SCORED = ("en", "fr")
MODEL_NAMES = {
    "en": "vaderSentiment 3.3.2 + SMMS lexicon and idioms",
    "fr": "vadersentiment-fr 1.3.4 + SMMS lexicon and idioms",
}
URL_RE = regex.compile(r"https?://\S+")
HANDLE_RE = regex.compile(r"(?<![\w@])@[\w.\-]+")


# Language identification is the costliest step of ingestion. lingua's low-accuracy mode (trigrams only) is
# three times faster and sure of itself on most posts; the rest, mostly very short texts, go to the
# high-accuracy mode. On the evaluation sets this pair is as accurate as high accuracy alone (0.995).
CONFIDENT = 0.8


@lru_cache(maxsize=1)
def _detectors():  # type: ignore[no-untyped-def]
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in settings.SMMS_LISTENING_LANGUAGES
    ]
    builder = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models()
    return builder.build(), builder.with_low_accuracy_mode().build()


def warm_up() -> None:
    _detectors()
    _analyzers()


def _language_of(text: str) -> Language | None:
    accurate, fast = _detectors()
    confidences = fast.compute_language_confidence_values(text)
    if confidences and confidences[0].value >= CONFIDENT:
        return confidences[0].language
    return accurate.detect_language_of(text)


# Idioms whose meaning the word-by-word lexicons get wrong, rewritten to a word with the right valence
# before scoring: in French "pas terrible" is bad and "pas mal" is good.
IDIOMS: dict[str, list[tuple[str, str]]] = {
    "fr": [
        (r"pas (?:si |très )?terrible", "médiocre"),
        (r"pas (?:au )?top", "décevant"),
        (r"pas fou", "moyen"),
        (r"pas mal", "bien"),
        (r"pas de (?:souci|soucis|problème|problèmes)", "parfait"),
        (r"sans (?:souci|soucis|problème)", "parfait"),
        (r"rien à redire", "parfait"),
        (r"jamais déçue?s?", "satisfait"),
        (r"plus jamais", "décevant"),
        (r"(?:du grand )?n'importe quoi", "lamentable"),
        (r"c'est abusé", "inacceptable"),
        (r"à la ramasse", "nul"),
        (r"toujours pas", "décevant"),
        (r"toujours rien", "décevant"),
        (r"(?:jamais|pas) (?:reçu|reçue|reçus|livré|livrée|arrivé|arrivée)", "décevant"),
        (r"sans (?:réponse|nouvelles)", "décevant"),
        (r"aucune? (?:réponse|nouvelle|solution)", "décevant"),
        (r"hors de prix", "cher"),
        (r"trop cher", "cher"),
        (r"ça craint", "nul"),
        (r"c'est la honte", "honte"),
        (r"j'en ai marre", "marre"),
        (r"foutage de gueule", "scandaleux"),
        (r"se fout(?:ent)? de", "mépris"),
        (r"(?:c'est une|quelle|la) blague", "lamentable"),
        (r"sans (?:aucun )?goût", "insipide"),
        (r"pas normal", "anormal"),
        (r"pour rien", "inutilement"),
        (r"c'est non", "inacceptable"),
        (r"trop bien", "génial"),
        (r"au top", "génial"),
        (r"c'est ouf", "génial"),
    ],
    "en": [
        (r"never again", "terrible"),
        (r"no complaints", "satisfied"),
        (r"can'?t complain", "satisfied"),
        (r"still waiting", "frustrated waiting"),
        (r"on hold", "frustrated"),
        (r"worth it", "worthwhile"),
        (r"chef'?s kiss", "perfect"),
        (r"rip ?off", "ripoff"),
    ],
}
# One pass per text: all of a language's idioms in one alternation, the matching branch naming its word.
_IDIOM_RES = {
    lang: (
        regex.compile(r"\b(?:" + "|".join(f"({pattern})" for pattern, _ in rules) + r")\b", regex.IGNORECASE),
        [word for _, word in rules],
    )
    for lang, rules in IDIOMS.items()
}


def _unaccented(word: str) -> str:
    from unidecode import unidecode

    return unidecode(word)


def _lexicon(lang: str) -> dict[str, float]:
    """Social-media words the stock lexicons miss (slang, customer-service vocabulary), from
    listening/data/lexicon_<lang>.tsv; written from knowledge of the languages, not fitted to the
    evaluation sets."""
    from unidecode import unidecode

    path = Path(__file__).resolve().parent / "data" / f"lexicon_{lang}.tsv"
    with path.open(encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle][1:]
    # vadersentiment-fr looks words up without their accents ("déçu" as "decu").
    key = unidecode if lang == "fr" else str
    return {key(word): float(value) for word, value in rows if word}


@lru_cache(maxsize=1)
def _analyzers() -> dict[str, object]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer as English
    from vaderSentiment_fr.vaderSentiment import SentimentIntensityAnalyzer as French

    analyzers: dict[str, object] = {"en": English(), "fr": French()}
    for lang, analyzer in analyzers.items():
        analyzer.lexicon.update(_lexicon(lang))  # type: ignore[attr-defined]
    return analyzers


ELONGATED_RE = regex.compile(r"\w*(\p{L})\1{2,}\w*")
RUN_RE = regex.compile(r"(\p{L})\1{2,}")


def _clean(text: str, lang: str | None = None) -> str:
    """Links and handles carry no sentiment and confuse both models; letters drawn out for emphasis are
    brought back ("nuuuul" to "nul", "coooool" to "cool"); idioms get their meaning back."""
    text = HANDLE_RE.sub(" ", URL_RE.sub(" ", text)).strip()
    if not lang:
        return text
    return _idioms(ELONGATED_RE.sub(lambda match: _shorten(match.group(), lang), text), lang)


def _shorten(word: str, lang: str) -> str:
    """A drawn-out word with its runs at two letters if the lexicon knows that spelling, else at one."""
    double = RUN_RE.sub(r"\1\1", word)
    analyzer = _analyzers().get(lang)
    lexicon = getattr(analyzer, "lexicon", {})
    key = _unaccented(double.lower()) if lang == "fr" else double.lower()
    return double if key in lexicon else RUN_RE.sub(r"\1", word)


def _idioms(text: str, lang: str) -> str:
    rule = _IDIOM_RES.get(lang)
    if rule is None:
        return text
    pattern, words = rule
    return pattern.sub(lambda match: words[match.lastindex - 1], text)


def detect_languages(texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[str]:
    """ISO 639-1 codes, "" when unknown. ``hints`` are the languages the networks declared, used when the
    text alone is too short to decide."""
    return _detect([_clean(t) for t in texts], hints)


def _detect(cleaned: Sequence[str], hints: Sequence[str | None] | None) -> list[str]:
    out = []
    for i, text in enumerate(cleaned):
        language = _language_of(text)
        hint = (hints[i] if hints else None) or ""
        words = len(cleaned[i].split())
        if language is None or (words < 3 and hint):
            out.append(hint[:2].lower())
        else:
            out.append(language.iso_code_639_1.name.lower())
    return out


def analyse(texts: Sequence[str], hints: Sequence[str | None]) -> list[tuple[str, str, float | None]]:
    """(language, sentiment, compound score) of each text: what ingestion stores, links and handles
    stripped once for both steps."""
    cleaned = [_clean(t) for t in texts]
    langs = _detect(cleaned, hints)
    return [(lang, *_score_clean(_idioms(text, lang), lang)) for text, lang in zip(cleaned, langs, strict=True)]


def score(text: str, lang: str) -> tuple[str, float | None]:
    """(positive | neutral | negative | unsupported, VADER compound score)."""
    return _score_clean(_clean(text, lang), lang)


def _score_clean(cleaned: str, lang: str) -> tuple[str, float | None]:
    analyzer = _analyzers().get(lang)
    if analyzer is None:
        return "unsupported", None
    compound = float(analyzer.polarity_scores(cleaned)["compound"])  # type: ignore[attr-defined]
    if cleaned.rstrip().endswith("?") and abs(compound) < QUESTION_NEUTRAL_BELOW:
        return "neutral", compound
    if compound >= THRESHOLD:
        return "positive", compound
    if compound <= -THRESHOLD:
        return "negative", compound
    return "neutral", compound
