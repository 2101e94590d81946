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


@pytest.mark.parametrize("question, missing, sentence, counted", [
    # the count asked, in its unit, withheld or not, beside what the question calls the thing
    ("公安破获案件抓了多少人？", ("破获案件",), "立案*起，破获*起，抓获**人。", True),
    ("公安破获案件抓了多少人？", ("破获案件",), "立案*起，破获*起。", False),
    ("地铁修了多少公里？", ("地铁",), "新建改造城市道路32公里。", False),  # the unit alone proves nothing
    ("医院有多少张床位？", ("床位",), "新增就业岗位1200个。", False),  # another unit
    ("基站建了多少个？", ("基站",), "建成基站项目12个。", False),  # 个 counts anything
])
def test_a_count_in_the_asked_unit_is_found_beside_the_thing_asked(question, missing, sentence, counted):
    info = analyse(question, Tokenizer())
    assert counted_in_closest(info, _found([sentence]), missing) is counted
