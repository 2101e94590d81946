"""The bundled library of three reports, asked as users ask: scoped to a report, naming a place, or
naming none. Quality floors are asserted on the shared question sets and on the question bank."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parent.parent
BANK = sorted((ROOT / "bank").glob("*.jsonl"))
LISHUI, SHUNPING, DISTRICT = "lishui-2024.txt", "shunping-2024.txt", "district-report-2022-h1.txt"


def _evaluate(bot, files: list[Path], split: str = "all"):
    from bot.eval import evaluate, load_items, select_split

    missing = [f for f in files if not f.exists()]
    if missing:
        pytest.skip(f"no question file at {missing[0]}")
    items = select_split([item for f in files for item in load_items(f)], split)
    overall, by_kind, results = evaluate(bot, items, k=3)
    overall = {**overall, "by_kind": by_kind}
    return overall, [(r.item["id"], r.rank, r.problems) for r in results if r.problems]


@pytest.mark.slow
def test_the_district_questions_meet_their_floors_on_the_library(library_bot):
    overall, failing = _evaluate(library_bot, [SHARED / "eval" / "dev.jsonl", SHARED / "eval" / "dev-paraphrase.jsonl"])
    # When set: hit@3 0.98, accuracy 0.95, refusal precision 0.93 and recall 0.78 (14 of 18), masked 0.86.
    # hit@3, accuracy and refusal precision at the targets; recall and masked honesty below them (a near
    # miss and a paraphrase the gate cannot tell apart), with an item of room.
    assert overall["hit@3"] >= 0.95, failing
    assert overall["accuracy"] >= 0.9, failing
    assert overall["refusal_precision"] >= 0.9, failing
    assert overall["by_kind"]["paraphrase"]["accuracy"] >= 0.9, failing  # 0.92 (11 of 12) when set
    assert overall["refusal_recall"] >= 0.7, failing
    assert overall["masked_honesty"] >= 0.85, failing


@pytest.mark.slow
def test_the_annual_report_questions_meet_their_floors_on_the_library(library_bot):
    overall, failing = _evaluate(library_bot, [SHARED / "eval" / "lishui-2024.jsonl", SHARED / "eval" / "shunping-2024.jsonl"])
    assert overall["hit@3"] >= 0.9, failing  # 0.96 when set
    assert overall["accuracy"] >= 0.85, failing  # 0.87 when set


@pytest.mark.slow
@pytest.mark.parametrize("split", ["dev", "validation"])
def test_the_question_bank_meets_its_floors_on_both_splits(library_bot, split):
    overall, failing = _evaluate(library_bot, BANK, split)
    assert overall["hit@3"] >= 0.88, failing  # dev 0.91, validation 0.94 when set
    assert overall["accuracy"] >= 0.78, failing  # dev 0.85, validation 0.82
    assert overall["refusal_recall"] >= 0.85, failing  # dev 0.90, validation 0.93


def test_a_place_named_without_its_suffix_is_answered_from_that_report_alone(library_bot):
    answer = library_bot.ask("丽水去年的生产总值是多少？")
    assert not answer.refused
    assert {s.doc for s in answer.sources} == {LISHUI}
    assert "《丽水市2024年政府工作报告》" in answer.answer


def test_a_question_fitting_several_reports_is_grouped_newest_first_under_titles(library_bot):
    answer = library_bot.ask("今年的主要预期目标是什么？")
    titles = [line for line in answer.answer.splitlines() if line.startswith("**《")]
    assert len(titles) >= 2, answer.answer
    assert {s.doc for s in answer.sources} >= {LISHUI, SHUNPING}
    assert all("2024" in t for t in titles[:2])


def test_a_follow_up_keeps_the_report_the_conversation_settled_on(library_bot):
    first = library_bot.ask("顺平县去年农村公路建了多少？")
    history = [{"role": "user", "content": "顺平县去年农村公路建了多少？"}, {"role": "assistant", "content": first.answer}]
    answer = library_bot.ask("那今年呢？", history)
    assert answer.sources and {s.doc for s in answer.sources} == {SHUNPING}
    assert all(s.section.startswith("二、") for s in answer.sources)  # this year: its plans


def test_a_follow_up_naming_another_reports_place_moves_to_that_report(library_bot):
    first = library_bot.ask("丽水去年地区生产总值是多少？")
    history = [{"role": "user", "content": "丽水去年地区生产总值是多少？"}, {"role": "assistant", "content": first.answer}]
    answer = library_bot.ask("顺平呢？", history)
    assert answer.sources and {s.doc for s in answer.sources} == {SHUNPING}
    assert "100.6亿元" in answer.answer


@pytest.mark.parametrize("question", ["顺平要让农村美起来，具体要建多少个村？", "顺平今年让农村美起来，要建多少个村？"])
def test_a_count_asked_of_a_topic_is_found_in_the_sentences_after_the_one_naming_it(library_bot, question):
    answer = library_bot.ask(question)
    assert not answer.refused, answer.answer
    assert "秀美共富村5个" in answer.answer


def test_the_users_choice_of_reports_limits_the_answer(library_bot):
    answer = library_bot.ask("生态环境方面做了什么？", docs=[DISTRICT])
    assert {s.doc for s in answer.sources} == {DISTRICT}


def test_ranking_goes_by_meaning_not_shared_characters(library_bot):
    answer = library_bot.ask("下半年生态环境保护有哪些计划", docs=[DISTRICT])
    assert "绿色发展" in answer.sources[0].section and "文化保护" not in answer.sources[0].section


def test_a_year_no_report_speaks_for_is_refused(library_bot):
    assert library_bot.ask("2019年全区粮食产量是多少？").refused


def test_sources_name_reports_by_title(library_bot):
    answer = library_bot.ask("顺平县去年GDP增长多少？")
    assert answer.sources and all(s.title == "顺平县2024年政府工作报告" for s in answer.sources)


def test_a_near_miss_says_the_detail_is_missing_then_shows_what_the_report_says(library_bot):
    answer = library_bot.ask("丽水保租房的租金标准是多少？")
    first, *rest = answer.answer.splitlines()
    assert first.startswith("《丽水市2024年政府工作报告》没有提到“") and not answer.refused
    assert "保租房" in "\n".join(rest) and answer.sources


def test_every_word_found_but_not_the_kind_of_detail_asked_is_partial_evidence(library_bot):
    # 农家乐 is in the district report; how much they earn is not
    answer = library_bot.ask("农家乐一年能赚多少钱？", docs=["district-report-2022-h1.txt"])
    first, *rest = answer.answer.splitlines()
    assert first == "《2022年上半年工作报告》没有提到“具体金额”。"
    assert "农家乐" in "\n".join(rest) and answer.sources


def test_a_review_told_in_unheaded_paragraphs_is_answered_from_the_paragraph_found(library_bot):
    """顺平's review has no numbered sections: its paragraphs sit under the part heading itself."""
    answer = library_bot.ask("顺平县去年防汛做了什么？")

    assert "洪涝" in answer.answer
    assert "100.6亿元" not in answer.answer  # the review's opening figures, not about floods


