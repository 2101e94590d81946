"""Follow-ups rewritten without an LLM: the earlier question's topic and frame, the new focus or period."""
from __future__ import annotations

import pytest

from bot.followup import resolve_followup
from bot.query import analyse
from index.keyword import Tokenizer


@pytest.fixture(scope="module")
def rewrite():
    tokenizer = Tokenizer()

    def rewrite(question: str, earlier: str) -> str:
        history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "……"}]
        return resolve_followup(question, analyse(question, tokenizer).tokens, history,
                                lambda q: analyse(q, tokenizer).tokens)
    return rewrite


def test_a_new_focus_narrows_the_earlier_question(rewrite):
    assert rewrite("执法方面呢？", "上半年环境保护做了什么？") == "上半年环境保护的执法方面做了什么？"


def test_a_one_character_focus_is_a_focus_not_a_word_to_glue_on(rewrite):
    # "水" is too short to be a search term, but it is what the user now asks about.
    assert rewrite("水这方面呢？", "今年大气治理定了什么目标？") == "今年大气治理的水方面定了什么目标？"


def test_the_earlier_frame_is_kept_when_only_the_period_changes(rewrite):
    assert rewrite("那下半年呢？", "上半年生态环境做了什么？") == "下半年生态环境有什么安排？"
