"""Loaders for every supported format, and what happens with files that cannot be indexed."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from index.chunking import chunk_document
from index.loaders import LoadError, load_document

MB = 1024 * 1024
REPORT_TEXT = (
    "现将上半年重点工作完成情况汇报如下。\n"
    "一、上半年工作完成情况\n"
    "（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比增长*%。\n"
    "（二）全力整治生态环境。全面禁止露天焚烧秸秆，空气质量优良天数比例达到*%。\n"
    "二、下半年工作计划\n"
    "（一）加大招商引资。要坚持底线思维，积极应对外部环境变化。\n"
)


def load(path: Path, max_bytes: int = 20 * MB):
    return load_document(path, max_bytes)


def outline_paths(path: Path) -> list[str]:
    doc = chunk_document(load(path), path.name, 320)
    return [s.path_text for s in doc.outline.sections]


def make_docx(path: Path, title: str = "", headings: bool = True, table: bool = True) -> Path:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    if headings:
        document.add_heading("上半年工作完成情况", level=1)
        document.add_heading("经济发展", level=2)
    document.add_paragraph("上半年GDP预计完成**亿元，同比增长*%。")
    if headings:
        document.add_heading("生态环境", level=2)
    document.add_paragraph("全面禁止露天焚烧秸秆。")
    if table:
        grid = document.add_table(rows=2, cols=2)
        for (row, col), value in {(0, 0): "指标", (0, 1): "完成值", (1, 0): "秸秆综合利用率", (1, 1): "**%"}.items():
            grid.cell(row, col).text = value
    document.save(str(path))
    return path


def make_pdf(path: Path, lines: list[str], title: str = "") -> Path:
    """A PDF with a real text layer, in the CID font Adobe-GB1 readers carry (no font file needed)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    if title:
        pdf.setTitle(title)
    pdf.setFont("STSong-Light", 12)
    y = 800
    for line in lines:
        if y < 60:
            pdf.showPage()
            pdf.setFont("STSong-Light", 12)
            y = 800
        pdf.drawString(50, y, line)
        y -= 20
    pdf.save()
    return path


def make_blank_pdf(path: Path) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 300, 500, fill=1)  # a scanned page: marks, no text
    pdf.showPage()
    pdf.save()
    return path


# --- text and markdown ----------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"],
                         ids=["utf-8", "utf-8 with BOM", "GB18030", "GBK", "UTF-16 with BOM"])
def test_a_text_file_loads_whatever_its_common_encoding(tmp_path, encoding):
    path = tmp_path / "report.txt"
    path.write_bytes(REPORT_TEXT.encode(encoding))

    doc = load(path)

    assert [b.text for b in doc.blocks if b.text] == REPORT_TEXT.splitlines()
    assert doc.title == "report"
    assert outline_paths(path)[:3] == ["一、上半年工作完成情况", "一、上半年工作完成情况 > （一）经济发展稳中向好",
                                       "一、上半年工作完成情况 > （二）全力整治生态环境"]


def test_a_gb18030_file_with_characters_outside_gbk_loads(tmp_path):
    text = "一、概况\n𠮷字与䶮字都在GB18030里，同比增长*%。\n"
    path = tmp_path / "rare.txt"
    path.write_bytes(text.encode("gb18030"))

    assert [b.text for b in load(path).blocks] == text.splitlines()


