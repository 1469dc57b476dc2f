"""Macro-F1 of the sentiment scoring per language on the labelled sets kept in the repository."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from listening import nlp
from listening.evaluation import LABELS, evaluate


class Command(BaseCommand):
    help = "Score the sentiment models on listening/data/eval_<lang>.tsv and print macro-F1 per language."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--lang", action="append", choices=list(nlp.SCORED), help="default: all scored languages")

    def handle(self, *args: Any, **options: Any) -> None:
        for lang in options["lang"] or nlp.SCORED:
            report = evaluate(lang, lambda text, lang=lang: nlp.score(text, lang)[0])
            model = nlp.MODEL_NAMES[lang]
            halves = {
                part: evaluate(lang, lambda text, lang=lang: nlp.score(text, lang)[0], part).macro_f1
                for part in ("dev", "test")
            }
            self.stdout.write(
                f"{lang}: {report.size} posts, model {model}: macro-F1 {report.macro_f1:.3f}, "
                f"accuracy {report.accuracy:.3f} (dev half {halves['dev']:.3f}, held-out half {halves['test']:.3f})"
            )
            for label in LABELS:
                p, r, f = report.per_class[label]
                self.stdout.write(f"    {label:<9} precision {p:.2f}  recall {r:.2f}  F1 {f:.2f}")
