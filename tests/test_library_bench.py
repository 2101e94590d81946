"""The library scale benchmark: the synthetic reports it builds its large libraries from, which reports
make a library of N, and the table and growth ratios it reports. Parsed without embedding."""
from __future__ import annotations

import json

import pytest

from bot import library_report
from bot.library_bench import plan_library, seed_cache
from bot.synthetic_library import REVIEW, PLANS, read_sources, synthetic_reports, write_reports
from index.chunking import chunk_document, read_document
from index.embedding_cache import EmbeddingCache
from index.loaders import load_document
from index.periods import DONE, PLAN
from tests.conftest import ROOT, SHARED

LIBRARY = SHARED / "corpus" / "library"
MB = 1024 * 1024
needs_library = pytest.mark.skipif(not LIBRARY.is_dir(), reason=f"the report library is not at {LIBRARY}")


def _chunk_texts(path) -> list[str]:
    return [c.embed_text for c in chunk_document(load_document(path, 50 * MB), path.name, 320).chunks]


@pytest.fixture(scope="module")
def source_paths():
    return sorted(LIBRARY.glob("*.docx"))[:16]


@pytest.fixture(scope="module")
def sources(source_paths):
    return read_sources(source_paths)


@pytest.fixture(scope="module")
def written(sources, tmp_path_factory):
    reports = synthetic_reports(sources, 6, seed=7)
    return reports, write_reports(reports, tmp_path_factory.mktemp("synthetic"))


@needs_library
def test_the_same_seed_gives_the_same_reports_and_another_seed_others(sources):
    first, again = synthetic_reports(sources, 6, seed=7), synthetic_reports(sources, 6, seed=7)
    assert [(r.file_name, r.text) for r in first] == [(r.file_name, r.text) for r in again]
    other = synthetic_reports(sources, 6, seed=8)
    assert [r.place for r in other] != [r.place for r in first]


@needs_library
def test_each_report_combines_parts_of_different_real_reports_under_a_place_of_its_own(sources, written):
    reports, _ = written
    real_places = {s.place for s in sources}
    assert len({r.place for r in reports}) == len(reports)
    for report in reports:
        assert report.place not in real_places and report.place[-1] in "市县区" and len(report.place) == 3
        assert [p.role for p in report.parts][:2] == [REVIEW, PLANS]
        assert len({p.doc_id for p in report.parts}) == len(report.parts)


@needs_library
def test_a_synthetic_report_is_read_as_its_place_and_year_with_review_and_plan_parts(written):
    reports, paths = written
    for report, path in zip(reports, paths):
        identity, outline = read_document(load_document(path, 50 * MB), path.name)
        assert (identity.place, identity.year, identity.kind) == (report.place, 2024, "annual")
        assert identity.title == f"{report.place}2024年政府工作报告"
        phases = [s.phase for s in outline.sections if s.parent is None]
        assert DONE in phases and PLAN in phases


@needs_library
def test_section_text_is_kept_verbatim_so_its_chunks_are_the_real_reports_chunks(written, source_paths):
    reports, paths = written
    real_chunks = {path.name: set(_chunk_texts(path)) for path in source_paths}
    for report, path in zip(reports, paths):
        text = path.read_text(encoding="utf-8")
        assert all(part.text in text for part in report.parts)
        from_sources = set().union(*(real_chunks[p.doc_id] for p in report.parts))
        chunks = _chunk_texts(path)
        new = [c for c in chunks if c not in from_sources]
        # only the title and the opening ("我代表…人民政府…") are text of its own
        opening = report.text.split(report.parts[0].text)[0]
        assert len(new) <= 3 and all(c in opening for c in new), new


@needs_library
def test_writing_again_leaves_unchanged_files_alone(written):
    reports, paths = written
    stamps = [p.stat().st_mtime_ns for p in paths]
    write_reports(reports, paths[0].parent)
    assert [p.stat().st_mtime_ns for p in paths] == stamps


def test_a_library_of_n_holds_the_bundled_reports_then_real_ones_then_synthetic_never_the_held_out(tmp_path):
    bundled = [tmp_path / f"b{i}.txt" for i in range(3)]
    real = [tmp_path / f"r{i}.docx" for i in range(5)]
    small = plan_library(6, bundled, real)
    assert (len(small.bundled), len(small.real), small.synthetic) == (3, 3, 0)
    large = plan_library(20, bundled, real)
    assert (len(large.real), large.synthetic) == (4, 13)
    assert large.held_out == real[-1] and large.held_out not in large.real + large.bundled
    assert real[-1] not in large.sources
    assert plan_library(6, bundled, real, max_real=1).synthetic == 2
    assert plan_library(6, bundled, real, max_real=1).sources == (sorted(real)[0],)
    with pytest.raises(ValueError):
        plan_library(2, bundled, real)


