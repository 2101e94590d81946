"""Incremental, idempotent indexing: load → clean → outline → chunk → embed only what changed → store.

Files are read and chunked before the write lock is taken (``prepare``); only the store writes happen
under it (``write``). Each document is written under a new generation and becomes visible when the
manifest switches to it, after its last chunk is stored.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from langchain_core.embeddings import Embeddings

from index.chunking import ChunkedDocument, chunk_document
from index.identity import read_sidecar
from index.loaders import SUPPORTED_SUFFIXES, LoadError, LoadLimits, load_document
from index.sentence_vectors import SentenceRecord, records_of
from index.slice_embedding import SliceEmbedder, concurrency_of
from index.generations import new_generation
from index.store import ChunkStore, unfinished_write, write_lock

log = logging.getLogger(__name__)

# Bump when cleaning/outline/chunking changes so that unchanged files are re-chunked once.
CHUNKER_VERSION = "5"

# (texts done, texts the whole build needs vectors for, the document being written): called after each
# slice of texts is embedded. Texts are chunks, sentences and section titles, so the rate (and an ETA
# from it) is honest.
ProgressFn = Callable[[int, int, str], None]


@dataclass
class FileResult:
    path: Path
    doc_id: str
    status: str  # added | updated | unchanged | failed | removed
    chunks: int = 0
    embedded: int = 0  # texts (chunks, sentences, section titles) the model really embedded
    reused: int = 0  # texts whose vectors came from the cache or the document's previous version
    error: str = ""
    error_zh: str = ""


@dataclass
class BuildReport:
    results: list[FileResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def failed(self) -> list[FileResult]:
        return self.by_status("failed")


@dataclass
class PreparedDocument:
    path: Path
    doc: ChunkedDocument
    digest: str


@dataclass
class Prepared:
    """Documents read and chunked (outside the write lock), and the files that could not be."""
    paths: list[Path]
    doc_ids: dict[Path, str]
    documents: list[PreparedDocument] = field(default_factory=list)
    failed: list[FileResult] = field(default_factory=list)

    def doc_id(self, path: Path) -> str:
        return self.doc_ids.get(path, path.name)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files under the given paths; unsupported files named explicitly are kept so they get reported."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                                and p.suffix.lower() in SUPPORTED_SUFFIXES))
        else:
            found.append(path)
    return found


def sentence_records(doc: ChunkedDocument) -> list[SentenceRecord]:
    """Each chunk's sentences and section title, each embedded on its own."""
    records: list[SentenceRecord] = []
    for chunk in doc.chunks:
        records.extend(records_of(chunk.id, doc.doc_id, chunk.text, chunk.meta.section_path, chunk.meta.phase))
    return records


def texts_needed(doc: ChunkedDocument, records: list[SentenceRecord]) -> int:
    """Distinct texts a document needs vectors for: chunks, sentences, section titles (what progress counts)."""
    return len({c.embed_text for c in doc.chunks} | {r.text for r in records})


def document_hash(doc: ChunkedDocument, max_chars: int) -> str:
    key = f"{CHUNKER_VERSION}\x00{max_chars}\x00{doc.identity}\x00{doc.text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


