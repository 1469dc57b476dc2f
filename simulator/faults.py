"""Fault injection, settable per run through the admin API or the SIM_FAULTS environment variable.

A plan is a list of rules; the first matching rule that fires (by its rate, with a seeded RNG) applies:
  {"kind": "error", "status": 503, "rate": 0.1}          5xx in the platform's error shape
  {"kind": "rate_limit", "count": 5, "retry_after": 2}    a burst of 429s with the platform's headers
  {"kind": "latency", "ms": 300, "rate": 1}               slow answers
  {"kind": "lost", "mode": "reset"|"timeout", "rate": .02} the write is applied, the client gets no answer
  {"kind": "malformed", "rate": 0.05}                     a body that is not the promised JSON
  {"kind": "revoke", "count": 1}                          the caller's token is revoked, then refused
Optional filters: "platform" ("x", ... or "*"), "methods" (["POST"]), "path" (a regular expression).
"count" limits how many times a rule fires; without it the rule stays until removed.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = {"error", "rate_limit", "latency", "lost", "malformed", "revoke"}


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    platform: str = "*"
    methods: list[str] = field(default_factory=list)
    path: str = ""
    count: int | None = None
    status: int = 503
    ms: int = 0
    mode: str = "reset"
    retry_after: int = 1
    fired: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        if data.get("kind") not in KINDS:
            raise ValueError(f"unknown fault kind {data.get('kind')!r}; one of {sorted(KINDS)}")
        allowed = {f for f in cls.__dataclass_fields__ if f != "fired"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        rule = cls(**data)
        if not 0 <= rule.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if rule.path:
            re.compile(rule.path)
        return rule

    def matches(self, platform: str, method: str, path: str) -> bool:
        if self.platform not in ("*", platform):
            return False
        if self.methods and method not in self.methods:
            return False
        if self.path and not re.search(self.path, path):
            return False
        return self.count is None or self.fired < self.count

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FaultPlan:
    def __init__(self, seed: int = 42, rules: list[dict[str, Any]] | None = None) -> None:
        self.rng = random.Random(seed ^ 0xFA17)
        self.lock = threading.Lock()
        self.rules: list[FaultRule] = [FaultRule.from_dict(r) for r in rules or []]
        self.stats: dict[str, int] = {}

    def replace(self, rules: list[dict[str, Any]]) -> None:
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self.lock:
            self.rules = parsed

    def add(self, rules: list[dict[str, Any]]) -> None:
        parsed = [FaultRule.from_dict(r) for r in rules]
        with self.lock:
            self.rules.extend(parsed)

    def pick(self, platform: str, method: str, path: str, phases: set[str]) -> FaultRule | None:
        with self.lock:
            for rule in self.rules:
                if rule.kind not in phases or not rule.matches(platform, method, path):
                    continue
                if rule.rate >= 1 or self.rng.random() < rule.rate:
                    rule.fired += 1
                    self.stats[rule.kind] = self.stats.get(rule.kind, 0) + 1
                    return rule
        return None

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {"rules": [r.as_dict() for r in self.rules], "fired": dict(self.stats)}