def test_seeding_copies_only_the_vectors_the_shared_cache_lacks(tmp_path):
    seed = EmbeddingCache(tmp_path / "seed.sqlite3", "m")
    seed.put_many({"甲": [1.0, 0.0], "乙": [0.0, 1.0]})
    shared = EmbeddingCache(tmp_path / "shared.sqlite3", "m")
    shared.put_many({"甲": [1.0, 0.0]})
    assert seed_cache(tmp_path / "shared.sqlite3", tmp_path / "seed.sqlite3") == 1
    assert set(shared.get_many(["甲", "乙"])) == {"甲", "乙"}
    assert seed_cache(tmp_path / "shared.sqlite3", tmp_path / "seed.sqlite3") == 0


def _row(n: int, p50: float, p95: float, rss: float, cold: float) -> dict:
    return {"library": {"n": n, "bundled": 3, "real": min(n - 3, 139), "synthetic": max(0, n - 142)},
            "build": {"chunks": n * 80, "build_s": n * 2.0, "chunks_per_s": 40.0, "embedded_fresh": 10,
                      "from_cache": n * 700},
            "serve": {"cold_start_s": cold, "first_answer_ms": 300.0, "answer_ms": {"p50": p50, "p95": p95},
                      "peak_rss_mb": rss},
            "eval": {"hit@3": 0.9}, "disk": {"index_mb": n * 1.5},
            "add_remove": {"add_s": 30.0, "remove_s": 0.5, "chunks": 90}}


FAKE_RUNS = {"1000": _row(1000, 400.0, 900.0, 2400.0, 12.0), "10": _row(10, 100.0, 150.0, 600.0, 4.0),
             "100": _row(100, 200.0, 300.0, 800.0, 6.0)}


def test_growth_ratios_compare_consecutive_sizes():
    ratios = library_report.growth(FAKE_RUNS)
    assert [(g["from"], g["to"]) for g in ratios] == [(10, 100), (100, 1000)]
    last = ratios[-1]["ratios"]
    assert last["answer p50 ms"] == 2.0 and last["answer p95 ms"] == 3.0
    assert last["peak RSS MB"] == 3.0 and last["cold start s"] == 2.0 and last["chunks"] == 10.0


def test_the_table_has_a_row_per_size_in_order_and_the_growth_rows():
    results = library_report.merge(None, FAKE_RUNS, {"machine": "test"})
    table = library_report.markdown_table(results)
    lines = table.splitlines()
    assert [line.split("|")[1].strip() for line in lines[2:5]] == ["10", "100", "1000"]
    assert "| 100→1000 | 10.0 |" in table and "3+139+858" in table
    assert "- machine: test" in library_report.markdown_document(results)


def test_a_missing_step_shows_as_a_dash_and_merging_keeps_earlier_sizes():
    earlier = library_report.merge(None, {"10": FAKE_RUNS["10"]}, {})
    partial = {"build": {"chunks": 900, "build_s": 30.0}, "notes": ["read from a log"]}
    merged = library_report.merge(json.loads(json.dumps(earlier)), {"real": partial}, {})
    assert set(merged["runs"]) == {"10", "real"}
    real_row = library_report.markdown_table(merged).splitlines()[3]
    assert real_row.startswith("| 143 (real") and "| - |" in real_row
    assert "N=real: read from a log" in library_report.markdown_document(merged)


def test_the_plot_is_drawn_or_the_way_to_install_matplotlib_is_named(tmp_path):
    results = library_report.merge(None, FAKE_RUNS, {})
    messages = library_report.write(results, tmp_path)
    assert (tmp_path / "library-scale.md").is_file() and json.loads((tmp_path / "library-scale.json").read_text())
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install" in messages[-1]
    else:
        assert (tmp_path / "library-scale.png").stat().st_size > 1000


def test_the_bench_dispatches_library_runs_and_asks_for_a_size():
    from bot import bench

    with pytest.raises(SystemExit):
        bench.main(["--real-dir", str(ROOT / "data")])  # a library option but neither a size nor --real
