"""Suggested follow-up questions, built from a report's outline only.

After an answer: the same topic in the report's other phase ("下半年在绿色发展方面有什么计划？" after
what was done for 生态环境), then the sections next to the one the answer came from. Each question is
phrased from one section's title, so that section answers it; nothing else is said about the report.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Iterable, Sequence

from index.headings import HEADING_NUMERALS
from index.meta import ChunkMeta
from index.periods import DONE, PLAN
from index.section_path import SectionPath

_OTHER_PHASE = {DONE: PLAN, PLAN: DONE}
# A title word tells a topic when few of the report's sections use it ("发展" is in most of them).
TELLING_SHARE = 0.2
TELLING_AT_LEAST = 2  # sections a telling word may be in, however short the report


@dataclass(frozen=True)
class Unit:
    """What a question can be about: a numbered section (a topic) or one of its items ("二是…")."""

    path: SectionPath
    topic_id: int
    section_id: int
    phase: str
    period: str
    order: int  # the ordinal of its first chunk: report order

    @property
    def is_item(self) -> bool:
        return self.section_id != self.topic_id

    @property
    def numbered(self) -> bool:
        """Below a part heading, not the part's own paragraphs."""
        return len(self.path.parts) >= 2


class ReportOutline:
    """One report's topics and items in report order, read from its chunks' metadata."""

    def __init__(self, metas: Sequence[ChunkMeta]):
        first = min(metas, key=lambda m: m.ordinal)
        self.doc_id = first.doc_id
        self.place = first.doc_place
        self.years = {DONE: first.doc_review_year, PLAN: first.doc_plan_year}
        units: dict[int, Unit] = {}
        for meta in sorted(metas, key=lambda m: m.ordinal):
            if meta.section_id < 0:
                continue  # text before the first heading is about no section
            if meta.topic_id not in units:
                path = meta.path.topic if meta.section_id != meta.topic_id else meta.path
                units[meta.topic_id] = Unit(path, meta.topic_id, meta.topic_id, meta.phase, meta.period, meta.ordinal)
            if meta.section_id not in units:
                units[meta.section_id] = Unit(meta.path, meta.topic_id, meta.section_id, meta.phase, meta.period,
                                              meta.ordinal)
        self.units = sorted(units.values(), key=lambda u: u.order)
        self.topics = [u for u in self.units if not u.is_item]
        self._by_section = {u.section_id: u for u in self.units}
        self._items: dict[int, list[Unit]] = {}
        for unit in self.units:
            if unit.is_item:
                self._items.setdefault(unit.topic_id, []).append(unit)

    def items_of(self, topic: Unit) -> list[Unit]:
        return self._items.get(topic.topic_id, [])

    def topic_of(self, unit: Unit) -> Unit:
        return self._by_section[unit.topic_id]

    def answered_unit(self, metas: Sequence[ChunkMeta]) -> Unit | None:
        """The section an answer came from: the item when all its first topic's quotes sit in one item,
        else that topic."""
        metas = [m for m in metas if m.section_id >= 0]
        if not metas:
            return None
        topic_id = metas[0].topic_id
        sections = {m.section_id for m in metas if m.topic_id == topic_id}
        section_id = sections.pop() if len(sections) == 1 else topic_id
        return self._by_section.get(section_id)

    def neighbours(self, unit: Unit) -> list[Unit]:
        """Sibling items first (for an item), then the numbered sections of the same part; nearest
        first, the next before the previous."""
        topic = self.topic_of(unit)
        siblings = self.items_of(topic) if unit.is_item else []
        sections = [u for u in self.topics if u.numbered and u.path.part == topic.path.part]
        found: list[Unit] = []
        for pool, anchor in ((siblings, unit), (sections, topic)):
            if anchor not in pool:
                found.extend(pool)  # the part's own paragraphs: its sections in order
                continue
            at = pool.index(anchor)
            found.extend(sorted((u for u in pool if u != anchor), key=lambda u: (abs(pool.index(u) - at),
                                                                                 pool.index(u) < at)))
        return found

    def counterpart(self, unit: Unit, phase: str) -> Unit | None:
        """The numbered section (or item) of ``phase`` on the same topic as ``unit``, judged by the rare
        title words they share; None when no section shares enough."""
        if not self.topic_of(unit).numbered:
            return None
        own = self._topic_bigrams[unit.topic_id]
        best, best_score = None, 0.0
        for topic in (t for t in self.topics if t.phase == phase and t.numbered):
            score = self._shared_weight(own, self._topic_bigrams[topic.topic_id])
            if score > best_score:
                best, best_score = topic, score
        if best is None:
            return None
        # The topic's own title when it shares words, else the item that does ("防控" in an item).
        candidates = [best] + self.items_of(best)
        return max(candidates, key=lambda u: self._shared_weight(own, _bigrams(_bare_title(u.path.title))))

    @cached_property
    def _topic_bigrams(self) -> dict[int, frozenset[str]]:
        """Each topic's title words with those of its items."""
        return {t.topic_id: frozenset().union(*(_bigrams(_bare_title(u.path.title)) for u in [t] + self.items_of(t)))
                for t in self.topics}

    def _shared_weight(self, own: frozenset[str], other: frozenset[str]) -> float:
        return sum(self._rarity.get(gram, 0.0) for gram in own & other)

    @cached_property
    def _rarity(self) -> dict[str, float]:
        """How telling each title bigram is: rare across the report's sections counts more; a bigram in
        many of them counts nothing."""
        topics = [t for t in self.topics if t.numbered]
        counts = Counter(gram for t in topics for gram in self._topic_bigrams[t.topic_id])
        most = max(TELLING_AT_LEAST, TELLING_SHARE * len(topics))
        return {gram: math.log(len(topics) / n) for gram, n in counts.items() if n <= most}


