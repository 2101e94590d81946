"""A real Chromium against the app on the real model: chat, follow-up, the portal page from a second
origin, inert markup, the documents tab with an admin token.

The app runs in a uvicorn thread on the session's bot; the portal page is served by a second HTTP server
on another port (another origin), and a third one counts any request that would leak data.
Screenshots go to a temporary folder whose paths are printed. Layout, accessibility and the answer
tools are tested on the stand-in model in tests/browser/.
"""
from __future__ import annotations

import http.server
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.browser.support import copied_text, serve_folder, start_app
from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CARD_QUESTION = "上半年生态环境做了什么"


class Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        Counting.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def origins(report_bot, report_settings):
    """app, portal and leak-counter URLs, each on its own port of 127.0.0.1."""
    from web.app import create_app

    portal_port, leak_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{portal_port}"
    settings = report_settings.model_copy(update={"cors_origins": [portal], "frame_ancestors": ["'self'", portal]})
    app_url, stop = start_app(create_app(report_bot, settings))
    portal_server = serve_folder(ROOT / "samples", portal_port)
    leak_server = http.server.ThreadingHTTPServer(("127.0.0.1", leak_port), Counting)
    threading.Thread(target=leak_server.serve_forever, daemon=True).start()
    yield {"app": app_url, "portal": portal, "leak": f"http://127.0.0.1:{leak_port}"}
    stop()
    portal_server.shutdown()
    leak_server.shutdown()


@pytest.fixture
def page(browser, origins):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    return Path(tempfile.mkdtemp(prefix="qa-screenshots-"))


def screenshot(page_or_frame, folder: Path, name: str, capsys) -> Path:
    path = folder / name
    page_or_frame.screenshot(path=str(path), full_page=True)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


