"""Equivalent forms of common report abbreviations (GDP / 地区生产总值, 规上 / 规模以上), read from a file."""
from __future__ import annotations

from importlib import resources


class Glossary:
    def __init__(self, groups: list[list[str]]):
        self.groups = [[form.lower() for form in group] for group in groups if len(group) > 1]

    @classmethod
    def load(cls, text: str | None = None) -> "Glossary":
        if text is None:
            text = resources.files("bot").joinpath("glossary.txt").read_text(encoding="utf-8")
        lines = (line.split("#", 1)[0].split() for line in text.splitlines())
        return cls([line for line in lines if line])

    def variants(self, term: str) -> list[str]:
        """Other spellings of ``term``: each form of a group it contains swapped for the others."""
        term = term.lower()
        found: list[str] = []
        for group in self.groups:
            for form in group:
                if form in term:
                    found.extend(term.replace(form, other) for other in group if other != form)
        return list(dict.fromkeys(v for v in found if v != term))

    def expand(self, query: str) -> str:
        """The query with the other forms of any abbreviation it uses appended (for keyword search)."""
        lowered = query.lower()
        extra = [other for group in self.groups if any(form in lowered for form in group)
                 for other in group if other not in lowered]
        return f"{query} {' '.join(extra)}" if extra else query
