"""Which reports a question is about, and the phase each report's own years give it."""
from __future__ import annotations

import pytest

from bot.catalog import Report
from bot.stages.scope import Scope, ScopeReader
from index.identity import ReportIdentity
from index.meta import ChunkMeta

LISHUI = Report("lishui-2024.txt", ReportIdentity("丽水市2024年政府工作报告", "丽水市", 2024, "annual", 2023, 2024))
SHUNPING = Report("shunping-2024.txt", ReportIdentity("顺平县2024年政府工作报告", "顺平县", 2024, "annual", 2023, 2024))
DISTRICT = Report("district.txt", ReportIdentity("某区2022年上半年工作总结", "", 2022, "mid-year", 2022, 2022))


class FixedCatalog:
    def __init__(self, reports):
        self._reports = reports

    def reports(self):
        return sorted(self._reports, key=lambda r: r.sort_key)

    def by_id(self):
        return {r.doc_id: r for r in self._reports}


@pytest.fixture
def reader():
    return ScopeReader(FixedCatalog([LISHUI, SHUNPING, DISTRICT]))


def test_a_place_named_without_its_suffix_scopes_to_that_report(reader):
    reading = reader.read("丽水去年经济怎么样", "", [])
    assert reading.scope.docs == ("lishui-2024.txt",)
    assert "丽水" in reading.words


def test_last_year_is_the_review_of_an_annual_report(reader):
    reading = reader.read("丽水去年经济怎么样", "", [])
    assert reading.scope.phase_of("lishui-2024.txt") == "done"
    assert reader.read("丽水今年打算怎么招商", "", []).scope.phase_of("lishui-2024.txt") == "plan"


def test_this_year_in_a_mid_year_report_is_both_halves(reader):
    reading = reader.read("今年经济怎么样", "", [])
    assert reading.scope.docs == ()
    assert reading.scope.phase_of("district.txt") == ""
    assert reading.scope.phase_of("lishui-2024.txt") == "plan"


def test_a_named_year_keeps_only_the_reports_that_speak_for_it(reader):
    reading = reader.read("2023年GDP增长多少", "", [])
    assert set(reading.scope.docs) == {"lishui-2024.txt", "shunping-2024.txt"}
    assert reading.words == ("2023年",)


def test_a_year_no_report_covers_does_not_narrow(reader):
    assert reader.read("2019年GDP是多少", "", []).scope.docs == ()


def test_half_year_words_point_to_mid_year_reports(reader):
    assert reader.read("上半年生态环境做了什么", "done", []).scope.docs == ("district.txt",)


def test_the_level_of_place_narrows_when_no_place_is_named(reader):
    assert reader.read("全县常住人口有多少", "", []).scope.docs == ("shunping-2024.txt",)


def test_a_follow_up_keeps_the_report_the_conversation_settled_on(reader):
    history = [{"role": "user", "content": "顺平县去年修了多少路"},
               {"role": "assistant", "content": "根据《顺平县2024年政府工作报告》……"}]
    reading = reader.read("那今年呢", "plan", history)
    assert reading.scope.docs == ("shunping-2024.txt",)
    assert reading.scope.named


def test_a_new_place_overrides_the_conversation(reader):
    history = [{"role": "user", "content": "顺平县去年修了多少路"}, {"role": "assistant", "content": "……"}]
    assert reader.read("丽水呢", "", history).scope.docs == ("lishui-2024.txt",)


def test_the_users_choice_limits_the_library(reader):
    reading = reader.read("经济怎么样", "", [], chosen=["shunping-2024.txt", "district.txt"])
    assert set(reading.scope.docs) == {"shunping-2024.txt", "district.txt"}
    assert not reading.scope.named


