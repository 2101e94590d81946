"""A section's place in a report's outline: its headings from the top level down.

Stored and shown as one string, "一、上半年工作完成情况 > （六）全力整治生态环境"; only this type reads
or writes that format.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

SEPARATOR = " > "


@dataclass(frozen=True)
class SectionPath:
    parts: tuple[str, ...] = ()

    @classmethod
    def of(cls, headings: Iterable[str]) -> SectionPath:
        return cls(tuple(h for h in headings if h))

    @classmethod
    def parse(cls, text: str) -> SectionPath:
        return cls.of(text.split(SEPARATOR)) if text else cls()

    @property
    def text(self) -> str:
        """The stored form; "" for text before the first heading."""
        return SEPARATOR.join(self.parts)

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.parts)

    @property
    def part(self) -> str:
        """The top-level heading ("一、上半年工作完成情况"): the part of the report."""
        return self.parts[0] if self.parts else ""

    @property
    def title(self) -> str:
        """The innermost heading."""
        return self.parts[-1] if self.parts else ""

    @property
    def topic(self) -> SectionPath:
        """The first two levels: the section a broad answer covers."""
        return SectionPath(self.parts[:2])

    @property
    def within_part(self) -> SectionPath:
        """The levels below the part."""
        return SectionPath(self.parts[1:])

    def last(self, levels: int) -> SectionPath:
        return SectionPath(self.parts[-levels:])

    def label(self, separator: str = " › ") -> str:
        """For display: the headings joined by ``separator``, "（开头）" before the first heading."""
        return separator.join(self.parts) if self.parts else "（开头）"
