"""The Chroma collection holding report chunks, and the lock that keeps to one writer at a time."""
from __future__ import annotations

import fcntl
import os
import re
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from index.settings import IndexSettings

_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


class IndexBusyError(RuntimeError):
    message_zh = "索引正在被另一个任务写入，请稍后再试"


class EmbeddingMismatchError(RuntimeError):
    pass


def open_client(settings: IndexSettings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir / "chroma"), settings=chroma_settings)


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Non-blocking exclusive lock: a second writer fails fast instead of interleaving writes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / "write.lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusyError(f"index is busy: another process is writing to {index_dir}") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


@dataclass
class StoredChunk:
    id: str
    text: str
    metadata: dict
    score: float = 0.0

    @property
    def embed_text(self) -> str:
        path = self.metadata.get("section_path", "")
        return f"{path}\n{self.text}" if path else self.text


class ChunkStore:
    """Chunks of all documents in one Chroma collection, tied to the embedding model that built it."""

    def __init__(self, client, collection_name: str, model_id: str):
        if not _COLLECTION_NAME.match(collection_name):
            raise ValueError(f"collection name {collection_name!r} must be 3-512 ASCII characters [a-zA-Z0-9._-]")
        self.model_id = model_id
        self._client = client
        self._collection = client.get_or_create_collection(
            collection_name, configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_id, "revision": 0}, embedding_function=None)
        built_with = (self._collection.metadata or {}).get("embedding_model")
        if built_with != model_id:
            raise EmbeddingMismatchError(
                f"collection {collection_name!r} was built with {built_with!r}, not {model_id!r}; "
                f"set QA_COLLECTION to another name or remove the index and build again")

    # --- reading -------------------------------------------------------------
    def count(self) -> int:
        return self._collection.count()

    def revision(self) -> int:
        """Bumped on every write, so derived indexes (keyword search) know to refresh.

        Read afresh: the collection object caches its metadata, so another process's writes
        (``python -m index build`` against a Chroma server the app also uses) would go unseen.
        """
        metadata = self._client.get_collection(self._collection.name, embedding_function=None).metadata
        return int((metadata or {}).get("revision", 0))

    def doc_hash(self, doc_id: str) -> str | None:
        found = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"], limit=1)
        return found["metadatas"][0]["doc_hash"] if found["ids"] else None

    def embeddings_of(self, doc_id: str) -> dict[str, list[float]]:
        found = self._collection.get(where={"doc_id": doc_id}, include=["embeddings"])
        return {i: list(e) for i, e in zip(found["ids"], found["embeddings"])}

    def all_chunks(self) -> list[StoredChunk]:
        found = self._collection.get(include=["documents", "metadatas"])
        chunks = [StoredChunk(i, d, m) for i, d, m in zip(found["ids"], found["documents"], found["metadatas"])]
        return sorted(chunks, key=lambda c: (c.metadata["doc_id"], c.metadata["ordinal"]))

    def chunks_where(self, where: dict) -> list[StoredChunk]:
        found = self._collection.get(where=where, include=["documents", "metadatas"])
        chunks = [StoredChunk(i, d, m) for i, d, m in zip(found["ids"], found["documents"], found["metadatas"])]
        return sorted(chunks, key=lambda c: c.metadata["ordinal"])

    def query(self, vector: list[float], k: int, where: dict | None = None) -> list[StoredChunk]:
        k = min(k, self.count())
        if k <= 0:
            return []
        found = self._collection.query(query_embeddings=[vector], n_results=k, where=where,
                                       include=["documents", "metadatas", "distances"])
        return [StoredChunk(i, d, m, 1.0 - dist) for i, d, m, dist in
                zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0])]

    def documents(self) -> list[dict]:
        """One entry per document: id, title, chunk count and its sections in order."""
        docs: dict[str, dict] = {}
        sections: dict[str, dict[str, int]] = defaultdict(dict)
        for chunk in self.all_chunks():
            meta = chunk.metadata
            entry = docs.setdefault(meta["doc_id"], {"doc_id": meta["doc_id"], "title": meta["doc_title"],
                                                     "chunks": 0, "hash": meta["doc_hash"]})
            entry["chunks"] += 1
            path = meta["section_path"] or "（开头）"
            sections[meta["doc_id"]][path] = sections[meta["doc_id"]].get(path, 0) + 1
        for doc_id, entry in docs.items():
            entry["sections"] = [{"path": p, "chunks": n} for p, n in sections[doc_id].items()]
        return list(docs.values())

    # --- writing (callers hold write_lock) ------------------------------------
    def upsert(self, ids: list[str], texts: list[str], metadatas: list[dict], vectors: list[list[float]]) -> None:
        for i in range(0, len(ids), 500):
            self._collection.upsert(ids=ids[i:i + 500], documents=texts[i:i + 500],
                                    metadatas=metadatas[i:i + 500], embeddings=vectors[i:i + 500])

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._collection.delete(ids=ids)

    def remove_document(self, doc_id: str) -> int:
        ids = self._collection.get(where={"doc_id": doc_id}, include=[])["ids"]
        self.delete(ids)
        return len(ids)

    def bump_revision(self) -> None:
        metadata = dict(self._client.get_collection(self._collection.name, embedding_function=None).metadata or {})
        metadata["revision"] = int(metadata.get("revision", 0)) + 1
        self._collection.modify(metadata=metadata)
