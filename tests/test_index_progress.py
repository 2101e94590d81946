"""Progress while indexing: the count covers every text to embed, and the 文档 tab says how long is left."""
from __future__ import annotations

from pathlib import Path

import pytest

from index.pipeline import sentence_records, texts_needed
from tests.conftest import CULTURE, ECONOMY
from web.documents import Library, ProgressLine


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_progress_line_estimates_the_time_left_from_the_rate_so_far():
    clock = Clock()
    line = ProgressLine(clock)

    assert line(40, 480, "report.txt") == "正在导入 report.txt：已处理 40/480 段（正在估算剩余时间）"
    clock.now += 10
    assert line(120, 480, "report.txt") == "正在导入 report.txt：已处理 120/480 段（约 45 秒）"  # 8 a second
    clock.now += 10
    assert line(200, 480, "report.txt") == "正在导入 report.txt：已处理 200/480 段（约 35 秒）"
    assert line(200, 4000, "big.txt").endswith("（约 8 分钟）")
    assert line(480, 480, "report.txt") == "正在导入 report.txt：已处理 480/480 段"


@pytest.fixture
def reports(tmp_path) -> dict[str, Path]:
    folder = tmp_path / "uploads"
    folder.mkdir()
    paths = {"economy.txt": folder / "economy.txt", "culture.md": folder / "culture.md"}
    paths["economy.txt"].write_text(ECONOMY, "utf-8")
    paths["culture.md"].write_text(CULTURE, "utf-8")
    return paths


def test_an_import_reports_progress_over_every_text_of_every_document(make_index, reports):
    index = make_index()
    calls: list[tuple[int, int, str]] = []

    outcomes = Library(index, index.settings).add(list(reports.items()), progress=lambda *a: calls.append(a))

    assert [o.ok for o in outcomes] == [True, True]
    documents = index.indexer.prepare(list(reports.values())).documents
    total = sum(texts_needed(d.doc, sentence_records(d.doc)) for d in documents)
    assert total > sum(len(d.doc.chunks) for d in documents)  # sentences and titles count too
    assert {t for _, t, _ in calls} == {total}
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls) and calls[-1][0] == total
    assert calls[0][2] == "economy.txt" and calls[-1][2] == "culture.md"  # in upload order


def test_the_upload_handler_shows_the_progress_line(make_index, reports, tmp_path):
    from web.auth import AdminGate
    from web.documents_tab import DocumentsTab

    index = make_index(data_dir=tmp_path / "data")
    tab = DocumentsTab(Library(index, index.settings), AdminGate("secret"), reports["culture.md"].parent, lambda: [])
    shown: list[str] = []

    def progress(value, desc=None, unit=None):
        shown.append(desc)

    result = tab.upload([str(reports["culture.md"])], "secret", False, progress=progress)

    assert result[0] == "已导入“culture.md”：1 个片段"
    assert shown[0] == "正在导入……"
    assert any(d.startswith("正在导入 culture.md：已处理 ") for d in shown[1:])
    assert shown[-1].endswith(" 段")  # the last report: all done, nothing left to estimate
