"""How a narrow answer's candidate sentences are scored by the question's words."""
from __future__ import annotations

import pytest

from bot.query import analyse
from bot.stages.extract import adjacent_terms
from index.keyword import Tokenizer


@pytest.mark.parametrize("question, sentence, share", [
    ("地区生产总值增长了多少？", "2023年，全市地区生产总值增长5.8%。", 1.0),
    # 生产总值 and 增长 both there, but each about something else
    ("地区生产总值增长了多少？", "工业增加值占地区生产总值的41.4%，对经济增长贡献率达到47.8%。", 0.5),
    ("城镇新增就业多少人？", "城镇新增就业3.1万人。", 1.0),
])
def test_the_questions_words_side_by_side_are_told_from_words_apart(question, sentence, share):
    info = analyse(question, Tokenizer())
    assert adjacent_terms(info, sentence) == share
