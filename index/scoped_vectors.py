"""Searches scoped to a few reports, answered from those reports' vectors held in memory.

Chroma answers a metadata-filtered query over a large collection slowly: at 1,000 reports (80,000
chunks, 370,000 sentences) a query filtered to one report took 0.5–1 s, against a few ms unfiltered.
A question scoped to a report (picked in the chat, or named in the question) needs only that report's
few hundred vectors, so they are read once per (report, generation) and searched exactly in numpy.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np

from index.generations import Live, generation_of, is_live_generation

# At most this many reports named by a filter are searched in memory; more go to Chroma's index.
MAX_SCOPED_DOCS = 8
CACHED_DOCS = 64  # reports whose vectors stay in memory (a report's sentences: well under 1 MB)


@dataclass
class DocumentRows:
    ids: list[str]
    texts: list[str]
    metadatas: list[dict]
    vectors: np.ndarray  # as stored
    unit_vectors: np.ndarray  # rows L2-normalised, so a dot product is the cosine similarity


def named_docs(where: dict | None) -> set[str] | None:
    """The report ids a filter limits the search to, or None when some branch allows any report."""
    if not where:
        return None
    if "$and" in where:
        limits = [d for d in (named_docs(c) for c in where["$and"]) if d is not None]
        return set.intersection(*limits) if limits else None
    if "$or" in where:
        branches = [named_docs(c) for c in where["$or"]]
        return None if any(b is None for b in branches) else set().union(*branches)
    value = where.get("doc_id")
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict) and ("$in" in value or "$eq" in value):
        return set(value["$in"]) if "$in" in value else {value["$eq"]}
    return None


def matches(where: dict | None, metadata: dict) -> bool:
    """Chroma's metadata filter language ($and, $or, $eq, $ne, $in, $nin, plain equality), in Python."""
    if not where:
        return True
    if "$and" in where:
        return all(matches(c, metadata) for c in where["$and"])
    if "$or" in where:
        return any(matches(c, metadata) for c in where["$or"])
    for key, condition in where.items():
        value = metadata.get(key)
        if not isinstance(condition, dict):
            condition = {"$eq": condition}
        for op, operand in condition.items():
            if op == "$eq" and value != operand or op == "$ne" and value == operand:
                return False
            if op == "$in" and value not in operand or op == "$nin" and value in operand:
                return False
            if op not in ("$eq", "$ne", "$in", "$nin"):
                raise ValueError(f"unsupported filter operator {op!r}")
    return True


class ScopedVectors:
    """One collection's rows per (report, generation), read on first use and kept (LRU)."""

    def __init__(self, read_document: Callable[[str], dict]):
        self._read_document = read_document  # doc_id -> Chroma ``get`` result with embeddings
        self._rows: OrderedDict[tuple[str, str], DocumentRows] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, doc_id: str, generation: str) -> DocumentRows:
        key = (doc_id, generation)
        with self._lock:
            if key in self._rows:
                self._rows.move_to_end(key)
                return self._rows[key]
        found = self._read_document(doc_id)
        keep = [i for i, m in enumerate(found["metadatas"]) if generation_of(m) == generation]
        vectors = np.asarray([found["embeddings"][i] for i in keep], dtype=np.float32).reshape(len(keep), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(keep) else np.ones((0, 1), np.float32)
        rows = DocumentRows([found["ids"][i] for i in keep], [found["documents"][i] for i in keep],
                            [found["metadatas"][i] for i in keep], vectors, vectors / np.maximum(norms, 1e-12))
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > CACHED_DOCS:
                self._rows.popitem(last=False)
        return rows

    def nearest(self, vector: list[float], k: int, docs: set[str], live: Live,
                where: dict | None) -> list[tuple[str, str, dict, float]]:
        """The k rows of these live reports nearest ``vector`` that pass ``where``: (id, text, metadata, cosine)."""
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        found: list[tuple[str, str, dict, float]] = []
        for doc_id in sorted(docs):
            entry = live.get(doc_id)
            if entry is None:
                continue
            rows = self.rows(doc_id, entry["generation"])
            if not rows.ids:
                continue
            similarity = rows.unit_vectors @ query
            taken = 0
            for i in np.argsort(-similarity):
                if taken >= k:
                    break
                if matches(where, rows.metadatas[i]):
                    found.append((rows.ids[i], rows.texts[i], rows.metadatas[i], float(similarity[i])))
                    taken += 1
        found.sort(key=lambda row: -row[3])
        return found[:k]

    def cached_rows(self, live: Live) -> list[DocumentRows]:
        """The rows held for live generations, for lookups by id without a Chroma read."""
        with self._lock:
            return [rows for (doc_id, generation), rows in self._rows.items()
                    if is_live_generation(doc_id, generation, live)]
