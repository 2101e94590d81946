"""Retrieve: hybrid search (dense Chroma + keyword BM25 over jieba words, fused by reciprocal rank),
widened to the whole report when the asked phase has nothing on the question, then reranked."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.stages.scope import Scope
from bot.stages.understand import Question
from index.keyword import KeywordIndex
from index.meta import encode_meta
from index.store import ChunkStore, StoredChunk

RRF_K = 60
RERANK_WEIGHT = 0.01  # an RRF step between neighbouring ranks is about 0.0003
NEAREST_K = 10  # passages whose similarities the gate compares for English questions


@dataclass
class Hit:
    chunk: StoredChunk
    score: float  # fused RRF score
    dense: float  # cosine similarity (0 when only keyword search found it)
    keyword: float  # BM25 score (0 when only dense search found it)


@dataclass
class Retrieved:
    hits: list[Hit]  # best first
    vector: list[float]  # the question's embedding
    nearest: list[float] = field(default_factory=list)  # English questions: similarities of the nearest passages


def phase_filter(phase: str) -> dict | None:
    """Chunks of the asked phase (results or plans), plus text that belongs to neither (opening lines)."""
    return {"phase": {"$in": [phase, ""]}} if phase else None


class HybridSearch:
    def __init__(self, store: ChunkStore, keywords: KeywordIndex, embeddings: Embeddings, candidates_k: int = 20,
                 glossary=None):
        self.glossary = glossary  # keyword search also looks for the other forms of an abbreviation
        self.store = store
        self.keywords = keywords
        self.embeddings = embeddings
        self.candidates_k = candidates_k

    def search(self, query: str, phase: str = "", k: int | None = None,
               query_vector: list[float] | None = None) -> list[Hit]:
        k = k or self.candidates_k
        vector = query_vector if query_vector is not None else self.embeddings.embed_query(query)
        dense = self.store.query(vector, self.candidates_k, where=phase_filter(phase))
        allowed = (lambda c: c.meta.phase in (phase, "")) if phase else (lambda c: True)
        keyword_query = self.glossary.expand(query) if self.glossary else query
        keyword = self.keywords.search(keyword_query, self.candidates_k, accept=allowed)
        fused: dict[str, Hit] = {}
        for rank, chunk in enumerate(dense):
            hit = fused.setdefault(chunk.id, Hit(chunk, 0.0, 0.0, 0.0))
            hit.score += 1.0 / (RRF_K + rank + 1)
            hit.dense = chunk.score
        for rank, chunk in enumerate(keyword):
            hit = fused.setdefault(chunk.id, Hit(chunk, 0.0, 0.0, 0.0))
            hit.score += 1.0 / (RRF_K + rank + 1)
            hit.keyword = chunk.score
        return sorted(fused.values(), key=lambda h: -h.score)[:k]


class Retriever:
    def __init__(self, store: ChunkStore, keywords: KeywordIndex, embeddings: Embeddings, weights: TermWeights,
                 candidates_k: int = 20, glossary=None):
        self.search = HybridSearch(store, keywords, embeddings, candidates_k, glossary)
        self.store = store
        self.embeddings = embeddings
        self.weights = weights

    def retrieve(self, asked: Question, scope: Scope, enough: Callable[[Retrieved], bool]) -> Retrieved:
        """Passages for the question within ``scope``; the whole report when ``enough`` says the scope
        has nothing on it."""
        vector = self.embeddings.embed_query(asked.text)
        # Unfiltered: the gate asks how far the best passage anywhere stands above the rest.
        nearest = [c.score for c in self.store.query(vector, NEAREST_K)] if asked.info.english else []
        found = Retrieved(self.search.search(asked.text, scope.phase, query_vector=vector), vector, nearest)
        if scope.phase and not enough(found):
            # The asked phase may simply not cover it; look in the whole report before refusing.
            wide = self.search.search(asked.text, scope.widened().phase, query_vector=vector)
            found = replace(found, hits=wide)
        return replace(found, hits=self._rerank(asked.info, found.hits))

    def _rerank(self, info: QuestionInfo, hits: list[Hit]) -> list[Hit]:
        """Fused rank, nudged by how much of the question each passage contains: rank fusion alone
        cannot tell a passage with every question word from one that is merely on the same theme."""
        if info.english or not info.terms:
            return hits
        return sorted(hits, key=lambda h: -(h.score + RERANK_WEIGHT * self.weights.coverage(
            info, h.chunk.embed_text)))


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever (for chains that want ``Document`` objects)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    search: HybridSearch
    k: int = 5
    phase: str = ""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=h.chunk.text, id=h.chunk.id,
                         metadata={**encode_meta(h.chunk.meta), "score": h.score, "dense": h.dense,
                                   "keyword": h.keyword})
                for h in self.search.search(query, self.phase, self.k)]
