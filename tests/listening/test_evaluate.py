"""The evaluation command scores each language with its own model on the kept labelled sets."""

from __future__ import annotations

import re
from io import StringIO

from django.core.management import call_command

from listening import evaluation, nlp


def test_the_labelled_sets_are_large_and_balanced_enough():
    for lang in ("en", "fr"):
        rows = evaluation.load(lang)
        assert len(rows) >= 300
        labels = {label for label, _text in rows}
        assert labels == set(evaluation.LABELS)
        assert len({text for _label, text in rows}) == len(rows)


def test_french_is_scored_by_a_french_model():
    assert type(nlp._analyzers()["fr"]).__module__.startswith("vaderSentiment_fr")
    assert nlp.score("Service client nul, très déçu", "fr")[0] == "negative"


def test_evaluate_reports_macro_f1_per_language():
    out = StringIO()
    call_command("evaluate", stdout=out)
    scores = dict(re.findall(r"^(en|fr): \d+ posts, .*macro-F1 ([0-9.]+)", out.getvalue(), re.M))
    assert set(scores) == {"en", "fr"}
    assert all(0 < float(v) <= 1 for v in scores.values())


def test_macro_f1_is_computed_from_the_confusion():
    # Two classes perfect, one always wrong → F1 1, 1, 0 → macro 2/3.
    def predict(text: str) -> str:
        return {"a": "positive", "b": "neutral", "c": "positive"}[text]

    evaluation_load = evaluation.load
    try:
        evaluation.load = lambda lang: [("positive", "a"), ("neutral", "b"), ("negative", "c")]  # type: ignore[assignment]
        report = evaluation.evaluate("en", predict)
    finally:
        evaluation.load = evaluation_load
    assert report.per_class["negative"][2] == 0
    assert round(report.per_class["positive"][2], 3) == 0.667
    assert round(report.macro_f1, 3) == round((0.667 + 1 + 0) / 3, 3)


def test_drawn_out_words_are_read_as_the_word():
    from listening import nlp

    assert nlp.score("nuuuuul @LivrExpress, vraiment", "fr")[0] == "negative"
    assert nlp.score("this is sooo goooood", "en")[0] == "positive"
    assert nlp.score("coooool", "en")[0] == "positive"  # "cool", not "col"
