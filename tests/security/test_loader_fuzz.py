"""Property-based fuzzing of every loader: random and mutated files load or fail with a LoadError.

Whatever the bytes, ``load_document`` either returns a document or raises a LoadError with a Chinese
reason: never another exception (that would reach users as a 500), and never past its time limit.
The examples are derived from the test names (derandomized, no example database), so runs repeat.
"""
from __future__ import annotations

import functools
import io
import re
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from index.loaders import LoadedDocument, LoadError, LoadLimits, load_document
from tests.test_loading import REPORT_TEXT, make_docx, make_pdf

LIMITS = LoadLimits(max_seconds=10)
# The loader's own time limit bounds each example; a wall-clock deadline would only flake on a busy machine.
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


@functools.cache
def seed(suffix: str) -> bytes:
    """One valid file of each type, to mutate (a plain function: a fixture's value would fill failure reports)."""
    if suffix in (".txt", ".md"):
        return {".txt": REPORT_TEXT.encode("gb18030"),
                ".md": "# 下半年工作计划\n\n## 招商引资\n\n坚持底线思维。\n".encode("utf-8")}[suffix]
    with tempfile.TemporaryDirectory() as folder:
        if suffix == ".docx":
            return make_docx(Path(folder) / "seed.docx", title="区政府工作报告").read_bytes()
        lines = ["一、上半年工作完成情况", "（一）经济发展稳中向好。GDP同比增长*%。", "二、下半年工作计划"]
        return make_pdf(Path(folder) / "seed.pdf", lines, title="区工作报告").read_bytes()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check_load(folder: Path, suffix: str, data: bytes) -> None:
    """The property: a document or a LoadError naming the file with a Chinese reason, within the time limit."""
    path = folder / f"fuzzed{suffix}"
    path.write_bytes(data)
    started = time.monotonic()
    try:
        result = load_document(path, 20 * 1024 * 1024, LIMITS)
    except LoadError as exc:
        assert str(exc).startswith(f"{path.name}: ")
        assert _CHINESE.search(exc.reason_zh), exc.reason_zh
        assert exc.message_zh.startswith(f"文件“{path.name}”无法导入：")
        event(f"refused: {exc.reason_zh}")  # shown by --hypothesis-show-statistics
    else:
        assert isinstance(result, LoadedDocument)
        assert any(block.text.strip() for block in result.blocks)
        event("loaded")
    # The time limit is checked between paragraphs and pages, so allow it one slow step on a busy machine.
    assert time.monotonic() - started < LIMITS.max_seconds + 20


# --- byte-level mutations -------------------------------------------------------------------------

@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """``seed`` with a few bytes flipped, inserted or deleted, and maybe cut short."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if operation == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif operation == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif operation == "truncate":
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".docx", ".pdf"])
@settings(FUZZ, max_examples=60)
@given(data=st.binary(min_size=1, max_size=4096))
def test_random_bytes_load_or_fail_with_a_load_error(workdir, suffix, data):
    check_load(workdir, suffix, data)


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_mutated_text_files_load_or_fail_with_a_load_error(workdir, suffix, data):
    check_load(workdir, suffix, data.draw(mutated(seed(suffix))))


@pytest.mark.parametrize("suffix", [".docx", ".pdf"])
@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_mutated_docx_and_pdf_files_load_or_fail_with_a_load_error(workdir, suffix, data):
    check_load(workdir, suffix, data.draw(mutated(seed(suffix))))


# --- zip-level mutations of a docx ---------------------------------------------------------------

def _members(docx: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(docx)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        for name, body in members:
            archive.writestr(name, body)
    return buffer.getvalue()


@st.composite
def rezipped(draw, docx: bytes) -> bytes:
    """The docx's parts swapped, dropped, duplicated or corrupted, in a well-formed zip."""
    members = _members(docx)
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["swap", "drop", "duplicate", "mutate", "replace"]))
        i = draw(st.integers(0, len(members) - 1))
        j = draw(st.integers(0, len(members) - 1))
        name, body = members[i]
        if operation == "swap":
            members[i], members[j] = (name, members[j][1]), (members[j][0], body)
        elif operation == "drop" and len(members) > 1:
            del members[i]
        elif operation == "duplicate":
            members.append((name, draw(mutated(body)) if body else body))
        elif operation == "mutate" and body:
            members[i] = (name, draw(mutated(body)))
        elif operation == "replace":
            members[i] = (name, draw(st.binary(max_size=512)))
    return _zip(members)


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_docx_with_swapped_dropped_or_corrupted_parts_loads_or_fails_with_a_load_error(workdir, data):
    check_load(workdir, ".docx", data.draw(rezipped(seed(".docx"))))
