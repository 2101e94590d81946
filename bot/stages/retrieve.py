"""Retrieve: hybrid search (dense chunks, dense sentences and keyword BM25 over jieba words, fused by
reciprocal rank), widened to the whole report when the asked phase has nothing on the question, then
reranked by meaning: how close the passage's best sentence and its section title are to the question."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from langchain_core.embeddings import Embeddings

from bot.evidence import TermWeights
from bot.query import AUTHOR_WORDS, QuestionInfo
from bot.stages.scope import Scope
from bot.stages.understand import Question
from index.keyword import KeywordIndex
from index.sentence_vectors import TITLE
from index.store import ChunkStore, StoredChunk

RRF_K = 60
NEAREST_K = 10  # passages whose similarities the gate compares for English questions
SCORED_K = 20  # fused candidates whose sentences and titles are compared with the question
# After widening to the whole report, a passage in the asked phase within this many and this close in
# meaning to the best leads (this model's cosines crowd within ~0.05).
PHASE_TIE_HITS = 3
PHASE_TIE_GAP = 0.01
OPENING_HITS = 5  # how far down the ranking a part's opening paragraph is looked for


@dataclass(frozen=True)
class RerankWeights:
    """How the final order mixes rank fusion with meaning and shared words; fitted on the question bank
    (``python -m bot.calibrate``) and kept as data (bot/fitted_weights.json)."""

    fused: float = 1.0
    sentence: float = 0.0
    title: float = 0.0
    coverage: float = 0.01


@dataclass
class Hit:
    chunk: StoredChunk
    score: float  # fused RRF score
    dense: float  # cosine similarity (0 when only keyword search found it)
    keyword: float  # BM25 score (0 when only dense search found it)
    sentence: float = 0.0  # cosine similarity of the passage's closest sentence
    title: float = 0.0  # cosine similarity of the passage's section path
    coverage: float = 0.0  # weighted share of the question's terms the passage contains


@dataclass
class Retrieved:
    hits: list[Hit]  # best first
    vector: list[float]  # the question's embedding
    nearest: list[float] = field(default_factory=list)  # English questions: similarities of the nearest passages
    sentence_similarity: dict[str, float] = field(default_factory=dict)  # sentence text -> cosine, candidates only
    sentence_baseline: float = 0.0  # mean cosine of the sentences nearest the question in the whole scope
    searched: str = ""  # the text whose embedding is ``vector``
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)  # sentence text -> its vector


class HybridSearch:
    def __init__(self, store: ChunkStore, keywords: KeywordIndex, embeddings: Embeddings, candidates_k: int = 20,
                 glossary=None):
        self.glossary = glossary  # keyword search also looks for the other forms of an abbreviation
        self.store = store
        self.keywords = keywords
        self.embeddings = embeddings
        self.candidates_k = candidates_k

    def search(self, query: str, scope: Scope = Scope(), k: int | None = None,
               query_vector: list[float] | None = None) -> list[Hit]:
        return self.search_with_baseline(query, scope, k, query_vector)[0]

    def search_with_baseline(self, query: str, scope: Scope = Scope(), k: int | None = None,
                             query_vector: list[float] | None = None,
                             keyword_weight: float = 1.0, keyword_query: str | None = None) -> tuple[list[Hit], float]:
        """Three rankings fused by reciprocal rank: chunk vectors, sentence vectors (a chunk ranks by its
        closest sentence) and keywords (``keyword_query``, else the query; their ranks weighed by
        ``keyword_weight``). Also the mean similarity of the nearest sentences: this
        model's cosines crowd together, so a match means something only against that baseline."""
        k = k or self.candidates_k
        vector = query_vector if query_vector is not None else self.embeddings.embed_query(query)
        where = scope.where()
        dense = self.store.query(vector, self.candidates_k, where=where)
        keyword_query = keyword_query or query
        keyword_query = self.glossary.expand(keyword_query) if self.glossary else keyword_query
        keyword = self.keywords.search(keyword_query, self.candidates_k, accept=lambda c: scope.accepts(c.meta),
                                       docs=scope.docs)
        fused: dict[str, Hit] = {}
        for rank, chunk in enumerate(dense):
            hit = fused.setdefault(chunk.id, Hit(chunk, 0.0, 0.0, 0.0))
            hit.score += 1.0 / (RRF_K + rank + 1)
            hit.dense = chunk.score
        for rank, chunk in enumerate(keyword):
            hit = fused.setdefault(chunk.id, Hit(chunk, 0.0, 0.0, 0.0))
            hit.score += keyword_weight / (RRF_K + rank + 1)
            hit.keyword = chunk.score
        by_sentence, baseline = self._by_sentence(vector, where)
        for rank, chunk in enumerate(by_sentence):
            hit = fused.setdefault(chunk.id, Hit(chunk, 0.0, 0.0, 0.0))
            hit.score += 1.0 / (RRF_K + rank + 1)
        return sorted(fused.values(), key=lambda h: -h.score)[:k], baseline

    def _by_sentence(self, vector: list[float], where: dict | None) -> tuple[list[StoredChunk], float]:
        live = self.store.manifest()
        matches = self.store.sentences.nearest(vector, self.candidates_k * 2, live, where)
        order = list(dict.fromkeys(m.chunk_id for m in matches))[:self.candidates_k]
        chunks = self.store.chunks_by_id(order)
        baseline = sum(m.similarity for m in matches) / len(matches) if matches else 0.0
        return [chunks[c] for c in order if c in chunks], baseline


