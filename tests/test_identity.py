"""A report's identity (title, place, years, kind) read from its own text; sidecar and front matter
override it; run-on paragraphs are reflowed; parts are told apart by their words and years."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.chunking import chunk_document
from index.identity import IdentityFileError, ReportIdentity, read_sidecar
from index.loaders import Block, LoadedDocument, load_document
from index.reflow import reflow
from tests.conftest import ROOT

DATA = ROOT / "data"
MB = 1024 * 1024


def chunked(path: Path, sidecar: dict | None = None):
    return chunk_document(load_document(path, 20 * MB), path.name, 320, sidecar=sidecar)


def write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def parts(doc) -> list[tuple[str, str]]:
    return [(s.title, s.phase) for s in doc.outline.sections if s.level == 1]


# --- the bundled library ----------------------------------------------------------------

@pytest.mark.parametrize("name, identity", [
    ("district-report-2022-h1.txt", ReportIdentity("2022年上半年工作报告", "", 2022, "mid-year", 2022, 2022)),
    ("lishui-2024.txt", ReportIdentity("丽水市2024年政府工作报告", "丽水市", 2024, "annual", 2023, 2024)),
    ("shunping-2024.txt", ReportIdentity("顺平县2024年政府工作报告", "顺平县", 2024, "annual", 2023, 2024)),
])
def test_the_bundled_reports_say_who_they_are(name, identity):
    doc = chunked(DATA / name)

    assert doc.identity == identity
    assert doc.title == identity.title
    assert {c.meta.identity for c in doc.chunks} == {identity}


def test_the_bundled_reports_have_their_review_and_plan_parts():
    shunping = chunked(DATA / "shunping-2024.txt")

    assert parts(shunping) == [("一、2023年工作回顾", "done"), ("二、2024年工作安排", "plan"),
                               ("三、全面加强政府自身建设", "")]


# --- reading the text ---------------------------------------------------------------------

HEADED = """政府工作报告
——2024年1月16日在河清市第五届人民代表大会第三次会议上
市人民政府市长张明
各位代表：
现在，我代表市人民政府，向大会报告政府工作，请予审议。
一、2023年工作回顾
过去一年，全市地区生产总值增长5.2%。
二、2024年主要任务
今年全市地区生产总值增长6%左右。
三、全面加强政府自身建设
坚持依法行政。
"""


def test_the_title_date_and_speaker_lines_give_title_place_and_year(tmp_path):
    doc = chunked(write(tmp_path / "report.txt", HEADED))

    assert doc.identity == ReportIdentity("河清市2024年政府工作报告", "河清市", 2024, "annual", 2023, 2024)
    assert parts(doc) == [("一、2023年工作回顾", "done"), ("二、2024年主要任务", "plan"),
                          ("三、全面加强政府自身建设", "")]


def test_a_title_split_over_two_lines_is_read_whole(tmp_path):
    text = "河西县\n2024年政府工作报告\n各位代表：\n现在，我代表县人民政府向大会报告工作。\n" + \
        "一、2023年工作回顾\n全县经济平稳。\n二、2024年工作安排\n全县经济增长6%。\n"

    identity = chunked(write(tmp_path / "x.txt", text)).identity

    assert (identity.title, identity.place, identity.year) == ("河西县2024年政府工作报告", "河西县", 2024)


def test_without_a_title_one_is_composed_from_place_year_and_kind(tmp_path):
    text = "各位代表：\n现在，我代表河东县人民政府向大会报告工作。\n一、2023年工作回顾\n河东县经济平稳。\n" + \
        "二、2024年工作安排\n河东县经济增长6%。\n"

    assert chunked(write(tmp_path / "x.txt", text)).identity.title == "河东县2024年政府工作报告"


def test_the_text_wins_over_the_file_name(tmp_path):
    shunping_named_lishui = tmp_path / "丽水.txt"
    shutil.copy(DATA / "shunping-2024.txt", shunping_named_lishui)
    state_council = write(tmp_path / "台州.txt", "各位代表：\n现在，我代表国务院，向大会报告政府工作，请予审议。\n"
                          "一、2023年工作回顾\n国内生产总值增长5.2%。\n二、2024年政府工作任务\n国内生产总值增长5%左右。\n")

    assert chunked(shunping_named_lishui).identity.place == "顺平县"
    national = chunked(state_council).identity
    assert (national.title, national.place, national.year) == ("国务院2024年政府工作报告", "全国", 2024)


def test_the_file_name_is_the_last_resort(tmp_path):
    text = ("各位代表：\n现在，我代表市人民政府向大会报告工作。\n一、2023年工作回顾\n滨江经济平稳，滨江港吞吐量增长。\n"
            "二、2024年工作安排\n推动滨江高质量发展。\n")

    named = chunked(write(tmp_path / "滨江.txt", text)).identity
    unnamed = chunked(write(tmp_path / "report.txt", text)).identity

    assert (named.place, named.title) == ("滨江市", "滨江市2024年政府工作报告")
    assert (unnamed.place, unnamed.title) == ("", "2024年政府工作报告")


# --- parts: words, years relative to the report, missing headings ---------------------------

def test_unnumbered_part_headings_hold_the_numbered_sections(tmp_path):
    text = ("各位代表：\n现在，我代表市人民政府向大会报告工作。\n2023年工作回顾\n一、经济运行稳中向好\n全市经济增长5%。\n"
            "2024年重点工作\n一、推动产业升级\n（一）做强制造业。新增规上企业100家。\n加强政府自身建设\n坚持依法行政。\n")

    doc = chunked(write(tmp_path / "x.txt", text))

    assert parts(doc) == [("2023年工作回顾", "done"), ("2024年重点工作", "plan"), ("加强政府自身建设", "")]
    assert [(s.level, s.path_text) for s in doc.outline.sections if s.level > 1] == [
        (2, "2023年工作回顾 > 一、经济运行稳中向好"), (2, "2024年重点工作 > 一、推动产业升级"),
        (3, "2024年重点工作 > 一、推动产业升级 > （一）做强制造业")]
    chunk = next(c for c in doc.chunks if "100家" in c.text)
    assert doc.outline.sections[chunk.meta.topic_id].title == "一、推动产业升级"


def test_a_part_naming_the_year_before_is_the_review_whatever_its_words(tmp_path):
    text = ("各位代表：\n现在，我代表市人民政府向大会作工作报告。\n奋力完成2023年高质量发展的各项任务\n全市经济增长5%。\n"
            "全力实现2024年高质量发展的奋斗目标\n全市经济增长6%左右。\n")

    doc = chunked(write(tmp_path / "x.txt", text))

    assert (doc.identity.review_year, doc.identity.plan_year) == (2023, 2024)
    assert [phase for _, phase in parts(doc)] == ["done", "plan"]


def test_a_part_whose_heading_is_missing_opens_at_its_lead_in(tmp_path):
    text = ("各位代表：\n现在，我代表市人民政府向大会报告工作。\n一、2023年工作回顾\n全市经济增长5%。\n"
            "重点做好八个方面工作：\n（一）推动产业升级。新增规上企业100家。\n")

    doc = chunked(write(tmp_path / "x.txt", text))

    assert parts(doc) == [("一、2023年工作回顾", "done"), ("重点做好八个方面工作", "plan")]
    assert next(c for c in doc.chunks if "100家" in c.text).meta.phase == "plan"


# --- sidecar and front matter --------------------------------------------------------------

def test_a_sidecar_overrides_what_was_read_and_re_indexes_the_report(tmp_path, make_index):
    data = tmp_path / "data"
    data.mkdir()
    report = data / "shunping-2024.txt"
    shutil.copy(DATA / "shunping-2024.txt", report)
    write(data / "shunping-2024.meta.yaml", "title: 顺平县2024年政府工作报告（审议稿）\nyear: 2023\n")
    components = make_index()

    components.indexer.build([data])
    stored = {c.meta.identity for c in components.store.all_chunks()}
    assert stored == {ReportIdentity("顺平县2024年政府工作报告（审议稿）", "顺平县", 2023, "annual", 2022, 2023)}

    write(data / "shunping-2024.meta.yaml", "place: 保定市顺平县\n")
    report_again = components.indexer.build([data])

    assert [r.status for r in report_again.results] == ["updated"]
    assert {c.meta.identity for c in components.store.all_chunks()} == {
        ReportIdentity("保定市顺平县2024年政府工作报告", "保定市顺平县", 2024, "annual", 2023, 2024)}


def test_front_matter_overrides_and_stays_out_of_the_chunks(tmp_path):
    path = write(tmp_path / "plan.md", "---\ntitle: 河西县2024年工作要点\nplace: 河西县\nyear: 2024\nkind: plan\n---\n"
                 "# 一、2024年工作安排\n推进河西县城更新。\n")

    doc = chunked(path)

    assert doc.identity == ReportIdentity("河西县2024年工作要点", "河西县", 2024, "plan", 0, 2024)
    assert doc.text.startswith("一、2024年工作安排")
    assert not any("title:" in c.text or "---" in c.text for c in doc.chunks)


def test_a_sidecar_wins_over_front_matter(tmp_path):
    path = write(tmp_path / "plan.md", "---\nplace: 河西县\n---\n一、2024年工作安排\n推进城市更新。\n")
    write(tmp_path / "plan.meta.yaml", "place: 河东县\n")

    assert chunked(path, sidecar=read_sidecar(path)).identity.place == "河东县"


@pytest.mark.parametrize("sidecar, reason", [
    ("city: 河西县\n", "未知字段“city”"),
    ("year: 二〇二四\n", "“year”应为年份"),
    ("kind: yearly\n", "“kind”应为"),
    ("- 河西县\n", "应为“字段: 值”的形式"),
    ("title: [unclosed\n", "不是有效的 YAML"),
])
def test_a_bad_sidecar_is_refused_in_chinese_naming_the_file(tmp_path, sidecar, reason):
    path = write(tmp_path / "report.txt", HEADED)
    write(tmp_path / "report.meta.yaml", sidecar)

    with pytest.raises(IdentityFileError) as refused:
        read_sidecar(path)

    assert "report.txt" in refused.value.message_zh and "report.meta.yaml" in refused.value.message_zh
    assert reason in refused.value.message_zh


def test_a_bad_sidecar_fails_its_document_only_and_leaves_the_index_as_it_was(tmp_path, make_index):
    data = tmp_path / "data"
    data.mkdir()
    write(data / "report.txt", HEADED)
    shutil.copy(DATA / "lishui-2024.txt", data / "lishui-2024.txt")
    components = make_index()
    components.indexer.build([data])
    before = {c.id: c.meta for c in components.store.all_chunks()}

    write(data / "report.meta.yaml", "year: next\n")
    write(data / "lishui-2024.meta.yaml", "place: 浙江省丽水市\n")
    report = components.indexer.build([data])

    failed = report.failed
    assert [(r.doc_id, r.status) for r in report.results if r.status != "failed"] == [("lishui-2024.txt", "updated")]
    assert [r.doc_id for r in failed] == ["report.txt"] and "report.meta.yaml" in failed[0].error_zh
    after = {c.id: c.meta for c in components.store.all_chunks() if c.meta.doc_id == "report.txt"}
    assert after == {cid: meta for cid, meta in before.items() if meta.doc_id == "report.txt"}


# --- run-on paragraphs --------------------------------------------------------------------

def _run_on_report() -> str:
    filler = "坚持稳中求进工作总基调，全市经济运行总体平稳、稳中有进。" * 25
    return ("政府工作报告——2024年2月1日在河清市第七届人民代表大会第五次会议上市长张明各位代表：现在，我代表市人民政府，"
            "向大会报告政府工作，请予审议。一、2023年工作回顾 2023 年是极不平凡的一年。" + filler +
            "（一）科学调度经济运行。地区生产总值增长 5 . 5%，一般公共预算收入增长 8% 左右。" + filler +
            "— 3 — （二）提速增效工业发展。规上工业增加值增长 7.2%。" + filler +
            "二、2024年工作安排今年是实现“十四五”规划目标任务的关键一年。" + filler +
            "（一）着力壮实体、强支柱。新增规上工业企业 50 家。" + filler +
            "三、全面加强政府自身建设始终牢记“三个务必”。" + filler)


def test_a_run_on_report_is_reflowed_into_its_outline(tmp_path):
    text = _run_on_report()
    assert len(text) > 4000
    doc = chunked(write(tmp_path / "converted.txt", text + "\n"))

    assert parts(doc) == [("一、2023年工作回顾", "done"), ("二、2024年工作安排", "plan"),
                          ("三、全面加强政府自身建设", "")]
    assert [s.title for s in doc.outline.sections if s.level == 2] == [
        "（一）科学调度经济运行", "（二）提速增效工业发展", "（一）着力壮实体、强支柱"]
    assert doc.identity == ReportIdentity("河清市2024年政府工作报告", "河清市", 2024, "annual", 2023, 2024)
    assert "2023年是极不平凡的一年" in doc.text and "增长5.5%" in doc.text and "8%左右" in doc.text
    assert "— 3 —" not in doc.text and "新增规上工业企业50家" in doc.text


def test_a_normal_report_is_not_reflowed():
    loaded = load_document(DATA / "lishui-2024.txt", 20 * MB)
    blocks = [b for b in loaded.blocks if b.text.strip()]

    assert reflow(blocks) == blocks


def test_a_long_paragraph_without_inline_headings_keeps_its_text():
    paragraph = "全市经济运行总体平稳、稳中有进。" * 300
    loaded = LoadedDocument(Path("long.txt"), "long", [Block(paragraph)])

    doc = chunk_document(loaded, "long.txt", 320)

    assert doc.text == paragraph and doc.outline.sections == []


def test_a_report_opening_with_a_rule_of_dashes_has_no_front_matter(tmp_path):
    path = write(tmp_path / "ruled.txt", "---\n一、2023年工作回顾\n全市经济平稳。\n---\n二、2024年工作安排\n全市经济增长6%。\n")

    doc = chunked(path)

    assert [title for title, _ in parts(doc)] == ["一、2023年工作回顾", "二、2024年工作安排"]