class Indexer:
    def __init__(self, store: ChunkStore, embeddings: Embeddings, index_dir: Path, max_chars: int,
                 max_bytes: int, batch_size: int = 32, limits: LoadLimits | None = None):
        self.store = store
        self.embeddings = embeddings
        self.index_dir = index_dir
        self.max_chars = max_chars
        self.max_bytes = max_bytes
        self.batch_size = batch_size
        self.limits = limits or LoadLimits()

    def build(self, paths: Iterable[Path], prune: bool = False, progress: ProgressFn | None = None,
              doc_ids: dict[Path, str] | None = None) -> BuildReport:
        """Index the files under ``paths``. ``prune`` drops indexed documents whose files are gone."""
        prepared = self.prepare(paths, doc_ids)
        with write_lock(self.index_dir):
            return self.write(prepared, prune=prune, progress=progress)

    def prepare(self, paths: Iterable[Path], doc_ids: dict[Path, str] | None = None) -> Prepared:
        """Load and chunk the files; needs no lock. ``doc_ids`` names files whose id is not their name."""
        paths = list(paths)
        prepared = Prepared(paths, doc_ids or {})
        seen: dict[str, Path] = {}
        for path in discover(paths):
            doc_id = prepared.doc_id(path)
            if seen.get(doc_id) == path:  # named twice on the command line
                continue
            try:
                if doc_id in seen:  # same file name in two folders: would overwrite each other
                    raise LoadError(path, f"duplicate document id {doc_id!r} (also {seen[doc_id]})",
                                    f"与“{seen[doc_id]}”同名，请改名后再导入")
                seen[doc_id] = path
                prepared.documents.append(self._prepare_one(path, doc_id))
            except LoadError as exc:
                log.warning("skipped %s", exc)
                prepared.failed.append(FileResult(path, doc_id, "failed", error=str(exc), error_zh=exc.message_zh))
        return prepared

    def _prepare_one(self, path: Path, doc_id: str) -> PreparedDocument:
        loaded = load_document(path, self.max_bytes, self.limits)
        doc = chunk_document(loaded, doc_id, self.max_chars, sidecar=read_sidecar(path))
        if not doc.chunks:
            raise LoadError(path, "no text found", "文件中没有可读取的文字")
        return PreparedDocument(path, doc, document_hash(doc, self.max_chars))

    def write(self, prepared: Prepared, prune: bool = False, progress: ProgressFn | None = None) -> BuildReport:
        """Store what ``prepare`` read. The caller holds the write lock."""
        with unfinished_write(self.index_dir, self.store):
            return self._write_all(prepared, prune, progress)

    def _write_all(self, prepared: Prepared, prune: bool, progress: ProgressFn | None) -> BuildReport:
        report = BuildReport(list(prepared.failed))
        todo: list[PreparedDocument] = []
        for item in prepared.documents:
            if not item.path.exists():  # moved away (e.g. removed) since it was read: do not bring it back
                report.results.append(FileResult(item.path, item.doc.doc_id, "failed", error="file vanished",
                                                 error_zh="文件在导入过程中被移走了"))
            elif self.store.doc_hash(item.doc.doc_id) == item.digest:
                report.results.append(FileResult(item.path, item.doc.doc_id, "unchanged", len(item.doc.chunks)))
            else:
                todo.append(item)
        records = [sentence_records(item.doc) for item in todo]
        sizes = [texts_needed(item.doc, recs) for item, recs in zip(todo, records)]
        total, done = sum(sizes), 0

        def advance(base: int, doc_id: str) -> Callable[[int], None]:
            return lambda n: progress(base + n, total, doc_id) if progress else None

        with SliceEmbedder(self.embeddings, self.batch_size, concurrency_of(self.embeddings)) as embedder:
            for item, recs, size in zip(todo, records, sizes):
                status = "added" if self.store.doc_hash(item.doc.doc_id) is None else "updated"
                embedded = self._write_document(item, recs, embedder, advance(done, item.doc.doc_id))
                done += size
                report.results.append(FileResult(item.path, item.doc.doc_id, status, len(item.doc.chunks),
                                                 embedded, size - embedded))
        if prune:
            self._prune(prepared, report)
        return report

    def _prune(self, prepared: Prepared, report: BuildReport) -> None:
        # Look at the folders again under the lock: a file that arrived since ``prepare`` keeps its document.
        present = {prepared.doc_id(path) for path in discover(prepared.paths)}
        for doc_id in sorted(set(self.store.manifest()) - present):
            self.store.remove_document(doc_id)
            report.results.append(FileResult(Path(doc_id), doc_id, "removed"))

    def _write_document(self, item: PreparedDocument, records: list[SentenceRecord], embedder: SliceEmbedder,
                        progress: Callable[[int], None]) -> int:
        """Store all chunks and sentence vectors under a new generation, then switch the manifest to it,
        then drop the old one. Returns how many texts the model embedded.

        The document's missing texts (new chunks first, then new sentences and titles) are embedded in
        slices; the chunks of each slice are stored as soon as it comes back. Until the switch readers
        see the previous version (or nothing), and a crash leaves only hidden records that the next
        writer rolls back, while the vectors already computed stay in the embedding cache.
        Vectors of unchanged chunks (same id: same embedded text) and sentences are re-used.
        """
        doc, generation = item.doc, new_generation()
        previous = self.store.embeddings_of(doc.doc_id)
        reused = [c for c in doc.chunks if c.id in previous]
        pending = [c for c in doc.chunks if c.id not in previous]
        self._store_chunks(generation, item.digest, reused, [previous[c.id] for c in reused])
        previous_sentences = self.store.sentences.vectors_of(doc.doc_id, self.store.manifest())
        texts = list(dict.fromkeys([c.embed_text for c in pending] +
                                   [r.text for r in records if (r.kind, r.text) not in previous_sentences]))
        needed = texts_needed(doc, records)
        before = self._model_count()
        computed: dict[str, list[float]] = {}
        progress(needed - len(texts))
        for start in range(0, len(texts), embedder.slice_size):
            part = texts[start:start + embedder.slice_size]
            computed.update(zip(part, embedder.embed(part)))
            ready = [c for c in pending if c.embed_text in computed]
            pending = pending[len(ready):]  # chunks lead the list, so the ready ones are a prefix
            self._store_chunks(generation, item.digest, ready, [computed[c.embed_text] for c in ready])
            progress(needed - len(texts) + start + len(part))
        vectors = [previous_sentences.get((r.kind, r.text)) or computed[r.text] for r in records]
        self.store.sentences.upsert(generation, records, vectors)
        self.store.set_live(doc.doc_id, generation, item.digest, doc.title, len(doc.chunks))
        self.store.delete_generations(doc.doc_id, keep=generation)
        after = self._model_count()
        return len(texts) if before is None or after is None else after - before

    def _model_count(self) -> int | None:
        """Texts the model has embedded so far, when the embeddings keep count (the cache does)."""
        return getattr(self.embeddings, "fresh", None)

    def _store_chunks(self, generation: str, digest: str, chunks: list, vectors: list[list[float]]) -> None:
        if chunks:
            self.store.upsert(generation, [c.id for c in chunks], [c.text for c in chunks],
                              [replace(c.meta, doc_hash=digest) for c in chunks], vectors)

    def remove(self, doc_id: str) -> int:
        with write_lock(self.index_dir):
            return self.drop(doc_id)

    def drop(self, doc_id: str) -> int:
        """Remove a document from the index. The caller holds the write lock."""
        with unfinished_write(self.index_dir, self.store):
            return self.store.remove_document(doc_id)
