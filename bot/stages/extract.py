"""Extract: pick the report's own sentences that answer the question, as the plan says.

Narrow questions get the one or two best sentences; broad ones the informative sentences of the
whole planned sections; an overview the opening sentence of each section. Sentences are quoted
verbatim, so every figure shown is in the cited text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.answer_type import MEASURED, counted_unit, holds_count
from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.stages.plan import Plan, Section
from bot.stages.retrieve import Hit, Retrieved
from index.cleaning import MASK
from index.keyword import KeywordIndex
from index.sentences import split_sentences
from index.store import ChunkStore, StoredChunk

_FACT = re.compile(r"[\d*＊]|“[^”]+”|[^、，]{2,12}、[^、，]{2,12}")
_CLAUSE = re.compile(r"[^，,；;：:。！？]+")

MEANING_WEIGHT = 0.5  # the closest sentence in meaning outweighs a sentence with one more shared word
BROAD_MAX_SENTENCES = 8
BROAD_MAX_CHARS = 600
# Of a part told in unheaded paragraphs, the top hits' paragraphs are quoted: the first, and the others
# whose closest sentence is about as close to the question (this model's cosines crowd within ~0.05).
GATHERED_PARAGRAPHS = 3
PARAGRAPH_MEANING_GAP = 0.01
NARROW_MAX_SENTENCES = 2
ADJACENT_TERMS_WEIGHT = 0.2  # a sentence holding the question's words side by side, as the question does
ADJACENT_GAP = 2
UNSAID_MEANING = 1.0  # how much more meaning weighs when none of the question's words is in the passages
TARGET_FIGURE_BONUS = 0.3  # asked for targets, a broad answer's sentences with figures
NAMING_PASSAGE_BONUS = 0.15  # a broad answer's sentences from the passage that names the question's words
HOW_SENTENCE_COVERAGE = 0.75  # a sentence this close to a how-question says how by itself
# A broad question focuses on the sentences about it when the section's title does not match it
# but some sentence does; sentences then need most of the best one's coverage.
FOCUS_TITLE_COVERAGE = 0.75
FOCUS_STRONG_COVERAGE = 0.6
FOCUS_SENTENCE_COVERAGE = 0.5
FOCUS_RELATIVE = 0.8


@dataclass
class Sentence:
    text: str
    chunk: StoredChunk
    start: int  # absolute offset in the cleaned document
    score: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        return (self.chunk.meta.doc_id, self.start)


@dataclass
class Extract:
    """Chosen sentences in report order."""

    sentences: list[Sentence]
    withheld: bool  # the asked-for figure is masked in the report
    # Sections summarised as a whole: the answer's lead names them rather than each item quoted.
    summarised: list[Section] = field(default_factory=list)


def sentences_of(chunk: StoredChunk) -> list[Sentence]:
    out: list[Sentence] = []
    relative = 0
    for piece in split_sentences(chunk.text):
        text = piece.strip()
        if text:
            lead = len(piece) - len(piece.lstrip())
            out.append(Sentence(text, chunk, chunk.meta.start + relative + lead))
        relative += len(piece)
    return out


def add_meaning(candidates: list[Sentence], similarity: dict[str, float], weight: float = MEANING_WEIGHT) -> None:
    """Raise each sentence's score by how close it is to the question in meaning, relative to the
    others (the model's cosines crowd into a narrow band, so only their spread says anything)."""
    values = [similarity.get(s.text) for s in candidates]
    known = [v for v in values if v is not None]
    if len(known) < 2 or max(known) - min(known) < 1e-6:
        return
    low, spread = min(known), max(known) - min(known)
    for sentence, value in zip(candidates, values):
        if value is not None:
            sentence.score += weight * (value - low) / spread


def is_heading_only(sentence: Sentence) -> bool:
    """The run-in heading itself ("（六）全力整治生态环境。"): the answer's lead names it already."""
    return sentence.text.rstrip("。！？；") == sentence.chunk.meta.section_title


def _and_what_follows(chosen: list[Sentence], pool: list[Sentence], whole_paragraph: bool) -> list[Sentence]:
    """The chosen sentences and the rest of each one's passage (``pool`` in report order): a sentence
    that names the topic ("抓好430个市重点建设项目……交通……") is followed by what it is ("建成528国道……").
    ``whole_paragraph``: on into the next chunk cut from the same paragraph (an unheaded paragraph, where
    run-in headings mark the topics; a numbered section's long paragraph runs on to other topics unmarked)."""
    kept = {id(s) for s in chosen}
    for before, after in zip(pool, pool[1:]):
        same = _same_paragraph(before, after) if whole_paragraph else after.chunk.id == before.chunk.id
        # A run-in heading ("开放合作深化拓展。") starts the paragraph's next topic.
        if id(before) in kept and same and not is_run_in_heading(after.text):
            kept.add(id(after))
    return [s for s in pool if id(s) in kept]


def _same_paragraph(before: Sentence, after: Sentence) -> bool:
    return after.chunk.id == before.chunk.id or after.chunk.meta.continues(before.chunk.meta)


_RUN_IN_HEADING = re.compile(r"^[^，,、；;：:\d*＊]{4,14}[。！]$")


def is_run_in_heading(text: str) -> bool:
    """A short sentence without a clause or a figure that names what follows ("科技创新力度加大。")."""
    return bool(_RUN_IN_HEADING.match(text))


def adjacent_terms(info: QuestionInfo, text: str) -> float:
    """The share of the question's consecutive term pairs that ``text`` holds side by side, in order:
    "地区生产总值增长5.8%" says what "地区生产总值增长了多少" asks; "占地区生产总值的41.4%，对经济增长
    贡献率" holds both words about other things."""
    pairs = list(zip(info.terms, info.terms[1:]))
    if not pairs:
        return 0.0
    near = sum(1 for a, b in pairs if re.search(f"{re.escape(a)}.{{0,{ADJACENT_GAP}}}{re.escape(b)}", text))
    return near / len(pairs)


def is_factual(text: str) -> bool:
    return bool(_FACT.search(text))


class Extractor:
    def __init__(self, weights: TermWeights, store: ChunkStore, keywords: KeywordIndex, embeddings=None):
        self.weights = weights
        self.store = store  # the planned sections' chunks
        self.keywords = keywords  # one report's chunks, for an overview's sections
        self.embeddings = embeddings  # scores sentences for questions that share no words (English)

    def extract(self, info: QuestionInfo, plan: Plan, found: Retrieved) -> Extract:
        if plan.route == "refuse":
            return Extract([], False)
        if plan.route == "overview":
            return self._openings(plan.parts)
        if plan.route == "broad":
            return self._broad(info, plan.sections, found.hits, found.sentence_similarity)
        extract = self._narrow(info, found.hits, found.vector, found.sentence_similarity)
        if plan.route == "how" and not any(
                self.weights.coverage(info, s.text) >= HOW_SENTENCE_COVERAGE for s in extract.sentences):
            # No single sentence says how: the section's measures.
            return self._broad(info, plan.sections, similarity=found.sentence_similarity)
        return extract

    def _score(self, info: QuestionInfo, sentence: Sentence) -> float:
        return self.weights.coverage(info, sentence.chunk.meta.section_title + sentence.text) * 0.3 + \
            self.weights.coverage(info, sentence.text)

    def _narrow(self, info: QuestionInfo, hits: list[Hit], query_vector: list[float] | None = None,
                similarity: dict[str, float] | None = None) -> Extract:
        """The best one or two sentences from the top hits: the question's words, and its meaning (a
        sentence in other words than the question's can still be the one that answers it)."""
        if info.english and self.embeddings is not None and query_vector:
            return self._by_similarity(hits[:2], query_vector)
        candidates: list[Sentence] = []
        for rank, hit in enumerate(hits[:3]):
            for sentence in sentences_of(hit.chunk):
                if is_heading_only(sentence):
                    continue
                sentence.score = self._score(info, sentence) + 0.15 * (3 - rank) / 3
                if info.asks_quantity and is_factual(sentence.text):
                    sentence.score += 0.1
                candidates.append(sentence)
        if not candidates:
            return Extract([], False)
        # The fewer of the question's words the passages hold, the less those words can choose between
        # sentences, and the more their meaning must.
        unsaid = 1.0 - self.weights.coverage(info, "\n".join(h.chunk.text for h in hits[:3]))
        add_meaning(candidates, similarity or {}, MEANING_WEIGHT * (1.0 + UNSAID_MEANING * unsaid))
        # Which sentence leads: the one holding the question's words side by side wins a near tie; it does
        # not raise the bar the other sentences must clear to be quoted too.
        candidates.sort(key=lambda s: -(s.score + ADJACENT_TERMS_WEIGHT * adjacent_terms(info, s.text)))
        best = candidates[0]
        chosen = [best]
        closest = max(candidates, key=lambda s: (similarity or {}).get(s.text, 0.0))
        for other in candidates[1:NARROW_MAX_SENTENCES + 2]:
            if len(chosen) >= NARROW_MAX_SENTENCES:
                break
            adds_terms = any(t in other.text and t not in best.text for t in info.terms)
            # For a figure, the same measure reported in another section is worth showing too.
            elsewhere = info.asks_quantity and other.chunk.meta.section_id != best.chunk.meta.section_id
            # The sentence closest in meaning, when the question's words chose another.
            nearest = other is closest and bool(similarity)
            if other.score >= 0.8 * best.score and (adds_terms or elsewhere or nearest):
                chosen.append(other)
        if info.asks_how and len(chosen) == 1:
            # Asked how, the closest sentence is often a paragraph's lead ("沉着应对洪涝灾害"), and what was
            # done follows it.
            following = self._following(best, candidates)
            if following is not None and following not in chosen:
                chosen.append(following)
                # A lead that opens its passage sums up a paragraph whose sentences are the measures.
                if best.start == best.chunk.meta.start:
                    after = self._following(following, candidates)
                    if after is not None and after not in chosen:
                        chosen.append(after)
        unit = counted_unit(info.text) if info.asks_quantity else ""
        holds_figure = (lambda text: MEASURED.search(text)) if info.asks_target else (lambda text: holds_count(unit, text))
        if (info.asks_target or unit) and not any(holds_figure(s.text) for s in chosen):
            # A target or a count is given in figures, often in the sentences after the one that names the
            # work ("深入实施招商引资……行动。……引进10亿级项目55个", "要让农村美起来。……建成秀美共富村5个"):
            # the first of them in the passage follows.
            in_order = sorted(candidates, key=lambda s: s.key)
            figure = next((s for lead in chosen for s in in_order
                           if s.chunk.id == lead.chunk.id and s.key > lead.key and holds_figure(s.text)), None)
            if figure is not None and figure not in chosen:
                chosen.append(figure)
        chosen.sort(key=lambda s: s.key)
        return Extract(chosen, info.asks_quantity and self._figure_withheld(info, best.text))

    def _following(self, sentence: Sentence, candidates: list[Sentence]) -> Sentence | None:
        """The sentence after ``sentence`` in its section: in its chunk, else the section's next chunk."""
        later = [s for s in candidates if s.chunk.id == sentence.chunk.id and s.key > sentence.key]
        if later:
            return min(later, key=lambda s: s.key)
        after = self.store.neighbour(sentence.chunk.meta, 1)
        if after is None or after.meta.section_id != sentence.chunk.meta.section_id:
            return None
        nexts = sentences_of(after)
        return nexts[0] if nexts else None

    def _broad(self, info: QuestionInfo, sections: tuple[Section, ...], hits: list[Hit] = (),
               similarity: dict[str, float] | None = None) -> Extract:
        """Informative sentences of whole sections: relevant ones first, slogans only if facts run short."""
        per_section = max(3, BROAD_MAX_SENTENCES // max(1, len(sections)))
        char_budget = BROAD_MAX_CHARS // max(1, len(sections))
        chosen: list[Sentence] = []
        summarised: list[Section] = []
        for index, section in enumerate(sections):
            chunks = self._chunks_of(section, hits)
            pool = [s for c in chunks for s in sentences_of(c)
                    if not (is_heading_only(s) and s.chunk.meta.section_id == s.chunk.meta.topic_id)]
            about = self._is_about(info, section)
            # The question may be about something inside the section ("秸秆禁烧" in "生态环境"), not the
            # section itself: then the sentences about it are quoted, under their own sections. So too in
            # an unheaded paragraph, which runs through several topics ("……开放合作深化拓展。……科技创新力度
            # 加大。……"), unless the question asks how things went as a whole.
            focus = not about or (not section.numbered and not info.asks_overall)
            on_topic = self._on_topic(info, pool) if focus else []
            if on_topic:
                # Targets close a plan's paragraph ("……全年新签约……项目35个以上"): asked for them, read on to
                # its end even in a numbered section.
                pool = _and_what_follows(on_topic, pool, whole_paragraph=not section.numbered or info.asks_target)
            elif not about and index > 0:
                continue  # a second section only earns its place with sentences on the topic
            else:
                summarised.append(section)
            chosen.extend(self._pick(info, pool, per_section, char_budget, similarity or {}))
        chosen.sort(key=lambda s: s.key)
        best = max(chosen, key=lambda s: s.score, default=None)
        withheld = bool(best) and info.asks_quantity and self._figure_withheld(info, best.text)
        return Extract(chosen, withheld, summarised)

    def _chunks_of(self, section: Section, hits: list[Hit]) -> list[StoredChunk]:
        """The section's chunks; for paragraphs that sit under a part heading itself (a review told in
        unheaded paragraphs: "过去的一年，我们……"), only the paragraphs the search found, since the
        "section" is then the whole part."""
        if not section.numbered:
            found = [h for h in hits[:GATHERED_PARAGRAPHS] if h.chunk.meta.doc_id == section.doc_id
                     and getattr(h.chunk.meta, section.level) == section.id]
            if found:
                close = [h.chunk for h in found if h.sentence >= found[0].sentence - PARAGRAPH_MEANING_GAP]
                whole = {c.id: c for chunk in close for c in self._paragraph_of(chunk)}
                return sorted(whole.values(), key=lambda c: c.meta.start)
        return self.store.chunks_where({"$and": [{"doc_id": section.doc_id}, {section.level: section.id}]})

    def _paragraph_of(self, chunk: StoredChunk) -> list[StoredChunk]:
        """The chunks a long paragraph was cut into, around ``chunk`` (one read of its report's chunks)."""
        chunks = self.keywords.chunks_of(chunk.meta.doc_id)
        at = next((i for i, c in enumerate(chunks) if c.id == chunk.id), None)
        if at is None:
            return [chunk]
        first, last = at, at
        while first > 0 and chunks[first].meta.continues(chunks[first - 1].meta):
            first -= 1
        while last + 1 < len(chunks) and chunks[last + 1].meta.continues(chunks[last].meta):
            last += 1
        return chunks[first:last + 1]

    def _is_about(self, info: QuestionInfo, section: Section) -> bool:
        return not section.numbered or self.weights.coverage(info, section.path.title) >= FOCUS_TITLE_COVERAGE

    def _on_topic(self, info: QuestionInfo, pool: list[Sentence]) -> list[Sentence]:
        """The sentences about the question, when one is clearly about it; else none."""
        coverage = {id(s): self.weights.coverage(info, s.text) for s in pool}
        best = max(coverage.values(), default=0.0)
        if best < FOCUS_STRONG_COVERAGE:
            return []
        floor = max(FOCUS_SENTENCE_COVERAGE, FOCUS_RELATIVE * best)
        return [s for s in pool if coverage[id(s)] >= floor]

    def _pick(self, info: QuestionInfo, pool: list[Sentence], most: int, char_budget: int,
              similarity: dict[str, float]) -> list[Sentence]:
        """The best sentences of one section, facts first, within its share of the answer."""
        for s in pool:
            s.score = self._score(info, s) + (0.25 if is_factual(s.text) else 0.0)
            if is_heading_only(s):  # an item's own title ("二是强化河湖长制。") sums the item up
                s.score += 0.3
        # The passage that names what was asked is about it throughout: its other sentences (the
        # figures after "深入实施招商引资……") come before facts from elsewhere in the section.
        naming = {s.chunk.id for s in pool if self.weights.coverage(info, s.text) > 0}
        for before, after in zip(pool, pool[1:]):  # and so is the rest of its paragraph, in the next chunk
            if before.chunk.id in naming and after.chunk.meta.continues(before.chunk.meta):
                naming.add(after.chunk.id)
        for s in pool:
            if s.chunk.id in naming:
                s.score += NAMING_PASSAGE_BONUS
        # A sentence about the question in other words ("残障人士" and 精准助残) is one of its answers.
        add_meaning(pool, similarity)
        if info.asks_target:  # targets are set in figures ("新签约强优企业合作项目35个以上")
            for s in pool:
                if MEASURED.search(s.text):
                    s.score += TARGET_FIGURE_BONUS
        picked: list[Sentence] = []
        used = 0
        for s in sorted(pool, key=lambda s: -s.score):
            if len(picked) >= most:
                break
            if picked and (used + len(s.text) > char_budget or s.score <= 0.05):
                continue
            picked.append(s)
            used += len(s.text)
        if info.asks_target and picked and not any(MEASURED.search(s.text) for s in picked):
            # Asked for targets, the section's best sentence with a figure is one of the answers, whatever
            # the words around it crowd out ("全年新签约强优企业合作项目35个以上……").
            figure = max((s for s in pool if MEASURED.search(s.text)), key=lambda s: s.score, default=None)
            if figure is not None:
                picked = picked[:most - 1] + [figure]
        return picked

    def _openings(self, parts: tuple[tuple[str, str], ...]) -> Extract:
        """The opening sentence of each numbered section of the parts, in report order; of a part told in
        unheaded paragraphs ("过去的一年，我们……"), of each paragraph."""
        firsts: dict[tuple[str, int], StoredChunk] = {}
        paragraphs: dict[tuple[str, str], list[StoredChunk]] = {}
        for doc_id in sorted({doc for doc, _ in parts}):
            chunks = self.keywords.chunks_of(doc_id)
            for previous, chunk in zip([None, *chunks], chunks):
                meta = chunk.meta
                if (meta.doc_id, meta.path.part) not in parts:
                    continue
                if meta.path.within_part:
                    key = (meta.doc_id, meta.topic_id)
                    if key not in firsts or meta.ordinal < firsts[key].meta.ordinal:
                        firsts[key] = chunk
                elif previous is None or not meta.continues(previous.meta):  # a chunk that starts a paragraph
                    paragraphs.setdefault((meta.doc_id, meta.path.part), []).append(chunk)
        sectioned = {(c.meta.doc_id, c.meta.path.part) for c in firsts.values()}
        unheaded = [c for part, cs in paragraphs.items() if part not in sectioned for c in cs]
        chunks = sorted([*firsts.values(), *unheaded], key=lambda c: (c.meta.doc_id, c.meta.ordinal))
        return Extract([Sentence(c.text.split("。", 1)[0] + "。", c, c.meta.start) for c in chunks], False)

    def _by_similarity(self, hits: list[Hit], query_vector: list[float]) -> Extract:
        """Without shared words, the sentences closest to the question in the embedding space."""
        candidates = [s for hit in hits for s in sentences_of(hit.chunk) if not is_heading_only(s)]
        if not candidates:
            return Extract([], False)
        vectors = self.embeddings.embed_documents([s.text for s in candidates])
        for sentence, vector in zip(candidates, vectors):
            sentence.score = sum(a * b for a, b in zip(vector, query_vector))
        best = sorted(candidates, key=lambda s: -s.score)[:NARROW_MAX_SENTENCES]
        return Extract(sorted(best, key=lambda s: s.key), False)

    def _figure_withheld(self, info: QuestionInfo, sentence: str) -> bool:
        """Does the clause that matches the question hide its number behind * ?"""
        clauses = _CLAUSE.findall(sentence)
        if not clauses:
            return False
        # Among equally relevant clauses, the one carrying a figure is the one being asked about.
        best = max(clauses, key=lambda c: (self.weights.coverage(info, c), bool(re.search(r"[\d*]", c))))
        if self.weights.coverage(info, best) == 0:
            return False
        return bool(MASK.search(best))
