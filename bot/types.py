"""What the bot returns: an answer with numbered sources, and the errors users see."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.errors import UserFacingError

if TYPE_CHECKING:
    from index.store import StoredChunk


class InputError(UserFacingError, ValueError):
    """Bad user input; ``message_zh`` is shown to the user as is."""

    def __init__(self, message_zh: str, reason: str = ""):
        super().__init__(reason or message_zh)
        self.message_zh = message_zh


@dataclass
class Source:
    n: int
    doc: str  # the document id (file stem)
    section: str
    text: str
    start: int
    end: int
    score: float
    cited: list[str] = field(default_factory=list)  # sentences of ``text`` the answer quotes
    title: str = ""  # the report's title, as its text gives it

    @classmethod
    def from_chunk(cls, n: int, chunk: StoredChunk, score: float = 0.0, cited: list[str] | None = None) -> Source:
        meta = chunk.meta
        return cls(n, meta.doc_id, meta.section_path, chunk.text, meta.start, meta.end, score, cited or [],
                   meta.doc_title or meta.doc_id)

    def to_dict(self) -> dict:
        return {"n": self.n, "doc": self.doc, "title": self.title, "section": self.section, "text": self.text,
                "start": self.start, "end": self.end, "score": round(self.score, 4)}


@dataclass
class Answer:
    answer: str
    refused: bool
    question: str  # the question as searched: normalised, follow-ups rewritten
    sources: list[Source] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    suggestions: list[str] = field(default_factory=list)  # follow-up questions the reports can answer

    def to_dict(self) -> dict:
        return {"answer": self.answer, "refused": self.refused, "question": self.question,
                "sources": [s.to_dict() for s in self.sources], "suggestions": self.suggestions,
                "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()}}
