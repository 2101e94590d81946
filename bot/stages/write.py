"""Write: the answer, the overview and the refusal in plain Chinese, with numbered sources cited as [n].

An answer names its report by title, leads with the sentence or two that answer most directly, then
lists the rest under the report part they come from. Its sources are the passages it cites, numbered
in the order a reader meets them; a refusal cites nothing and shows the closest passages instead.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple, Sequence

from bot.query import QuestionInfo
from bot.smalltalk import summarise_for_refusal
from bot.stages.extract import Extract, Sentence, is_heading_only
from bot.stages.plan import Plan
from bot.stages.retrieve import Hit
from bot.stages.understand import Question
from bot.types import Answer, Source
from index.cleaning import has_masked_figure
from index.section_path import SectionPath

REFUSAL_SOURCES = 3  # closest passages shown with a refusal
LEAD_MAX = 2  # sentences in an answer's lead
LEAD_SECOND_SHARE = 0.9  # the second-best sentence joins the lead when it scores this close to the best
LEAD_MAX_CHARS = 160  # ... and the two are short enough to take in at a glance
TITLES_NAMED_MAX = 3  # a refusal names the reports it searched up to this many, else counts them
FOCUS_MAX_CHARS = 30  # a refusal repeats at most this much of the question
MASKED_NOTE = "带 * 的数字报告未公开。"
# For a question asking for the very figure the report hides: it is said to be withheld, never guessed.
WITHHELD = "报告未公开这一数字（原文以“*”隐去具体数值）。"
ASK_FURTHER = "可以接着问其中任一方面的具体内容。"


class ReportGroup(NamedTuple):
    """One report's share of an answer across reports."""

    title: str
    year: int
    plan: Plan
    hits: list[Hit]
    extract: Extract


class Citations:
    """The answer's sources: a passage is numbered when the text first cites it, so [1] is read first."""

    def __init__(self, hits: Iterable[Hit] = ()):
        self.scores: dict[str, float] = {}
        self.add_scores(hits)
        self._by_chunk: dict[str, Source] = {}

    def add_scores(self, hits: Iterable[Hit]) -> None:
        for hit in hits:
            self.scores.setdefault(hit.chunk.id, hit.score)

    def number(self, sentence: Sentence) -> int:
        chunk = sentence.chunk
        source = self._by_chunk.get(chunk.id)
        if source is None:
            source = Source.from_chunk(len(self._by_chunk) + 1, chunk, self.scores.get(chunk.id, 0.0))
            self._by_chunk[chunk.id] = source
        if sentence.text not in source.cited:
            source.cited.append(sentence.text)
        return source.n

    def quote(self, sentence: Sentence) -> str:
        return f"{sentence.text}[{self.number(sentence)}]"

    def sources(self) -> list[Source]:
        for source in self._by_chunk.values():  # a passage's quoted sentences in the order it has them
            source.cited.sort(key=source.text.find)
        return list(self._by_chunk.values())


class Writer:
    def write(self, asked: Question, plan: Plan, hits: list[Hit], extract: Extract,
              searched: Sequence[str] = ()) -> Answer:
        """The answer from one plan; ``searched``: the titles of the reports searched, for a refusal."""
        if plan.route == "refuse" or not extract.sentences:
            return _refusal(asked, hits, searched)
        by_report = _split_by_report(extract, plan, hits)
        if len(by_report) > 1:  # an answer that drew on several reports names each
            return self.write_grouped(asked, by_report, searched)
        citations = Citations(hits)
        title = by_report[0].title
        if plan.route == "overview":
            lines = _overview_lines(extract, citations, f"《{title}》") + [ASK_FURTHER]
        elif plan.route == "partial" and plan.missing:
            lines = [f"《{title}》没有提到{_quoted(plan.missing)}。"] + _answer_lines(extract, citations, "", True)
        else:
            lines = _answer_lines(extract, citations, f"《{title}》")
        lines += _masked_note([extract])
        return Answer(_join(lines), False, asked.text, citations.sources())

    def write_grouped(self, asked: Question, groups: Sequence[tuple[str, int, Plan, list[Hit], Extract]],
                      searched: Sequence[str] = ()) -> Answer:
        """One answer from several reports: newest first, each under its title; a report with nothing
        to quote is left out, and when none has anything the answer is a refusal."""
        groups = [ReportGroup(*group) for group in groups]
        searched = searched or [g.title for g in groups]
        shown = sorted((g for g in groups if g.extract.sentences), key=lambda g: (-g.year, g.title))
        if not shown:
            hits = sorted((h for g in groups for h in g.hits), key=lambda h: -h.score)
            return _refusal(asked, hits, searched)
        if len(shown) == 1:
            only = shown[0]
            return self.write(asked, only.plan, only.hits, only.extract, searched)
        citations = Citations()
        lines = [_grouped_intro(shown)]
        for group in shown:
            citations.add_scores(group.hits)
            lines += ["", f"**《{group.title}》**"] + _group_lines(group, citations)
        if any(g.plan.route == "overview" for g in shown):
            lines.append(ASK_FURTHER)
        lines += _masked_note([g.extract for g in shown])
        return Answer(_join(lines), False, asked.text, citations.sources())


