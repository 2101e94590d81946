"""Write: the answer, the overview and the refusal in plain Chinese, with numbered sources cited as [n]."""
from __future__ import annotations

from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.stages.extract import Extract
from bot.stages.plan import Plan
from bot.stages.retrieve import Hit
from bot.stages.understand import Question
from bot.types import Answer, Source
from index.section_path import SectionPath

REFUSAL_SOURCES = 3  # closest passages shown with a refusal


class Writer:
    def __init__(self, weights: TermWeights, sources_k: int):
        self.weights = weights
        self.sources_k = sources_k

    def write(self, asked: Question, plan: Plan, hits: list[Hit], extract: Extract) -> Answer:
        if plan.route == "overview" and extract.sentences:
            sources = [Source.from_chunk(i + 1, s.chunk, cited=[s.text]) for i, s in enumerate(extract.sentences)]
            return Answer(compose_overview(sources), False, asked.text, sources)
        if plan.route in ("refuse", "overview"):  # (an overview of parts without numbered sections)
            return self._refusal(asked, hits)
        sources = self._sources(asked.info, hits, extract)
        return Answer(compose_answer(asked.info, extract, sources), False, asked.text, sources)

    def _refusal(self, asked: Question, hits: list[Hit]) -> Answer:
        sources = [Source.from_chunk(i + 1, h.chunk, h.score) for i, h in enumerate(hits[:REFUSAL_SOURCES])]
        return Answer(compose_refusal(asked.info, sources), True, asked.text, sources)

    def _sources(self, info: QuestionInfo, hits: list[Hit], extract: Extract) -> list[Source]:
        """Number the quoted chunks by retrieval rank (best first), then add the other top hits."""
        sources: dict[str, Source] = {}
        rank = {h.chunk.id: i for i, h in enumerate(hits)}
        scores = {h.chunk.id: h.score for h in hits}
        quoted = sorted({s.chunk.id: s.chunk for s in extract.sentences}.values(),
                        key=lambda c: (rank.get(c.id, len(rank)), c.meta.ordinal))
        for chunk in quoted:
            sources[chunk.id] = Source.from_chunk(len(sources) + 1, chunk, scores.get(chunk.id, 0.0))
        for sentence in extract.sentences:
            sources[sentence.chunk.id].cited.append(sentence.text)
        for hit in hits:
            if len(sources) >= self.sources_k:
                break
            # Further reading, not quoted: only passages that share something with the question.
            shares = info.english or self.weights.coverage(info, hit.chunk.embed_text) > 0
            if hit.chunk.id not in sources and shares:
                sources[hit.chunk.id] = Source.from_chunk(len(sources) + 1, hit.chunk, hit.score)
        return list(sources.values())


def _section_label(path: SectionPath) -> str:
    return "“" + path.last(2).text + "”" if path else "开头部分"


def _within(path: SectionPath, section: SectionPath) -> bool:
    return path.parts[:len(section.parts)] == section.parts


def _by_part(extract: Extract, sources: list[Source]) -> tuple[dict[str, list[str]], dict[str, list[SectionPath]]]:
    """The cited sentences and the sections to name, under the report part they come from, so that a
    question naming no period still learns which are results and which are plans."""
    number_of: dict[str, int] = {}
    for source in sources:
        for sentence in source.cited:
            number_of.setdefault(sentence, source.n)
    groups: dict[str, list[str]] = {}
    sections: dict[str, list[SectionPath]] = {}
    for sentence in extract.sentences:
        path = sentence.chunk.meta.path
        part = path.part
        groups.setdefault(part, []).append(f"{sentence.text}[{number_of.get(sentence.text, 1)}]")
        # A broad answer names the section it summarises, not each item it quotes from (text before
        # the first heading has no section to name).
        path = next((s.path for s in extract.summarised if s.path and _within(path, s.path)), path)
        if path not in sections.setdefault(part, []):
            sections[part].append(path)
    return groups, sections


def compose_answer(info: QuestionInfo, extract: Extract, sources: list[Source]) -> str:
    if not extract.sentences:
        return compose_refusal(info, sources)
    groups, sections = _by_part(extract, sources)
    doc_titles = list(dict.fromkeys(s.chunk.meta.doc_title for s in extract.sentences))
    doc_part = "《" + "》《".join(t for t in doc_titles if t) + "》" if any(doc_titles) else "报告"
    lines: list[str] = []
    # A masked figure is said to be withheld, never guessed; the sentence is quoted as written.
    withheld = "报告未公开这一数字（原文以“*”隐去具体数值）。" if extract.withheld else ""
    bulleted = info.broad and len(extract.sentences) > 1
    if len(groups) == 1:
        part = next(iter(groups))
        where = "、".join(_section_label(path) for path in sections[part])
        lines.append(f"{withheld}{doc_part}{where}部分的原文是：" if withheld else f"根据{doc_part}{where}部分：")
        lines.extend(("- " if bulleted else "") + s for s in groups[part])
    else:
        lines.append(f"{withheld}{doc_part}中的相关内容分属不同部分：")
        for part, items in groups.items():
            # Under its part's name, a section is named without the part again.
            inner = "、".join(_section_label(path.within_part) for path in sections[part] if path.within_part)
            lines.append(f"{part or '开头'}" + (f"（{inner}）：" if inner else "："))
            lines.extend(f"- {s}" for s in items)
    return "\n".join(lines)


def compose_refusal(info: QuestionInfo, sources: list[Source]) -> str:
    focus = _focus(info)
    text = f"抱歉，报告中没有找到关于“{focus}”的内容。" if focus else "抱歉，报告中没有找到与这个问题相关的内容。"
    closest = list(dict.fromkeys(_section_label(SectionPath.parse(s.section)) for s in sources if s.section))[:3]
    if closest:
        text += "\n与问题最接近的章节是：" + "、".join(closest) + "，可以换个问法或查看这些章节。"
    return text


def _focus(info: QuestionInfo) -> str:
    """The span of the question from its first to its last content term."""
    if not info.terms:
        return info.text.rstrip("？?。！! ")
    text = info.text
    lowered = text.lower()
    positions = [(lowered.find(t), lowered.find(t) + len(t)) for t in info.terms if lowered.find(t) >= 0]
    if not positions:
        return text.rstrip("？?。！! ")
    return text[min(p[0] for p in positions):max(p[1] for p in positions)]


def compose_overview(sources: list[Source]) -> str:
    """The sections of the report's results or plans by title: a map to ask about one by one."""
    paths = [SectionPath.parse(s.section) for s in sources]
    parts = list(dict.fromkeys(path.part for path in paths))
    lines = [f"报告的“{'”“'.join(parts)}”部分共有 {len(sources)} 个方面："]
    for source, path in zip(sources, paths):
        # The section, even when its text starts in an item.
        lines.append(f"- {path.topic.title}[{source.n}]")
    lines.append("可以接着问其中任一方面的具体内容。")
    return "\n".join(lines)