def test_an_english_question_is_read_in_chinese_and_keeps_to_the_place_it_names(library_bot):
    answer = library_bot.ask("What are Shunping's plans for education?")
    assert not answer.refused
    assert {s.doc for s in answer.sources} == {SHUNPING}
    assert "《顺平县2024年政府工作报告》" in answer.answer and "教育" in answer.answer


def test_an_english_question_none_of_whose_words_the_report_has_is_refused(library_bot):
    answer = library_bot.ask("What will the weather be like in Shunping tomorrow?")
    assert answer.refused
    assert "《顺平县2024年政府工作报告》" in answer.answer
    assert "“天气 明天”" in answer.answer  # what was not found, without the place that chose the report


def test_asked_how_the_lead_sentence_comes_with_what_was_done_after_it(library_bot):
    answer = library_bot.ask("顺平县去年是怎么应对洪涝灾害的？")
    assert not answer.refused
    assert "沉着应对洪涝灾害" in answer.answer  # the paragraph's lead
    assert "转移安置群众2745人" in answer.answer  # and the measures in the sentences after it
    assert "零伤亡" in answer.answer  # a lead opening its paragraph: two sentences follow


def test_a_follow_up_naming_a_new_period_and_focus_asks_that_period(library_bot):
    question = "丽水去年的生产总值增长了多少？"
    first = library_bot.ask(question)
    answer = library_bot.ask("那今年的目标呢？", [{"role": "user", "content": question},
                                                {"role": "assistant", "content": first.answer}])
    assert "去年" not in answer.question and "今年" in answer.question
    assert {s.doc for s in answer.sources} == {LISHUI}
    assert "生产总值增长6.5%左右" in answer.answer


def test_asked_how_a_year_went_overall_the_review_opens_with_its_summary(library_bot):
    """丽水's review opens with the year's figures, before its numbered sections on each topic."""
    answer = library_bot.ask("丽水去年经济总体情况如何？")
    assert not answer.refused
    assert "全市生产总值1964.44亿元" in answer.answer


def test_a_review_without_numbered_sections_is_listed_by_its_paragraphs(library_bot):
    """Nothing asked but a report and a year: the map of that part, here one line per paragraph."""
    answer = library_bot.ask("顺平县去年情况怎么样？")
    assert not answer.refused, answer.answer
    assert "过去的一年，我们坚持稳字当头、稳中求进，经济运行回升向好" in answer.answer
    assert "一、2023年工作回顾[2]" not in answer.answer  # a paragraph is named by its opening, not the part


def test_asked_for_a_target_the_figures_after_the_sentence_naming_the_work_follow(library_bot):
    answer = library_bot.ask("丽水今年招大引强的目标是什么？")
    assert "立足产业链抓招大引强" in answer.answer  # the closest sentence names the work, with no figure
    assert "引进10亿级项目55个" in answer.answer  # the target, in figures, a few sentences on



def test_a_broad_answer_quotes_the_sentence_that_answers_in_other_words(library_bot):
    """"腿脚不方便的人" shares no word with 残疾人: the sentence closest in meaning is picked by meaning."""
    answer = library_bot.ask("顺平对腿脚不方便的人有什么帮扶？")
    assert "大力实施精准助残服务工程" in answer.answer, answer.answer


def test_when_the_passages_lack_the_questions_words_meaning_picks_the_sentence(library_bot):
    """"吵" and "噪音" are not the report's words (噪声): the words cannot choose, so meaning does."""
    answer = library_bot.ask("丽水的马路边吵得很，有人治理噪音吗？")
    assert "噪声问题" in answer.answer, answer.answer


def test_a_broad_answer_goes_on_from_the_sentence_naming_the_topic_to_what_it_lists(library_bot):
    """The sentence that names 交通 and 项目 does not list them; the sentences after it in its passage do."""
    answer = library_bot.ask("丽水今年交通方面要建哪些项目？")
    assert "建成528国道遂昌新路湾至石练段" in answer.answer, answer.answer


def test_a_figure_asked_in_words_too_short_to_be_terms_is_not_answered_with_a_list_of_parts(library_bot):
    """"种多少树" leaves no term of two characters, but it asks a figure, not what a year's plans are."""
    answer = library_bot.ask("顺平今年县里要种多少树？")
    assert "个方面" not in answer.answer, answer.answer