_NUMBERING = re.compile(rf"^\s*(?:[{HEADING_NUMERALS}]{{1,3}}[、.．]|[（(][{HEADING_NUMERALS}\d]{{1,3}}[）)]|"
                        rf"\d{{1,2}}[.．、]|[{HEADING_NUMERALS}]{{1,3}}是)\s*")
_CLAUSE_MARK = re.compile(r"[，,；;：:]")


def _bare_title(title: str) -> str:
    """A heading without its numbering and closing punctuation."""
    return _NUMBERING.sub("", title).strip().rstrip("。；;！!：:")


@lru_cache(maxsize=8192)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1) if text[i].isalnum() and text[i + 1].isalnum())


# Topic phrases: the nominal run of a title's clause ("坚持绿色发展" → "绿色发展").
_NOMINAL_KINDS = {"n", "vn", "nz", "l", "j", "ns", "nt", "nr", "ng", "nrt", "b", "an", "eng", "quoted"}
# Words of effort that head many titles and name no topic ("全力", "聚力" are tagged as nouns).
_EFFORT_WORDS = frozenset("全力 全面 聚力 着力 大力 持续 不断 积极 扎实 坚持 加快 加强 加大 深入 切实 进一步 "
                          "努力 奋力 更加 全方位 要".split())
SHORT_PHRASE = (3, 10)  # characters of a phrase that reads as a topic
QUOTED_CLAUSE = 12  # a clause up to this long reads better in quotes than a two-character word
WORD_PHRASE = 2  # a two-character noun ("民生") when nothing longer reads as a topic


@lru_cache(maxsize=4096)
def topic_phrase(title: str) -> str:
    """A short name for a section, taken from its title: the longest nominal run of the first clause
    that has one ("（四）坚持绿色发展，积极营造生态宜居环境" → "绿色发展"), else the first clause in quotes."""
    clauses = [c.strip() for c in _CLAUSE_MARK.split(_bare_title(title)) if c.strip()]
    if not clauses:
        return ""
    low, high = SHORT_PHRASE
    runs = [[r for r in _nominal_runs(c) if low <= _length(r) <= high] for c in clauses]
    fitting = next((r for r in runs if r), None)
    if fitting:
        return max(fitting, key=_length)
    if _length(clauses[0]) > QUOTED_CLAUSE:
        words = [r for c in clauses for r in _nominal_runs(c) if _length(r) == WORD_PHRASE]
        if words:
            return words[0]
    return clauses[0] if "“" in clauses[0] else f"“{clauses[0]}”"


