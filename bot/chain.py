"""The question-answering chain: the stages of ``bot.stages`` run in order, and the factory that opens them."""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterator

from dataclasses import replace

from bot.answer_type import missing_detail
from bot.catalog import Catalog
from bot.english import EnglishReader
from bot.evidence import TermWeights
from bot.glossary import Glossary
from bot.settings import Settings
from bot.stages.extract import Extractor
from bot.stages.gate import EvidenceGate, GateModel, fitted_for
from bot.stages.plan import Planner
from bot.stages.retrieve import RerankWeights, Retriever
from bot.query import without_terms, without_words
from bot.smalltalk import is_smalltalk, reply_to_smalltalk
from bot.suggestions import example_questions, suggest_followups
from bot.stages.group import findings_by_report
from bot.stages.scope import ScopeReader
from bot.stages.understand import QuestionReader
from bot.stages.write import Writer
from bot.stages.write_llm import stream_llm_answer
from bot.turn import Timer, Turn
from bot.types import Answer, InputError
from index.components import IndexComponents, open_index

log = logging.getLogger(__name__)


class Bot:
    def __init__(self, settings: Settings, components: IndexComponents, llm=None, glossary: Glossary | None = None):
        self.settings = settings
        self.components = components
        self.llm = llm  # an LLMAnswerer, or None for extractive answers
        glossary = glossary or Glossary.load()
        store, keywords, embeddings = components.store, components.keywords, components.embeddings
        weights = TermWeights(keywords, glossary)
        self.catalog = Catalog(store)
        places = lambda: [name for report in self.catalog.reports() for name in report.place_names]  # noqa: E731
        english = EnglishReader(keywords.tokenizer.frequency, places)
        self.reader = QuestionReader(settings, keywords.tokenizer, llm.condense if llm is not None else None, english,
                                     places)
        rerank = RerankWeights(**fitted_for(embeddings.model_id)["rerank"])
        self.retriever = Retriever(store, keywords, embeddings, weights, settings.candidates_k, glossary, rerank)
        self.gate = EvidenceGate(weights, settings, GateModel.load(embeddings.model_id), embeddings.embed_query)
        self.planner = Planner(weights, keywords)
        self.extractor = Extractor(weights, store, keywords, embeddings)
        self.writer = Writer()
        self.scopes = ScopeReader(self.catalog)
        self._example_cache: tuple[int, list[str]] | None = None

    def ask(self, question: str, history: list | None = None, docs: list[str] | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history, docs):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: list | None = None,
               docs: list[str] | None = None) -> Iterator[str | Answer]:
        """Yield text deltas, then the complete Answer (whose text is authoritative). ``docs``: the
        document ids the user limited the library to (None: every report)."""
        started = time.perf_counter()
        text, messages, docs = self._read(question, history, docs)
        normalised = (time.perf_counter() - started) * 1000
        reply = reply_to_smalltalk(text, self._reports(docs), self._examples()) if is_smalltalk(text) else None
        if reply is not None:
            # A greeting or "你能做什么": what the bot can do and what it holds, never a search.
            yield reply
            yield Answer(reply, False, text, timings_ms={"total": (time.perf_counter() - started) * 1000})
            return
        turn = self._prepare(text, messages, docs, {"normalise": normalised})
        timer = Timer(turn.timings)
        if turn.groups:
            answer = self._write_grouped(turn)
        else:
            plan = turn.plan
            extract = self.extractor.extract(turn.asked.info, plan, turn.found)
            missing = self._missing_detail(turn, extract)
            if missing:
                # The passages are on the topic, but what was asked (a price, a date, a count) is not
                # in what they say: partial evidence, told as such.
                plan = replace(plan, route="partial", missing=(missing,))
            answer = self.writer.write(turn.asked, plan, turn.hits, extract, self._searched(turn.scope))
            if not answer.refused:
                answer.suggestions = self._suggestions([s.chunk for s in extract.sentences])
        by_llm = self.llm is not None and (bool(turn.groups) or turn.plan.llm_may_write)
        if by_llm:
            answer = yield from stream_llm_answer(self.llm, turn.asked, answer, timer)
        timer.lap("answer")
        turn.timings["total"] = (time.perf_counter() - started) * 1000
        answer.timings_ms = turn.timings
        if not by_llm:
            # Composed at once; sent line by line so that a chat shows it filling in like the LLM's.
            yield from answer.answer.splitlines(keepends=True)
        yield answer

    def prepare(self, question: str, history: list | None = None, docs: list[str] | None = None) -> Turn:
        """Understand, scope, retrieve, gate and plan; raises InputError."""
        started = time.perf_counter()
        text, messages, docs = self._read(question, history, docs)
        return self._prepare(text, messages, docs, {"normalise": (time.perf_counter() - started) * 1000})

    def _read(self, question: object, history: list | None, docs: list[str] | None):
        """The question, the history and the chosen reports, checked and cleaned (InputError if bad)."""
        text, messages = self.reader.read(question, history)
        return text, messages, self._known(docs)

    def _prepare(self, text: str, messages: list[dict], docs: list[str] | None, timings: dict[str, float]) -> Turn:
        timer = Timer(timings)
        asked = self.reader.understand(text, messages)
        timer.lap("rewrite")
        reading = self.scopes.read(asked.text, asked.info.phase, messages, docs)
        asked = replace(asked, info=without_terms(asked.info, reading.words),
                        searched=without_words(asked.text, reading.words))
        scope = reading.scope
        found = self.retriever.retrieve(asked, scope, lambda raw: self.gate.judge(asked.info, raw).passes)
        timer.lap("retrieve")
        evidence = self.gate.judge(asked.info, found)
        groups = []
        if len(scope.docs) != 1 and evidence.passes and not asked.info.english:
            groups = findings_by_report(asked.info, found, self.gate, self.catalog, self.settings.max_report_groups)
        plan = self.planner.plan(asked.info, scope, found.hits, evidence)
        timer.lap("gate")
        return Turn(asked, scope, found, evidence, plan, timings, groups if len(groups) > 1 else [])

    def _known(self, docs: list[str] | None) -> list[str] | None:
        """The user's choice of reports, checked against the library (none chosen: every report)."""
        if not docs:
            return None
        if not isinstance(docs, list) or not all(isinstance(d, str) for d in docs):
            raise InputError("所选报告的格式不正确。", "docs is not a list of strings")
        known = self.catalog.by_id()
        unknown = [d for d in docs if d not in known]
        if unknown:
            raise InputError(f"没有找到所选的报告：{'、'.join(unknown[:3])}。请刷新报告列表后再试。",
                             f"unknown docs {unknown[:3]}")
        return list(dict.fromkeys(docs))

    @staticmethod
    def _missing_detail(turn: Turn, extract) -> str | None:
        if turn.plan.route not in ("narrow", "how") or not extract.sentences or extract.withheld:
            return None
        return missing_detail(turn.asked.info.text, [s.text for s in extract.sentences], turn.asked.info.terms)

    def _reports(self, docs: list[str] | None):
        return [r for r in self.catalog.reports() if not docs or r.doc_id in docs]

    def _examples(self) -> list[str]:
        """Example questions for the introduction, from the reports' outlines (newest report first);
        built again only when the index changed."""
        revision = self.components.store.revision()
        if self._example_cache is None or self._example_cache[0] != revision:
            self._example_cache = (revision, self._newest_examples(3))
        return self._example_cache[1]

    def _newest_examples(self, k: int) -> list[str]:
        """Examples come round-robin from the newest reports, one each: read only the newest k reports'
        chunks, and more only if those give too few."""
        reports = self.catalog.reports()
        taken = k
        while True:
            chunks = [c for r in reports[:taken] for c in self.components.keywords.chunks_of(r.doc_id)]
            examples = example_questions(chunks, k, name_place=len(reports) > 1)
            if len(examples) >= k or taken >= len(reports):
                return examples
            taken *= 2

    def _suggestions(self, answered: list) -> list[str]:
        """Two or three follow-ups from the answered report's outline: the other phase, the neighbours."""
        if not answered:
            return []
        doc_id = answered[0].meta.doc_id
        chunks = self.components.keywords.chunks_of(doc_id)
        return suggest_followups(answered, chunks, 3, name_place=len(self.catalog.reports()) > 1)

    def _searched(self, scope) -> list[str]:
        """The titles of the reports a refusal speaks for."""
        reports = self.catalog.reports()
        return [r.title for r in reports if not scope.docs or r.doc_id in scope.docs]

    def _write_grouped(self, turn: Turn) -> Answer:
        """One part per report, each planned and extracted from that report's own passages."""
        parts = []
        for finding in turn.groups:
            plan = self.planner.plan(turn.asked.info, turn.scope.only(finding.doc_id), finding.found.hits,
                                     finding.evidence)
            extract = self.extractor.extract(turn.asked.info, plan, finding.found)
            parts.append((finding.title, finding.year, plan, finding.found.hits, extract))
        return self.writer.write_grouped(turn.asked, parts, self._searched(turn.scope))



def build_bot(settings: Settings, progress: Callable[[int, int, str], None] | None = None,
              components: IndexComponents | None = None) -> Bot:
    """Open the index (building it from the data folder when empty) and attach the optional LLM."""
    components = components or open_index(settings)
    if components.store.count() == 0 and settings.data_dir.exists():
        log.info("index is empty; building it from %s", settings.data_dir)
        report = components.indexer.build([settings.data_dir], progress=progress)
        for failed in report.failed:
            log.warning("not indexed: %s", failed.error)
    # Pay the one-off costs (jieba dictionaries, first model call) before the first user, and fill in
    # any document the keyword file lacks (none when nothing changed since the last start).
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
