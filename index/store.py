"""The Chroma collection holding report chunks, its manifest, and the lock that keeps to one writer at a time.

A document's chunks are written under a fresh *generation*; a second collection, the manifest, names
each document's live generation and is switched only after all of that generation's chunks are
stored. Readers see live generations only, so a writer that dies mid-document leaves nothing
visible, and the next writer deletes what it left (``roll_back``).

The keyword side (``index.keyword.KeywordTable``, an SQLite FTS5 file) follows the same protocol: the
store writes a chunk's keyword row with its vector, under its generation, deletes rows with
``delete_generations`` / ``remove_document`` / ``roll_back``, and fills in, one document at a time,
what the file lacks for a live generation (``keyword_view``).
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from index.generations import LEGACY_GENERATION, generation_of, is_live, not_live_filter
from index.meta import ChunkMeta, decode_meta, embed_text_of, encode_meta
from index.errors import UserFacingError
from index.scoped_vectors import MAX_SCOPED_DOCS, ScopedVectors, named_docs
from index.sentence_vectors import SentenceVectors
from index.settings import IndexSettings

if TYPE_CHECKING:
    from index.keyword import KeywordTable

log = logging.getLogger(__name__)

_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")
MANIFEST_SUFFIX = "-manifest"
# The manifest holds no vectors worth searching, but Chroma wants one per record.
_MANIFEST_VECTOR = [1.0]
_BATCH = 500
REVISION_TTL = 0.25  # seconds another process's write may go unseen by a reader here
# Staging entries named "<prefix>-<pid>-<random>" belong to that process while it lives.
_STAGING_OWNER = re.compile(r"^[A-Za-z]+(?:-[A-Za-z]+)*-(\d+)-")
_PROCESS_STARTED = time.time()


class IndexBusyError(UserFacingError, RuntimeError):
    message_zh = "索引正在被另一个任务写入，请稍后再试"


class EmbeddingMismatchError(RuntimeError):
    pass


class IndexCorruptError(UserFacingError, RuntimeError):
    """The embedded store's files cannot be read; ``message_zh`` names the folder and the repair command."""

    def __init__(self, message_zh: str):
        super().__init__(message_zh)
        self.message_zh = message_zh


def store_path(settings: IndexSettings) -> Path:
    return settings.index_dir / "chroma"


def corrupt_store_error(store_dir: Path) -> IndexCorruptError:
    return IndexCorruptError(f"索引文件已损坏（{store_dir}），请运行 python -m index rebuild 重建"
                             f"（原索引会移到 {store_dir}.broken-<时间>）")


