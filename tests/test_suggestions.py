"""Suggested follow-up questions from the bundled reports' outlines: the other phase's section on the
same topic, the neighbouring sections, each phrased from a title and answered by its section."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from bot.suggestions import example_questions, plan_followups, suggest_followups, topic_phrase
from index.chunking import chunk_document
from index.loaders import load_document
from tests.conftest import REPORT

DATA = REPORT.parent
ENVIRONMENT_DONE = "（六）全力整治生态环境"
ENVIRONMENT_PLAN = "（四）坚持绿色发展，积极营造生态宜居环境"


def _chunks(name: str):
    path = DATA / name
    return chunk_document(load_document(path, 20 * 1024 * 1024), path.name, 320).chunks


@pytest.fixture(scope="module")
def library() -> dict[str, list]:
    return {path.name: _chunks(path.name) for path in sorted(DATA.glob("*.txt"))}


@pytest.fixture(scope="module")
def district(library):
    return library[REPORT.name]


def _in_section(chunks, title: str):
    return [c for c in chunks if title in c.meta.path.parts]


def _titles(chunks) -> set[str]:
    return {title for c in chunks for title in c.meta.path.parts}


# --- phrases from titles ------------------------------------------------------------

@pytest.mark.parametrize("title, phrase", [
    ("（三）坚持生态优先，持续提升环境质量。", "生态优先"),
    ("（四）坚持绿色发展，积极营造生态宜居环境", "绿色发展"),
    ("（一）经济发展稳中向好", "经济发展"),
    ("（八）疫情防控取得实效", "疫情防控"),
    ("（二）加大招商引资，扎实推进项目建设", "招商引资"),
    ("二是加快推进建设美丽乡村", "建设美丽乡村"),
    ("（四）开放为要提能级，城市发展更具综合竞争力", "城市发展"),
    ("（五）聚力乡村振兴，在建设宜居宜业和美乡村上攻坚突破", "乡村振兴"),
    ("1. 推进数字经济发展", "数字经济发展"),
])
def test_a_phrase_is_the_title_short_without_numbering_or_effort_words(title, phrase):
    assert topic_phrase(title) == phrase


def test_a_title_with_no_short_name_is_quoted_whole():
    assert topic_phrase("（二）乘势而进") == "“乘势而进”"
    assert topic_phrase("（二）") == ""


def test_every_phrase_of_the_bundled_reports_is_taken_from_its_title(library):
    for chunks in library.values():
        for title in _titles(chunks):
            phrase = topic_phrase(title)
            words = [w for w in re.split(r"[“”]", phrase) if w]
            assert words and all(w in title for w in words), (title, phrase)
            assert 2 <= len(phrase.replace("“", "").replace("”", "")) <= 40


# --- follow-ups from the district report ---------------------------------------------

def test_after_a_results_answer_the_plans_on_the_same_topic_come_first(district):
    answered = _in_section(district, ENVIRONMENT_DONE)[:1]

    followups = plan_followups(answered, district)

    assert followups[0].question == "下半年在绿色发展方面有什么计划？"
    assert followups[0].section.title == ENVIRONMENT_PLAN
    neighbours = [f.section.title for f in followups[1:]]
    assert neighbours == ["（七）社会大局和谐稳定", "（五）人民群众生活明显改善"]
    assert [f.question for f in followups[1:]] == ["上半年社会大局的情况怎么样？", "上半年人民群众生活明显改善的情况怎么样？"]


def test_after_a_plans_answer_the_results_on_the_same_topic_come_first(district):
    answered = _in_section(district, ENVIRONMENT_PLAN)

    followups = suggest_followups(answered, district)

    assert followups[0] == "上半年在整治生态环境方面做了哪些工作？"
    assert all(q.startswith("下半年") for q in followups[1:])


def test_an_item_leads_to_its_sibling_items(district):
    answered = _in_section(district, "二是加快推进建设美丽乡村")

    followups = plan_followups(answered, district)

    assert followups[0].question == "上半年在农村经济方面做了哪些工作？"
    assert [f.section.title for f in followups[1:]] == ["三是加强农业基础设施建设", "一是深化农业结构改革"]


def test_a_topic_of_the_other_phase_may_sit_in_an_item(district):
    answered = _in_section(district, "（八）疫情防控取得实效")

    followups = plan_followups(answered, district)

    assert followups[0].section.title == "四是压实常态化防控责任"
    assert "防控" in followups[0].question


def test_with_no_section_on_the_same_topic_the_other_phase_is_asked_about_whole(district):
    answered = _in_section(district, "（一）经济发展稳中向好")

    followups = plan_followups(answered, district)

    assert followups[0].question == "下半年有哪些工作安排？"
    assert followups[0].section.parts == ("二、2022年下半年工作计划",)


def test_an_answer_covering_both_phases_gets_no_other_phase_question(district):
    answered = _in_section(district, ENVIRONMENT_DONE)[:1] + _in_section(district, ENVIRONMENT_PLAN)[:1]

    followups = plan_followups(answered, district)

    assert all(f.section.part == "一、2022年上半年度工作完成情况" for f in followups)


def test_a_part_telling_no_phase_gets_no_other_phase_question(library):
    shunping = library["shunping-2024.txt"]
    answered = _in_section(shunping, "（二）坚持实干争先，雷厉风行抓落实")

    followups = plan_followups(answered, shunping)

    assert [f.section.title for f in followups] == ["（三）坚持利民为本，坚守初心践使命", "（一）坚持绝对忠诚，旗帜鲜明讲政治",
                                                    "（四）坚持勤政务实，廉洁自律守底线"]
    assert followups[0].question == "“坚持利民为本”方面有哪些内容？"


def test_k_caps_the_questions_and_none_repeats(district):
    for chunk in district:
        questions = suggest_followups([chunk], district, k=2)
        assert len(questions) <= 2 and len(set(questions)) == len(questions)
    assert len(suggest_followups(_in_section(district, ENVIRONMENT_DONE), district, k=5)) == 5


def test_text_before_the_first_heading_gets_no_suggestion(district):
    opening = [c for c in district if c.meta.section_id < 0]

    assert opening and suggest_followups(opening, district) == []
    assert suggest_followups([], district) == []


def test_other_reports_chunks_are_ignored(library, district):
    everything = [c for chunks in library.values() for c in chunks]
    answered = _in_section(district, ENVIRONMENT_DONE)

    assert suggest_followups(answered, everything) == suggest_followups(answered, district)


# --- every report of the library ------------------------------------------------------

def test_every_suggestion_is_about_a_section_of_the_same_report_and_phrased_from_its_title(library):
    for chunks in library.values():
        titles = _titles(chunks)
        for chunk in chunks:
            for followup in plan_followups([chunk], chunks, k=5):
                assert set(followup.section.parts) <= titles
                phrase = topic_phrase(followup.section.title)
                whole_part = len(followup.section.parts) == 1
                assert whole_part or phrase in followup.question, followup
                assert followup.question.endswith("？")


def test_an_annual_report_names_the_years_its_parts_cover(library):
    lishui = library["lishui-2024.txt"]
    answered = _in_section(lishui, "（五）以民为本促共富，民生答卷更有温度和质感")

    followups = suggest_followups(answered, lishui)

    assert followups[0] == "2024年在民生方面有什么计划？"
    assert all(q.startswith("2023年") for q in followups[1:])


def test_a_part_naming_no_year_takes_the_reports_year_else_says_next_step(district):
    metas = [replace(c.meta, period="", doc_plan_year=0, section_path=c.meta.section_path.replace("2022年下半年", "下半年"))
             for c in district]
    answered = [m for m in metas if ENVIRONMENT_DONE in m.path.parts]

    assert suggest_followups(answered, metas)[0] == "下一步在绿色发展方面有什么计划？"
    with_years = [replace(m, doc_plan_year=2022) for m in metas]
    assert suggest_followups(answered, with_years)[0] == "2022年在绿色发展方面有什么计划？"


def test_a_library_of_reports_names_the_place(library):
    shunping = library["shunping-2024.txt"]
    place = shunping[0].meta.doc_place or "顺平县"
    metas = [replace(c.meta, doc_place=place) for c in shunping]
    answered = [m for m in metas if "（五）聚力乡村振兴，在建设宜居宜业和美乡村上攻坚突破" in m.path.parts]

    named = suggest_followups(answered, metas, name_place=True)
    plain = suggest_followups(answered, metas)

    assert named[0] == place + "2023年做了哪些工作？"
    assert all(q.startswith(place + "2024年") for q in named[1:])
    assert [q.removeprefix(place) for q in named] == plain


def test_examples_take_the_reports_in_turn(library):
    chunks = [c for name in ("lishui-2024.txt", REPORT.name) for c in library[name]]

    examples = example_questions(chunks, k=3)

    assert examples[0].startswith("2023年") and examples[1].startswith("上半年") and examples[2].startswith("2024年")
    assert example_questions([], k=3) == []


# --- answered by their section (the real model) ------------------------------------------

def test_each_suggestion_is_answered_from_the_section_it_names(report_bot, report_index):
    """The bot, asked a suggestion, answers (no refusal) from the section the suggestion was built from."""
    chunks = report_index.keywords.chunks_of(REPORT.name)
    asked: dict[str, tuple[str, ...]] = {}
    for chunk in chunks:
        for followup in plan_followups([chunk], chunks, k=5):
            asked.setdefault(followup.question, followup.section.parts)
    missed = []
    for question, parts in asked.items():
        answer = report_bot.ask(question)
        sections = [tuple(s.section.split(" > ")) for s in answer.sources]
        if answer.refused or not any(s[:len(parts)] == parts for s in sections):
            missed.append((question, answer.refused, [s[-1] for s in sections[:3]]))
    assert len(asked) > 30
    assert not missed, missed
