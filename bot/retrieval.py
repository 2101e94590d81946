"""Hybrid retrieval: dense (Chroma) + keyword (BM25 over jieba words), fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.keyword import KeywordIndex
from index.store import ChunkStore, StoredChunk

RRF_K = 60


@dataclass
class Hit:
    chunk: StoredChunk
    score: float  # fused RRF score
    dense: float  # cosine similarity (0 when only keyword search found it)
    keyword: float  # BM25 score (0 when only dense search found it)

    @property
    def metadata(self) -> dict:
        return self.chunk.metadata


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
        allowed = (lambda c: c.metadata.get("phase", "") in (phase, "")) if phase else (lambda c: True)
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


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever (for chains that want ``Document`` objects)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    search: HybridSearch
    k: int = 5
    phase: str = ""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=h.chunk.text, id=h.chunk.id,
                         metadata={**h.metadata, "score": h.score, "dense": h.dense, "keyword": h.keyword})
                for h in self.search.search(query, self.phase, self.k)]
