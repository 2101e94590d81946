"""``python -m bot.loadtest``: a short run against the real app prints a table with no errors."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s*$")


def loadtest(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.loadtest", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_a_short_run_prints_a_table_without_errors(app, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps({"q": q}, ensure_ascii=False)
                                   for q in ["上半年生态环境做了什么？", "下半年有哪些工作计划？"]), encoding="utf-8")
    result = loadtest("--url", app.url, "--clients", "1,2", "--seconds", "2", "--questions", str(questions))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split() == ["clients", "requests", "answers/s", "p50", "ms", "p95", "ms", "errors"]
    rows = [ROW.match(line) for line in lines[2:]]
    assert [int(r.group(1)) for r in rows] == [1, 2], result.stdout
    for row in rows:
        requests, rate, p50, p95, errors = int(row[2]), float(row[3]), float(row[4]), float(row[5]), int(row[6])
        assert requests > 0 and rate > 0 and 0 < p50 <= p95 and errors == 0, row[0]


def test_the_built_in_questions_serve_when_no_file_is_given():
    from bot import loadtest as tool

    assert [b["question"] for b in tool.load_questions(None)] == tool.BUILTIN_QUESTIONS


@pytest.mark.parametrize("url", ["http://example.com:7860", "http://10.0.0.5:7860", "https://127.0.0.1:7860"])
def test_only_this_machine_can_be_loaded(url):
    result = loadtest("--url", url, "--clients", "1", "--seconds", "1", timeout=60)
    assert result.returncode == 2 and "only http://127.0.0.1" in result.stderr and result.stdout == ""
