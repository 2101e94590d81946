"""Embedding a slice of texts as batch-sized calls, several at a time when the provider is a server.

Each batch is its own ``embed_documents`` call, so when the indexer's embeddings go through the
cache, a batch is kept the moment it comes back: a build killed mid-slice loses only the requests
still in flight, and the next build sends none of the others again.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from langchain_core.embeddings import Embeddings


def concurrency_of(embeddings: Embeddings) -> int:
    """Calls the provider takes at once: a server says so (``concurrency``); a local model takes one.

    Wrappers such as the cache are looked through (``inner``).
    """
    layer: Embeddings | None = embeddings
    while layer is not None:
        concurrency = getattr(layer, "concurrency", None)
        if concurrency:
            return int(concurrency)
        layer = getattr(layer, "inner", None)
    return 1


class SliceEmbedder:
    """``embed(texts)`` in calls of ``batch_size`` texts, ``concurrency`` of them at once, results in order."""

    def __init__(self, embeddings: Embeddings, batch_size: int, concurrency: int = 1):
        self.embeddings = embeddings
        self.batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="embed") if self.concurrency > 1 else None

    @property
    def slice_size(self) -> int:
        """Texts worth handing over at once: one batch for each request that can be in flight."""
        return self.batch_size * self.concurrency

    def embed(self, texts: list[str]) -> list[list[float]]:
        batches = [texts[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if self._pool is None or len(batches) <= 1:
            results = [self.embeddings.embed_documents(batch) for batch in batches]
        else:
            results = list(self._pool.map(self.embeddings.embed_documents, batches))
        return [vector for result in results for vector in result]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "SliceEmbedder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
