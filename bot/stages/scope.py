"""Where to look: every report, steered to the phase (results or plans) the question names."""
from __future__ import annotations

from dataclasses import dataclass

from bot.query import QuestionInfo


@dataclass(frozen=True)
class Scope:
    phase: str = ""  # "done" (results) / "plan" (plans) / "": both

    def widened(self) -> Scope:
        """The whole of every report, for when the named phase turns out not to cover the question."""
        return Scope()


def scope_of(info: QuestionInfo) -> Scope:
    return Scope(phase=info.phase)
