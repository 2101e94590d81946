"""The same chain on a report shaped differently: an annual report (回顾 / 安排, numbered 1./2. items)."""
from __future__ import annotations

import pytest

from index.section_path import SectionPath
from tests.conftest import bot_for_text

ANNUAL_REPORT = """2023年政府工作报告
各位代表：现在，我代表市人民政府，向大会报告工作，请予审议。
一、2022年工作回顾
过去一年，我们坚持稳中求进工作总基调，全市经济社会发展取得新成效。
（一）经济运行稳中有进
全市地区生产总值完成1520亿元，同比增长4.2%。一般公共预算收入完成86.5亿元，增长3.1%。
（二）城市建设加快推进
1.交通设施。新建改造城市道路32公里，开通公交线路5条，新增停车泊位2600个。
2.老旧小区改造。完成老旧小区改造46个，惠及居民1.2万户，加装电梯120部。
（三）民生保障持续加强
城镇新增就业2.3万人，城镇登记失业率控制在3.5%以内。新建改扩建幼儿园12所，新增学位3600个。
二、2023年工作安排
2023年是全面贯彻落实党的二十大精神的开局之年。
（一）全力稳住经济大盘
地区生产总值增长6%左右。实施重点项目200个，完成投资500亿元以上。
（二）持续改善人居环境
1.推进城市更新。改造老旧小区50个，建设口袋公园20个。
（三）办好民生实事
新增城镇就业2万人以上。新建养老服务中心8个，增加养老床位1000张。
"""


@pytest.fixture(scope="module")
def annual_bot(tmp_path_factory, embeddings):
    return bot_for_text(tmp_path_factory.mktemp("annual"), embeddings, "city-2023.txt", ANNUAL_REPORT)


def test_results_and_plans_are_told_apart_by_the_part_headings(annual_bot):
    keywords = annual_bot.components.keywords
    phases = {c.meta.path.part: c.meta.phase
              for doc_id in keywords.doc_ids() for c in keywords.chunks_of(doc_id) if c.meta.section_path}
    assert phases == {"一、2022年工作回顾": "done", "二、2023年工作安排": "plan"}


def test_a_question_about_last_year_is_answered_from_the_review(annual_bot):
    answer = annual_bot.ask("去年地区生产总值完成了多少？")
    assert "1520亿元" in answer.answer
    assert "6%左右" not in answer.answer


def test_a_question_about_plans_is_answered_from_the_plans(annual_bot):
    answer = annual_bot.ask("下一步养老床位计划增加多少张？")
    assert "1000张" in answer.answer
    assert all(s.section.startswith("二、") for s in answer.sources if s.cited)


def test_a_question_naming_a_part_by_its_title_gets_that_parts_sections(annual_bot):
    answer = annual_bot.ask("2023年有什么安排？")
    assert [SectionPath.parse(s.section).parts[1] for s in answer.sources] == [
        "（一）全力稳住经济大盘", "（二）持续改善人居环境", "（三）办好民生实事"]


def test_a_question_without_period_shows_both_parts_with_their_names(annual_bot):
    answer = annual_bot.ask("就业情况如何？")
    assert "一、2022年工作回顾" in answer.answer and "二、2023年工作安排" in answer.answer
    assert "2.3万人" in answer.answer and "2万人以上" in answer.answer


def test_numbered_items_are_sections_of_their_own(annual_bot):
    answer = annual_bot.ask("加装了多少部电梯？")
    assert "120部" in answer.answer
    assert answer.sources[0].section.endswith("（二）城市建设加快推进 > 2.老旧小区改造")


def test_the_follow_up_this_year_keeps_the_topic(annual_bot):
    first = annual_bot.ask("去年就业情况如何？")
    history = [{"role": "user", "content": "去年就业情况如何？"}, {"role": "assistant", "content": first.answer}]
    answer = annual_bot.ask("那今年呢？", history)
    assert "就业" in answer.question and "今年" in answer.question


def test_something_the_annual_report_does_not_cover_is_refused(annual_bot):
    # 城市道路32公里 is close in meaning, but a figure is asked for something no passage names (地铁)
    assert annual_bot.ask("地铁修了多少公里？").refused


def test_an_abbreviation_finds_the_full_form_the_report_uses(annual_bot):
    answer = annual_bot.ask("去年GDP是多少？")
    assert not answer.refused
    assert "1520亿元" in answer.answer


def test_glossary_swaps_each_form_of_a_group_for_the_others():
    from bot.glossary import Glossary

    glossary = Glossary.load("# comment\nGDP 地区生产总值 生产总值\n规上 规模以上\n")
    assert glossary.variants("规上企业") == ["规模以上企业"]
    assert set(glossary.variants("gdp")) == {"地区生产总值", "生产总值"}
    assert glossary.expand("去年GDP是多少") == "去年GDP是多少 地区生产总值 生产总值"
    assert Glossary.load().variants("gdp"), "the packaged glossary loads"
