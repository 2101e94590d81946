"""A real Chromium against the app: chat, follow-up, the portal page from a second origin, inert markup.

The app runs in a uvicorn thread on the session's bot; the portal page is served by a second HTTP server
on another port (another origin), and a third one counts any request that would leak data.
Screenshots go to a temporary folder whose paths are printed.
"""
from __future__ import annotations

import functools
import http.server
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
SOURCES_TITLE = re.compile(r"^参考来源（\d+ 条）$")
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


def serve(handler, port: int) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_app(app):
    """Serve an ASGI app from a uvicorn thread on a free port; returns its URL and a stop function."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.1)

    def stop():
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture(scope="module")
def origins(report_bot, report_settings):
    """app, portal and leak-counter URLs, each on its own port of 127.0.0.1."""
    from web.app import create_app

    portal_port, leak_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{portal_port}"
    settings = report_settings.model_copy(update={"cors_origins": [portal], "frame_ancestors": ["'self'", portal]})
    report_bot.components.keywords.tokenizer.warm_up()  # as build_bot does before serving
    app_url, stop = start_app(create_app(report_bot, settings))
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    portal_server = serve(functools.partial(quiet, directory=str(ROOT / "examples")), portal_port)
    leak_server = serve(Counting, leak_port)
    yield {"app": app_url, "portal": portal, "leak": f"http://127.0.0.1:{leak_port}"}
    stop()
    portal_server.shutdown()
    leak_server.shutdown()


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
    """Type a question and wait for its answer to finish; returns seconds to the first answer text."""
    box = scope.locator("#qa-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    bot_messages = scope.locator('[data-testid="bot"]')
    scope.locator(f'[data-testid="bot"] >> nth={answers_before}').wait_for(timeout=20000)
    first_text = time.perf_counter() - started
    scope.get_by_text(SOURCES_TITLE).nth(answers_before).wait_for(timeout=20000)
    assert bot_messages.count() >= answers_before + 1
    return first_text


def answer_text(scope, index: int) -> str:
    return scope.locator('[data-testid="bot"]').nth(index).inner_text()


def test_chat_answers_streams_cites_sources_and_follows_up(page, origins, shots, capsys):
    streamed: list[str] = []
    page.on("response", lambda r: streamed.append(r.url) if "/gradio_api/queue/data" in r.url else None)
    page.goto(origins["app"] + "/")
    page.locator("#qa-question textarea").wait_for(timeout=30000)
    examples = page.locator("#qa-chat button").all_inner_texts()
    assert any("方面" in text for text in examples)

    first_token = ask(page, CARD_QUESTION, 0)
    answer = answer_text(page, 0)
    assert "全力整治生态环境" in answer and "春风春绿" in answer and "[1]" in answer
    assert streamed, "the answer did not come over the queue's event stream"
    page.get_by_text(SOURCES_TITLE).first.click()
    quoted = page.locator("#qa-chat mark").first
    quoted.wait_for(timeout=15000)
    quoted.evaluate("mark => mark.scrollIntoView({block: 'center'})")  # inside the chat's own scroll box
    page.wait_for_timeout(300)
    assert "（六）全力整治生态环境" in page.locator("#qa-chat").inner_text()
    screenshot(page, shots, "chat-page.png", capsys)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="复制回答").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("根据《") and "\\" not in copied and "\n来源：\n[1] " in copied

    ask(page, "那下半年呢？", 1)
    follow_up = page.locator("#qa-chat").inner_text()
    assert "（四）坚持绿色发展" in follow_up and "河湖长制" in follow_up
    assert "已按“" in follow_up
    screenshot(page, shots, "chat-follow-up.png", capsys)
    assert all(url.startswith(origins["app"]) for url in page.requested), "the page fetched from another host"
    with capsys.disabled():
        print(f"\ntime to first answer text in the browser: {first_token * 1000:.0f} ms")


def test_the_portal_page_on_another_origin_embeds_a_working_bot(page, origins, shots, capsys):
    page.set_viewport_size({"width": 1400, "height": 800})
    page.goto(f"{origins['portal']}/intranet-portal.html?bot={origins['app']}")
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
    """Pick a file in the upload box. Under load the first pick can be lost before the page has wired the
    input up; a second pick is what a person would do too."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(2):
        page.locator("input[type=file]").set_input_files(str(path))
        try:
            page.get_by_text(path.name).first.wait_for(timeout=20000)
            return
        except PlaywrightTimeout:
            if attempt:
                raise


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
        page.get_by_role("button", name="导入").click()
        page.get_by_text("管理口令不正确").wait_for(timeout=30000)
        assert not admin_session(page, expected=False)
        page.get_by_label("管理口令").fill("tok")
        assert admin_session(page, expected=True), "typing the token did not open an admin session"
        choose_file(page, note)  # Gradio's upload route accepts the file only within that session
        page.get_by_role("button", name="导入").click()
        listing.get_by_text("一、2022年上半年工作 › （一）建设智慧停车").wait_for(timeout=20000)
        assert "已导入“parking.md”：1 个片段" in page.locator("body").inner_text()
        screenshot(page, shots, "documents-tab.png", capsys)

        page.get_by_role("tab", name="问答").click()
        ask(page, "智慧停车泊位建了多少", 0)
        assert "三百个" in answer_text(page, 0)

        page.get_by_role("tab", name="文档").click()
        page.get_by_label("删除文档").click()
        page.get_by_role("option", name="parking（parking.md）").click()
        page.get_by_role("button", name="删除", exact=True).click()
        page.get_by_text("已删除文档“parking.md”（1 个片段）").wait_for(timeout=30000)
        assert "索引中还没有文档" in listing.inner_text()
        assert [p.suffix for p in (settings.index_dir / "removed").glob("parking.*")] == [".md"]
    finally:
        page.close()
        stop()