def _length(phrase: str) -> int:
    """Characters read: quotation marks do not count."""
    return len(phrase) - phrase.count("“") - phrase.count("”")


def _nominal_runs(clause: str) -> list[str]:
    """Runs of nominal words; a two-character verb may join a run it continues ("乡村振兴"), a
    one-character adjective may head a noun ("新引擎"). A run too long to read as a name gives its
    first part before such a verb ("城市发展更具综合竞争力" → "城市发展")."""
    tagged = _tagged(clause)
    runs: list[list[tuple[str, str]]] = [[]]
    for i, (word, kind) in enumerate(tagged):
        following = tagged[i + 1][1] if i + 1 < len(tagged) else ""
        nominal = kind in _NOMINAL_KINDS and word not in _EFFORT_WORDS
        linking = kind == "v" and len(word) == 2 and runs[-1] and word not in _EFFORT_WORDS
        heading = kind == "a" and len(word) == 1 and following in _NOMINAL_KINDS | {"v"}
        joining = word == "的" and runs[-1]  # "人民满意的教育"
        if nominal or linking or heading or joining:
            runs[-1].append((word, kind))
        elif runs[-1]:
            runs.append([])
    phrases = []
    for run in runs:
        while run and (run[0][1] == "v" or run[-1][0] == "的" or run[-1][1] == "a"):
            run = run[1:] if run[0][1] == "v" else run[:-1]
        if not run:
            continue
        whole = "".join(word for word, _ in run)
        verb = next((i for i, (_, kind) in enumerate(run) if kind == "v"), len(run))
        head = "".join(word for word, _ in run[:verb])
        phrases.append(whole if _length(whole) <= SHORT_PHRASE[1] or not head else head)
    return phrases


def _tagged(clause: str) -> list[tuple[str, str]]:
    """jieba's words and parts of speech; a quoted name ("“两专两化”") stays one nominal word."""
    import jieba.posseg

    tagged: list[tuple[str, str]] = []
    for piece in re.split(r"(“[^”]*”)", clause):
        if piece.startswith("“"):
            tagged.append((piece, "quoted"))
        elif piece:
            tagged.extend((w.word, w.flag) for w in jieba.posseg.lcut(piece) if w.word.strip())
    return tagged


# Question frames by phase: (about a section of the other phase, about a neighbouring section, the whole phase).
_FRAMES = {
    DONE: ("{where}{when}在{topic}方面做了哪些工作？", "{where}{when}{topic}的情况怎么样？", "{where}{when}做了哪些工作？"),
    PLAN: ("{where}{when}在{topic}方面有什么计划？", "{where}{when}在{topic}方面有哪些安排？", "{where}{when}有哪些工作安排？"),
    "": ("{where}{topic}方面有哪些内容？", "{where}{topic}方面有哪些内容？", ""),
}
_PLAN_WHEN = "下一步"  # a plans part naming no period or year
_YEAR = re.compile(r"(\d{4})年")


@dataclass(frozen=True)
class Followup:
    question: str
    section: SectionPath  # the section that answers it (a whole part for a question about a phase)


class Phrasing:
    """Questions about one report's units, in its own terms: its periods or years, and its place when
    the library holds several reports."""

    def __init__(self, outline: ReportOutline, name_place: bool):
        self.outline = outline
        self.where = outline.place if name_place else ""

    def about_counterpart(self, unit: Unit) -> Followup | None:
        return self._about(unit, 0)

    def about_neighbour(self, unit: Unit) -> Followup | None:
        return self._about(unit, 1)

    def about_phase(self, section: Unit) -> Followup | None:
        """The whole phase of ``section``'s part: "下半年有哪些工作安排？"."""
        frame = _FRAMES[section.phase][2] if section.phase in _FRAMES else ""
        if not frame:
            return None
        when = self._when(section.phase, section.period, section.path.part)
        return Followup(frame.format(where=self.where, when=when), SectionPath((section.path.part,)))

    def _about(self, unit: Unit, which: int) -> Followup | None:
        phase = unit.phase if unit.phase in _FRAMES else ""
        topic = topic_phrase(unit.path.title)
        if not topic:
            return None
        when = self._when(phase, unit.period, unit.path.part)
        return Followup(_FRAMES[phase][which].format(where=self.where, when=when, topic=topic), unit.path)

    def _when(self, phase: str, period: str, part: str) -> str:
        """The period the part names (上半年), else the year its title names, else the report's year for
        that phase; a plans part with none of these is "下一步"."""
        if not phase:
            return ""
        if period:
            return period
        year = _YEAR.search(part)
        if year:
            return f"{year.group(1)}年"
        if self.outline.years.get(phase):
            return f"{self.outline.years[phase]}年"
        return _PLAN_WHEN if phase == PLAN else ""


