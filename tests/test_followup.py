"""Follow-ups rewritten without an LLM: the earlier question's topic and frame, the new focus or period."""
from __future__ import annotations

import pytest

from bot.followup import resolve_followup
from bot.query import analyse
from index.keyword import Tokenizer


@pytest.fixture(scope="module")
def converse():
    tokenizer = Tokenizer()

    def converse(*questions: str, places: tuple[str, ...] = ()) -> str:
        """The last question rewritten after all the others, each answered; ``places``: the library's."""
        history = [m for q in questions[:-1] for m in ({"role": "user", "content": q},
                                                      {"role": "assistant", "content": "……"})]
        last = questions[-1]
        return resolve_followup(last, analyse(last, tokenizer).tokens, history,
                                lambda q: analyse(q, tokenizer).tokens, places)
    return converse


@pytest.fixture(scope="module")
def rewrite(converse):
    """A follow-up rewritten after one earlier question."""
    return lambda question, earlier: converse(earlier, question)


def test_a_new_focus_narrows_the_earlier_question(rewrite):
    assert rewrite("执法方面呢？", "上半年环境保护做了什么？") == "上半年环境保护的执法方面做了什么？"


def test_a_one_character_focus_is_a_focus_not_a_word_to_glue_on(rewrite):
    # "水" is too short to be a search term, but it is what the user now asks about.
    assert rewrite("水这方面呢？", "今年环境定了什么目标？") == "今年环境的水方面定了什么目标？"


@pytest.mark.parametrize("question, earlier, rewritten", [
    # A thing in place of the thing an action was about: the same action on the new thing.
    ("水这方面呢？", "今年大气治理定了什么目标？", "今年水治理定了什么目标？"),
    ("那公路呢？", "去年铁路建设怎么样？", "去年公路建设怎么样？"),
    # An action as the focus narrows the topic instead.
    ("执法方面呢？", "上半年环境保护做了什么？", "上半年环境保护的执法方面做了什么？"),
])
def test_a_sibling_thing_takes_the_place_of_the_thing_the_action_was_about(rewrite, question, earlier, rewritten):
    assert rewrite(question, earlier) == rewritten


@pytest.mark.parametrize("question, earlier, rewritten", [
    # the next of a report's parallel slogans asks the same of it
    ("农村更美这块呢？", "今年在“农业更强”上有什么安排？", "今年在“农村更美”上有什么安排？"),
    ("老旧厂区呢？", "去年老旧小区改造怎么样？", "去年老旧厂区改造怎么样？"),
    # nothing parallel: the focus narrows the topic
    ("高校这块呢？", "今年教育方面有什么打算？", "今年教育方面的高校方面有什么打算？"),
])
def test_a_parallel_phrase_takes_the_place_of_the_one_it_parallels(rewrite, question, earlier, rewritten):
    assert rewrite(question, earlier) == rewritten


def test_the_earlier_frame_is_kept_when_only_the_period_changes(rewrite):
    assert rewrite("那下半年呢？", "上半年生态环境做了什么？") == "下半年生态环境有什么安排？"


@pytest.mark.parametrize("question", ["具体有哪些数据？", "搞了什么活动吗？"])
def test_asking_for_a_kind_of_thing_goes_on_with_the_topic(rewrite, question):
    rewritten = rewrite(question, "上半年疫情防控做了什么？")
    assert rewritten.startswith("上半年疫情防控") and rewritten.endswith(question.lstrip("具体"))


def test_a_question_with_a_topic_of_its_own_stands_alone(rewrite):
    assert rewrite("养殖业有哪些项目？", "上半年疫情防控做了什么？") == "养殖业有哪些项目？"


def test_a_numbered_point_keeps_the_period_it_was_listed_for():
    from bot.followup import resolve_followup

    history = [{"role": "user", "content": "下半年有哪些工作计划？"},
               {"role": "assistant", "content": "共七个方面：项目建设、乡村振兴、文旅发展、生态环境、社会事业。"}]
    assert resolve_followup("展开说说第三点", [], history, lambda q: []) == "具体介绍：下半年文旅发展"


