"""The chat page in a real Chromium: it fits the window, reads well in light and dark, passes axe-core,
opens the passage behind [n], keeps conversations across a reload, copies plain text, stores 👍 in SQLite.

Screenshots of each layout go to docs/screenshots/.
"""
from __future__ import annotations

import sqlite3

import pytest

from tests.browser.support import copied_text, screenshot, serious_accessibility_problems, start_app

pytestmark = pytest.mark.browser

QUESTION = "上半年生态环境做了什么？"
LAYOUTS = [(1440, 900), (1440, 620), (390, 844)]
MORE_SIZES = [(800, 600), (1920, 1080)]


@pytest.fixture(scope="module")
def app_url(fake_library_bot, fake_library_settings):
    from web.app import create_app

    app = create_app(fake_library_bot, fake_library_settings)
    url, stop = start_app(app)
    yield url
    stop()


@pytest.fixture
def open_page(browser):
    """A fresh browser context (its own localStorage) per page, closed after the test."""
    contexts = []

    def open_page(url: str, width: int = 1440, height: int = 900, scheme: str = "light"):
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height},
                                      color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        page.locator("#qa-question textarea").wait_for(timeout=30000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def ask(page, question: str) -> None:
    """Ask and wait until the answer has its sources (the last update of a turn)."""
    answers = page.locator('[data-testid="bot"]').count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator('[data-testid="bot"]').nth(answers).get_by_text("来源").first.wait_for(timeout=20000)


def fits_the_window(page) -> dict:
    """Where the input sits, and whether anything scrolls sideways or the page scrolls at all."""
    return page.evaluate("""() => {
        const input = document.querySelector('#qa-question textarea').getBoundingClientRect();
        const root = document.documentElement;
        return {input_top: input.top, input_bottom: input.bottom, height: innerHeight,
                sideways: root.scrollWidth > root.clientWidth, page_scrolls: root.scrollHeight > innerHeight + 1};
    }""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width, height", LAYOUTS)
def test_the_chat_fits_the_window_and_passes_axe(open_page, app_url, width, height, scheme):
    page = open_page(app_url + "/", width, height, scheme)
    ask(page, QUESTION)
    ask(page, "那下半年呢？")
    placed = fits_the_window(page)
    assert 0 <= placed["input_top"] and placed["input_bottom"] <= placed["height"], placed
    assert not placed["sideways"] and not placed["page_scrolls"], placed
    assert serious_accessibility_problems(page) == []
    screenshot(page, f"chat-{width}x{height}-{scheme}.png")


@pytest.mark.parametrize("width, height", MORE_SIZES)
def test_other_windows_keep_the_input_in_view(open_page, app_url, width, height):
    page = open_page(app_url + "/", width, height)
    ask(page, QUESTION)
    placed = fits_the_window(page)
    assert placed["input_bottom"] <= placed["height"] and not placed["sideways"] and not placed["page_scrolls"]
    chat = page.locator("#qa-chat").bounding_box()
    assert chat["height"] >= height * 0.5  # the chat takes the room, not a fixed box


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_embed_fills_its_frame_and_passes_axe(open_page, app_url, scheme):
    page = open_page(app_url + "/embed/", 400, 600, scheme)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert serious_accessibility_problems(page) == []  # before any question: examples shown
    ask(page, QUESTION)
    placed = fits_the_window(page)
    assert placed["input_bottom"] <= 600 and not placed["sideways"] and not placed["page_scrolls"]
    assert page.locator("#qa-chat").bounding_box()["height"] >= 400
    assert serious_accessibility_problems(page) == []
    screenshot(page, f"embed-400x600-{scheme}.png")


def test_the_first_page_passes_axe_before_any_question(open_page, app_url):
    for scheme in ("light", "dark"):
        page = open_page(app_url + "/", 1440, 900, scheme)
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert serious_accessibility_problems(page) == []


@pytest.mark.parametrize("path", ["/", "/embed/"])
def test_clicking_a_citation_opens_the_passage_in_the_report(open_page, app_url, path):
    page = open_page(app_url + path, 1440, 900)
    ask(page, QUESTION)
    citation = page.locator('#qa-chat [data-testid="bot"] a', has_text="[1]").first
    assert citation.get_attribute("aria-label").startswith("来源 1")
    with page.context.expect_page() as opened:
        citation.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    assert viewer.url.startswith(app_url + "/reports/") and viewer.url.endswith("#passage")
    passage = viewer.locator("#passage mark").first
    assert passage.is_visible() and passage.inner_text().strip()
    box = passage.bounding_box()
    assert 0 <= box["y"] < viewer.viewport_size["height"]  # scrolled to it
    assert viewer.locator("nav a").count() > 5  # the outline
    assert viewer.evaluate("document.documentElement.lang") == "zh-CN"
    assert serious_accessibility_problems(viewer) == []
    if path == "/":
        screenshot(viewer, "viewer-1440x900-light.png")


def test_a_conversation_survives_a_reload_and_stays_listed(open_page, app_url):
    page = open_page(app_url + "/")
    ask(page, QUESTION)
    answer = page.locator('[data-testid="bot"]').first.inner_text()
    page.reload()
    page.locator('[data-testid="bot"]').first.wait_for(timeout=30000)
    assert page.locator('[data-testid="bot"]').first.inner_text() == answer
    assert page.locator("#qa-past label").all_inner_texts() == [QUESTION]

    page.locator("#qa-new-chat").click()
    page.wait_for_function("document.querySelectorAll('[data-testid=\"bot\"]').length === 0")
    assert page.evaluate("document.activeElement.closest('#qa-question') !== null")
    ask(page, "下半年有什么计划？")
    page.wait_for_function("document.querySelectorAll('#qa-past label').length === 2")
    assert page.locator("#qa-past label").all_inner_texts() == ["下半年有什么计划？", QUESTION]
    page.locator("#qa-past label", has_text=QUESTION).click()
    page.get_by_text("全力整治生态环境").first.wait_for(timeout=10000)
    assert page.locator('[data-testid="user"]').all_inner_texts() == [QUESTION]

    page.locator("#qa-forget").click()  # gone from the list and from the browser
    page.wait_for_function("document.querySelectorAll('#qa-past label').length === 1")
    assert page.locator("#qa-past label").all_inner_texts() == ["下半年有什么计划？"]
    assert page.locator('[data-testid="bot"]').count() == 0
    assert QUESTION not in page.evaluate("localStorage.getItem('qa-chat:conversations:v1')")


def test_an_example_asks_and_gives_the_input_back_its_focus(open_page, app_url):
    page = open_page(app_url + "/")
    page.locator("#qa-chat button.example").first.click()
    page.locator('[data-testid="bot"]').first.wait_for(timeout=20000)
    assert page.evaluate("document.activeElement.closest('#qa-question') !== null")


def test_copy_puts_plain_text_with_its_sources_on_the_clipboard(open_page, app_url):
    page = open_page(app_url + "/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    ask(page, QUESTION)
    page.locator('[data-testid="bot"]').first.hover()
    page.get_by_role("button", name="复制回答").last.click()
    page.get_by_text("已复制到剪贴板").wait_for(timeout=10000)
    copied = copied_text(page)
    assert copied.startswith("根据《") and "\\" not in copied and "](" not in copied and "<details>" not in copied
    assert "\n来源：\n[1] " in copied and ".txt" not in copied.split("来源：")[1]


def test_screen_readers_hear_text_and_answers_are_announced_politely(open_page, app_url):
    page = open_page(app_url + "/")
    ask(page, QUESTION)
    log = page.locator('#qa-chat [role="log"]')
    assert log.get_attribute("aria-live") == "polite"
    assert page.locator('[data-testid="bot"][aria-label], [data-testid="user"][aria-label]').count() == 0
    heard = log.aria_snapshot()
    assert "全力整治生态环境" in heard
    assert "\\" not in heard and "](" not in heard and "<mark>" not in heard and "details>" not in heard


def test_a_thumbs_up_with_a_comment_lands_in_sqlite(open_page, app_url, fake_library_settings):
    page = open_page(app_url + "/")
    ask(page, QUESTION)
    page.locator('[data-testid="bot"]').first.hover()
    page.get_by_role("button", name="赞").last.click()
    comment = page.locator("#qa-feedback-comment textarea")
    comment.wait_for(timeout=10000)
    page.wait_for_function("document.activeElement.closest('#qa-feedback-comment') !== null", timeout=5000)
    comment.fill("条理清楚")
    page.locator("#qa-feedback-send").click()
    page.get_by_text("谢谢反馈，已记录。").wait_for(timeout=10000)
    with sqlite3.connect(fake_library_settings.feedback_path()) as db:
        rows = db.execute("SELECT rating, comment, question, answer, sources FROM feedback").fetchall()
    assert [r[:3] for r in rows] == [("up", "条理清楚", QUESTION)]
    assert rows[0][3].startswith("根据《") and '"doc": "district-report-2022-h1.txt"' in rows[0][4]

    page.get_by_role("button", name="踩").last.click()  # no comment: kept when the next question is asked
    comment.wait_for(timeout=10000)
    ask(page, "下半年有什么计划？")
    with sqlite3.connect(fake_library_settings.feedback_path()) as db:
        rows = db.execute("SELECT rating, comment, question FROM feedback ORDER BY id").fetchall()
    assert rows == [("up", "条理清楚", QUESTION), ("down", "", QUESTION)]
    assert page.locator("#qa-feedback").is_hidden()


def test_the_documents_tab_says_how_to_manage_documents_without_a_token(open_page, app_url):
    page = open_page(app_url + "/")
    page.get_by_role("tab", name="文档").click()
    note = page.locator("#qa-documents-off")
    note.wait_for(timeout=10000)
    assert "python -m index" in note.inner_text() and "QA_ADMIN_TOKEN" in note.inner_text()
    reports = page.locator("#qa-documents details.qa-doc")
    reports.first.wait_for(timeout=10000)
    assert reports.count() == 3 and reports.first.get_attribute("open") is None  # folded
    assert page.get_by_role("button", name="导入").count() == 0 and page.locator("input[type=file]").count() == 0
    assert serious_accessibility_problems(page) == []


def test_stop_cancels_an_llm_answer_that_takes_too_long(browser, fake_library_bot, fake_library_settings, fake_llm, tmp_path):
    from bot.chain import Bot
    from bot.llm import LLMAnswerer
    from web.app import create_app

    settings = fake_library_settings.model_copy(update={"answer_mode": "llm", "llm_base_url": fake_llm.base_url,
                                                   "llm_timeout": 20.0, "index_dir": tmp_path / "index"})
    bot = Bot(settings, fake_library_bot.components, llm=LLMAnswerer.from_settings(settings))
    fake_llm.hang(15, then="太晚了")
    url, stop_app = start_app(create_app(bot, settings))
    page = browser.new_page(locale="zh-CN", viewport={"width": 1440, "height": 900})
    try:
        page.goto(url + "/")
        box = page.locator("#qa-question textarea")
        box.wait_for(timeout=30000)
        assert page.locator("#qa-stop").is_hidden()
        box.fill(QUESTION)
        box.press("Enter")
        stop = page.get_by_role("button", name="停止")
        stop.wait_for(timeout=10000)
        assert page.locator("#qa-send").is_hidden()
        stop.click()
        page.locator("#qa-send").wait_for(timeout=5000)
        assert page.locator("#qa-stop").is_hidden()
        assert page.locator('[data-testid="user"]').all_inner_texts() == [QUESTION]
        assert "太晚了" not in page.locator("#qa-chat").inner_text()
    finally:
        page.close()
        stop_app()


def test_the_report_picker_limits_the_answer_to_the_chosen_report(open_page, app_url):
    page = open_page(app_url + "/")
    page.get_by_label("报告范围").click()
    page.get_by_role("option", name="丽水市2024年政府工作报告").click()
    page.keyboard.press("Escape")
    ask(page, "今年的主要预期目标是什么？")
    sources = page.locator('[data-testid="bot"]').first.inner_text().split("来源", 1)[1]
    assert "丽水市2024年政府工作报告" in sources
    assert "顺平县" not in sources and "2022年上半年工作报告" not in sources


def test_a_suggested_question_asks_and_gives_the_input_back_its_focus(open_page, app_url):
    page = open_page(app_url + "/")
    ask(page, QUESTION)
    suggestion = page.locator("#qa-chat button.option").first
    suggestion.wait_for(timeout=10000)
    asked = suggestion.inner_text()
    suggestion.click()
    page.locator('[data-testid="bot"]').nth(1).get_by_text("来源").first.wait_for(timeout=20000)
    assert page.locator('[data-testid="user"]').all_inner_texts() == [QUESTION, asked]
    assert page.evaluate("document.activeElement.closest('#qa-question') !== null")
