"""The report viewer (what a [n] opens) and the pages' own HTML, through FastAPI's test client.

Layout and escaping are checked here, not search quality, so the bundled report is indexed with the
stand-in embedding model (see conftest).
"""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index.meta import ChunkMeta
from index.store import StoredChunk
from web.app import create_app
from web.viewer import Block, Heading, parse_at, report_html, report_layout

LOCAL = "http://127.0.0.1"
DOC = "district-report-2022-h1.txt"


def chunk(text: str, start: int, path: str = "", doc: str = "r.txt", title: str = "示例报告") -> StoredChunk:
    return StoredChunk(f"c{start}", text, ChunkMeta(doc, title, start=start, end=start + len(text), section_path=path))


@pytest.fixture(scope="module")
def api(fake_report_bot, fake_report_settings):
    with TestClient(create_app(fake_report_bot, fake_report_settings, ui=False), base_url=LOCAL) as client:
        yield client


@pytest.mark.parametrize("value, expected", [("64-361", (64, 361)), ("361-64", None), ("1-", None),
                                             ("a-b", None), (None, None), ("1-2-3", None)])
def test_at_reads_start_and_end(value, expected):
    assert parse_at(value) == expected


def test_the_layout_follows_the_outline_and_marks_the_passage():
    chunks = [chunk("各位代表：", 0),
              chunk("（一）生态环境。治理河道十条。", 20, "一、上半年工作 > （一）生态环境"),
              chunk("新增绿地五处。", 35, "一、上半年工作 > （一）生态环境"),
              chunk("二是抓民生。办实事。", 50, "一、上半年工作 > （二）民生"),
              chunk("下半年继续。", 80, "二、下半年计划")]
    outline, body = report_layout(chunks[::-1], (35, 42))
    assert [(h.level, h.title) for h in outline] == [(1, "一、上半年工作"), (2, "（一）生态环境"), (2, "（二）民生"),
                                                     (1, "二、下半年计划")]
    blocks = [b for b in body if isinstance(b, Block)]
    assert blocks[1].runs == [("治理河道十条。", False), ("新增绿地五处。", True)]  # inline heading shown once
    assert blocks[1].anchor == "passage" and sum(1 for b in blocks if b.anchor) == 1
    assert isinstance(body[0], Block) and isinstance(body[1], Heading)
    assert [h.title for h in outline if h.holds_passage] == ["一、上半年工作", "（一）生态环境"]


def test_the_page_escapes_everything_and_links_the_outline():
    page = report_html([chunk("<script>alert(1)</script>正文。", 0, "一、<b>部分</b>", title="报告<i>")], (0, 5), "")
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "<b>部分" not in page
    assert '<html lang="zh-CN">' in page and "<title>报告&lt;i&gt; · 原文</title>" in page
    assert '<a href="#s1" aria-current="location" class="qa-here">一、&lt;b&gt;部分&lt;/b&gt;</a>' in page
    assert '<h2 id="s1">' in page
    assert '<p id="passage" tabindex="-1"><mark>' in page


def test_a_citation_link_opens_the_whole_report_at_the_passage(api, fake_report_bot):
    cited = fake_report_bot.ask("上半年生态环境做了什么").sources[0]
    response = api.get(f"/reports/{cited.doc}", params={"at": f"{cited.start}-{cited.end}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.count('id="passage"') == 1 and "<mark>" in page
    marked = page.split('id="passage"', 1)[1].split("</p>", 1)[0]
    assert cited.text[-20:] in marked
    assert "（六）全力整治生态环境" in page and "二、2022年下半年工作计划" in page  # the whole report
    assert "高亮部分是回答引用的原文。带 * 的数字报告未公开。" in page
    assert page.index('id="passage"') > page.index("（六）全力整治生态环境</h3>")


def test_a_missing_report_or_a_bad_range_is_handled_in_chinese(api):
    missing = api.get("/reports/no-such-report.txt", params={"at": "1-2"})
    assert missing.status_code == 404 and "没有找到这份报告" in missing.text
    whole = api.get(f"/reports/{DOC}", params={"at": "oops"})
    assert whole.status_code == 200 and 'id="passage"' not in whole.text and "<mark>" not in whole.text


def test_the_pages_say_they_are_chinese_whatever_encoding_is_asked(fake_report_bot, fake_report_settings):
    with TestClient(create_app(fake_report_bot, fake_report_settings), base_url=LOCAL) as client:
        for path, classes in (("/", "qa-page"), ("/embed/", "qa-page qa-embed")):
            for encoding in ("identity", "gzip, br"):
                page = client.get(path, headers={"Accept-Encoding": encoding})
                assert page.status_code == 200
                assert page.text.startswith(f'<!doctype html>\n<html class="{classes}"\n\tlang="zh-CN"')
                assert int(page.headers["content-length"]) == len(page.content)
