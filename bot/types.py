"""What the bot returns: an answer with numbered sources, and the errors users see."""
from __future__ import annotations

from dataclasses import dataclass, field

from index.errors import UserFacingError


class InputError(UserFacingError, ValueError):
    """Bad user input; ``message_zh`` is shown to the user as is."""

    def __init__(self, message_zh: str, reason: str = ""):
        super().__init__(reason or message_zh)
        self.message_zh = message_zh


@dataclass
class Source:
    n: int
    doc: str
    section: str
    text: str
    start: int
    end: int
    score: float
    cited: list[str] = field(default_factory=list)  # sentences of ``text`` the answer quotes

    def to_dict(self) -> dict:
        return {"n": self.n, "doc": self.doc, "section": self.section, "text": self.text,
                "start": self.start, "end": self.end, "score": round(self.score, 4)}


@dataclass
class Answer:
    answer: str
    refused: bool
    question: str  # the question as searched: normalised, follow-ups rewritten
    sources: list[Source] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"answer": self.answer, "refused": self.refused, "question": self.question,
                "sources": [s.to_dict() for s in self.sources],
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}