class Retriever:
    def __init__(self, store: ChunkStore, keywords: KeywordIndex, embeddings: Embeddings, weights: TermWeights,
                 candidates_k: int = 20, glossary=None, rerank: RerankWeights | None = None):
        self.search = HybridSearch(store, keywords, embeddings, candidates_k, glossary)
        self.store = store
        self.embeddings = embeddings
        self.weights = weights
        self.rerank = rerank or RerankWeights()

    def retrieve(self, asked: Question, scope: Scope, enough: Callable[[Retrieved], bool]) -> Retrieved:
        """Passages for the question within ``scope``; the same reports whole when ``enough`` says the
        asked phase has nothing on it."""
        vector = self.embeddings.embed_query(asked.search_text)
        # Unfiltered: the gate asks how far the best passage anywhere stands above the rest.
        nearest = [c.score for c in self.store.query(vector, NEAREST_K)] if asked.info.english else []
        found = self._find(asked, scope, vector, nearest)
        if scope.phased and not enough(found):
            # The asked phase may simply not cover it; look in the whole report before refusing.
            found = self._find(asked, scope.widened(), vector, nearest)
            found.hits = self._asked_phase_first(found.hits, scope)
        return found

    @staticmethod
    def _asked_phase_first(hits: list[Hit], scope: Scope) -> list[Hit]:
        """Of the whole report, a passage in the phase the question asked about leads when its closest
        sentence is about as close as the best passage's: "处理得怎么样" asks for results, and a plan
        that shares a word with it should not win a tie."""
        if not hits or scope.accepts(hits[0].chunk.meta):
            return hits
        for at, hit in enumerate(hits[1:PHASE_TIE_HITS], start=1):
            if scope.accepts(hit.chunk.meta) and hit.sentence >= hits[0].sentence - PHASE_TIE_GAP:
                return _to_front(hits, at)
        return hits

    def _find(self, asked: Question, scope: Scope, vector: list[float], nearest: list[float]) -> Retrieved:
        # Keyword search matches only the words the reports use; when most of the question's weight is
        # in everyday words no report contains, its ranking rests on the leftovers ("管", "政府") and
        # gets a say in the fusion only in proportion to what it can match.
        keyword_weight = 1.0 if asked.info.english else self.weights.known_share(asked.info)
        # BM25 looks for the question's content terms: its time words ("去年") have chosen the part of
        # the report already and would otherwise rank any passage that says 去年.
        # Nor the report's author ("政府管不管"): every passage is the government's work, and one on the
        # government's own conduct would win on that word alone.
        searched = [t for t in asked.info.terms if t not in AUTHOR_WORDS]
        terms = " ".join(searched) if searched and not asked.info.english else None
        hits, baseline = self.search.search_with_baseline(asked.search_text, scope, query_vector=vector,
                                                          keyword_weight=keyword_weight, keyword_query=terms)
        similarity, sentence_vectors = self._score_meaning(hits[:SCORED_K], vector)
        for hit in hits:
            hit.coverage = 0.0 if asked.info.english else self.weights.coverage(asked.info, hit.chunk.embed_text)
        ranked = self._reranked(hits)
        if asked.info.asks_overall:
            ranked = self._opening_first(ranked)
        return Retrieved(ranked, vector, nearest, similarity, baseline, asked.search_text, sentence_vectors)

    def _score_meaning(self, hits: list[Hit], vector: list[float]) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Each hit's closest sentence and its section path, compared with the question; the sentences'
        similarities and vectors."""
        matches, vectors = self.store.sentences.of_chunks([h.chunk.id for h in hits], self.store.manifest())
        if not matches:
            return {}, {}
        vectors = np.asarray(vectors, dtype=np.float32)
        similarity = vectors @ np.asarray(vector, dtype=np.float32)
        by_chunk = {h.chunk.id: h for h in hits}
        sentences: dict[str, float] = {}
        sentence_vectors: dict[str, np.ndarray] = {}
        for match, value, row in zip(matches, similarity.tolist(), vectors):
            hit = by_chunk[match.chunk_id]
            if match.kind == TITLE:
                hit.title = max(hit.title, value)
            else:
                hit.sentence = max(hit.sentence, value)
                sentences[match.text] = max(sentences.get(match.text, 0.0), value)
                sentence_vectors[match.text] = row
        return sentences, sentence_vectors

    def _opening_first(self, hits: list[Hit]) -> list[Hit]:
        """Asked how things went as a whole, a part's opening paragraph comes first when the search found
        it: reports sum a year up there ("2023年是……全市生产总值……增长7.5%") before the sections on
        each topic."""
        for at, hit in enumerate(hits[:OPENING_HITS]):
            meta = hit.chunk.meta
            if not meta.path.part or meta.path.within_part or hit.coverage < hits[0].coverage:
                continue  # a summary that says less of what was asked than the best passage does not lead
            before = self.store.neighbour(meta, -1)
            if before is None or before.meta.path.part != meta.path.part or before.text.strip() == meta.path.part:
                return _to_front(hits, at)
        return hits

    def _reranked(self, hits: list[Hit]) -> list[Hit]:
        """Rank fusion alone cannot tell a passage that means what was asked from one that merely shares
        a word with it ("保护" in 文化保护 and 生态环境保护): meaning and coverage decide among the fused."""
        w = self.rerank
        return sorted(hits, key=lambda h: -(w.fused * h.score + w.sentence * h.sentence + w.title * h.title
                                            + w.coverage * h.coverage))


def _to_front(hits: list[Hit], at: int) -> list[Hit]:
    return [hits[at], *hits[:at], *hits[at + 1:]]
