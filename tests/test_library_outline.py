"""The 140 real reports of ../shared/corpus/library/: each gets a title, place, year and an outline with
its review and plan parts. Parsed without embedding (loader, cleaning, identity, outline, chunking)."""
from __future__ import annotations

import pytest

from index.chunking import chunk_document
from index.loaders import load_document
from index.periods import DONE, PLAN
from tests.conftest import SHARED

LIBRARY = SHARED / "corpus" / "library"
MB = 1024 * 1024
# Files converted from PDF that arrive as one to three run-on paragraphs.
RUN_ON = {"枣庄", "池州", "泸州", "潍坊", "蚌埠", "防城港", "合肥"}
# Files that hold the State Council's report, whatever their names say.
STATE_COUNCIL = {"台州", "襄阳", "贵阳"}

pytestmark = pytest.mark.skipif(not LIBRARY.is_dir(), reason=f"the report library is not at {LIBRARY}")


def _parse(name_as: str | None):
    docs = {}
    for path in sorted(LIBRARY.glob("*.docx")):
        docs[path.stem] = chunk_document(load_document(path, 50 * MB), name_as or path.name, 320)
    return docs


@pytest.fixture(scope="module")
def library():
    return _parse(None)


def _has_part(doc, phase: str) -> bool:
    return any(s.parent is None and s.phase == phase for s in doc.outline.sections)


def test_every_report_has_a_title_place_and_year(library):
    identities = {name: doc.identity for name, doc in library.items()}

    assert len(identities) == 140
    assert sum(bool(i.title) for i in identities.values()) == 140
    assert sum(bool(i.place) for i in identities.values()) == 140
    assert sum(bool(i.year) for i in identities.values()) == 140
    assert sum(i.kind == "annual" for i in identities.values()) == 140
    # The State Council's report is the nation's; every other place is the one the file is named after.
    assert {n for n, i in identities.items() if i.place == "全国"} == STATE_COUNCIL
    assert sum(i.place.startswith(n) for n, i in identities.items()) == 137
    assert all(i.title.startswith(i.place if i.place != "全国" else "国务院") for i in identities.values())
    # One file holds the 2023 report (reviewing 2022); the others are 2024 reports.
    assert {n: (i.year, i.review_year, i.plan_year) for n, i in identities.items() if i.year != 2024} == {
        "池州": (2023, 2022, 2023)}


def test_the_text_alone_names_the_place_of_most_reports_and_never_a_wrong_one():
    found = {name: doc.identity.place for name, doc in _parse("report.docx").items()}

    assert sum(bool(place) for place in found.values()) == 127
    assert all(place.startswith(name) or name in STATE_COUNCIL for name, place in found.items() if place)


def test_every_report_but_one_has_its_review_and_plan_parts(library):
    short = {name for name, doc in library.items() if not (_has_part(doc, DONE) and _has_part(doc, PLAN))}

    # 日照.docx ends after its review: the plans are not in the file.
    assert short == {"日照"}
    assert _has_part(library["日照"], DONE)


def test_run_on_reports_are_reflowed_into_parts_and_sections(library):
    for name in RUN_ON:
        doc = library[name]
        assert _has_part(doc, DONE) and _has_part(doc, PLAN), name
        assert sum(s.level == 2 for s in doc.outline.sections) >= 5, name
        assert max(len(c.text) for c in doc.chunks) <= 320 * 1.25, name


def test_every_chunk_lies_within_the_text_and_carries_its_report(library):
    for name, doc in library.items():
        assert doc.chunks, name
        for chunk in doc.chunks:
            assert doc.text[chunk.meta.start:chunk.meta.end] == chunk.text
            assert chunk.meta.identity == doc.identity
