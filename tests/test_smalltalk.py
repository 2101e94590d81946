"""Small talk gets an introduction, a real question never does; a long question is summarised, not echoed."""
from __future__ import annotations

import pytest

from bot.smalltalk import (ABOUT, ACK, GOODBYE, GREETING, THANKS, is_smalltalk, reply_to_smalltalk, smalltalk_intents,
                           summarise_for_refusal)
from bot.suggestions import example_questions
from index.chunking import chunk_document
from index.identity import ReportIdentity
from index.loaders import load_document
from tests.conftest import REPORT

LIBRARY = [ReportIdentity("丽水市2024年政府工作报告", "丽水市", 2024), ReportIdentity("顺平县2024年政府工作报告", "顺平县", 2024)]
EXAMPLES = ["上半年经济发展的情况怎么样？", "2024年在民生方面有什么计划？"]


@pytest.mark.parametrize("text, intents", [
    ("你好", {GREETING}), ("您好！", {GREETING}), ("在吗？", {GREETING}), ("hi", {GREETING}), ("Hello!", {GREETING}),
    ("你好呀机器人", {GREETING}), ("下午好", {GREETING}), ("你好吗", {GREETING}),
    ("谢谢", {THANKS}), ("多谢你的回答", {THANKS}), ("辛苦了", {THANKS}), ("Thank you", {THANKS}),
    ("再见", {GOODBYE}), ("拜拜~", {GOODBYE}), ("谢谢，再见", {THANKS, GOODBYE}),
    ("你能做什么", {ABOUT}), ("你是谁？", {ABOUT}), ("请问你们是谁", {ABOUT}), ("怎么用", {ABOUT}),
    ("我能问什么问题", {ABOUT}), ("你好，你能做什么？", {GREETING, ABOUT}), ("what can you do", {ABOUT}),
    ("好的", {ACK}), ("嗯嗯", {ACK}), ("OK", {ACK}),
])
def test_small_talk_is_recognised(text, intents):
    assert smalltalk_intents(text) == intents
    assert is_smalltalk(text)


@pytest.mark.parametrize("text", [
    "你好，丽水GDP多少", "你好，上半年生态环境做了什么？", "谢谢，那下半年呢？", "再见前还想问一下招商引资",
    "GDP是什么", "早稻种植多少", "好不好", "在哪里办", "history of the report", "这个", "下半年呢？", "第二点",
    "你好" * 30,
])
def test_a_real_question_is_not_small_talk(text):
    assert not is_smalltalk(text)
    assert reply_to_smalltalk(text, LIBRARY, EXAMPLES) is None


def test_a_greeting_introduces_the_library_by_title_with_examples():
    reply = reply_to_smalltalk("你好", LIBRARY, EXAMPLES)

    assert reply.startswith("您好！")
    assert "《丽水市2024年政府工作报告》" in reply and "《顺平县2024年政府工作报告》" in reply
    assert all(f"- {example}" in reply for example in EXAMPLES)
    assert len(reply) < 200


def test_thanks_and_what_can_you_do_also_introduce():
    assert reply_to_smalltalk("谢谢", LIBRARY, EXAMPLES).startswith("不客气！我是报告问答助手")
    about = reply_to_smalltalk("你能做什么", LIBRARY, EXAMPLES)
    assert about.startswith("我是报告问答助手") and EXAMPLES[0] in about


def test_goodbye_and_ok_are_short():
    assert reply_to_smalltalk("再见", LIBRARY, EXAMPLES) == "再见！需要查阅报告时随时来问。"
    assert reply_to_smalltalk("谢谢，拜拜", LIBRARY, EXAMPLES).startswith("不客气，再见")
    assert reply_to_smalltalk("好的", LIBRARY, EXAMPLES) == "好的。还想了解报告的哪方面内容，可以接着问。"


def test_a_large_library_is_counted_and_an_empty_one_said_so():
    many = [f"第{i}份报告" for i in range(12)]

    reply = reply_to_smalltalk("你好", many)

    assert "12 份报告" in reply and "《第0份报告》" in reply and "《第11份报告》" not in reply
    assert "还没有收录报告" in reply_to_smalltalk("你好", [])


def test_the_introduction_uses_examples_from_the_bundled_report():
    chunks = chunk_document(load_document(REPORT, 20 * 1024 * 1024), REPORT.name, 320).chunks
    identity = chunks[0].meta.identity

    reply = reply_to_smalltalk("你能做什么", [identity], example_questions(chunks))

    assert f"《{identity.title}》" in reply
    assert "- 上半年经济发展的情况怎么样？" in reply and "- 下半年在招商引资方面有哪些安排？" in reply


# --- long questions in a refusal -------------------------------------------------------

LONG = ("我是一名退休教师，平时比较关心家乡的发展，想请问一下，咱们区里面今年上半年在农村电商、直播带货、冷链物流这些方面"
        "具体都做了哪些工作，有没有对农户的补贴政策，补贴的标准是多少，申请流程是怎样的，另外下半年还有什么打算？")


def test_a_short_question_is_quoted_as_it_is():
    assert summarise_for_refusal("上半年生态环境做了什么？") == "上半年生态环境做了什么"


def test_a_long_question_gives_the_key_phrases_of_what_it_asks():
    summary = summarise_for_refusal(LONG * 3)

    assert len(summary) <= 30
    assert summary.startswith("农村电商、") and "冷链物流" in summary and summary.endswith("等")
    assert "退休教师" not in summary  # the preamble asks nothing


def test_the_callers_terms_are_used_when_given():
    summary = summarise_for_refusal(LONG, 20, {"补贴政策": "n", "申请流程": "n", "冷链物流": "n"})

    assert summary == "冷链物流、补贴政策、申请流程"


def test_without_terms_the_beginning_is_cut_at_a_clause():
    text = "那么这个呢，那个呢，" * 8

    summary = summarise_for_refusal(text, 30)

    assert summary == "那么这个呢，那个呢，那么这个呢，那个呢，那么这个呢…"


def test_an_english_question_is_cut_at_a_word():
    text = "what are the main economic targets of the city for the year and how do they compare with last year"

    summary = summarise_for_refusal(text, 30)

    assert summary == "what are the main economic…"
