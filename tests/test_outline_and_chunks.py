"""The report's outline, and chunks that keep to sentences, sections and their place in the source."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.conftest import REPORT
from index.chunking import chunk_document, pack_sentences
from index.loaders import Block, LoadedDocument, load_document
from index.meta import encode_meta
from index.outline import parse_outline
from index.section_path import SectionPath

PART_1 = "一、2022年上半年度工作完成情况"
PART_2 = "二、2022年下半年工作计划"
SENTENCE_END = re.compile(r"[。！？；!?;][”’」』）)]*$")


@pytest.fixture(scope="module")
def report():
    return chunk_document(load_document(REPORT, 20 * 1024 * 1024), REPORT.name, 320)


def chunked(text: str, cap: int = 320, doc_id: str = "doc.txt"):
    loaded = LoadedDocument(REPORT, "测试", [Block(line) for line in text.splitlines()])
    return chunk_document(loaded, doc_id, cap)


# --- outline of the district report ---------------------------------------------

def test_the_report_has_two_parts_with_nine_and_seven_sections(report):
    sections = report.outline.sections
    parts = [s for s in sections if s.level == 1]

    assert [p.title for p in parts] == [PART_1, PART_2]
    children = [[s.title for s in sections if s.level == 2 and s.parent == p.id] for p in parts]
    assert [len(c) for c in children] == [9, 7]
    assert children[0][0] == "（一）经济发展稳中向好" and children[0][8] == "（九）党建工作全面蜕变"
    assert children[1][0] == "（一）加大招商引资，扎实推进项目建设"
    assert children[1][6] == "（七）全面加强党的领导，为振兴发展提供坚强屏障"


def test_a_section_title_runs_to_the_first_full_stop(report):
    titles = [s.title for s in report.outline.sections if s.level == 2]

    assert "（六）全力整治生态环境" in titles
    assert all("。" not in t for t in titles)


def test_exactly_three_paragraphs_have_no_heading_and_belong_to_the_nearest_one(report):
    outline = report.outline
    unheaded = outline.unheaded_pieces()

    found = [(outline.text[p.start:p.end], outline.section(p.section_id)) for p in unheaded]
    assert len(found) == 3
    (opening, none), (problems, part_1), (plan_intro, part_2) = found
    assert opening == "现将上半年重点工作完成情况汇报如下。" and none is None
    assert problems.startswith("在看到成绩的同时") and "问题和不足" in problems and part_1.title == PART_1
    assert plan_intro.startswith("时间过半") and part_2.title == PART_2


def test_the_unheaded_paragraphs_are_chunked_under_their_owner(report):
    by_start = {c.text[:8]: c for c in report.chunks}

    assert by_start["现将上半年重点工"].meta.section_path == ""
    assert by_start["现将上半年重点工"].meta.section_id == -1
    assert by_start["在看到成绩的同时"].meta.section_path == PART_1
    assert by_start["时间过半，任务过"].meta.section_path == PART_2


def test_sections_carry_the_period_their_heading_names(report):
    for section in report.outline.sections:
        expected = "上半年" if section.path[0] == PART_1 else "下半年"
        assert section.period == expected, section.path_text
    assert {c.meta.period for c in report.chunks if c.meta.section_path.startswith(PART_1)} == {"上半年"}
    assert {c.meta.period for c in report.chunks if c.meta.section_path.startswith(PART_2)} == {"下半年"}


def test_the_plan_sections_are_split_into_their_enumerated_items(report):
    sections = report.outline.sections
    investment = next(s for s in sections if s.title == "（一）加大招商引资，扎实推进项目建设")
    items = [s.title for s in sections if s.parent == investment.id]

    assert items == ["一是推进同频招商", "二是盯紧优势招商", "三是加快园区建设落地"]
    assert all(s.level == 3 for s in sections if s.parent == investment.id)


def test_a_chunk_about_straw_knows_it_sits_in_the_environment_section(report):
    straw = [c for c in report.chunks if "秸秆" in c.text and c.meta.section_path.startswith(PART_1)]

    assert straw
    for chunk in straw:
        assert chunk.meta.section_path == f"{PART_1} > （六）全力整治生态环境"
        assert chunk.meta.section_title == "（六）全力整治生态环境"
        assert chunk.embed_text == f"{chunk.meta.section_path}\n{chunk.text}"
        assert "生态环境" in chunk.embed_text.split("\n")[0]


def test_a_chunk_in_an_enumerated_item_reaches_its_section_as_topic(report):
    sections = report.outline.sections
    deep = [c for c in report.chunks if c.meta.section_id >= 0 and sections[c.meta.section_id].level == 3]

    assert deep
    for chunk in deep:
        topic = sections[chunk.meta.topic_id]
        assert topic.level == 2 and chunk.meta.path.topic == SectionPath.of(topic.path) != chunk.meta.path


# --- deeper outline levels on a synthetic report ----------------------------------

DEEP = """一、工作完成情况
（一）经济运行
1.工业生产。规上工业增加值增长*%。
（1）化工产业。化工园区产值增长**%。
（2）农产品加工。加工企业新增*户。
2.固定资产投资。投资完成**亿元。
（二）全年目标
全年GDP增长目标*%。
"""


def test_numbered_levels_below_the_sections_nest_in_order():
    doc = chunked(DEEP)

    assert [(s.level, s.path_text) for s in doc.outline.sections] == [
        (1, "一、工作完成情况"),
        (2, "一、工作完成情况 > （一）经济运行"),
        (3, "一、工作完成情况 > （一）经济运行 > 1.工业生产"),
        (4, "一、工作完成情况 > （一）经济运行 > 1.工业生产 > （1）化工产业"),
        (4, "一、工作完成情况 > （一）经济运行 > 1.工业生产 > （2）农产品加工"),
        (3, "一、工作完成情况 > （一）经济运行 > 2.固定资产投资"),
        (2, "一、工作完成情况 > （二）全年目标"),
    ]
    assert doc.outline.sections[-1].period == "全年"
    chunk = next(c for c in doc.chunks if "化工园区" in c.text)
    assert chunk.meta.section_title == "（1）化工产业"
    assert doc.outline.sections[chunk.meta.topic_id].title == "（一）经济运行"


def test_a_paragraph_after_a_standalone_heading_belongs_to_it():
    doc = chunked(DEEP)

    target = next(c for c in doc.chunks if c.text == "全年GDP增长目标*%。")
    assert target.meta.section_path == "一、工作完成情况 > （二）全年目标"


def test_paragraphs_going_on_with_a_list_stay_in_the_run_in_section_above_them():
    doc = chunked("二、下半年工作计划\n（一）聚力灾后重建，提升防灾能力。坚决落实部署。\n"
                  "一是保障群众温暖过冬。加强供暖设施巡检。\n二是巩固复工复产成果。加快农田修复。\n"
                  "（二）聚力产业发展。做强主导产业。\n")

    assert [(s.level, s.path_text) for s in doc.outline.sections if s.level == 3] == [
        (3, "二、下半年工作计划 > （一）聚力灾后重建，提升防灾能力 > 一是保障群众温暖过冬"),
        (3, "二、下半年工作计划 > （一）聚力灾后重建，提升防灾能力 > 二是巩固复工复产成果")]
    farmland = next(c for c in doc.chunks if "农田" in c.text)
    assert doc.outline.sections[farmland.meta.topic_id].title == "（一）聚力灾后重建，提升防灾能力"


# --- chunks -------------------------------------------------------------------------

def _assert_chunks_are_sound(doc):
    sections = doc.outline.sections
    for chunk in doc.chunks:
        assert doc.text[chunk.meta.start:chunk.meta.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text
        if chunk.meta.section_id >= 0:
            section = sections[chunk.meta.section_id]
            assert section.start <= chunk.meta.start and chunk.meta.end <= section.end
            assert chunk.meta.section_path == section.path_text
        owners = [p for p in doc.outline.pieces if p.start <= chunk.meta.start and chunk.meta.end <= p.end]
        assert [p.section_id if p.section_id is not None else -1 for p in owners] == [chunk.meta.section_id]
        assert "\n" not in chunk.text


def test_every_chunk_points_back_to_exactly_its_text_and_stays_inside_one_section(report):
    assert len(report.chunks) > 40
    _assert_chunks_are_sound(report)


@pytest.mark.parametrize("cap", [60, 120, 320])
def test_chunks_never_cross_a_section_whatever_the_cap(report, cap):
    doc = chunk_document(load_document(REPORT, 20 * 1024 * 1024), REPORT.name, cap)

    _assert_chunks_are_sound(doc)
    for a, b in zip(doc.chunks, doc.chunks[1:]):
        assert a.meta.end <= b.meta.start and a.meta.ordinal + 1 == b.meta.ordinal


def test_chunks_end_at_a_sentence_end_unless_their_paragraph_ends_there(report):
    piece_ends = {p.end for p in report.outline.pieces}

    for chunk in report.chunks:
        assert SENTENCE_END.search(chunk.text) or chunk.meta.end in piece_ends, chunk.text[-20:]


def test_chunks_are_a_few_hundred_characters(report):
    sizes = sorted(len(c.text) for c in report.chunks)

    assert sizes[-1] <= 320 * 1.25  # a short tail may join its neighbour
    assert 100 <= sizes[len(sizes) // 2] <= 320


def test_sentences_are_packed_whole_up_to_the_cap():
    text = "".join(f"第{i}项工作稳步推进，成效明显。" for i in range(1, 21))

    spans = pack_sentences(text, 60)

    assert "".join(text[a:b] for a, b in spans) == text
    for a, b in spans:
        assert b - a <= 60 * 1.25
        assert text[a:b].startswith("第") and text[a:b].endswith("。")


@pytest.mark.parametrize("end", ["。", "！", "？", "；"], ids=["full stop", "exclamation mark", "question mark",
                                                         "semicolon"])
def test_each_sentence_mark_is_a_place_to_split(end):
    text = f"区委召开专题会议研究部署工作{end}" * 12

    spans = pack_sentences(text, 50)

    assert len(spans) > 1
    assert all(text[a:b].endswith(end) for a, b in spans)


def test_a_sentence_longer_than_the_cap_is_cut_at_clauses():
    sentence = "，".join(f"完成第{i}个重点项目" for i in range(1, 30)) + "。"

    spans = pack_sentences(sentence, 80)

    assert len(spans) > 1
    assert "".join(sentence[a:b] for a, b in spans) == sentence
    assert all(b - a <= 80 for a, b in spans)
    assert all(sentence[a:b].endswith(("，", "。")) for a, b in spans)


def test_a_sentence_without_any_break_is_cut_at_the_cap_as_a_last_resort():
    sentence = "甲" * 250 + "。"

    spans = pack_sentences(sentence, 100)

    assert [b - a for a, b in spans] == [100, 100, 51]


def test_offsets_stay_exact_after_whitespace_is_cleaned():
    doc = chunked("\u3000\u3000一、概况\n\n  全区 经济平稳。  同比增长*%。\n（一）指标。  GDP增长*%；CPI 上涨 2%。\n")

    _assert_chunks_are_sound(doc)
    assert [c.text for c in doc.chunks] == ["全区经济平稳。同比增长*%。", "（一）指标。GDP增长*%；CPI 上涨 2%。"]


def test_chunk_ids_are_stable_and_unique():
    first, second = chunked(DEEP), chunked(DEEP)

    assert [c.id for c in first.chunks] == [c.id for c in second.chunks]
    assert len({c.id for c in first.chunks}) == len(first.chunks)


def test_repeated_text_in_one_section_still_gets_distinct_ids():
    doc = chunked("一、概况\n全区经济平稳。\n全区经济平稳。\n")

    assert [c.text for c in doc.chunks] == ["全区经济平稳。", "全区经济平稳。"]
    assert len({c.id for c in doc.chunks}) == 2


def test_every_chunk_carries_its_document_and_place(report):
    meta = encode_meta(replace(report.chunks[5].meta, doc_hash="abc"))

    assert set(meta) == {"doc_id", "doc_title", "doc_hash", "start", "end", "ordinal", "section_id", "topic_id",
                         "section_path", "section_title", "period", "phase", "masked", "doc_place", "doc_year",
                         "doc_kind", "doc_review_year", "doc_plan_year"}
    assert meta["doc_id"] == REPORT.name and meta["doc_title"] == "2022年上半年工作报告" and meta["doc_hash"] == "abc"
    assert (meta["doc_year"], meta["doc_kind"], meta["doc_review_year"], meta["doc_plan_year"]) == (
        2022, "mid-year", 2022, 2022)
    assert [c.meta.ordinal for c in report.chunks] == list(range(len(report.chunks)))


def test_a_whole_section_can_be_read_back_from_its_chunks(report):
    section = next(s for s in report.outline.sections if s.title == "（六）全力整治生态环境")
    pieces = [c for c in report.chunks if c.meta.topic_id == section.id]

    assert report.text[section.start:section.end] == "".join(c.text for c in pieces)


def test_an_outline_of_no_blocks_is_empty():
    outline = parse_outline([])

    assert outline.text == "" and outline.sections == [] and outline.pieces == []


@pytest.mark.parametrize("heading, phase", [
    ("一、2022年上半年度工作完成情况", "done"),
    ("二、2022年下半年工作计划", "plan"),
    ("一、2022年工作回顾", "done"),
    ("二、2023年工作安排", "plan"),
    ("三、存在的问题", ""),
])
def test_a_part_heading_tells_whether_it_reports_results_or_plans(heading, phase):
    doc = chunked(f"{heading}\n（一）第一项工作。全区经济平稳。\n")

    assert {c.meta.phase for c in doc.chunks} == {phase}