def test_windows_line_endings_and_full_width_spaces_do_not_reach_the_chunks(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("一、概况\r\n\u3000\u3000全区经济 平稳。\r\n".encode("gb18030"))

    doc = chunk_document(load(path), path.name, 320)

    assert doc.text == "一、概况\n全区经济平稳。"
    assert [c.text for c in doc.chunks] == ["全区经济平稳。"]


def test_markdown_headings_make_the_outline(tmp_path):
    path = tmp_path / "plan.md"
    path.write_text("# 下半年工作计划\n\n## 招商引资\n\n坚持底线思维。\n\n## 生态环境\n\n禁止焚烧秸秆。\n", "utf-8")

    doc = chunk_document(load(path), path.name, 320)

    assert [s.path_text for s in doc.outline.sections] == [
        "下半年工作计划", "下半年工作计划 > 招商引资", "下半年工作计划 > 生态环境"]
    assert [(c.meta.section_path, c.text) for c in doc.chunks] == [
        ("下半年工作计划 > 招商引资", "坚持底线思维。"), ("下半年工作计划 > 生态环境", "禁止焚烧秸秆。")]
    assert {c.meta.period for c in doc.chunks} == {"下半年"}


def test_a_markdown_file_in_gb18030_loads(tmp_path):
    path = tmp_path / "plan.md"
    path.write_bytes("# 工作计划\n坚持底线思维。\n".encode("gb18030"))

    assert [(b.text, b.heading_level) for b in load(path).blocks] == [("工作计划", 1), ("坚持底线思维。", None)]


# --- docx -----------------------------------------------------------------------

def test_docx_heading_styles_make_the_outline_and_table_cells_are_kept(tmp_path):
    path = make_docx(tmp_path / "report.docx", title="区政府工作报告")

    doc = chunk_document(load(path), path.name, 320)

    assert doc.title == "区政府工作报告"
    assert [s.path_text for s in doc.outline.sections] == [
        "上半年工作完成情况", "上半年工作完成情况 > 经济发展", "上半年工作完成情况 > 生态环境"]
    by_section = {}
    for chunk in doc.chunks:
        by_section.setdefault(chunk.meta.section_path, []).append(chunk.text)
    assert by_section["上半年工作完成情况 > 经济发展"] == ["上半年GDP预计完成**亿元，同比增长*%。"]
    table_text = " ".join(by_section["上半年工作完成情况 > 生态环境"])
    for cell in ("指标", "完成值", "秸秆综合利用率", "**%"):
        assert cell in table_text
    assert all(c.meta.period == "上半年" for c in doc.chunks)


def test_a_docx_title_paragraph_names_the_document_instead_of_becoming_a_part(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("2022年区政府工作报告", level=0)  # the Title style
    document.add_paragraph("现将上半年重点工作完成情况汇报如下。")
    document.add_heading("一、上半年工作完成情况", level=1)
    document.add_paragraph("（一）经济发展稳中向好。GDP增长*%。")
    document.add_heading("二、下半年工作计划", level=1)
    document.add_paragraph("（一）加大招商引资。要坚持底线思维。")
    path = tmp_path / "gov.docx"
    document.save(str(path))

    doc = chunk_document(load(path), path.name, 320)

    assert doc.title == "2022年区政府工作报告"
    assert [(s.level, s.title) for s in doc.outline.sections if s.level == 1] == [
        (1, "一、上半年工作完成情况"), (1, "二、下半年工作计划")]
    assert [c.meta.section_path for c in doc.chunks] == [
        "", "一、上半年工作完成情况 > （一）经济发展稳中向好", "二、下半年工作计划 > （一）加大招商引资"]


def test_a_docx_without_heading_styles_is_outlined_by_its_numbering(tmp_path):
    import docx

    document = docx.Document()
    for line in REPORT_TEXT.splitlines():
        document.add_paragraph(line)
    path = tmp_path / "plain.docx"
    document.save(str(path))

    assert outline_paths(path) == outline_paths(_write(tmp_path / "plain.txt", REPORT_TEXT))
    assert load(path).title == "plain"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


# --- pdf ------------------------------------------------------------------------

def test_a_pdf_text_layer_is_read_and_wrapped_lines_are_rejoined(tmp_path):
    path = make_pdf(tmp_path / "report.pdf", [
        "一、上半年工作完成情况",
        "（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比",
        "增长*%，与全年目标（*%）持平。",
        "二、下半年工作计划",
        "时间过半，任务过半，下半年我区将",
        "全力以赴。",
        "（一）加大招商引资。要坚持底线思维。",
    ], title="区工作报告")

    loaded = load(path)
    doc = chunk_document(loaded, path.name, 320)

    assert loaded.title == "区工作报告"
    assert [b.text for b in loaded.blocks] == [
        "一、上半年工作完成情况",
        "（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比增长*%，与全年目标（*%）持平。",
        "二、下半年工作计划",
        "时间过半，任务过半，下半年我区将全力以赴。",
        "（一）加大招商引资。要坚持底线思维。",
    ]
    assert [s.path_text for s in doc.outline.sections] == [
        "一、上半年工作完成情况", "一、上半年工作完成情况 > （一）经济发展稳中向好",
        "二、下半年工作计划", "二、下半年工作计划 > （一）加大招商引资"]
    assert doc.chunks[0].meta.masked


def test_a_pdf_spanning_pages_is_read_whole(tmp_path):
    lines = [f"第{i}句话说明全区工作进展。" for i in range(1, 61)]
    path = make_pdf(tmp_path / "long.pdf", lines)

    text = "".join(b.text for b in load(path).blocks)

    assert text == "".join(lines)


# --- bad input --------------------------------------------------------------------

def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 8)


def _undecodable(path: Path) -> None:
    path.write_bytes(bytes([0x81, 0x30, 0xFF, 0xFE, 0x80, 0x80, 0xA0, 0x7F]) * 200)


def _corrupt_docx(path: Path) -> None:
    make_docx(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a download cut short


def _docx_that_is_a_zip_of_something_else(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "这不是 Word 文档")


def _corrupt_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\ngarbage without xref\n")


BAD_FILES = {
    "an empty file": ("empty.txt", lambda p: p.write_bytes(b""), "file is empty", "空"),
    "a binary file": ("blob.txt", _binary, "binary", "二进制"),
    "an unsupported extension": ("sheet.xlsx", lambda p: p.write_bytes(b"PK\x03\x04"), "unsupported file type .xlsx", "不支持"),
    "a file with no extension": ("README", lambda p: p.write_text("一、概况", "utf-8"), "unsupported file type", "不支持"),
    "undecodable text": ("garbled.txt", _undecodable, "cannot decode", "编码"),
    "a truncated docx": ("cut.docx", _corrupt_docx, "docx", "损坏"),
    "a docx that is some other zip": ("other.docx", _docx_that_is_a_zip_of_something_else, "corrupt docx", "损坏"),
    "a corrupt pdf": ("broken.pdf", _corrupt_pdf, "corrupt pdf", "损坏"),
    "a pdf without a text layer": ("scan.pdf", make_blank_pdf, "no text layer", "文字层"),
    "a text file of blank lines": ("blank.txt", lambda p: p.write_text("\n \n\u3000\n", "utf-8"), "no text", "没有"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_input_gives_an_error_naming_the_file_and_the_reason(tmp_path, case):
    name, write, reason, reason_zh = BAD_FILES[case]
    path = tmp_path / name
    write(path)

    with pytest.raises(LoadError) as caught:
        load(path)

    assert str(caught.value).startswith(f"{name}: ")
    assert reason in str(caught.value)
    assert name in caught.value.message_zh and reason_zh in caught.value.message_zh


def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("全区经济平稳。" * 200, "utf-8")  # 4.2 kB

    with pytest.raises(LoadError, match=r"huge\.txt: file too large \(4200 bytes > 4096\)"):
        load(path, max_bytes=4096)


def test_the_size_cap_message_counts_in_the_same_megabytes_as_the_setting(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_bytes(b"a" * (3 * MB))

    with pytest.raises(LoadError) as caught:
        load(path, max_bytes=2 * MB)

    assert caught.value.message_zh == "文件“huge.txt”无法导入：文件过大（3.0 MB，上限 2.0 MB）"


def test_the_size_cap_comes_from_qa_max_file_mb(tmp_path, monkeypatch, make_index):
    from index.settings import IndexSettings

    monkeypatch.setenv("QA_MAX_FILE_MB", "0.004")
    assert IndexSettings().max_file_mb == 0.004
    (tmp_path / "huge.txt").write_text("全区经济平稳。" * 200, "utf-8")

    report = make_index(max_file_mb=IndexSettings().max_file_mb).indexer.build([tmp_path / "huge.txt"])

    assert [(r.status, r.error) for r in report.results] == [
        ("failed", "huge.txt: file too large (4200 bytes > 4194)")]


def test_a_build_reports_every_bad_file_and_indexes_the_good_ones(tmp_path, make_index):
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "good.txt", "一、概况\n全区经济平稳。\n")
    for name, write, _, _ in BAD_FILES.values():
        write(folder / name)
    (tmp_path / "named.xlsx").write_bytes(b"PK\x03\x04")

    index = make_index()
    report = index.indexer.build([folder, tmp_path / "named.xlsx"])

    assert [r.doc_id for r in report.by_status("added")] == ["good.txt"]
    # A folder scan passes over files it cannot index by name; a file named explicitly is reported.
    expected = {n for n, *_ in BAD_FILES.values() if Path(n).suffix in (".txt", ".docx", ".pdf")} | {"named.xlsx"}
    failed = {r.doc_id: r.error for r in report.failed}
    assert set(failed) == expected
    for doc_id, error in failed.items():
        assert error.startswith(f"{doc_id}: ")
    assert {c.meta.doc_id for c in index.store.all_chunks()} == {"good.txt"}


def test_two_files_with_the_same_name_in_different_folders_are_not_mixed_up(tmp_path, make_index):
    for folder, text in (("a", "甲区经济平稳。"), ("b", "乙区经济平稳。")):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder / "report.txt", f"一、概况\n{text}\n")

    index = make_index()
    first = index.indexer.build([tmp_path / "a", tmp_path / "b"])
    second = index.indexer.build([tmp_path / "a", tmp_path / "b"])

    assert [(r.status, r.path.parent.name) for r in first.results] == [("failed", "b"), ("added", "a")]
    assert "duplicate document id 'report.txt'" in first.failed[0].error
    assert [r.status for r in second.results] == ["failed", "unchanged"]
    assert [c.text for c in index.store.all_chunks()] == ["甲区经济平稳。"]


def test_a_file_named_twice_is_indexed_once(tmp_path, make_index):
    path = _write(tmp_path / "report.txt", "一、概况\n全区经济平稳。\n")

    report = make_index().indexer.build([tmp_path, path])

    assert [r.status for r in report.results] == ["added"]


# --- the index keeps what it had when a file goes bad -----------------------------

GOOD_THEN_BAD = {
    "a txt that becomes empty": ("notes.txt", lambda p: _write(p, "一、概况\n全区经济平稳。\n"), lambda p: p.write_bytes(b"")),
    "a txt that becomes binary": ("notes.txt", lambda p: _write(p, "一、概况\n全区经济平稳。\n"), _binary),
    "a txt that becomes undecodable": ("notes.txt", lambda p: _write(p, "一、概况\n全区经济平稳。\n"), _undecodable),
    "a txt that grows over the cap": ("notes.txt", lambda p: _write(p, "一、概况\n全区经济平稳。\n"),
                                      lambda p: _write(p, "全区经济平稳。" * 3000)),
    "a docx that gets corrupted": ("report.docx", lambda p: make_docx(p, table=False), _corrupt_docx),
    "a pdf that gets corrupted": ("report.pdf", lambda p: make_pdf(p, ["一、概况", "全区经济平稳。"]), _corrupt_pdf),
    "a pdf replaced by a scan": ("report.pdf", lambda p: make_pdf(p, ["一、概况", "全区经济平稳。"]), make_blank_pdf),
}


@pytest.mark.parametrize("case", list(GOOD_THEN_BAD), ids=list(GOOD_THEN_BAD))
def test_the_index_keeps_what_it_had_when_a_file_goes_bad(tmp_path, make_index, case):
    name, write_good, write_bad = GOOD_THEN_BAD[case]
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / name
    write_good(path)
    index = make_index(max_file_mb=0.05)
    assert index.indexer.build([folder], prune=True).by_status("added")
    before = index.store.all_chunks()

    write_bad(path)
    report = index.indexer.build([folder], prune=True)

    assert [(r.doc_id, r.status) for r in report.results] == [(name, "failed")]
    assert report.failed[0].error.startswith(f"{name}: ")
    assert [(c.id, c.text) for c in index.store.all_chunks()] == [(c.id, c.text) for c in before]
    assert index.keywords.search("经济", k=5)


# --- limits: every one fails with a Chinese reason, before the expensive work -------------------

def _docx_with_body(path: Path, body_chunks, template: Path) -> Path:
    """A docx whose word/document.xml is streamed from ``body_chunks``; other parts from ``template``."""
    head = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            if member.filename != "word/document.xml":
                archive.writestr(member, source.read(member))
        with archive.open("word/document.xml", "w") as part:
            part.write(head)
            for chunk in body_chunks:
                part.write(chunk)
            part.write(b"</w:body></w:document>")
    return path


def _repeat(unit: bytes, total: int):
    """``total`` bytes of ``unit`` repeated, in 1 MiB chunks, so no test holds them all."""
    chunk = unit * (MB // len(unit))
    for _ in range(total // len(chunk)):
        yield chunk


PARAGRAPH_XML = "<w:p><w:r><w:t>全区经济平稳增长，生态环境持续改善。</w:t></w:r></w:p>".encode()


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """The issue's files: a ~1 MB zip bomb (1 GiB inside) and a ~700 KB docx with 200 MiB of paragraphs."""
    folder = tmp_path_factory.mktemp("bombs")
    template = make_docx(folder / "template.docx", table=False)
    bomb = _docx_with_body(folder / "bomb.docx", _repeat(b"A", 1024 * MB), template)
    paragraphs = _docx_with_body(folder / "paragraphs.docx", _repeat(PARAGRAPH_XML, 200 * MB), template)
    assert bomb.stat().st_size < 2 * MB and paragraphs.stat().st_size < MB
    return {"bomb": bomb, "paragraphs": paragraphs, "template": template}


_MEASURE = """
import json, sys
from pathlib import Path
import lxml.etree, pypdf  # imported up front: their size is not the load's
from index.loaders import LoadError, LoadLimits, load_document

def kb(field):
    return int(next(l.split()[1] for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(field + ":")))

before = kb("VmRSS")
try:
    load_document(sys.argv[1], 20 << 20, LoadLimits(**json.loads(sys.argv[2])))
    outcome = "loaded"
except LoadError as exc:
    outcome = exc.message_zh
print(json.dumps({"growth_mb": (kb("VmHWM") - before) / 1024, "outcome": outcome}, ensure_ascii=False))
"""


def load_in_child(path: Path, **limits) -> dict:
    """Load in a fresh interpreter; returns the Chinese outcome and the peak memory growth in MiB."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _MEASURE, str(path), json.dumps(limits)],
                            cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("name, limits, reason_zh", [
    ("bomb", {}, r"文件解压后过大（约 102\d MB，上限 50 MB），可能是异常文件"),
    ("paragraphs", {}, r"文件解压后过大（约 20\d MB，上限 50 MB），可能是异常文件"),
    ("bomb", {"max_unpacked_bytes": 2 << 30}, r"文件压缩比异常（约 \d+:1），可能是异常文件"),
    # With the size checks off, the stream stops at the paragraph cap instead of reading on.
    ("paragraphs", {"max_unpacked_bytes": 2 << 30, "max_compression_ratio": 1e6}, "段落过多（超过 20000 段）"),
], ids=["zip bomb", "200 MB of paragraphs", "zip bomb by its ratio", "200 MB of paragraphs, streamed"])
def test_the_issues_decompression_bombs_are_refused_with_little_memory(bombs, name, limits, reason_zh):
    measured = load_in_child(bombs[name], **limits)

    assert re.fullmatch(f"文件“{name}.docx”无法导入：" + reason_zh, measured["outcome"])
    assert measured["growth_mb"] < 500


@pytest.mark.slow
def test_a_docx_whose_zip_directory_understates_a_size_is_read_no_further(bombs, tmp_path):
    data = bytearray(bombs["paragraphs"].read_bytes())
    entry = data.rindex(b"word/document.xml") - 46  # the central directory is last in a zip
    assert data[entry:entry + 4] == b"PK\x01\x02"
    data[entry + 24:entry + 28] = (1000).to_bytes(4, "little")  # stated size 1000 bytes, not 200 MiB
    path = tmp_path / "liar.docx"
    path.write_bytes(bytes(data))

    measured = load_in_child(path)

    assert measured["outcome"] == "文件“liar.docx”无法导入：docx 文件已损坏或不是有效的 Word 文档"
    assert measured["growth_mb"] < 500


def _paragraphs_docx(path: Path, count: int, xml: bytes = PARAGRAPH_XML) -> Path:
    template = make_docx(path.with_name("template.docx"), table=False)
    return _docx_with_body(path, [xml * count], template)


def _nested_docx(path: Path) -> Path:
    depth = 5000
    body = b"<w:sdt>" * depth + PARAGRAPH_XML + b"</w:sdt>" * depth
    return _docx_with_body(path, [body], make_docx(path.with_name("template.docx"), table=False))


def _entity_bomb_docx(path: Path) -> Path:
    """The "billion laughs": nested entities that would expand to gigabytes if they were expanded."""
    entities = '<!ENTITY a0 "全区经济平稳。">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [{entities}]>'
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
           '<w:p><w:r><w:t>&a9;</w:t></w:r></w:p></w:body></w:document>')
    template = make_docx(path.with_name("template.docx"), table=False)
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            body = xml.encode() if member.filename == "word/document.xml" else source.read(member)
            archive.writestr(member.filename, body)
    return path


def _many_members_docx(path: Path) -> Path:
    make_docx(path)
    with zipfile.ZipFile(path, "a") as archive:
        for i in range(11):
            archive.writestr(f"extra/part{i}.xml", "<a/>")
    return path


def _pdf_of_two_pages(path: Path) -> Path:
    return make_pdf(path, [f"第{i}句话说明全区工作进展。" for i in range(1, 61)])


GIANT_PARAGRAPH_XML = ("<w:p>" + "<w:r><w:t>字</w:t></w:r>" * 600 + "</w:p>").encode()
LIMITS = {
    "txt lines": ("a.txt", lambda p: _write(p, "全区经济平稳。\n" * 11), {"max_paragraphs": 10},
                  "too many paragraphs (over 10)", "段落过多（超过 10 段）"),
    "txt characters": ("a.txt", lambda p: _write(p, "全区经济平稳。" * 2), {"max_text_chars": 10},
                       "too much text (over 10 characters)", "文字过多（超过 10 字）"),
    "md lines": ("a.md", lambda p: _write(p, "# 概况\n" + "全区经济平稳。\n" * 10), {"max_paragraphs": 10},
                 "too many paragraphs", "段落过多（超过 10 段）"),
    "docx paragraphs": ("a.docx", lambda p: _paragraphs_docx(p, 11), {"max_paragraphs": 10},
                        "too many paragraphs", "段落过多（超过 10 段）"),
    "docx characters": ("a.docx", lambda p: _paragraphs_docx(p, 2), {"max_text_chars": 20},
                        "too much text", "文字过多（超过 20 字）"),
    "docx unpacked size": ("a.docx", lambda p: _paragraphs_docx(p, 40_000), {"max_unpacked_bytes": MB},
                           "unpacks to", "文件解压后过大（约 4 MB，上限 1 MB），可能是异常文件"),
    "docx compression ratio": ("a.docx", lambda p: _paragraphs_docx(p, 40_000), {"max_compression_ratio": 10},
                               "compressed", "文件压缩比异常"),
    "docx parts": ("a.docx", _many_members_docx, {"max_zip_members": 10},
                   "members (cap 10)", "文件内部结构异常"),
    "docx giant paragraph": ("a.docx", lambda p: _paragraphs_docx(p, 1, GIANT_PARAGRAPH_XML), {"max_held_elements": 1000}, "XML elements in one block", "文档结构异常（单个段落或表格过于复杂）"),
    "pdf pages": ("a.pdf", _pdf_of_two_pages, {"max_pdf_pages": 1}, "2 pages (cap 1)", "页数过多（2 页，上限 1 页）"),
    "pdf characters": ("a.pdf", _pdf_of_two_pages, {"max_text_chars": 100}, "too much text", "文字过多（超过 100 字）"),
    "docx nested 5000 deep": ("a.docx", _nested_docx, {}, "corrupt docx", "docx 文件已损坏或不是有效的 Word 文档"),
    "docx entity bomb": ("a.docx", _entity_bomb_docx, {}, "corrupt docx", "docx 文件已损坏或不是有效的 Word 文档"),
}


@pytest.mark.parametrize("case", list(LIMITS), ids=list(LIMITS))
def test_each_limit_fails_with_a_chinese_reason(tmp_path, case):
    from index.loaders import LoadLimits

    name, write, limits, reason, reason_zh = LIMITS[case]
    path = tmp_path / name
    write(path)

    with pytest.raises(LoadError) as caught:
        load_document(path, 20 * MB, LoadLimits(**limits))

    assert reason in str(caught.value)
    assert caught.value.message_zh.startswith(f"文件“{name}”无法导入：{reason_zh}")


@pytest.mark.parametrize("name, write", [
    ("a.txt", lambda p: _write(p, REPORT_TEXT)), ("a.md", lambda p: _write(p, "# 概况\n全区经济平稳。\n")),
    ("a.docx", make_docx), ("a.pdf", _pdf_of_two_pages),
], ids=["txt", "md", "docx", "pdf"])
def test_a_load_that_runs_out_of_time_says_so(tmp_path, name, write):
    from index.loaders import LoadLimits

    path = tmp_path / name
    write(path)
    assert load_document(path, 20 * MB).blocks  # loads under the default limits

    with pytest.raises(LoadError) as caught:
        load_document(path, 20 * MB, LoadLimits(max_seconds=0))

    assert caught.value.message_zh == f"文件“{name}”无法导入：文件处理超时（超过 0 秒），请检查文件或拆分后再上传"


def test_the_load_limits_come_from_qa_settings(tmp_path, monkeypatch, make_index):
    from index.loaders import LoadLimits
    from index.settings import IndexSettings

    for name, value in {"MAX_LOAD_SECONDS": "30", "MAX_PARAGRAPHS": "3", "MAX_PDF_PAGES": "7",
                        "MAX_TEXT_CHARS": "9000", "MAX_UNPACKED_MB": "2"}.items():
        monkeypatch.setenv(f"QA_{name}", value)
    assert LoadLimits.from_settings(IndexSettings()) == LoadLimits(
        max_seconds=30, max_paragraphs=3, max_pdf_pages=7, max_text_chars=9000, max_unpacked_bytes=2 * MB)
    _write(tmp_path / "long.txt", "全区经济平稳。\n" * 4)

    report = make_index().indexer.build([tmp_path / "long.txt"])

    assert [(r.status, r.error, r.error_zh) for r in report.results] == [
        ("failed", "long.txt: too many paragraphs (over 3)", "文件“long.txt”无法导入：段落过多（超过 3 段）")]
