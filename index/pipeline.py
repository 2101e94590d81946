"""Incremental, idempotent indexing: load → clean → outline → chunk → embed only what changed → store."""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from langchain_core.embeddings import Embeddings

from index.chunking import ChunkedDocument, chunk_document
from index.loaders import SUPPORTED_SUFFIXES, LoadError, LoadLimits, load_document
from index.store import ChunkStore, write_lock

log = logging.getLogger(__name__)

# Bump when cleaning/outline/chunking changes so that unchanged files are re-chunked once.
CHUNKER_VERSION = "3"

ProgressFn = Callable[[int, int, str], None]


@dataclass
class FileResult:
    path: Path
    doc_id: str
    status: str  # added | updated | unchanged | failed | removed
    chunks: int = 0
    embedded: int = 0
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


def document_hash(doc: ChunkedDocument, max_chars: int) -> str:
    key = f"{CHUNKER_VERSION}\x00{max_chars}\x00{doc.title}\x00{doc.text}"
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
        files = discover(paths)
        report = BuildReport()
        with write_lock(self.index_dir):
            prepared: list[tuple[Path, ChunkedDocument, str]] = []
            seen: dict[str, Path] = {}
            for path in files:
                doc_id = (doc_ids or {}).get(path, path.name)
                if seen.get(doc_id) == path:  # named twice on the command line
                    continue
                try:
                    if doc_id in seen:  # same file name in two folders: would overwrite each other
                        raise LoadError(path, f"duplicate document id {doc_id!r} (also {seen[doc_id]})",
                                        f"与“{seen[doc_id]}”同名，请改名后再导入")
                    seen[doc_id] = path
                    loaded = load_document(path, self.max_bytes, self.limits)
                    doc = chunk_document(loaded, doc_id, self.max_chars)
                except LoadError as exc:
                    log.warning("skipped %s", exc)
                    report.results.append(FileResult(path, doc_id, "failed", error=str(exc), error_zh=exc.message_zh))
                    continue
                if not doc.chunks:
                    exc = LoadError(path, "no text found", "文件中没有可读取的文字")
                    report.results.append(FileResult(path, doc_id, "failed", error=str(exc), error_zh=exc.message_zh))
                    continue
                prepared.append((path, doc, document_hash(doc, self.max_chars)))

            todo = [(p, d, h) for p, d, h in prepared if self.store.doc_hash(d.doc_id) != h]
            for path, doc, digest in prepared:
                if all(doc is not d for _, d, _ in todo):
                    report.results.append(FileResult(path, doc.doc_id, "unchanged", len(doc.chunks)))
            total = sum(len(d.chunks) for _, d, _ in todo)
            done = 0
            for path, doc, digest in todo:
                status = "updated" if self.store.doc_hash(doc.doc_id) else "added"
                embedded = self._replace_document(doc, digest, lambda n: progress and progress(done + n, total, doc.doc_id))
                done += len(doc.chunks)
                report.results.append(FileResult(path, doc.doc_id, status, len(doc.chunks), embedded))
            if prune:
                kept = {d.doc_id for _, d, _ in prepared} | {r.doc_id for r in report.failed}
                for entry in self.store.documents():
                    if entry["doc_id"] not in kept:
                        self.store.remove_document(entry["doc_id"])
                        report.results.append(FileResult(Path(entry["doc_id"]), entry["doc_id"], "removed"))
            if todo or report.by_status("removed"):
                self.store.bump_revision()
        return report

    def _replace_document(self, doc: ChunkedDocument, digest: str, progress: Callable[[int], None]) -> int:
        """Write the new chunks first, then delete the old ones: a crash leaves extra rows, never a gap."""
        previous = self.store.embeddings_of(doc.doc_id)
        fresh = [c for c in doc.chunks if c.id not in previous]
        vectors: dict[str, list[float]] = {cid: vec for cid, vec in previous.items()}
        for i in range(0, len(fresh), self.batch_size):
            batch = fresh[i:i + self.batch_size]
            for chunk, vector in zip(batch, self.embeddings.embed_documents([c.embed_text for c in batch])):
                vectors[chunk.id] = vector
            progress(min(i + self.batch_size, len(fresh)))
        self.store.upsert([c.id for c in doc.chunks], [c.text for c in doc.chunks],
                          [c.metadata(digest) for c in doc.chunks], [vectors[c.id] for c in doc.chunks])
        current = {c.id for c in doc.chunks}
        self.store.delete([cid for cid in previous if cid not in current])
        return len(fresh)

    def remove(self, doc_id: str) -> int:
        with write_lock(self.index_dir):
            removed = self.store.remove_document(doc_id)
            if removed:
                self.store.bump_revision()
            return removed
