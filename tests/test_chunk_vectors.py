"""A chunk's vector is pooled from its sentences' and title's vectors, not embedded again."""
import numpy as np
import pytest

from index.chunk_vectors import TITLE_WEIGHT, pooled_vector, pooling_plan
from index.chunking import Chunk
from index.meta import ChunkMeta, embed_text_of
from index.sentence_vectors import records_of

PATH = "一、生态环境"
TEXT = "全年完成植树造林一万亩。秸秆综合利用率达到九成。"


def chunk(chunk_id: str, text: str, path: str = PATH) -> Chunk:
    return Chunk(chunk_id, text, embed_text_of(path, text), ChunkMeta("doc.txt", section_path=path))


def unit(*values: float) -> list[float]:
    v = np.array(values, dtype=np.float64)
    return (v / np.linalg.norm(v)).tolist()


def test_a_chunk_pools_its_sentences_and_its_title_weighted_by_length():
    c = chunk("c1", TEXT)
    plan = pooling_plan([c], records_of(c.id, "doc.txt", c.text, PATH, "done"))

    texts = [text for text, _ in plan["c1"]]
    assert texts == ["全年完成植树造林一万亩。", "秸秆综合利用率达到九成。", PATH]
    assert [w for _, w in plan["c1"]] == [12, 12, len(PATH) * TITLE_WEIGHT]

    vectors = dict(zip(texts, [unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)]))
    pooled = np.array(pooled_vector(plan["c1"], vectors))
    expected = np.array([12, 12, len(PATH) * TITLE_WEIGHT], dtype=np.float64)
    assert pooled == pytest.approx(expected / np.linalg.norm(expected), abs=1e-6)
    assert np.linalg.norm(pooled) == pytest.approx(1.0, abs=1e-6)


def test_a_chunk_of_one_sentence_without_a_title_keeps_that_sentences_vector():
    c = chunk("c1", "全年完成植树造林一万亩。", path="")
    plan = pooling_plan([c], records_of(c.id, "doc.txt", c.text, "", "done"))

    assert plan["c1"] == [("全年完成植树造林一万亩。", 12.0)]
    assert pooled_vector(plan["c1"], {"全年完成植树造林一万亩。": unit(3, 4)}) == pytest.approx(unit(3, 4))


def test_a_chunk_with_neither_sentences_nor_title_is_embedded_whole():
    c = chunk("c1", "见附表。", path="")  # shorter than a sentence worth its own vector

    assert pooling_plan([c], records_of(c.id, "doc.txt", c.text, "", "")) == {"c1": [("见附表。", 1.0)]}
