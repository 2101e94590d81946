"""The floating widget in a real Chromium, on the sample portal served from a second origin.

The app runs in a uvicorn thread on the bundled report (stand-in embedding model: this checks wiring,
not answer quality); samples/ is served by a plain HTTP server on another port, so the widget script,
the frame and the embedding check all cross origins as they would on a real portal. Screenshots of the
open widget go to docs/screenshots/.
"""
from __future__ import annotations

import pytest

from tests.browser.support import screenshot, serious_accessibility_problems, serve_folder, start_app
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
QUESTION = "上半年生态环境做了什么"
OPEN_NAME = "打开工作报告问答"

@pytest.fixture(scope="module")
def sites(fake_report_bot, fake_report_settings, tmp_path_factory):
    """The portal, an app that lets it in (trailing slash and all), and an app left at its defaults."""
    from web.app import create_app

    portal = f"http://127.0.0.1:{free_port()}"
    allowing = fake_report_settings.model_copy(update={"cors_origins": [portal + "/"],
                                                       "frame_ancestors": ["'self'", portal + "/"]})
    refusing = fake_report_settings.model_copy(update={"index_dir": tmp_path_factory.mktemp("refusing")})
    app_url, stop_app = start_app(create_app(fake_report_bot, allowing))
    refusing_url, stop_refusing = start_app(create_app(fake_report_bot, refusing, ui=False))
    portal_server = serve_folder(ROOT / "samples", int(portal.rsplit(":", 1)[1]))
    yield {"portal": portal, "app": app_url, "refusing": refusing_url}
    stop_app()
    stop_refusing()
    portal_server.shutdown()


def open_portal(browser, sites, viewport: dict, app: str = "app", scheme: str = "light"):
    context = browser.new_context(locale="zh-CN", viewport=viewport, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"{sites['portal']}/portal.html?bot={sites[app]}")
    page.get_by_role("button", name=OPEN_NAME).wait_for(timeout=30000)
    return page


def widget_frame(page):
    """The chat inside the widget's panel, once it has loaded."""
    page.locator("#qa-panel iframe").wait_for(timeout=30000)
    frame = page.locator("#qa-panel iframe").content_frame
    frame.locator("#qa-question textarea").wait_for(timeout=60000)
    return frame


def ask(frame, question: str) -> str:
    frame.locator("#qa-question textarea").fill(question)
    frame.locator("#qa-question textarea").press("Enter")
    answer = frame.locator('[data-testid="bot"]').first
    answer.get_by_text("[1]").first.wait_for(timeout=60000)
    return answer.inner_text()


def input_within(frame, panel) -> bool:
    """Whether the chat's input box lies inside the panel, with nothing to scroll."""
    box, area = frame.locator("#qa-question textarea").bounding_box(), panel.bounding_box()
    return area["y"] <= box["y"] and box["y"] + box["height"] <= area["y"] + area["height"]


def active_in_widget(page) -> str:
    """The accessible name of whatever has the focus inside the widget's shadow root."""
    return page.evaluate("""() => {
        const active = document.getElementById('report-qa-widget').shadowRoot.activeElement;
        return active ? active.getAttribute('aria-label') || active.tagName : '';
    }""")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_on_a_phone_the_widget_opens_full_screen_and_answers(browser, sites):
    page = open_portal(browser, sites, PHONE)
    try:
        assert no_horizontal_scroll(page), "the sample portal overflows a 390 px phone"
        for embedded in ("#bot-frame", "gradio-app"):
            box = page.locator(embedded).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{embedded} overflows"
        screenshot(page, "portal-phone.png")
        page.get_by_role("button", name=OPEN_NAME).click()
        panel = page.get_by_role("dialog", name="工作报告问答")
        box = panel.bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, PHONE["width"], PHONE["height"])
        frame = widget_frame(page)
        assert "生态环境" in ask(frame, QUESTION)
        assert input_within(frame, panel), "the input is off screen after an answer"
        page.wait_for_timeout(300)
        screenshot(page, "widget-phone.png")
        assert no_horizontal_scroll(page)
    finally:
        page.context.close()


def test_on_a_desktop_the_widget_is_a_side_panel_worked_by_keyboard(browser, sites):
    page = open_portal(browser, sites, DESKTOP)
    try:
        launcher = page.get_by_role("button", name=OPEN_NAME)
        assert launcher.get_attribute("aria-expanded") == "false"
        launcher.focus()
        page.keyboard.press("Enter")
        panel = page.get_by_role("dialog", name="工作报告问答")
        box = panel.bounding_box()
        assert box["height"] == DESKTOP["height"] and box["x"] + box["width"] == DESKTOP["width"]
        assert 360 <= box["width"] <= 480, "a side panel, not full screen"
        assert active_in_widget(page) == "关闭工作报告问答"  # focus moves into the panel
        frame = widget_frame(page)
        assert "生态环境" in ask(frame, QUESTION)
        assert input_within(frame, panel), "the input is off screen after an answer"
        page.wait_for_timeout(300)
        screenshot(page, "widget-desktop.png")

        page.get_by_role("button", name="关闭工作报告问答").focus()
        page.keyboard.press("Escape")
        panel.wait_for(state="hidden")
        assert active_in_widget(page) == OPEN_NAME and launcher.get_attribute("aria-expanded") == "false"
        page.keyboard.press("Space")  # open again: the conversation is still there
        chat = page.locator("#qa-panel iframe").content_frame
        assert "生态环境" in chat.locator('[data-testid="bot"]').first.inner_text()
    finally:
        page.context.close()


def test_the_sample_portal_keeps_the_iframe_and_the_component_working(browser, sites):
    page = open_portal(browser, sites, DESKTOP)
    try:
        framed = page.frame_locator("#bot-frame")
        framed.locator("#qa-question textarea").wait_for(timeout=60000)
        assert "生态环境" in ask(framed, QUESTION)
        component = page.locator("gradio-app")
        component.locator("#qa-question textarea").wait_for(timeout=60000)
        assert "生态环境" in ask(component, QUESTION)
        assert page.locator(".problem:visible").count() == 0  # nothing to complain about
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_problem_in_the_widget(browser, sites, scheme):
    page = open_portal(browser, sites, DESKTOP, scheme=scheme)
    try:
        assert serious_accessibility_problems(page, "#report-qa-widget") == []
        page.get_by_role("button", name=OPEN_NAME).click()
        frame = widget_frame(page)
        assert serious_accessibility_problems(page, "#report-qa-widget") == []
        ask(frame, QUESTION)
        chat = page.locator("#qa-panel iframe").element_handle().content_frame()
        assert serious_accessibility_problems(chat) == []
    finally:
        page.context.close()


def test_a_portal_the_app_does_not_allow_is_told_which_setting_to_change(browser, sites):
    page = open_portal(browser, sites, PHONE, app="refusing")
    try:
        page.get_by_role("button", name=OPEN_NAME).click()
        message = page.get_by_role("dialog", name="工作报告问答").get_by_role("alert")
        message.wait_for(timeout=30000)
        text = message.inner_text()
        assert "QA_FRAME_ANCESTORS" in text and sites["portal"] in text
        assert page.locator("#qa-panel iframe").count() == 0
        screenshot(page, "widget-refused-phone.png")
        page.keyboard.press("Escape")
        # The sample's own iframe and component say the same, each naming its own setting.
        assert "QA_FRAME_ANCESTORS" in page.locator("#frame-problem").inner_text()
        assert "QA_CORS_ORIGINS" in page.locator("#component-problem").inner_text()
    finally:
        page.context.close()