def _meta(item: ChunkMeta | object) -> ChunkMeta:
    return item if isinstance(item, ChunkMeta) else item.meta


def suggest_followups(answered: Iterable[object], report_chunks: Iterable[object], k: int = 3,
                      name_place: bool = False) -> list[str]:
    """Up to ``k`` questions to ask next, each about one section of the report the answer came from:
    the other phase first (the same topic, else the whole phase), then the nearest sections.

    ``answered``: the chunks the answer quoted (StoredChunk, Chunk or ChunkMeta), best first;
    ``report_chunks``: that report's chunks (other reports' are ignored); ``name_place``: the library
    holds several reports, so each question names the report's place. The phase (results or plans) is
    the answered section's own.
    """
    return [f.question for f in plan_followups(answered, report_chunks, k, name_place)]


def plan_followups(answered: Iterable[object], report_chunks: Iterable[object], k: int = 3,
                   name_place: bool = False) -> list[Followup]:
    """``suggest_followups`` with the section that answers each question."""
    answered_metas = [_meta(a) for a in answered]
    if not answered_metas:
        return []
    doc_id = answered_metas[0].doc_id
    metas = tuple(m for m in map(_meta, report_chunks) if m.doc_id == doc_id)
    if not metas:
        return []
    outline = outline_of(metas)
    unit = outline.answered_unit([m for m in answered_metas if m.doc_id == doc_id])
    if unit is None:
        return []
    phrasing = Phrasing(outline, name_place)
    followups = [_about_other_phase(outline, phrasing, unit, answered_metas)]
    followups += [phrasing.about_neighbour(u) for u in outline.neighbours(unit)]
    unique = {f.question: f for f in followups if f is not None}
    return list(unique.values())[:k]


@lru_cache(maxsize=64)
def outline_of(metas: tuple[ChunkMeta, ...]) -> ReportOutline:
    """Read once per version of a report: its chunks' metadata changes whenever its text does."""
    return ReportOutline(metas)


def _about_other_phase(outline: ReportOutline, phrasing: Phrasing, unit: Unit,
                       answered: list[ChunkMeta]) -> Followup | None:
    """The same topic in the other phase, else the other phase as a whole; None when the answer
    already covers both phases or the report has no other phase."""
    other = _OTHER_PHASE.get(unit.phase)
    if not other or any(m.phase == other for m in answered):
        return None
    counterpart = outline.counterpart(unit, other)
    if counterpart is not None:
        return phrasing.about_counterpart(counterpart)
    first = next((u for u in outline.topics if u.phase == other), None)
    return phrasing.about_phase(first) if first else None


def example_questions(chunks: Iterable[object], k: int = 3, name_place: bool = False) -> list[str]:
    """Questions to show a newcomer: the first section of each report's parts, taken in turn from the
    reports in the order given (newest first, say), so each is answered by the section it names."""
    by_doc: dict[str, list[ChunkMeta]] = {}
    for meta in map(_meta, chunks):
        by_doc.setdefault(meta.doc_id, []).append(meta)
    queues = []
    for metas in by_doc.values():
        outline = outline_of(tuple(metas))
        phrasing = Phrasing(outline, name_place and len(by_doc) > 1)
        firsts = {}
        for topic in outline.topics:
            if topic.numbered and not topic_phrase(topic.path.title).startswith("“"):
                firsts.setdefault(topic.path.part, topic)
        queues.append([f.question for f in map(phrasing.about_neighbour, firsts.values()) if f])
    examples: list[str] = []
    while len(examples) < k and any(queues):
        for queue in queues:
            if queue and len(examples) < k:
                examples.append(queue.pop(0))
    return examples