def test_asking_what_else_stays_in_the_period_the_conversation_was_about(rewrite):
    assert rewrite("民生实事还有别的吗？", "下半年要建多少个充电桩？") == "下半年民生实事还有别的吗？"
    assert rewrite("民生实事还有别的吗？", "充电桩建了多少个？") == "民生实事还有别的吗？"


@pytest.mark.parametrize("question, earlier, rewritten", [
    # a count asked of the topic under way, in a new period that replaces a year named outright
    ("今年呢？打算再加几个？", "2023年新增了多少个特色田园乡村？", "今年新增了多少个特色田园乡村呢？打算再加几个？"),
    # how far a target was met: "实际做到" frames the question
    ("那去年实际做到了多少？", "今年研发投入占比的目标是多少？", "去年研发投入占比的目标是实际做到了多少？"),
    # jieba's "哪些项目" is a question word and the kind of thing asked
    ("具体有哪些项目？", "今年文旅方面的重点是什么？", "今年文旅方面的重点具体有哪些项目？"),
])
def test_a_follow_up_asking_a_count_or_a_kind_goes_on_with_the_topic(rewrite, question, earlier, rewritten):
    assert rewrite(question, earlier) == rewritten


def test_a_year_named_outright_stays_when_the_follow_up_names_no_period(rewrite):
    assert rewrite("那农村呢？", "2023年城市更新做了什么？") == "2023年城市更新的农村方面做了什么？"


def test_this_part_stands_for_the_earlier_topic(rewrite):
    assert rewrite("去年这块完成得怎么样？", "今年城市道路方面有什么安排？") == "去年城市道路方面完成得怎么样？"


@pytest.mark.parametrize("question, earlier, rewritten", [
    ("去年完成得怎么样？", "今年工业投资的目标是增长多少？", "去年工业投资的目标是增长完成得怎么样？"),
    # the count asked before is part of the earlier question's frame, not of its topic
    ("那今年有什么打算？", "2023年城镇新增就业多少人？", "今年城镇新增就业有什么打算？"),
])
def test_how_the_work_went_or_what_comes_next_goes_on_with_the_topic(rewrite, question, earlier, rewritten):
    assert rewrite(question, earlier) == rewritten


def test_a_focus_after_a_focus_is_its_sibling(converse):
    assert converse("今年在交通上有什么安排？", "铁路呢？", "机场呢？") == "今年在交通上的机场方面有什么安排？"


def test_a_period_after_a_focus_keeps_the_focus_and_asks_what_was_done(converse):
    assert converse("今年在交通上有什么安排？", "铁路呢？", "那去年呢？") == "去年在交通上的铁路方面做了什么？"
    # and a focus after that narrows the topic in the new period
    assert converse("上半年环境保护做了什么？", "执法方面呢？", "那下半年呢？", "宣传方面呢？") == \
        "下半年环境保护的宣传方面有什么安排？"


def test_asking_more_of_the_topic_leaves_the_topic_as_it_was(converse):
    assert converse("上半年经济怎么样？", "具体数据呢？", "下半年打算怎么做？") == "下半年经济打算怎么做？"


LIBRARY_PLACES = ("丽水市", "丽水", "顺平县", "顺平")


def test_another_reports_place_asks_the_same_of_that_report(converse):
    assert converse("丽水去年GDP多少？", "顺平呢？", places=LIBRARY_PLACES) == "顺平去年GDP多少？"
    assert converse("今年的主要预期目标是什么？", "丽水的呢？", places=LIBRARY_PLACES) == "丽水今年的主要预期目标是什么？"
    # and the conversation goes on in that place
    assert converse("丽水去年GDP多少？", "顺平呢？", "那今年呢？", places=LIBRARY_PLACES) == "今年顺平GDP多少？"


def test_a_place_no_report_is_about_is_a_focus(converse):
    assert converse("丽水去年GDP多少？", "松阳呢？", places=LIBRARY_PLACES) == "去年丽水GDP的松阳方面多少？"


def test_asking_when_a_stage_is_reached_asks_it_of_the_topic_under_way(converse):
    assert converse("俄式建筑修缮了多少栋？", "什么时候完工？").endswith("什么时候完工？")
    assert converse("俄式建筑修缮了多少栋？", "什么时候完工？").startswith("俄式建筑")
