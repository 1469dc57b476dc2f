"""Scoring the sentiment models against the labelled sets kept in listening/data/eval_<lang>.tsv."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class Report:
    lang: str
    size: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, tuple[float, float, float]]  # precision, recall, f1
    confusion: dict[tuple[str, str], int]  # (gold, predicted) → count


def split(rows: list[tuple[str, str]], part: str) -> list[tuple[str, str]]:
    """ "dev" (even rows) is where choices such as thresholds are made; "test" (odd rows) is held out."""
    return {"all": rows, "dev": rows[0::2], "test": rows[1::2]}[part]


def load(lang: str) -> list[tuple[str, str]]:
    path = DATA / f"eval_{lang}.tsv"
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)  # header
        return [(label, text) for label, text in reader]


def evaluate(lang: str, predict: Callable[[str], str], part: str = "all") -> Report:
    rows = split(load(lang), part)
    confusion: Counter[tuple[str, str]] = Counter()
    for gold, text in rows:
        confusion[(gold, predict(text))] += 1
    per_class = {}
    for label in LABELS:
        tp = confusion[(label, label)]
        predicted = sum(n for (_g, p), n in confusion.items() if p == label)
        actual = sum(n for (g, _p), n in confusion.items() if g == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = (precision, recall, f1)
    correct = sum(confusion[(label, label)] for label in LABELS)
    return Report(
        lang=lang,
        size=len(rows),
        accuracy=correct / len(rows) if rows else 0.0,
        macro_f1=sum(f for _p, _r, f in per_class.values()) / len(LABELS),
        per_class=per_class,
        confusion=dict(confusion),
    )
