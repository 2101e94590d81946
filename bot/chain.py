"""The question-answering chain: normalise → resolve follow-up → retrieve → refuse gate → answer → cite."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from bot.evidence import TermWeights
from bot.extractive import Extract, ExtractiveAnswerer
from bot.followup import normalise_history, resolve_followup
from bot.glossary import Glossary
from bot.query import QuestionInfo, analyse, normalise_question
from bot.retrieval import Hit, HybridSearch
from bot.settings import Settings
from bot.types import Answer, InputError, Source
from index.components import IndexComponents, open_index

log = logging.getLogger(__name__)

HOW_SENTENCE_COVERAGE = 0.75
HOW_TITLE_COVERAGE = 0.5
RERANK_WEIGHT = 0.01  # an RRF step between neighbouring ranks is about 0.0003
LLM_FALLBACK_NOTICE = "（大模型服务暂时不可用，以下为报告原文摘录。）\n"


@dataclass
class Turn:
    """Everything decided about one question before the answer text is written."""

    question: str
    info: QuestionInfo
    history: list[dict]
    hits: list[Hit] = field(default_factory=list)
    vector: list[float] = field(default_factory=list)
    evidence: float = 0.0
    refused: bool = False
    # Parts of the report asked about as a whole ("下半年有哪些工作计划？"): answered with their sections.
    overview_parts: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


class Timer:
    def __init__(self, timings: dict[str, float]):
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + (now - self.last) * 1000
        self.last = now


class Bot:
    def __init__(self, settings: Settings, components: IndexComponents, llm=None, glossary: Glossary | None = None):
        self.settings = settings
        self.components = components
        self.llm = llm  # an LLMAnswerer, or None for extractive answers
        glossary = glossary or Glossary.load()
        self.search = HybridSearch(components.store, components.keywords, components.embeddings,
                                   settings.candidates_k, glossary)
        self.weights = TermWeights(components.keywords, glossary)
        self.extractive = ExtractiveAnswerer(self.weights, components.embeddings)

    # --- public -----------------------------------------------------------------
    def ask(self, question: str, history: list | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: list | None = None) -> Iterator[str | Answer]:
        """Yield text deltas, then the complete Answer (whose text is authoritative)."""
        started = time.perf_counter()
        turn = self.prepare(question, history)
        timer = Timer(turn.timings)
        if turn.refused:
            answer = self._refusal(turn)
        elif turn.overview_parts:
            answer = self._overview(turn)
        elif self.llm is not None:
            answer = yield from self._llm_answer(turn, timer)
        else:
            answer = self._extractive_answer(turn)
        timer.lap("answer")
        turn.timings["total"] = (time.perf_counter() - started) * 1000
        answer.timings_ms = turn.timings
        if self.llm is None or turn.refused or turn.overview_parts:
            # Composed at once; sent line by line so that a chat shows it filling in like the LLM's.
            yield from answer.answer.splitlines(keepends=True)
        yield answer

    def prepare(self, question: str, history: list | None = None) -> Turn:
        """Normalise, rewrite follow-ups, retrieve and run the refusal gate; raises InputError."""
        timings: dict[str, float] = {}
        timer = Timer(timings)
        text = normalise_question(question, self.settings.max_question_chars)
        messages = normalise_history(history, self.settings.history_turns, self.settings.max_history_chars)
        timer.lap("normalise")
        tokenizer = self.components.keywords.tokenizer
        info = analyse(text, tokenizer)
        if messages:
            rewritten = self._rewrite(text, info, messages)
            if rewritten != text:
                text, info = rewritten, analyse(rewritten, tokenizer)
        timer.lap("rewrite")
        turn = Turn(text, info, messages, timings=timings)
        turn.vector = self.components.embeddings.embed_query(text)
        turn.hits = self.search.search(text, info.phase, query_vector=turn.vector)
        if info.phase and not self._passes(turn):
            # The asked phase may simply not cover it; look in the whole report before refusing.
            turn.hits = self.search.search(text, "", query_vector=turn.vector)
        turn.hits = self._rerank(turn)
        timer.lap("retrieve")
        turn.overview_parts = self._overview_parts(info)
        turn.refused = not turn.overview_parts and not self._passes(turn)
        timer.lap("gate")
        return turn

    # --- steps --------------------------------------------------------------------
    def _rewrite(self, text: str, info: QuestionInfo, messages: list[dict]) -> str:
        tokenize = lambda q: analyse(q, self.components.keywords.tokenizer).tokens  # noqa: E731
        rewritten = resolve_followup(text, info.tokens, messages, tokenize)
        if rewritten != text and self.llm is not None:
            from bot.llm import LLMUnavailable

            try:
                condensed = self.llm.condense(text, messages)
                if condensed:
                    return normalise_question(condensed, self.settings.max_question_chars)
            except LLMUnavailable as exc:
                log.warning("condense failed, using rule-based rewrite: %s", exc)
            except Exception as exc:  # a bad condensed question must not break the turn
                log.warning("condensed question rejected: %s", exc)
        return self._within_cap(rewritten, text) if rewritten != text else text

    def _within_cap(self, rewritten: str, typed: str) -> str:
        """A rewritten question obeys the same rules as a typed one: it is cut to the length cap (the
        topic it carries comes from the history, which the user did not type just now)."""
        cap = self.settings.max_question_chars
        try:
            return normalise_question(rewritten[:cap], cap)
        except InputError:
            return typed

    def _rerank(self, turn: Turn) -> list[Hit]:
        """Fused rank, nudged by how much of the question each passage contains: rank fusion alone
        cannot tell a passage with every question word from one that is merely on the same theme."""
        if turn.info.english or not turn.info.terms:
            return turn.hits
        return sorted(turn.hits, key=lambda h: -(h.score + RERANK_WEIGHT * self.weights.coverage(
            turn.info, h.chunk.embed_text)))

    def _passes(self, turn: Turn) -> bool:
        if not turn.hits:
            return False
        if turn.info.english:
            # No shared words to check. Absolute similarities of an out-of-scope question are as high
            # as those of a good one; what differs is how far the best passage stands above the rest.
            dense = [c.score for c in self.components.store.query(turn.vector, 10)]
            turn.evidence = dense[0] - sum(dense[1:]) / max(1, len(dense) - 1) if dense else 0.0
            return turn.evidence >= self.settings.refuse_dense_gap
        top_text = "\n".join(h.chunk.embed_text for h in turn.hits[:3])
        turn.evidence = self.weights.coverage(turn.info, top_text)
        return turn.evidence >= self.settings.refuse_evidence_min

    def _scope_of(self, turn: Turn, hit: Hit) -> tuple[dict, str]:
        """The section a broad answer summarises: the enumerated item ("二是…") when its own title
        matches the question, otherwise the whole numbered section (（一）…) it belongs to."""
        meta = hit.metadata
        if meta["section_id"] != meta["topic_id"] and \
                self.weights.coverage(turn.info, meta["section_title"]) >= 0.5:
            return {"$and": [{"doc_id": meta["doc_id"]}, {"section_id": meta["section_id"]}]}, meta["section_path"]
        topic_path = " > ".join(meta["section_path"].split(" > ")[:2]) if meta["section_id"] != meta["topic_id"] \
            else meta["section_path"]
        return {"$and": [{"doc_id": meta["doc_id"]}, {"topic_id": meta["topic_id"]}]}, topic_path

    def _scope_sections(self, turn: Turn) -> tuple[list[list], list[str]]:
        """Whole sections for broad questions: the best hit's, plus the other phase's when unnamed."""
        best = turn.hits[0]
        scopes = [self._scope_of(turn, best)]
        if not turn.info.phase:
            best_cov = self.weights.coverage(turn.info, best.chunk.embed_text)
            for hit in turn.hits[1:3]:
                if hit.metadata["phase"] == best.metadata["phase"]:
                    continue
                if self.weights.coverage(turn.info, hit.chunk.embed_text) >= 0.9 * best_cov:
                    scope = self._scope_of(turn, hit)
                    if scope[1] not in [p for _, p in scopes]:
                        scopes.append(scope)
                    break
        return [self.components.store.chunks_where(where) for where, _ in scopes], [p for _, p in scopes]

    def _extract(self, turn: Turn) -> Extract:
        if turn.info.broad and not turn.info.english:
            return self.extractive.broad(turn.info, *self._scope_sections(turn))
        extract = self.extractive.narrow(turn.info, turn.hits, turn.vector)
        if turn.info.asks_how and not turn.info.asks_quantity and not any(
                self.weights.coverage(turn.info, s.text) >= HOW_SENTENCE_COVERAGE for s in extract.sentences):
            # No single sentence says how. When a section is about exactly this ("下半年怎么建设美丽乡村"
            # and "二是加快推进建设美丽乡村"), its measures are the answer.
            sections, scopes = self._scope_sections(turn)
            if self.weights.coverage(turn.info, scopes[0].split(" > ")[-1]) >= HOW_TITLE_COVERAGE:
                return self.extractive.broad(turn.info, sections, scopes)
        return extract

    def _sources(self, turn: Turn, extract: Extract) -> list[Source]:
        """Number the quoted chunks by retrieval rank (best first), then add the other top hits."""
        sources: dict[str, Source] = {}
        rank = {h.chunk.id: i for i, h in enumerate(turn.hits)}
        scores = {h.chunk.id: h.score for h in turn.hits}
        quoted = sorted({s.chunk.id: s.chunk for s in extract.sentences}.values(),
                        key=lambda c: (rank.get(c.id, len(rank)), c.metadata["ordinal"]))
        for chunk in quoted:
            meta = chunk.metadata
            sources[chunk.id] = Source(len(sources) + 1, meta["doc_id"], meta["section_path"], chunk.text,
                                       meta["start"], meta["end"], scores.get(chunk.id, 0.0))
        for sentence in extract.sentences:
            sources[sentence.chunk.id].cited.append(sentence.text)
        for hit in turn.hits:
            if len(sources) >= self.settings.sources_k:
                break
            # Further reading, not quoted: only passages that share something with the question.
            shares = turn.info.english or self.weights.coverage(turn.info, hit.chunk.embed_text) > 0
            if hit.chunk.id not in sources and shares:
                meta = hit.metadata
                sources[hit.chunk.id] = Source(len(sources) + 1, meta["doc_id"], meta["section_path"], hit.chunk.text,
                                               meta["start"], meta["end"], hit.score)
        return list(sources.values())

    def _extractive_answer(self, turn: Turn) -> Answer:
        extract = self._extract(turn)
        sources = self._sources(turn, extract)
        from bot.compose import compose_answer

        text = compose_answer(turn.info, extract, sources)
        return Answer(text, False, turn.question, sources)

    def _overview_parts(self, info: QuestionInfo) -> list[str]:
        """Top-level parts ("二、2022年下半年工作计划") the question asks about as a whole: it names only
        their phase ("下半年有哪些计划"), or only words of their title ("2023年有什么安排")."""
        if info.english or not (info.broad or info.phase or not info.terms):
            return []
        phases: dict[str, str] = {}
        for chunk in self.components.keywords.chunks:
            path = chunk.metadata["section_path"]
            if path:
                phases.setdefault(path.split(" > ")[0], chunk.metadata.get("phase", ""))
        if info.terms:
            named = [p for p in phases if self.weights.coverage(info, p) >= 0.99]
        else:
            named = list(phases) if info.phase else []
        if info.phase:
            named = [p for p in named if phases[p] == info.phase]
        return named

    def _overview(self, turn: Turn) -> Answer:
        """The numbered sections of the parts asked about, each cited to its opening passage."""
        from bot.compose import compose_overview

        firsts: dict[tuple[str, int], object] = {}
        for chunk in self.components.keywords.chunks:
            meta = chunk.metadata
            part, _, rest = meta["section_path"].partition(" > ")
            if part in turn.overview_parts and rest:
                key = (meta["doc_id"], meta["topic_id"])
                if key not in firsts or meta["ordinal"] < firsts[key].metadata["ordinal"]:
                    firsts[key] = chunk
        chunks = sorted(firsts.values(), key=lambda c: (c.metadata["doc_id"], c.metadata["ordinal"]))
        sources = [Source(i + 1, c.metadata["doc_id"], c.metadata["section_path"], c.text, c.metadata["start"],
                          c.metadata["end"], 0.0, [c.text.split("。", 1)[0] + "。"]) for i, c in enumerate(chunks)]
        if not sources:
            return self._refusal(turn)
        return Answer(compose_overview(sources), False, turn.question, sources)

    def _refusal(self, turn: Turn) -> Answer:
        from bot.compose import compose_refusal

        sources = [Source(i + 1, h.metadata["doc_id"], h.metadata["section_path"], h.chunk.text,
                          h.metadata["start"], h.metadata["end"], h.score) for i, h in enumerate(turn.hits[:3])]
        return Answer(compose_refusal(turn.info, sources), True, turn.question, sources)

    def _llm_answer(self, turn: Turn, timer: Timer):
        """Stream the model's answer through the figure guard; fall back to quoting on any failure."""
        from bot.figures import FigureGuard
        from bot.llm import LLMUnavailable

        extract = self._extract(turn)
        sources = self._sources(turn, extract)
        guard = FigureGuard(sources)  # releases whole sentences with unsupported figures replaced
        shown = ""
        try:
            for delta in self.llm.stream(turn.question, sources, turn.history):
                if "first_token" not in turn.timings:
                    timer.lap("first_token")
                checked = guard.feed(delta)
                if checked:
                    shown += checked
                    yield checked
            rest = guard.finish()
            shown += rest
            if rest:
                yield rest
            if not shown.strip():
                raise LLMUnavailable("empty reply")
        except LLMUnavailable as exc:
            log.warning("LLM unavailable, falling back to extractive answer: %s", exc)
            fallback = self._extractive_answer(turn)
            text = LLM_FALLBACK_NOTICE + fallback.answer
            yield ("\n\n" if shown else "") + text
            return Answer(text, False, turn.question, fallback.sources)
        if guard.flagged:
            log.warning("figures not found in the cited sources were replaced: %s", guard.flagged)
        return Answer(shown, False, turn.question, sources)

def build_bot(settings: Settings, progress: Callable[[int, int, str], None] | None = None,
              components: IndexComponents | None = None) -> Bot:
    """Open the index (building it from the data folder when empty) and attach the optional LLM."""
    components = components or open_index(settings)
    if components.store.count() == 0 and settings.data_dir.exists():
        log.info("index is empty; building it from %s", settings.data_dir)
        report = components.indexer.build([settings.data_dir], progress=progress)
        for failed in report.failed:
            log.warning("not indexed: %s", failed.error)
    # Pay the one-off costs (jieba dictionaries, first model call, keyword index) before the first user.
    components.keywords.tokenizer.warm_up()
    components.embeddings.embed_query("预热")
    components.keywords.refresh()
    llm = None
    if settings.answer_mode == "llm":
        from bot.llm import LLMAnswerer, make_chat_model

        chat_model = make_chat_model(settings)
        if chat_model is not None:
            llm = LLMAnswerer(chat_model)
    return Bot(settings, components, llm)
