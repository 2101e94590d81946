"""Sentence-level vectors: each chunk's sentences and its section title, embedded one by one.

A chunk's own vector mixes everything it says; a question in everyday words is often close to one
sentence of it, or to its section's title, and far from the mix. These vectors let the bot ask
"which sentence, which section, means what the question means" for the passages it found.

They live in a third Chroma collection (so a ``chroma run`` server holds them too), written under the
same generation as their document's chunks, and live exactly when the manifest says those are.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from index.generations import is_live, not_live_filter
from index.scoped_vectors import MAX_SCOPED_DOCS, ScopedVectors, named_docs
from index.sentences import split_sentences

SUFFIX = "-sentences"
SENTENCE, TITLE = "sentence", "title"
MIN_SENTENCE_CHARS = 6  # "一是。"-sized fragments mean nothing on their own
_BATCH = 500


@dataclass(frozen=True)
class SentenceRecord:
    chunk_id: str
    doc_id: str
    kind: str  # SENTENCE or TITLE
    text: str
    phase: str  # the chunk's phase, so a phase-steered search can filter on it

    @property
    def key(self) -> str:
        digest = hashlib.sha1(f"{self.kind}\x00{self.text}".encode("utf-8")).hexdigest()[:12]
        return f"{self.chunk_id}#{digest}"


def records_of(chunk_id: str, doc_id: str, text: str, section_path: str, phase: str) -> list[SentenceRecord]:
    """The chunk's sentences (line breaks end them too) and, when it has one, its section path as title."""
    records = [SentenceRecord(chunk_id, doc_id, SENTENCE, s.strip(), phase)
               for s in split_sentences(text, line_breaks=True) if len(s.strip()) >= MIN_SENTENCE_CHARS]
    if section_path:
        records.append(SentenceRecord(chunk_id, doc_id, TITLE, section_path, phase))
    return list({r.key: r for r in records}.values())


@dataclass
class SentenceMatch:
    chunk_id: str
    doc_id: str
    kind: str
    text: str
    similarity: float


class SentenceVectors:
    """The sentence collection; liveness is decided by the caller's manifest (doc_id → entry)."""

    def __init__(self, client, collection_name: str):
        self._collection = client.get_or_create_collection(
            collection_name + SUFFIX, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
        # Searches scoped to a few reports run on their vectors in memory (index/scoped_vectors.py).
        self._scoped = ScopedVectors(lambda doc_id: self._collection.get(
            where={"doc_id": doc_id}, include=["documents", "metadatas", "embeddings"]))

    def count(self) -> int:
        return self._collection.count()

    def upsert(self, generation: str, records: list[SentenceRecord], vectors: list[list[float]]) -> None:
        ids = [f"{r.key}@{generation}" for r in records]
        metas = [{"chunk_id": r.chunk_id, "doc_id": r.doc_id, "kind": r.kind, "phase": r.phase,
                  "generation": generation} for r in records]
        for i in range(0, len(ids), _BATCH):
            self._collection.upsert(ids=ids[i:i + _BATCH], documents=[r.text for r in records[i:i + _BATCH]],
                                    metadatas=metas[i:i + _BATCH], embeddings=vectors[i:i + _BATCH])

    def vectors_of(self, doc_id: str, live: dict[str, dict]) -> dict[tuple[str, str], list[float]]:
        """The document's live vectors by (kind, text), so an unchanged sentence is not embedded again."""
        found = self._collection.get(where={"doc_id": doc_id}, include=["embeddings", "metadatas", "documents"])
        return {(m["kind"], d): list(e) for d, e, m in zip(found["documents"], found["embeddings"], found["metadatas"])
                if is_live(m, live)}

    def of_chunks(self, chunk_ids: list[str], live: dict[str, dict]) -> tuple[list[SentenceMatch], list[list[float]]]:
        """The live records of these chunks and their vectors (similarity left 0: the caller scores them)."""
        if not chunk_ids:
            return [], []
        held = self._held_rows(chunk_ids, live)
        if held is not None:
            return held
        found = self._collection.get(where={"chunk_id": {"$in": list(chunk_ids)}},
                                     include=["embeddings", "metadatas", "documents"])
        matches, vectors = [], []
        for d, e, m in zip(found["documents"], found["embeddings"], found["metadatas"]):
            if is_live(m, live):
                matches.append(SentenceMatch(m["chunk_id"], m["doc_id"], m["kind"], d, 0.0))
                vectors.append(e)
        return matches, vectors

    def nearest(self, vector: list[float], k: int, live: dict[str, dict],
                where: dict | None = None) -> list[SentenceMatch]:
        """The k live sentences nearest the question (titles left out: they are scored per chunk)."""
        kind = {"kind": SENTENCE}
        where = {"$and": [kind, where]} if where else kind
        docs = named_docs(where)
        if docs is not None and len(docs) <= MAX_SCOPED_DOCS:
            return [SentenceMatch(m["chunk_id"], m["doc_id"], m["kind"], d, similarity)
                    for _, d, m, similarity in self._scoped.nearest(vector, k, docs, live, where)]
        total = self._collection.count()
        if k <= 0 or total == 0:
            return []
        found = self._collection.query(query_embeddings=[vector], n_results=min(total, k * 2), where=where,
                                       include=["documents", "metadatas", "distances"])
        matches = [SentenceMatch(m["chunk_id"], m["doc_id"], m["kind"], d, 1.0 - dist) for d, m, dist in
                   zip(found["documents"][0], found["metadatas"][0], found["distances"][0]) if is_live(m, live)]
        return matches[:k]

    def _held_rows(self, chunk_ids: list[str], live: dict[str, dict]):
        """The chunks' records from reports held in memory, when all of them are (else None)."""
        wanted = set(chunk_ids)
        matches, vectors, seen = [], [], set()
        for rows in self._scoped.cached_rows(live):
            for i, m in enumerate(rows.metadatas):
                if m["chunk_id"] in wanted:
                    matches.append(SentenceMatch(m["chunk_id"], m["doc_id"], m["kind"], rows.texts[i], 0.0))
                    vectors.append(rows.vectors[i].tolist())
                    seen.add(m["chunk_id"])
        return (matches, vectors) if seen == wanted else None

    def delete_generations(self, doc_id: str, keep: str | None = None) -> int:
        found = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        stale = [i for i, m in zip(found["ids"], found["metadatas"]) if m.get("generation") != keep]
        self._delete(stale)
        return len(stale)

    def roll_back(self, live: dict[str, dict]) -> int:
        found = self._collection.get(where=not_live_filter(live), include=["metadatas"])
        stray = [i for i, m in zip(found["ids"], found["metadatas"]) if not is_live(m, live)]
        self._delete(stray)
        return len(stray)

    def _delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self._collection.delete(ids=ids[i:i + _BATCH])
