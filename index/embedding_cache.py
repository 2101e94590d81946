"""Vectors of passage text kept by (model id, content hash) beside the index, so re-indexing text the
model has already embedded (a rebuild, a re-imported file, the same paragraph in another report, a
build resumed after a crash) never calls the model again.

One SQLite file (WAL) shared by every process on the machine; entries are never stale, because the key
names both the text and the model.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from index.sqlite_files import immediate, open_shared

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    digest BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, digest)
) WITHOUT ROWID;
"""
_LOOKUP_BATCH = 500  # SQLite's default limit on bound parameters is far above this


def text_digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class EmbeddingCache:
    def __init__(self, path: Path, model_id: str):
        self.path = path
        self.model_id = model_id
        self._lock = threading.Lock()
        self._db = open_shared(path)
        self._db.executescript(_SCHEMA)

    def get_many(self, texts: list[str]) -> dict[str, list[float]]:
        digests = {text_digest(t): t for t in texts}
        found: dict[str, list[float]] = {}
        keys = list(digests)
        with self._lock:
            for i in range(0, len(keys), _LOOKUP_BATCH):
                batch = keys[i:i + _LOOKUP_BATCH]
                rows = self._db.execute(
                    f"SELECT digest, vector FROM vectors WHERE model = ? AND digest IN ({','.join('?' * len(batch))})",
                    [self.model_id, *batch]).fetchall()
                for digest, blob in rows:
                    found[digests[digest]] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def put_many(self, pairs: dict[str, list[float]]) -> None:
        rows = [(self.model_id, text_digest(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in pairs.items()]
        if not rows:
            return
        with self._lock, immediate(self._db) as db:
            db.executemany("INSERT OR REPLACE INTO vectors (model, digest, vector) VALUES (?, ?, ?)", rows)

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM vectors WHERE model = ?", [self.model_id]).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbeddings(Embeddings):
    """Passages through the cache (only unseen text reaches the model); queries go straight to the model.

    ``fresh`` and ``cached`` count passages embedded by the model and taken from the cache, so a build
    can say how much it really embedded.
    """

    def __init__(self, inner: Embeddings, cache: EmbeddingCache):
        self.inner = inner
        self.cache = cache
        self.model_id = inner.model_id
        self.fresh = 0
        self.cached = 0
        self._count_lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        known = self.cache.get_many(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            computed = dict(zip(missing, self.inner.embed_documents(missing)))
            self.cache.put_many(computed)  # stored as soon as computed: a killed build keeps them
            known.update(computed)
        with self._count_lock:
            self.fresh += len(missing)
            self.cached += len(texts) - len(missing)
        return [known[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
