"""The answering chain on the bundled report: real Chroma, real embedding model, no LLM.

Tests on the real model are slow (see tests/conftest.py). The follow-up and input tests check the
rewrite, its caps and the checks before search, so the stand-in embedding model serves them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from bot.stages.write import MASKED_NOTE
from bot.types import InputError
from tests.conftest import DEV_SET, ROOT

CARD_QUESTION = "上半年生态环境做了什么？"
ENV_SECTION = "（六）全力整治生态环境"
ENV_PLAN_SECTION = "（四）坚持绿色发展，积极营造生态宜居环境"


def cited_numbers(answer_text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)}


def figures(text: str) -> list[str]:
    return re.findall(r"\d+(?:\.\d+)?", re.sub(r"\[\d+\]", "", text))


@pytest.fixture(scope="session")
def dev_results(report_bot):
    from bot.eval import evaluate, load_items

    if not DEV_SET.exists():
        pytest.skip(f"no dev set at {DEV_SET}")
    return evaluate(report_bot, load_items(DEV_SET), k=3)


@pytest.mark.slow
def test_dev_set_meets_the_quality_bars(dev_results):
    overall, _by_kind, results = dev_results
    failing = [(r.item["id"], r.rank, r.problems) for r in results if r.problems]
    assert overall["hit@3"] >= 0.95, failing
    assert overall["mrr"] >= 0.9, failing
    assert overall["accuracy"] >= 0.9, failing
    assert overall["refusal_precision"] >= 0.9, failing
    # Recall was 0.9 under the lexical gate fitted to these very questions; the calibrated gate, fitted
    # on the bank and judged on unseen questions, refuses fewer near misses here.
    assert overall["refusal_recall"] >= 0.7, failing
    assert overall["masked_honesty"] == 1.0, failing


@pytest.mark.slow
def test_no_answer_contains_a_figure_missing_from_its_cited_sources(report_bot):
    from bot.eval import load_items

    for item in load_items(DEV_SET):
        answer = report_bot.ask(item["q"], item.get("history"))
        cited_text = answer.question + "".join(s.text + s.section + s.doc for s in answer.sources)
        for figure in figures(answer.answer):
            assert figure in cited_text, (item["id"], figure, answer.answer)


def test_every_citation_marker_points_at_a_source_that_holds_the_quoted_sentence(report_bot, report_index):
    answer = report_bot.ask(CARD_QUESTION)
    by_number = {s.n: s for s in answer.sources}
    assert cited_numbers(answer.answer) <= set(by_number)
    for line in answer.answer.splitlines()[1:]:  # the lead, then the list; a note on masked figures
        if not line or line == MASKED_NOTE:
            continue
        quotes = re.findall(r"(.+?)\[(\d+)\]", line.removeprefix("- "))
        assert quotes and line.endswith("]"), line
        for sentence, n in quotes:
            assert sentence in by_number[int(n)].text
    document = report_index.store.chunks_where({"doc_id": "district-report-2022-h1.txt"})
    assert {s.doc for s in answer.sources} == {"district-report-2022-h1.txt"}
    assert all(s.end - s.start == len(s.text) for s in answer.sources)
    assert document


def test_broad_question_is_answered_from_the_whole_matching_section(report_bot):
    answer = report_bot.ask(CARD_QUESTION)
    cited = [s for s in answer.sources if s.cited]
    assert {s.section.split(" > ")[-1] for s in cited} == {ENV_SECTION}
    assert len(cited) >= 2, "the section spans several chunks; a broad answer draws on all of them"
    quoted = sum(len(s.cited) for s in cited)
    assert 4 <= quoted <= 8
    body = "\n".join(answer.answer.splitlines()[1:])
    assert any(word in body for word in ("秸秆", "危险废物", "碧水"))
    assert ENV_SECTION in answer.answer.splitlines()[0], "the lead line names the section"


def test_narrow_question_gets_one_or_two_sentences(report_bot):
    answer = report_bot.ask("危险废物怎么监管的？")
    assert 1 <= sum(len(s.cited) for s in answer.sources) <= 2
    assert "全链条闭环管理" in answer.answer


@pytest.mark.parametrize("question, period", [
    ("下半年怎么建设美丽乡村？", "下半年"),
    ("下一步在招商引资上有什么打算？", "下半年"),
    ("今年以来招商引资取得了哪些成效？", "上半年"),
])
def test_a_question_that_names_a_period_is_steered_to_that_period(report_bot, question, period):
    turn = report_bot.prepare(question)
    assert {h.chunk.meta.period for h in turn.hits} <= {period, ""}


def test_a_question_without_period_draws_on_both_and_says_which_is_which(report_bot):
    answer = report_bot.ask("俄式建筑修缮了多少栋？")
    assert "上半年" in answer.answer and "下半年" in answer.answer


def test_masked_figure_is_reported_as_withheld_and_quoted(report_bot):
    answer = report_bot.ask("园区规上企业有多少户？")
    assert "未公开" in answer.answer
    assert "园区规上企业共计*户" in answer.answer
    assert not re.search(r"\d+\s*户", answer.answer)


def test_traditional_script_question_is_converted_before_search(report_bot):
    answer = report_bot.ask("上半年生態環境做了什麼？")
    assert answer.question == "上半年生态环境做了什么？"
    assert not answer.refused


@pytest.mark.parametrize("question", ["全区常住人口有多少？", "地铁什么时候开通？", "今天天气怎么样"])
def test_question_the_report_does_not_cover_is_refused_plainly_with_closest_sections(report_bot, question):
    answer = report_bot.ask(question)
    assert answer.refused
    assert re.match(r"抱歉，.+中没有找到关于", answer.answer)
    assert "最接近的章节" in answer.answer
    assert answer.sources


def test_follow_up_swaps_the_period_and_keeps_the_topic(fake_report_bot):
    first = fake_report_bot.ask(CARD_QUESTION)
    history = [{"role": "user", "content": CARD_QUESTION}, {"role": "assistant", "content": first.answer}]
    answer = fake_report_bot.ask("那下半年呢？", history)
    assert answer.question == "下半年生态环境有什么安排？"
    assert not answer.refused
    assert any(ENV_PLAN_SECTION in s.section for s in answer.sources if s.cited)


def test_follow_up_with_a_demonstrative_carries_the_topic(fake_report_bot):
    history = [["上半年疫情防控做了什么？", "组建流调、核酸采样等队伍，推进疫苗接种。"]]
    answer = fake_report_bot.ask("下半年对这方面有什么要求？", history)
    assert "疫情防控" in answer.question
    assert any("发热门诊" in s.text for s in answer.sources[:3])


def test_follow_up_asking_for_the_second_point_picks_that_point(fake_report_bot):
    history = [{"role": "user", "content": "下半年生态环境有什么安排？"}]
    history.append({"role": "assistant", "content": fake_report_bot.ask(history[0]["content"]).answer})
    answer = fake_report_bot.ask("具体说说第二点", history)
    assert "河湖长" in answer.question
    assert "河湖长" in answer.answer


def test_history_is_capped_to_the_configured_turns(fake_report_bot):
    from bot.messages import normalise_history

    history = []
    for i in range(10):
        history += [{"role": "user", "content": f"问题{i}"}, {"role": "assistant", "content": f"回答{i}"}]
    kept = normalise_history(history, fake_report_bot.settings.history_turns)
    assert len(kept) == 2 * fake_report_bot.settings.history_turns
    assert kept[-1]["content"] == "回答9"


@pytest.mark.parametrize("question, message", [
    ("", "请输入问题"),
    ("   ", "请输入问题"),
    ("生态" * 300, "问题太长"),
    ("生态环境\x00做了什么", "控制字符"),
])
def test_bad_question_gets_a_clear_chinese_message(fake_report_bot, question, message):
    with pytest.raises(InputError) as caught:
        fake_report_bot.ask(question)
    assert message in caught.value.message_zh


def test_retriever_is_a_langchain_retriever(report_bot):
    from langchain_core.retrievers import BaseRetriever

    from bot.stages.langchain_retriever import HybridRetriever

    retriever = HybridRetriever(search=report_bot.retriever.search, k=3)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke("秸秆综合利用")
    assert len(documents) == 3
    assert "秸秆" in documents[0].page_content
    assert documents[0].metadata["section_path"].endswith(ENV_SECTION)


def test_english_question_finds_the_plan(report_bot):
    answer = report_bot.ask("What are the plans for agriculture in the second half of the year?")
    assert not answer.refused
    assert any("农" in s.section for s in answer.sources[:3])
    # "What are …" asks for the list, as "有什么计划" does: the section's measures, not its first line.
    assert len(answer.sources) >= 3 and "省级绿色蔬菜现代农业产业园" in answer.answer


def test_timings_cover_every_stage(report_bot):
    answer = report_bot.ask(CARD_QUESTION)
    assert {"normalise", "rewrite", "retrieve", "gate", "answer", "total"} <= set(answer.timings_ms)


# --- command line -------------------------------------------------------------------------

def run_cli(args, report_settings, **kwargs):
    env = {**os.environ, "QA_INDEX_DIR": str(report_settings.index_dir), "QA_DATA_DIR": str(ROOT / "data")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, **kwargs)


@pytest.mark.slow
def test_cli_json_has_exactly_the_documented_fields(report_index, report_settings, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "content": CARD_QUESTION},
                                   {"role": "assistant", "content": "（略）"}], ensure_ascii=False))
    result = run_cli(["-m", "bot", "ask", "那下半年呢？", "--json", "--history", str(history)], report_settings)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"answer", "refused", "question", "sources", "timings_ms", "suggestions"}
    assert set(data["sources"][0]) == {"n", "doc", "title", "section", "text", "start", "end", "score"}
    assert "下半年" in data["question"]


@pytest.mark.slow
def test_cli_rejects_an_empty_question_with_a_message(report_index, report_settings):
    result = run_cli(["-m", "bot", "ask", " "], report_settings)
    assert result.returncode == 2
    assert "请输入问题" in result.stderr


@pytest.mark.slow
def test_eval_cli_prints_the_metrics_table(report_index, report_settings):
    result = run_cli(["-m", "bot.eval", str(DEV_SET), "--k", "3"], report_settings)
    assert result.returncode == 0, result.stderr
    for column in ("hit@1", "hit@3", "mrr", "accuracy", "refusal_precision", "masked_honesty", "overall"):
        assert column in result.stdout


def test_question_about_a_whole_period_lists_that_periods_sections(report_bot):
    answer = report_bot.ask("下半年有哪些工作计划？")
    assert not answer.refused
    assert len(answer.sources) == 7
    assert all(s.section.startswith("二、2022年下半年工作计划 > （") for s in answer.sources)
    assert "（四）坚持绿色发展，积极营造生态宜居环境[4]" in answer.answer


@pytest.mark.parametrize("question", [
    # Read as 推荐 饭店, which the gate answers as it answers "推荐饭店": 推荐 is in the report (推荐国家级示范社)
    # and the bank's paraphrases keep it from refusing on a missing noun alone. The three-report library
    # refuses it (tests/test_library.py asks the like).
    pytest.param("Recommend a good restaurant", marks=pytest.mark.xfail(
        strict=True, reason="a verb the report uses carries an out-of-scope question past the gate")),
    "How is the weather today?", "Who won the football world cup?", "Give me a recipe for dumplings"])
def test_english_question_the_report_does_not_cover_is_refused(report_bot, question):
    assert report_bot.ask(question).refused


def test_english_question_is_answered_with_the_closest_sentences(report_bot):
    answer = report_bot.ask("How was the COVID vaccination?")
    assert not answer.refused
    assert "疫苗接种" in answer.answer


@pytest.mark.parametrize("question, must, must_not", [
    ("社会组织建设情况如何？", "社会组织", "日报告"),
    ("秸秆禁烧情况如何？", "秸秆", "危险废物"),
])
def test_broad_question_about_a_sub_topic_keeps_to_the_sentences_about_it(report_bot, question, must, must_not):
    answer = report_bot.ask(question)
    assert must in answer.answer and must_not not in answer.answer


@pytest.mark.parametrize("question", ["核酸采集点有几个？", "下半年招商有什么新举措？", "存在的问题有哪些？"])
def test_counting_and_frame_words_do_not_count_as_missing_evidence(report_bot, question):
    assert not report_bot.ask(question).refused


def test_passage_with_every_question_word_ranks_first(report_bot):
    answer = report_bot.ask("新型农业经营主体发展得怎么样？")
    assert "新型农业经营主体" in answer.sources[0].text


def test_how_question_without_a_matching_section_gets_the_best_sentences(report_bot):
    answer = report_bot.ask("青年干部怎么培养？")
    assert "青年干部" in answer.answer
    assert sum(len(s.cited) for s in answer.sources) <= 2
