"""Where to look: which reports, and within each the phase (results or plans) the question asks about.

The reports come from the user's choice, else from what the question names (a place, a year, a title,
"全区"), else from what the conversation settled on; every report when nothing narrows it. The phase
is read per report: in a 2024 annual report "去年" is its review of 2023 and "今年" its plans for 2024.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.catalog import Catalog, Report
from index.meta import ChunkMeta
from index.periods import DONE, PLAN


@dataclass(frozen=True)
class Scope:
    docs: tuple[str, ...] = ()  # document ids; () means every report
    phase: str = ""  # "done" / "plan" / "": the phase for reports with no phase of their own below
    doc_phases: tuple[tuple[str, str], ...] = ()  # (doc_id, phase) where the report's own years decide
    named: bool = False  # the question or the conversation named the reports (not merely the user's choice)

    @property
    def phased(self) -> bool:
        return bool(self.phase) or any(p for _, p in self.doc_phases)

    def phase_of(self, doc_id: str) -> str:
        return dict(self.doc_phases).get(doc_id, self.phase)

    def widened(self) -> Scope:
        """The same reports, whole: for when the asked phase turns out not to cover the question."""
        return Scope(self.docs, named=self.named)

    def only(self, doc_id: str) -> Scope:
        return Scope((doc_id,), self.phase_of(doc_id), (), self.named)

    def accepts(self, meta: ChunkMeta) -> bool:
        if self.docs and meta.doc_id not in self.docs:
            return False
        phase = self.phase_of(meta.doc_id)
        return not phase or meta.phase in (phase, "")

    def where(self) -> dict | None:
        """The same test as ``accepts``, as a Chroma metadata filter."""
        own = dict(self.doc_phases)
        if not own:
            return _both(_docs_filter(self.docs), _phase_filter(self.phase))
        docs = self.docs or ()
        clauses = [_both({"doc_id": d}, _phase_filter(p)) for d, p in own.items() if not docs or d in docs]
        rest = {"doc_id": {"$nin": list(own)}}
        if self.docs:
            others = [d for d in self.docs if d not in own]
            rest = _docs_filter(tuple(others)) if others else None
        if rest is not None:
            clauses.append(_both(rest, _phase_filter(self.phase)) or rest)
        if not clauses:
            return _docs_filter(self.docs)
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _docs_filter(docs: tuple[str, ...]) -> dict | None:
    if not docs:
        return None
    return {"doc_id": docs[0]} if len(docs) == 1 else {"doc_id": {"$in": list(docs)}}


def _phase_filter(phase: str) -> dict | None:
    """Chunks of the phase, plus text that belongs to neither (opening lines)."""
    return {"phase": {"$in": [phase, ""]}} if phase else None


def _both(a: dict | None, b: dict | None) -> dict | None:
    if a and b:
        return {"$and": [a, b]}
    return a or b


# --- reading a question's scope ---------------------------------------------------------------
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_RELATIVE_YEARS = ((re.compile(r"去年|上一年|上年度|过去一年"), -1), (re.compile(r"今年|本年度|当年"), 0),
                   (re.compile(r"明年|来年|下一年"), 1))
_HALF_YEAR = re.compile(r"上半年|下半年|前半年|后半年|半年")
# "全区", "我县", "本市": the level of place the asker lives in, when no place is named.
_LEVEL = re.compile(r"[全我本该](市|县|区)")
_TITLE_MENTION = re.compile(r"《([^》]{2,60})》")


@dataclass(frozen=True)
class ScopeReading:
    scope: Scope
    words: tuple[str, ...]  # what in the question did the scoping ("丽水", "2023年"): not topic words


class ScopeReader:
    """Reads which reports a question is about, and the phase each report's own years give it."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def read(self, question: str, phase: str, history: list[dict], chosen: list[str] | None = None) -> ScopeReading:
        reports = self.catalog.reports()
        if chosen:
            wanted = set(chosen)
            reports = [r for r in reports if r.doc_id in wanted]
        named, words = self._named(question, reports)
        from_history = not named and len(reports) > 1
        if from_history:
            named = self._settled(history, reports)
        pool = named or reports
        docs = tuple(r.doc_id for r in pool) if (named or chosen) else ()
        return ScopeReading(Scope(docs, phase, self._own_phases(question, pool), bool(named)), words)

    def _named(self, text: str, reports: list[Report]) -> tuple[list[Report], tuple[str, ...]]:
        """Reports the text names by title, place, year or place level; the words that named them."""
        words: list[str] = []
        picked = reports
        by_title = [r for r in reports if r.title in text or r.doc_id in text]
        if by_title:
            return by_title, tuple(r.title for r in by_title)
        by_place = [r for r in reports if any(name in text for name in r.place_names)]
        if by_place:
            picked = by_place
            words += [n for r in by_place for n in r.place_names if n in text]
        else:
            level = _LEVEL.search(text)
            by_level = [r for r in reports if level and r.identity.place.endswith(level.group(1))]
            if by_level:
                picked = by_level
        years = {int(y) for y in _YEAR.findall(text)}
        by_year = [r for r in picked if years & r.years]
        if by_year:
            picked = by_year
            words += [f"{y}年" for y in years if any(y in r.years for r in by_year)]
        if _HALF_YEAR.search(text):
            halves = [r for r in picked if r.identity.kind == "mid-year"]
            picked = halves or picked
        narrowed = picked if len(picked) < len(reports) else []
        return narrowed, tuple(dict.fromkeys(words))

    def _settled(self, history: list[dict], reports: list[Report]) -> list[Report]:
        """The report the conversation is about: named in an earlier question, or the only one the last
        answer quoted."""
        for message in reversed(history):
            text = str(message.get("content", ""))
            if message.get("role") == "assistant":
                titles = set(_TITLE_MENTION.findall(text))
                quoted = [r for r in reports if r.title in titles]
                if len(quoted) == 1:
                    return quoted
            else:
                named, _ = self._named(text, reports)
                if named:
                    return named
        return []

    @staticmethod
    def _own_phases(question: str, reports: list[Report]) -> tuple[tuple[str, str], ...]:
        """Results or plans, from the years the question names as each report sees them: in a 2024
        annual report 去年 (2023) is the review, 今年 (2024) the plans."""
        explicit = {int(y) for y in _YEAR.findall(question)}
        shifts = [shift for pattern, shift in _RELATIVE_YEARS if pattern.search(question)]
        phases = []
        for report in reports:
            ident = report.identity
            years = explicit | {ident.year + s for s in shifts if ident.year}
            done = ident.review_year in years and ident.review_year != ident.plan_year
            plan = ident.plan_year in years and ident.review_year != ident.plan_year
            if done != plan:
                phases.append((report.doc_id, DONE if done else PLAN))
        return tuple(phases)