def ask(scope, question: str, answers_before: int) -> float:
    """Type a question and wait for its answer to finish (its list of sources); returns seconds to the
    first answer text."""
    box = scope.locator("#qa-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    answer = scope.locator(f'[data-testid="bot"] >> nth={answers_before}')
    answer.wait_for(timeout=20000)
    first_text = time.perf_counter() - started
    answer.get_by_text("来源", exact=True).wait_for(timeout=20000)
    return first_text


def answer_text(scope, index: int) -> str:
    return scope.locator('[data-testid="bot"]').nth(index).inner_text()


def test_chat_answers_streams_cites_sources_and_follows_up(page, origins, shots, capsys):
    streamed: list[str] = []
    page.on("response", lambda r: streamed.append(r.url) if "/gradio_api/queue/data" in r.url else None)
    page.goto(origins["app"] + "/")
    page.locator("#qa-question textarea").wait_for(timeout=30000)
    examples = page.locator("#qa-chat button.example").all_inner_texts()
    assert any("方面" in text for text in examples)

    first_token = ask(page, CARD_QUESTION, 0)
    answer = answer_text(page, 0)
    assert "全力整治生态环境" in answer and "春风春绿" in answer and "[1]" in answer
    assert "2022年上半年工作报告 · 一、2022年上半年度工作完成情况 › （六）全力整治生态环境" in answer
    assert streamed, "the answer did not come over the queue's event stream"
    screenshot(page, shots, "chat-page.png", capsys)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator('[data-testid="bot"]').first.hover()
    page.get_by_role("button", name="复制回答").last.click()
    copied = copied_text(page)
    assert copied.startswith("根据《") and "\\" not in copied and "\n来源：\n[1] " in copied

    ask(page, "那下半年呢？", 1)
    follow_up = answer_text(page, 1)
    assert "（四）坚持绿色发展" in follow_up and "河湖长制" in follow_up
    assert follow_up.startswith("（已按“")
    screenshot(page, shots, "chat-follow-up.png", capsys)
    assert all(url.startswith(origins["app"]) for url in page.requested), "the page fetched from another host"
    with capsys.disabled():
        print(f"\ntime to first answer text in the browser: {first_token * 1000:.0f} ms")


def test_the_portal_page_on_another_origin_embeds_a_working_bot(page, origins, shots, capsys):
    page.set_viewport_size({"width": 1400, "height": 800})
    page.goto(f"{origins['portal']}/portal.html?bot={origins['app']}")
    frame = page.frame_locator("#bot-frame")
    frame.locator("#qa-question textarea").wait_for(timeout=30000)
    ask(frame, CARD_QUESTION, 0)
    assert "全力整治生态环境" in frame.locator('[data-testid="bot"]').first.inner_text()
    embedded = next(f for f in page.frames if f.url.startswith(origins["app"] + "/embed/"))
    assert embedded.evaluate("document.documentElement.scrollHeight") <= 600  # fits the 400x600 box

    component = page.locator("gradio-app")
    component.locator("#qa-question textarea").wait_for(timeout=30000)
    ask(component, "下半年生态环境有什么计划", 0)
    assert "坚持绿色发展" in component.locator('[data-testid="bot"]').first.inner_text()
    box, chat = component.bounding_box(), component.locator(".gradio-container").bounding_box()
    assert chat["height"] >= box["height"] - 2  # the component fills the box it is given
    input_box = component.locator("#qa-question textarea").bounding_box()
    assert input_box["y"] + input_box["height"] <= box["y"] + box["height"]
    with page.expect_popup() as opened:  # a citation inside the component opens the app's viewer
        component.locator('[data-testid="bot"] a', has_text="[1]").first.click()
    assert opened.value.url.startswith(origins["app"] + "/reports/")
    screenshot(page, shots, "portal.png", capsys)


def test_markup_in_a_question_renders_inert_and_fetches_nothing(page, origins, shots, capsys):
    Counting.hits.clear()
    page.goto(origins["app"] + "/")
    page.locator("#qa-question textarea").wait_for(timeout=30000)
    question = f"生态环境 <img src=x onerror=alert(1)> ![x]({origins['leak']}/leak)"
    ask(page, question, 0)
    shown = page.locator('[data-testid="user"]').first
    assert shown.inner_text().strip() == question
    assert shown.locator("img").count() == 0 and page.locator("#qa-chat img").count() == 0

    # Even markup that got past the escaping (say, from an LLM) could not reach another host: the CSP blocks it.
    page.evaluate("""url => { const img = document.createElement('img'); img.src = url;
                             document.querySelector('#qa-chat').appendChild(img); }""", origins["leak"] + "/csp")
    page.wait_for_timeout(500)
    screenshot(page, shots, "inert-markup.png", capsys)
    assert Counting.hits == [] and page.dialogs == []
    assert not any(url.startswith(origins["leak"]) and "/leak" in url for url in page.requested)


def choose_file(page, path: Path) -> None:
    """Pick a file with the upload button: the import starts as soon as it is chosen."""
    page.locator("#qa-upload input[type=file], input[type=file]").first.set_input_files(str(path))


def admin_session(page, expected: bool) -> bool:
    """Whether the page holds the admin session cookie, waiting a little for it to become ``expected``."""
    for _ in range(50):
        cookie = next((c for c in page.context.cookies() if c["name"] == "qa_admin"), None)
        if (cookie is not None) == expected:
            break
        page.wait_for_timeout(200)
    if cookie is not None:
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and "tok" not in cookie["value"]
    return cookie is not None


def test_the_documents_tab_imports_and_removes_with_the_admin_token(browser, make_settings, embeddings, tmp_path,
                                                                   shots, capsys):
    from bot.chain import Bot
    from web.app import create_app
    from index.components import open_index

    settings = make_settings(admin_token="tok")
    app_url, stop = start_app(create_app(Bot(settings, open_index(settings, embeddings=embeddings)), settings))
    note = tmp_path / "parking.md"
    note.write_text("一、2022年上半年工作\n（一）建设智慧停车。全区新建智慧停车泊位三百个，覆盖老城区主要街道。\n")
    page = browser.new_page(locale="zh-CN", viewport={"width": 1100, "height": 900})
    try:
        page.goto(app_url + "/")
        page.get_by_role("tab", name="文档").click()
        listing = page.locator("#qa-documents")
        listing.get_by_text("索引中还没有文档").wait_for(timeout=30000)
        page.get_by_label("管理口令").fill("wrong")
        page.locator("#qa-admin-token-status").get_by_text("口令不正确。").wait_for(timeout=10000)
        assert page.locator("#qa-upload").is_disabled()
        assert not admin_session(page, expected=False)
        page.get_by_label("管理口令").fill("tok")
        assert admin_session(page, expected=True), "typing the token did not open an admin session"
        page.locator("#qa-admin-token-status").get_by_text("口令正确").wait_for(timeout=10000)
        choose_file(page, note)  # Gradio's upload route accepts the file only within that session
        listing.get_by_text("一、2022年上半年工作 › （一）建设智慧停车").wait_for(state="attached", timeout=30000)
        page.wait_for_function("document.querySelector('#qa-upload-status textarea').value.includes('已导入')")
        assert page.locator("#qa-upload-status textarea").input_value() == "已导入“parking.md”：1 个片段"
        screenshot(page, shots, "documents-tab.png", capsys)

        page.get_by_role("tab", name="问答").click()
        ask(page, "智慧停车泊位建了多少", 0)
        assert "三百个" in answer_text(page, 0)

        page.get_by_role("tab", name="文档").click()
        page.get_by_label("删除文档").click()
        page.get_by_role("option", name=re.compile(r"（parking\.md）$")).click()
        page.get_by_role("button", name="删除", exact=True).click()
        page.get_by_text("确定删除这份文档吗？").wait_for(timeout=10000)  # asks first
        assert "已删除" not in page.locator("body").inner_text()
        page.get_by_role("button", name="确认删除").click()
        page.wait_for_function("document.querySelector('#qa-remove-status textarea').value.includes('已删除')",
                               timeout=30000)
        assert page.locator("#qa-remove-status textarea").input_value() == "已删除文档“parking.md”（1 个片段）"
        assert "索引中还没有文档" in listing.inner_text()
        assert [p.suffix for p in (settings.index_dir / "removed").glob("parking.*")] == [".md"]
    finally:
        page.close()
        stop()
