"""The embedding cache: unseen text reaches the model once, per model; the vectors come back as stored."""
from __future__ import annotations

from index.embedding_cache import CachedEmbeddings, EmbeddingCache


class CountingEmbeddings:
    def __init__(self, model_id: str = "test:counting"):
        self.model_id = model_id
        self.calls: list[list[str]] = []

    def embed_documents(self, texts):
        self.calls.append(list(texts))
        return [[float(len(t)), float(sum(map(ord, t)) % 97), 0.5] for t in texts]

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def test_text_already_embedded_is_taken_from_the_cache(tmp_path):
    model = CountingEmbeddings()
    cached = CachedEmbeddings(model, EmbeddingCache(tmp_path / "e.sqlite3", model.model_id))
    first = cached.embed_documents(["生态环境", "民生实事", "生态环境"])
    again = cached.embed_documents(["民生实事", "生态环境", "城市更新"])
    assert model.calls == [["生态环境", "民生实事"], ["城市更新"]]
    assert again[:2] == [first[1], first[0]]
    assert (cached.fresh, cached.cached) == (3, 3)


def test_the_cache_survives_a_new_process_and_is_kept_per_model(tmp_path):
    path = tmp_path / "e.sqlite3"
    model = CountingEmbeddings()
    CachedEmbeddings(model, EmbeddingCache(path, model.model_id)).embed_documents(["一", "二"])
    reopened = CountingEmbeddings()
    CachedEmbeddings(reopened, EmbeddingCache(path, reopened.model_id)).embed_documents(["一", "二"])
    assert reopened.calls == []
    other = CountingEmbeddings("test:other-model")
    CachedEmbeddings(other, EmbeddingCache(path, other.model_id)).embed_documents(["一"])
    assert other.calls == [["一"]]
    assert EmbeddingCache(path, model.model_id).count() == 2


def test_queries_are_not_cached(tmp_path):
    model = CountingEmbeddings()
    cached = CachedEmbeddings(model, EmbeddingCache(tmp_path / "e.sqlite3", model.model_id))
    cached.embed_query("问题")
    cached.embed_query("问题")
    assert len(model.calls) == 2
