"""One question's way through the stages: what each decided, and how long each took."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.stages.gate import Evidence
from bot.stages.group import ReportFinding
from bot.stages.plan import Plan
from bot.stages.retrieve import Hit, Retrieved
from bot.stages.scope import Scope
from bot.stages.understand import Question


@dataclass
class Turn:
    asked: Question  # understand
    scope: Scope  # scope
    found: Retrieved  # retrieve
    gate: Evidence  # gate
    plan: Plan  # plan
    timings: dict[str, float]
    groups: list[ReportFinding] = field(default_factory=list)  # several reports answer: one part each

    @property
    def hits(self) -> list[Hit]:
        return self.found.hits

    @property
    def evidence(self) -> float:
        return self.gate.value


class Timer:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - self.last) * 1000
        self.last = now
