"""Plan the answer: refuse, list a whole part's sections, quote a sentence or two, or summarise whole
sections; and which sections. Every choice of what a broad answer covers is made here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.stages.gate import Evidence
from bot.stages.retrieve import Hit
from bot.stages.scope import Scope
from index.keyword import KeywordIndex
from index.section_path import SectionPath

# refuse: the reports do not cover it; overview: the sections of whole parts; narrow: the best sentences;
# how: the best sentences, or the section's measures when no sentence says how; broad: whole sections;
# partial: the topic is there but the asked detail is not: say so, then show what the report does say.
Route = Literal["refuse", "overview", "narrow", "how", "broad", "partial"]

ITEM_TITLE_COVERAGE = 0.5  # an item's own title this close to the question: the item, not its section
HOW_TITLE_COVERAGE = 0.5
OTHER_PHASE_COVERAGE = 0.9  # relative to the best hit: the other phase's section is on the topic too
PART_TITLE_COVERAGE = 0.99


@dataclass(frozen=True)
class Section:
    """A stretch of one report quoted as a whole: a numbered section (（一）…) or one of its
    enumerated items ("二是…")."""

    doc_id: str
    level: Literal["topic_id", "section_id"]  # the chunk field that tells its chunks
    id: int
    path: SectionPath  # what the answer's lead names

    @property
    def numbered(self) -> bool:
        """Below a part heading; not a paragraph that sits under the part heading itself."""
        return bool(self.path.within_part)


@dataclass(frozen=True)
class Plan:
    route: Route
    sections: tuple[Section, ...] = ()  # broad: summarised; how: quoted when no sentence says how
    parts: tuple[tuple[str, str], ...] = ()  # overview: (doc_id, top-level part) listed, e.g. "二、2022年下半年工作计划"
    missing: tuple[str, ...] = ()  # partial: the asked details the report does not mention

    @property
    def llm_may_write(self) -> bool:
        """Refusals and overviews are written by rule; an answer from passages may be the LLM's."""
        return self.route in ("narrow", "how", "broad")  # a partial answer's caveat is written by rule


class Planner:
    def __init__(self, weights: TermWeights, keywords: KeywordIndex):
        self.weights = weights
        self.keywords = keywords  # one report's chunks at a time, for its parts

    def plan(self, info: QuestionInfo, scope: Scope, hits: list[Hit], evidence: Evidence) -> Plan:
        parts = self._overview_parts(info, scope)
        if parts:
            return Plan("overview", parts=tuple(parts))
        if evidence.outcome == "partial":
            return Plan("partial", missing=evidence.missing)
        if not evidence.passes:
            return Plan("refuse")
        if info.broad and not info.english:
            return Plan("broad", self._sections(info, scope, hits))
        if info.asks_how and not info.asks_quantity:
            # "下半年怎么建设美丽乡村" and "二是加快推进建设美丽乡村": a section about exactly this holds
            # the measures, should no single sentence say how.
            sections = self._sections(info, scope, hits)
            if self.weights.coverage(info, sections[0].path.title) >= HOW_TITLE_COVERAGE:
                return Plan("how", sections)
        return Plan("narrow")

    def _section_of(self, info: QuestionInfo, hit: Hit) -> Section:
        """The enumerated item ("二是…") when its own title matches the question, otherwise the whole
        numbered section (（一）…) it belongs to."""
        meta = hit.chunk.meta
        in_item = meta.section_id != meta.topic_id
        if in_item and self.weights.coverage(info, meta.section_title) >= ITEM_TITLE_COVERAGE:
            return Section(meta.doc_id, "section_id", meta.section_id, meta.path)
        return Section(meta.doc_id, "topic_id", meta.topic_id, meta.path.topic if in_item else meta.path)

    def _sections(self, info: QuestionInfo, scope: Scope, hits: list[Hit]) -> tuple[Section, ...]:
        """The best hit's section, plus the other phase's when the question names none."""
        best = hits[0]
        sections = [self._section_of(info, best)]
        if not scope.phase_of(best.chunk.meta.doc_id):
            best_coverage = self.weights.coverage(info, best.chunk.embed_text)
            for hit in hits[1:3]:
                if hit.chunk.meta.doc_id != best.chunk.meta.doc_id or hit.chunk.meta.phase == best.chunk.meta.phase:
                    continue
                if self.weights.coverage(info, hit.chunk.embed_text) >= OTHER_PHASE_COVERAGE * best_coverage:
                    section = self._section_of(info, hit)
                    if section.path not in [s.path for s in sections]:
                        sections.append(section)
                    break
        return tuple(sections)

    def _overview_parts(self, info: QuestionInfo, scope: Scope) -> list[tuple[str, str]]:
        """Top-level parts the question asks about as a whole: it names only their phase ("下半年有哪些
        计划"), or only words of their title ("2023年有什么安排"). Only within one report: across
        several, a list of parts says nothing."""
        if info.english or info.asks_quantity or not (info.broad or scope.phased or not info.terms):
            return []  # "今年要种多少树": a figure asked in words too short to be terms is no overview
        phases: dict[tuple[str, str], str] = {}
        # Report by report, stopping at the second that has parts in scope: never the whole library.
        for doc_id in scope.docs or self.keywords.doc_ids():
            for chunk in self.keywords.chunks_of(doc_id):
                meta = chunk.meta
                if meta.path and scope.accepts(meta):
                    phases.setdefault((meta.doc_id, meta.path.part), meta.phase)
            if len({doc for doc, _ in phases}) > 1:
                return []
        if not phases:
            return []
        if info.terms:
            named = [p for p in phases if self.weights.coverage(info, p[1]) >= PART_TITLE_COVERAGE]
        else:
            named = list(phases) if scope.phased else []
        if scope.phased:
            named = [p for p in named if phases[p] == scope.phase_of(p[0])]
        return named