def open_client(settings: IndexSettings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with corruption_reported(settings):
        return chromadb.PersistentClient(path=str(store_path(settings)), settings=chroma_settings)


@contextmanager
def corruption_reported(settings: IndexSettings) -> Iterator[None]:
    """Chroma's internal errors while opening the embedded store mean its files are damaged."""
    from chromadb.errors import InternalError

    try:
        yield
    except InternalError as exc:
        if settings.chroma_host or re.search(r"locked|busy", str(exc), re.I):
            raise  # a server's trouble, or another process mid-write: not damage of ours
        _forget_client(store_path(settings))
        raise corrupt_store_error(store_path(settings)) from exc


def _forget_client(store_dir: Path) -> None:
    """Chroma caches one client per folder, even a failed one; drop it so the folder can be opened afresh."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(store_dir), None)


def move_store_aside(settings: IndexSettings) -> Path | None:
    """Rename the embedded store to ``chroma.broken-<time>`` (never deleted); the caller holds the write lock."""
    store_dir = store_path(settings)
    if not store_dir.exists():
        return None
    _forget_client(store_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = store_dir.with_name(f"{store_dir.name}.broken-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = store_dir.with_name(f"{store_dir.name}.broken-{stamp}-{n}")
    store_dir.rename(target)
    return target


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


@contextmanager
def unfinished_write(index_dir: Path, store: "ChunkStore") -> Iterator[None]:
    """A write by the lock's holder. A marker file lives while it runs, so the next writer rolls back
    hidden records only when a write died midway: finding them reads seconds' worth of metadata in a
    library of a thousand reports. (Opening the index rolls back whatever the marker says.)"""
    marker = index_dir / "write.unfinished"
    if marker.exists():
        store.roll_back()
    marker.touch()
    yield
    marker.unlink(missing_ok=True)  # not reached when the write raised: the next one rolls back


# --- staging: temporary copies of uploads, under the index folder --------------------------

def staging_dir(index_dir: Path) -> Path:
    path = index_dir / "staging"
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_tempdir(index_dir: Path, prefix: str) -> tempfile.TemporaryDirectory:
    """A temporary folder under ``<index_dir>/staging/`` that names this process, so cleanup spares it."""
    return tempfile.TemporaryDirectory(prefix=f"{prefix}-{os.getpid()}-", dir=staging_dir(index_dir))


def clear_staging(index_dir: Path) -> int:
    """Delete what dead processes left in staging; the caller holds the write lock."""
    folder = index_dir / "staging"
    if not folder.is_dir():
        return 0
    removed = 0
    for entry in list(folder.iterdir()):
        if not _left_behind(entry):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def _left_behind(entry: Path) -> bool:
    owner = _STAGING_OWNER.match(entry.name)
    if owner:
        return not _process_alive(int(owner.group(1)))
    # Not named after a process: only what nobody touched since this process started.
    try:
        times = [p.stat().st_mtime for p in [entry, *(entry.rglob("*") if entry.is_dir() else [])]]
    except OSError:  # changing under us: somebody is using it
        return False
    return max(times) < _PROCESS_STARTED


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- chunks --------------------------------------------------------------------------------

def _chunk_id(stored_id: str, metadata: dict) -> str:
    """The chunk's own id (a hash of its text); the stored id adds the generation."""
    return metadata.get("chunk_id", stored_id)


@dataclass
class StoredChunk:
    id: str
    text: str
    meta: ChunkMeta
    score: float = 0.0

    @property
    def embed_text(self) -> str:
        return embed_text_of(self.meta.section_path, self.text)


class ChunkStore:
    """Chunks of all documents in one Chroma collection, tied to the embedding model that built it,
    a manifest collection naming each document's live generation, and their keyword rows."""

    def __init__(self, client, collection_name: str, model_id: str, keywords: KeywordTable):
        longest = 512 - len(MANIFEST_SUFFIX)
        if not _COLLECTION_NAME.match(collection_name + MANIFEST_SUFFIX):
            raise ValueError(f"collection name {collection_name!r} must be 3-{longest} ASCII characters [a-zA-Z0-9._-]")
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
        self._manifest = client.get_or_create_collection(collection_name + MANIFEST_SUFFIX, embedding_function=None)
        self.sentences = SentenceVectors(client, collection_name)
        # A question scoped to a few reports is searched in their vectors held in memory (index/scoped_vectors.py).
        self._scoped = ScopedVectors(lambda doc_id: self._collection.get(
            where={"doc_id": doc_id}, include=["documents", "metadatas", "embeddings"]))
        self.keywords = keywords
        self._keywords_revision: int | None = None  # the manifest revision the keyword file was checked at
        self._keywords_lock = threading.Lock()
        self._live: tuple[int, dict[str, dict]] | None = None
        self._revision: tuple[float, int] | None = None  # (when read, value)

    # --- reading -------------------------------------------------------------
    def revision(self) -> int:
        """Bumped on every manifest change, so readers re-read it and derived indexes refresh.

        Read afresh: the collection object caches its metadata, so another process's writes
        (``python -m index build`` against a Chroma server the app also uses) would go unseen. A
        question reads it a dozen times, so a reading is kept for REVISION_TTL; this process's own
        writes drop it at once.
        """
        now = time.monotonic()
        if self._revision is not None and now - self._revision[0] < REVISION_TTL:
            return self._revision[1]
        metadata = self._client.get_collection(self._collection.name, embedding_function=None).metadata
        revision = int((metadata or {}).get("revision", 0))
        self._revision = (now, revision)
        return revision

    def manifest(self) -> dict[str, dict]:
        """Live documents: doc_id → {generation, hash, title, chunks}; re-read only when the revision moved."""
        revision = self.revision()
        if self._live is None or self._live[0] != revision:
            found = self._manifest.get(include=["metadatas"])
            self._live = (revision, dict(zip(found["ids"], found["metadatas"])))
        return self._live[1]

    def count(self) -> int:
        """Chunks of live documents (a generation being written is not counted)."""
        return sum(int(entry["chunks"]) for entry in self.manifest().values())

    def stored_count(self) -> int:
        """All stored chunks, those of unfinished generations included."""
        return self._collection.count()

    def doc_hash(self, doc_id: str) -> str | None:
        entry = self.manifest().get(doc_id)
        return entry["hash"] if entry else None

    def embeddings_of(self, doc_id: str) -> dict[str, list[float]]:
        """The live chunks' vectors by chunk id (a hash of the embedded text), for re-use."""
        live = self.manifest()
        found = self._collection.get(where={"doc_id": doc_id}, include=["embeddings", "metadatas"])
        return {_chunk_id(i, m): list(e) for i, e, m in zip(found["ids"], found["embeddings"], found["metadatas"])
                if is_live(m, live)}

    def _live_chunks(self, where: dict | None) -> list[StoredChunk]:
        live = self.manifest()  # read before the chunks: an old generation goes only after the switch
        found = self._collection.get(where=where, include=["documents", "metadatas"])
        return [StoredChunk(_chunk_id(i, m), d, decode_meta(m)) for i, d, m in
                zip(found["ids"], found["documents"], found["metadatas"]) if is_live(m, live)]

    def chunks_by_id(self, chunk_ids: list[str]) -> dict[str, StoredChunk]:
        """Live chunks by their own id (as sentence records name them)."""
        live = self.manifest()
        if not chunk_ids:
            return {}
        wanted, held = set(chunk_ids), {}
        for rows in self._scoped.cached_rows(live):  # reports a scoped search holds in memory
            for stored_id, text, m in zip(rows.ids, rows.texts, rows.metadatas):
                if _chunk_id(stored_id, m) in wanted:
                    held[_chunk_id(stored_id, m)] = StoredChunk(_chunk_id(stored_id, m), text, decode_meta(m))
        if wanted <= set(held):
            return held
        found = self._collection.get(where={"chunk_id": {"$in": list(chunk_ids)}}, include=["documents", "metadatas"])
        return {_chunk_id(i, m): StoredChunk(_chunk_id(i, m), d, decode_meta(m)) for i, d, m in
                zip(found["ids"], found["documents"], found["metadatas"]) if is_live(m, live)}

    def all_chunks(self) -> list[StoredChunk]:
        """Every live chunk, read from Chroma: for tools and tests, never on a question's path."""
        return sorted(self._live_chunks(None), key=lambda c: (c.meta.doc_id, c.meta.ordinal))

    def chunks_where(self, where: dict) -> list[StoredChunk]:
        return sorted(self._live_chunks(where), key=lambda c: c.meta.ordinal)

    def neighbour(self, meta: ChunkMeta, step: int) -> StoredChunk | None:
        """The live chunk ``step`` places after (negative: before) this one in its report."""
        found = self.chunks_where({"$and": [{"doc_id": meta.doc_id}, {"ordinal": meta.ordinal + step}]})
        return found[0] if found else None

    def query(self, vector: list[float], k: int, where: dict | None = None) -> list[StoredChunk]:
        live = self.manifest()
        docs = named_docs(where)
        if docs is not None and len(docs) <= MAX_SCOPED_DOCS:
            return [StoredChunk(_chunk_id(i, m), d, decode_meta(m), similarity)
                    for i, d, m, similarity in self._scoped.nearest(vector, k, docs, live, where)]
        stored = self.stored_count()
        # Ask for as many more as there are hidden chunks, so k live ones come back when they exist.
        hidden = max(stored - sum(int(e["chunks"]) for e in live.values()), 0)
        n = min(k + hidden, stored)
        if k <= 0 or n <= 0:
            return []
        found = self._collection.query(query_embeddings=[vector], n_results=n, where=where,
                                       include=["documents", "metadatas", "distances"])
        hits = [StoredChunk(_chunk_id(i, m), d, decode_meta(m), 1.0 - dist) for i, d, m, dist in
                zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0])
                if is_live(m, live)]
        return hits[:k]

    def documents(self) -> list[dict]:
        """One entry per live document: id, title, place, year, kind, chunk count and its sections in
        order; read from the keyword file per document (section counts by SQL), not from every chunk."""
        table, live = self.keyword_view()
        firsts = table.first_chunks(live)
        sections = table.sections(live)
        docs = []
        for doc_id in sorted(live):
            entry = live[doc_id]
            first = firsts.get(doc_id)
            meta = first.meta if first else ChunkMeta(doc_id, entry.get("title", ""))
            parts = sections.get(doc_id, [])
            docs.append({"doc_id": doc_id, "title": meta.doc_title, "chunks": sum(n for _, n in parts),
                         "hash": entry.get("hash", ""), "place": meta.doc_place, "year": meta.doc_year,
                         "kind": meta.doc_kind,
                         "sections": [{"path": path or "（开头）", "chunks": n} for path, n in parts]})
        return docs

    def keyword_view(self) -> tuple[KeywordTable, dict[str, dict]]:
        """The keyword file, brought up to date with the manifest, and that manifest.

        Only when the revision moved: each live (document, generation) the file holds fewer rows of
        than the manifest counts is read from Chroma, that document alone, and filled in. Rows of
        other generations are never deleted here: a writer may be in the middle of a document.
        """
        live = self.manifest()
        revision = self._live[0] if self._live else None
        if revision != self._keywords_revision:
            with self._keywords_lock:
                if revision != self._keywords_revision:
                    self._fill_keywords(live)
                    self._keywords_revision = revision
        return self.keywords, live

    def _fill_keywords(self, live: dict[str, dict]) -> None:
        held = self.keywords.held()
        for doc_id, entry in live.items():
            generation, expected = entry["generation"], int(entry["chunks"])
            if held.get((doc_id, generation), 0) >= expected:
                continue
            found = self._collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
            chunks = [StoredChunk(_chunk_id(i, m), d, decode_meta(m)) for i, d, m in
                      zip(found["ids"], found["documents"], found["metadatas"]) if generation_of(m) == generation]
            added = self.keywords.fill(doc_id, generation, chunks, expected)
            log.info("keyword index: %s filled from the store (%d chunks)", doc_id, added)

    # --- writing (callers hold write_lock) ------------------------------------
    def upsert(self, generation: str, ids: list[str], texts: list[str], metas: list[ChunkMeta],
               vectors: list[list[float]]) -> None:
        """Store chunks under ``generation``; they stay hidden until ``set_live`` names it."""
        stored_ids = [f"{cid}@{generation}" for cid in ids]
        flat = [{**encode_meta(m), "chunk_id": cid, "generation": generation} for cid, m in zip(ids, metas)]
        for i in range(0, len(ids), _BATCH):
            self._collection.upsert(ids=stored_ids[i:i + _BATCH], documents=texts[i:i + _BATCH],
                                    metadatas=flat[i:i + _BATCH], embeddings=vectors[i:i + _BATCH])
        self.keywords.write(generation, ids, texts, metas)

    def set_live(self, doc_id: str, generation: str, doc_hash: str, title: str, chunks: int) -> None:
        """Switch the document to ``generation`` (all of whose chunks are stored) and tell readers."""
        self._write_manifest({doc_id: {"generation": generation, "hash": doc_hash, "title": title, "chunks": chunks}})

    def delete_generations(self, doc_id: str, keep: str | None = None) -> int:
        """Delete the document's chunks (vectors, sentences, keyword rows) of every generation but ``keep``."""
        found = self._collection.get(where={"doc_id": doc_id}, include=["metadatas"])
        stale = [i for i, m in zip(found["ids"], found["metadatas"]) if generation_of(m) != keep]
        self._delete(stale)
        self.sentences.delete_generations(doc_id, keep)
        self.keywords.delete_generations(doc_id, keep)
        return len(stale)

    def remove_document(self, doc_id: str) -> int:
        """Hide the document first (manifest), then delete its chunks; returns its live chunk count."""
        entry = self.manifest().get(doc_id)
        if entry:
            self._manifest.delete(ids=[doc_id])
            self.bump_revision()
        self.delete_generations(doc_id)
        return int(entry["chunks"]) if entry else 0

    def roll_back(self) -> int:
        """Delete chunks no manifest entry points at: what a writer left when it stopped mid-document."""
        if self._manifest.count() == 0 and self._collection.count():
            self._adopt_legacy(self._collection.get(include=["metadatas"])["metadatas"])
        live = self.manifest()
        # Only records of generations no manifest entry names are read: a start or a build in a large
        # library must not read every chunk's metadata.
        found = self._collection.get(where=not_live_filter(live), include=["metadatas"])
        stray = [i for i, m in zip(found["ids"], found["metadatas"]) if not is_live(m, live)]
        if stray:
            log.warning("rolling back %d chunks of unfinished writes", len(stray))
            self._delete(stray)
        self.sentences.roll_back(live)
        self.keywords.purge(live)
        return len(stray)

    def bump_revision(self) -> None:
        metadata = dict(self._client.get_collection(self._collection.name, embedding_function=None).metadata or {})
        metadata["revision"] = int(metadata.get("revision", 0)) + 1
        self._collection.modify(metadata=metadata)
        self._revision = None

    def _adopt_legacy(self, metadatas: list[dict]) -> None:
        """An index built before manifests: keep its documents visible, with an empty hash so that the
        next build re-checks each one against its file (re-using the stored vectors)."""
        legacy = [m for m in metadatas if "generation" not in m]
        counts = Counter(m["doc_id"] for m in legacy)
        titles = {m["doc_id"]: m["doc_title"] for m in legacy}
        if counts:
            log.warning("adopting %d documents of an index built without a manifest", len(counts))
            self._write_manifest({d: {"generation": LEGACY_GENERATION, "hash": "", "title": titles[d], "chunks": n}
                                  for d, n in counts.items()})

    def _write_manifest(self, entries: dict[str, dict]) -> None:
        ids = list(entries)
        for i in range(0, len(ids), _BATCH):
            batch = ids[i:i + _BATCH]
            self._manifest.upsert(ids=batch, embeddings=[_MANIFEST_VECTOR] * len(batch),
                                  metadatas=[entries[d] for d in batch])
        self.bump_revision()

    def _delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self._collection.delete(ids=ids[i:i + _BATCH])
