"""Gate signals read from the question's form and the closest sentences."""
from __future__ import annotations

import pytest

from bot.query import analyse
from bot.stages.gate import counted_in_closest
from bot.stages.retrieve import Hit, Retrieved
from index.keyword import Tokenizer
from index.meta import ChunkMeta
from index.store import StoredChunk


def _found(sentences: list[str]) -> Retrieved:
    chunk = StoredChunk("c", "".join(sentences), ChunkMeta("r.txt"))
    return Retrieved([Hit(chunk, 0.03, 0.85, 0.0)], [], sentence_similarity={s: 0.9 for s in sentences})


@pytest.mark.parametrize("question, sentence, counted", [
    ("民警抓了多少人？", "立案*起，破获*起，抓获**人。", True),  # the count asked, in its unit, withheld or not
    ("民警抓了多少人？", "立案*起，破获*起。", False),
    ("医院有多少张床位？", "新增就业岗位1200个。", False),  # another unit
    ("基站建了多少个？", "建成项目12个。", False),  # 个 counts anything, so it proves nothing
])
def test_a_count_in_the_asked_unit_is_found_in_the_closest_sentences(question, sentence, counted):
    info = analyse(question, Tokenizer())
    assert counted_in_closest(info, _found([sentence])) is counted