def _split_by_report(extract: Extract, plan: Plan, hits: list[Hit]) -> list[ReportGroup]:
    """The extract as one group per report (its title and year from the chunks' metadata)."""
    by_doc: dict[str, list[Sentence]] = {}
    for sentence in extract.sentences:
        by_doc.setdefault(sentence.chunk.meta.doc_id, []).append(sentence)
    best = max(extract.sentences, key=lambda s: s.score)
    groups = []
    for doc_id, sentences in by_doc.items():
        meta = sentences[0].chunk.meta
        withheld = extract.withheld and any(s is best for s in sentences)  # the withheld figure is the best's
        summarised = [section for section in extract.summarised if section.doc_id == doc_id]
        groups.append(ReportGroup(meta.doc_title or doc_id, meta.doc_year, plan, hits,
                                  Extract(sentences, withheld, summarised)))
    return groups


def _grouped_intro(shown: list[ReportGroup]) -> str:
    partial = [g for g in shown if g.plan.route == "partial" and g.plan.missing]
    if len(partial) == len(shown):  # the asked detail is in none of them: say so first
        missing = {m for g in partial for m in g.plan.missing}
        return f"这 {len(shown)} 份报告都没有提到{_quoted(sorted(missing))}，相关的内容按报告列出（新的在前）："
    return f"{len(shown)} 份报告谈到了这个问题，按报告列出（新的在前）："


def _group_lines(group: ReportGroup, citations: Citations) -> list[str]:
    if group.plan.route == "overview":
        return _overview_lines(group.extract, citations, "这份报告")
    if group.plan.route == "partial" and group.plan.missing:
        return [f"这份报告没有提到{_quoted(group.plan.missing)}。"] + \
            _answer_lines(group.extract, citations, "", True)
    return _answer_lines(group.extract, citations, "")


