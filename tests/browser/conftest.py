"""Fixtures of the browser tests of the chat page: Chromium, and the bot on the three bundled reports.

The library is indexed with the stand-in embedding model (see tests/conftest.py): these tests check what
the page does and how it looks, not answer quality.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, LIBRARY
from tests.conftest import REPORT


@pytest.fixture(scope="session")
def library_settings(tmp_path_factory):
    from bot.settings import Settings

    return Settings(index_dir=tmp_path_factory.mktemp("library-index"), data_dir=REPORT.parent)


@pytest.fixture(scope="session")
def library_bot(library_settings, fake_embeddings):
    """The bot on the three bundled reports, searching with the stand-in model."""
    from bot.chain import Bot
    from index.components import open_index

    components = open_index(library_settings, embeddings=fake_embeddings)
    components.indexer.build(LIBRARY)
    components.keywords.tokenizer.warm_up()  # as build_bot does before serving
    return Bot(library_settings, components)


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