@pytest.mark.parametrize("meta, accepted", [
    (ChunkMeta("lishui-2024.txt", phase="done"), True),
    (ChunkMeta("lishui-2024.txt", phase="plan"), False),
    (ChunkMeta("lishui-2024.txt", phase=""), True),
    (ChunkMeta("district.txt", phase="plan"), True),
    (ChunkMeta("other.txt", phase="done"), False),
])
def test_scope_filters_agree_with_each_other(meta, accepted):
    scope = Scope(("lishui-2024.txt", "district.txt"), "", (("lishui-2024.txt", "done"),))
    assert scope.accepts(meta) is accepted
    assert _matches(scope.where(), meta) is accepted


def _matches(where: dict | None, meta: ChunkMeta) -> bool:
    """A tiny evaluator of the Chroma filter language, enough for what Scope.where writes."""
    if where is None:
        return True
    if "$and" in where:
        return all(_matches(w, meta) for w in where["$and"])
    if "$or" in where:
        return any(_matches(w, meta) for w in where["$or"])
    (field, test), = where.items()
    value = getattr(meta, field)
    if isinstance(test, dict):
        (op, arg), = test.items()
        return value in arg if op == "$in" else value not in arg
    return value == test


def test_the_words_that_chose_the_report_are_not_searched_for(reader):
    from bot.query import without_words

    reading = reader.read("丽水2023年粮食生产怎么样", "", [])

    assert reading.scope.docs == ("lishui-2024.txt",)
    assert without_words("丽水2023年粮食生产怎么样", reading.words) == "粮食生产怎么样"
    assert without_words("丽水2023年", reading.words) == "丽水2023年"  # nothing left: searched as typed


def test_the_bot_searches_a_place_named_question_without_the_place(fake_library_bot):
    turn = fake_library_bot.prepare("丽水去年生态环境保护做了什么？")

    assert turn.scope.docs == ("lishui-2024.txt",)
    assert turn.asked.text == "丽水去年生态环境保护做了什么？"
    assert "丽水" not in turn.asked.search_text and "生态环境保护" in turn.asked.search_text


@pytest.mark.parametrize("question, phase", [
    ("街道卫生搞得怎么样？", "done"),  # how it is going: results
    ("老旧小区改造有什么成效？", "done"),
    ("防汛有什么进展和安排？", ""),  # results and plans both asked: neither narrows
    ("下半年治安怎么样？", "plan"),  # a named time decides first
    ("治安方面有什么打算？", "plan"),
    ("治安工作的情况", ""),
])
def test_asking_how_something_is_going_asks_for_results(question, phase):
    import jieba

    from index.periods import phase_of_question

    assert phase_of_question(question, jieba.lcut(question)) == phase


def _hit(name: str, phase: str, sentence: float):
    from bot.stages.retrieve import Hit
    from index.store import StoredChunk

    return Hit(StoredChunk(name, name, ChunkMeta("r.txt", phase=phase)), 0.03, 0.85, 0.0, sentence=sentence)


@pytest.mark.parametrize("plan_sentence, done_sentence, first", [
    (0.893, 0.891, "done"),  # a near tie: the phase the question asked about leads
    (0.893, 0.870, "plan"),  # clearly closer: the other phase's passage keeps its place
])
def test_searched_whole_a_report_still_prefers_the_asked_phase_in_a_near_tie(plan_sentence, done_sentence, first):
    from bot.stages.retrieve import Retriever

    hits = [_hit("plan", "plan", plan_sentence), _hit("done", "done", done_sentence)]
    ordered = Retriever._asked_phase_first(hits, Scope(("r.txt",), "done"))
    assert ordered[0].chunk.id == first and len(ordered) == 2


@pytest.mark.parametrize("question, phase", [
    ("“惠民计划”分哪几步？", ""),  # a quoted name, not a question about plans
    ("惠民方面有什么计划？", "plan"),
])
def test_a_quoted_name_does_not_tell_the_phase(question, phase):
    from bot.query import analyse
    from index.keyword import Tokenizer

    assert analyse(question, Tokenizer()).phase == phase