def _join(lines: list[str]) -> str:
    """The lines as markdown: a blank line ends a list, or what follows would join its last item."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].startswith("- ") and line and not line.startswith("- "):
            out.append("")
        out.append(line)
    return "\n".join(out)


def _quoted(words: Iterable[str]) -> str:
    return "、".join(f"“{w}”" for w in words)


# --- an answer from one report --------------------------------------------------------------


def _section_label(path: SectionPath) -> str:
    return "“" + path.last(2).text + "”" if path else "开头部分"


def _within(path: SectionPath, section: SectionPath) -> bool:
    return path.parts[:len(section.parts)] == section.parts


def _lead(sentences: list[Sentence]) -> list[Sentence]:
    """The sentence or two that answer most directly, best first: the best scored (an item's bare title
    only when there is nothing else), and the next best from the same part when the answer has no more,
    or when it is nearly as good and the two are short."""
    pool = [s for s in sentences if not is_heading_only(s)] or sentences
    ranked = sorted(pool, key=lambda s: -s.score)
    best = ranked[0]
    second = next((s for s in ranked[1:] if s.chunk.meta.path.part == best.chunk.meta.path.part), None)
    if second is None:
        return [best]
    close = second.score >= LEAD_SECOND_SHARE * best.score and len(best.text + second.text) <= LEAD_MAX_CHARS
    return [best, second] if len(sentences) <= LEAD_MAX or close else [best]


def _by_part(extract: Extract) -> dict[str, tuple[list[Sentence], list[SectionPath]]]:
    """The sentences under the report part they come from, with the sections to name, so that a question
    naming no period still learns which are results and which are plans."""
    parts: dict[str, tuple[list[Sentence], list[SectionPath]]] = {}
    for sentence in extract.sentences:
        path = sentence.chunk.meta.path
        sentences, sections = parts.setdefault(path.part, ([], []))
        sentences.append(sentence)
        # A broad answer names the section it summarises, not each item it quotes from (text before
        # the first heading has no section to name).
        path = next((s.path for s in extract.summarised if s.path and _within(path, s.path)), path)
        if path not in sections:
            sections.append(path)
    return parts


def _intro(who: str, where: str, withheld: bool, partial: bool) -> str:
    """The line before the quotes: which report and section (``where``: "" when they span parts)."""
    if partial:
        return f"报告中相关的内容（{where}部分）：" if where else "报告中相关的内容分属不同部分："
    spread = f"{who}中的相关内容分属不同部分：" if who else "相关内容分属不同部分："
    if withheld:
        return WITHHELD + (f"{who}{where}部分的原文是：" if where else spread)
    return f"根据{who}{where}部分：" if where else spread


def _answer_lines(extract: Extract, citations: Citations, who: str, partial: bool = False) -> list[str]:
    """The intro, the lead, then the other quoted sentences as a list under their report part."""
    parts = _by_part(extract)
    lead = _lead(extract.sentences)
    lead_line = "".join(citations.quote(s) for s in lead)
    in_lead = {s.key for s in lead}
    rest = [s for s in extract.sentences if s.key not in in_lead]
    if len(parts) == 1:
        sections = next(iter(parts.values()))[1]
        where = "、".join(_section_label(path) for path in sections)
        return [_intro(who, where, extract.withheld, partial), lead_line] + [f"- {citations.quote(s)}" for s in rest]
    lines = [_intro(who, "", extract.withheld, partial)]
    lead_part = lead[0].chunk.meta.path.part
    for part in sorted(parts, key=lambda p: p != lead_part):  # the lead's part first, then report order
        sentences, sections = parts[part]
        # Under its part's name, a section is named without the part again.
        inner = "、".join(_section_label(path.within_part) for path in sections if path.within_part)
        lines.append(f"{part or '开头'}" + (f"（{inner}）：" if inner else "："))
        if part == lead_part:
            lines.append(lead_line)
        lines.extend(f"- {citations.quote(s)}" for s in sentences if s.key not in in_lead)
    return lines


def _masked_note(extracts: list[Extract]) -> list[str]:
    """Once per answer: what the * in quoted figures means (unless the answer already said it)."""
    if any(e.withheld for e in extracts):
        return []
    masked = any(has_masked_figure(s.text) for e in extracts for s in e.sentences)
    return [MASKED_NOTE] if masked else []


def _overview_lines(extract: Extract, citations: Citations, who: str) -> list[str]:
    """The sections of the report's results or plans by title: a map to ask about one by one."""
    paths = [s.chunk.meta.path for s in extract.sentences]
    parts = list(dict.fromkeys(path.part for path in paths))
    lines = [f"{who}的“{'”“'.join(parts)}”部分共有 {len(paths)} 个方面："]
    for sentence, path in zip(extract.sentences, paths):
        # The section, even when its text starts in an item; a paragraph without a heading by its opening.
        label = path.topic.title if path.within_part else sentence.text.rstrip("。")
        lines.append(f"- {label}[{citations.number(sentence)}]")
    return lines


# --- a refusal ------------------------------------------------------------------------------


def _refusal(asked: Question, hits: list[Hit], searched: Sequence[str]) -> Answer:
    sources = [Source.from_chunk(i + 1, h.chunk, h.score) for i, h in enumerate(hits[:REFUSAL_SOURCES])]
    return Answer(compose_refusal(asked.info, sources, searched), True, asked.text, sources)


def compose_refusal(info: QuestionInfo, sources: list[Source], searched: Sequence[str] = ()) -> str:
    where = _searched_label(searched)
    focus = _focus(info)
    text = f"抱歉，{where}中没有找到关于“{focus}”的内容。" if focus else f"抱歉，{where}中没有找到与这个问题相关的内容。"
    several = len({s.title for s in sources}) > 1
    closest = list(dict.fromkeys((f"《{s.title}》" if several else "") + _section_label(SectionPath.parse(s.section))
                                 for s in sources if s.section))
    if closest:
        text += "\n与问题最接近的章节是：" + "、".join(closest) + "，可以换个问法或查看这些章节。"
    return text


def _searched_label(titles: Sequence[str]) -> str:
    titles = list(dict.fromkeys(t for t in titles if t))
    if not titles:
        return "所选报告"
    if len(titles) <= TITLES_NAMED_MAX:
        return "《" + "》《".join(titles) + "》"
    return f"所选的 {len(titles)} 份报告"


def _focus(info: QuestionInfo) -> str:
    """The span of the question from its first to its last content term; a long question summarised,
    not echoed back whole. An English question's reading is a list of dictionary words, not a sentence:
    its terms alone (the place that chose the report is not what was missing)."""
    span = " ".join(info.terms) if info.translated else _term_span(info)
    if len(span) <= FOCUS_MAX_CHARS:
        return span
    return summarise_for_refusal(info.text, FOCUS_MAX_CHARS, info.term_kinds)


def _term_span(info: QuestionInfo) -> str:
    text = info.text
    lowered = text.lower()
    positions = [(lowered.find(t), lowered.find(t) + len(t)) for t in info.terms if lowered.find(t) >= 0]
    if not positions:
        return text.rstrip("？?。！! ")
    return text[min(p[0] for p in positions):max(p[1] for p in positions)]
