"""Searches scoped to a few reports run on their vectors in memory and agree with Chroma's own search."""
from __future__ import annotations

import pytest

from index.scoped_vectors import matches, named_docs


@pytest.mark.parametrize("where, docs", [
    (None, None),
    ({"doc_id": "a"}, {"a"}),
    ({"doc_id": {"$in": ["a", "b"]}}, {"a", "b"}),
    ({"$and": [{"kind": "sentence"}, {"doc_id": "a"}]}, {"a"}),
    ({"$or": [{"doc_id": "a"}, {"doc_id": {"$in": ["b"]}, "phase": "plan"}]}, {"a", "b"}),
    ({"$or": [{"doc_id": "a"}, {"doc_id": {"$nin": ["a"]}}]}, None),
    ({"phase": "plan"}, None),
])
def test_the_reports_a_filter_names(where, docs):
    assert named_docs(where) == docs


def test_filters_are_evaluated_as_chroma_does():
    meta = {"doc_id": "a", "phase": "plan", "kind": "sentence"}
    assert matches({"$and": [{"kind": "sentence"}, {"doc_id": {"$in": ["a", "b"]}}]}, meta)
    assert not matches({"$and": [{"kind": "title"}, {"doc_id": "a"}]}, meta)
    assert matches({"$or": [{"doc_id": "b"}, {"phase": {"$ne": "review"}}]}, meta)
    assert not matches({"doc_id": {"$nin": ["a"]}}, meta)


def test_a_scoped_search_finds_what_chroma_finds(fake_library_bot):
    store = fake_library_bot.components.store
    doc_id = sorted(store.manifest())[0]
    vector = fake_library_bot.components.embeddings.embed_query("生态环境保护")
    live = store.manifest()
    in_memory = store.query(vector, 5, where={"doc_id": doc_id})
    # Chroma's own filtered search, bypassing the in-memory path
    found = store._collection.query(query_embeddings=[vector], n_results=5, where={"doc_id": doc_id},
                                    include=["metadatas"])
    assert [c.meta.doc_id for c in in_memory] == [doc_id] * len(in_memory)
    assert {m["chunk_id"] for m in found["metadatas"][0] if m["generation"] == live[doc_id]["generation"]} \
        == {c.id for c in in_memory}
    sentences = store.sentences.nearest(vector, 5, live, {"doc_id": doc_id})
    assert sentences and all(s.doc_id == doc_id and s.kind == "sentence" for s in sentences)
    by_id = store.chunks_by_id([c.id for c in in_memory])
    assert set(by_id) == {c.id for c in in_memory}
