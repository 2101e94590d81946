"""The Bot in LLM mode on the bundled report, talking to a scripted OpenAI-compatible server."""
from __future__ import annotations

import re

import pytest
from tests.conftest import free_port

from bot.chain import Bot
from bot.llm import LLMAnswerer
from bot.settings import Settings
from bot.stages.write_llm import LLM_FALLBACK_NOTICE
from bot.types import Answer
from prompts import load_prompt

pytestmark = pytest.mark.slow

ENVIRONMENT = "上半年生态环境做了什么"


def llm_for(base_url: str) -> LLMAnswerer:
    return LLMAnswerer.from_settings(Settings(llm_base_url=base_url, llm_timeout=1.0))


@pytest.fixture
def llm_bot(report_settings, report_index, fake_llm) -> Bot:
    return Bot(report_settings, report_index, llm=llm_for(fake_llm.base_url))


def context_block(request) -> str:
    return request.last_user.split("<<<CONTEXT\n", 1)[1].split("\nCONTEXT>>>", 1)[0]


def test_the_llm_answers_from_the_retrieved_sources_with_citations(llm_bot, fake_llm):
    fake_llm.reply("上半年开展了“春风春绿”活动，彻底清理了残雪冰包和卫生死角[1]。")

    answer = llm_bot.ask(ENVIRONMENT)

    assert not answer.refused
    assert answer.answer == "上半年开展了“春风春绿”活动，彻底清理了残雪冰包和卫生死角[1]。"
    [request] = fake_llm.chat_requests
    assert request.system == load_prompt("answer").system
    block = context_block(request)
    for source in answer.sources:
        assert f"[{source.n}] 《{source.doc}》" in block and source.text.strip() in block
    assert "全力整治生态环境" in answer.sources[0].section


@pytest.mark.parametrize("question", ["推荐一家好吃的餐馆", "明天天气怎么样"])
def test_the_refusal_gate_runs_before_the_llm_is_asked(llm_bot, fake_llm, question):
    fake_llm.reply("这家餐馆很好吃。")

    answer = llm_bot.ask(question)

    assert answer.refused and "中没有找到" in answer.answer
    assert fake_llm.requests == [] and fake_llm.pending == 1


def test_an_invented_figure_never_reaches_the_final_answer(llm_bot, fake_llm):
    fake_llm.reply("2022年上半年GDP预计完成35亿元，同比增长6.5%[1]。")

    answer = llm_bot.ask("上半年GDP完成了多少")

    assert "35" not in answer.answer and "6.5" not in answer.answer
    assert "（报告未公开该数字）" in answer.answer


def test_streaming_yields_deltas_then_the_final_answer(llm_bot, fake_llm):
    reply = "上半年开展了“春风春绿”活动，彻底清理了残雪冰包和卫生死角[1]。"
    fake_llm.reply(reply)

    items = list(llm_bot.stream(ENVIRONMENT))

    deltas, final = items[:-1], items[-1]
    assert isinstance(final, Answer) and final.answer == reply
    assert len(deltas) > 5 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == reply
    assert "first_token" in final.timings_ms


def test_streamed_deltas_never_show_an_invented_figure(llm_bot, fake_llm):
    fake_llm.reply("2022年上半年GDP预计完成35亿元[1]。")
    deltas = [d for d in llm_bot.stream("上半年GDP完成了多少") if isinstance(d, str)]
    assert "35" not in "".join(deltas)


def test_a_dead_server_gives_the_extractive_answer_with_a_notice(report_settings, report_index, report_bot):
    bot = Bot(report_settings, report_index, llm=llm_for(f"http://127.0.0.1:{free_port()}/v1"))

    answer = bot.ask(ENVIRONMENT)

    extractive = report_bot.ask(ENVIRONMENT)
    assert answer.answer == LLM_FALLBACK_NOTICE + extractive.answer
    assert not answer.refused and answer.sources == extractive.sources


@pytest.mark.parametrize("failure", ["fail", "hang", "garbage"])
def test_a_failing_server_mid_conversation_still_gets_an_answer(llm_bot, fake_llm, report_bot, failure):
    {"fail": fake_llm.fail, "hang": lambda: fake_llm.hang(4), "garbage": fake_llm.garbage}[failure]()

    items = list(llm_bot.stream(ENVIRONMENT))

    assert items[-1].answer.startswith(LLM_FALLBACK_NOTICE)
    assert items[-1].answer.endswith(report_bot.ask(ENVIRONMENT).answer)
    assert "".join(i for i in items if isinstance(i, str)) == items[-1].answer


HISTORY = [{"role": "user", "content": "上半年生态环境做了什么？"},
           {"role": "assistant", "content": "上半年开展了“春风春绿”活动[1]。"}]


def test_a_follow_up_is_condensed_by_the_llm_before_retrieval(llm_bot, fake_llm):
    fake_llm.reply("下半年在生态环境方面还要做哪些工作？", "下半年将继续推进生态环境整治[1]。")

    answer = llm_bot.ask("那下半年呢？", HISTORY)

    assert answer.question == "下半年在生态环境方面还要做哪些工作？"
    condense, answering = fake_llm.chat_requests
    assert condense.system == load_prompt("condense").system
    assert "后续问题：那下半年呢？" in condense.last_user and "上半年生态环境做了什么" in condense.last_user
    assert answering.last_user.endswith("问题：下半年在生态环境方面还要做哪些工作？")
    assert [m["role"] for m in answering.messages] == ["system", "user", "assistant", "user"]
    assert answer.answer == "下半年将继续推进生态环境整治[1]。"


def test_a_failed_condense_falls_back_to_the_rule_based_rewrite(llm_bot, fake_llm):
    fake_llm.fail(500).reply("下半年将继续推进生态环境整治[1]。")

    answer = llm_bot.ask("那下半年呢？", HISTORY)

    assert re.search("下半年.*生态环境|生态环境.*下半年", answer.question)
    assert answer.answer == "下半年将继续推进生态环境整治[1]。"
    assert len(fake_llm.chat_requests) == 2


def test_the_llm_is_asked_an_english_question_as_typed_though_it_was_searched_in_chinese(llm_bot, fake_llm):
    question = "What are the plans for agriculture in the second half of the year?"
    fake_llm.reply("下半年将发展高效农业[1]。")

    answer = llm_bot.ask(question)

    assert not answer.refused
    [request] = fake_llm.chat_requests
    assert question in request.last_user
    assert any("农" in s.section for s in answer.sources)
