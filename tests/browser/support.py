"""Helpers of the browser tests: an app served from a uvicorn thread, a folder served as a second
origin, axe-core and the screenshot folder (the browser fixture is in tests/conftest.py)."""
from __future__ import annotations

import functools
import http.server
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

AXE = ROOT / "tests" / "browser" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"

_AXE_SERIOUS = """async (selector) => {
  const context = selector ? {include: [[selector]]} : document;
  const result = await axe.run(context, {resultTypes: ["violations"], iframes: false});
  return result.violations.filter(v => ["serious", "critical"].includes(v.impact))
                          .map(v => `${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`);
}"""


def start_app(app) -> tuple[str, callable]:
    """Serve an ASGI app from a uvicorn thread on a free port; returns its URL and a stop function."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the app did not start"
        time.sleep(0.1)

    def stop():
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{server.config.port}", stop


def serve_folder(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    """Serve ``folder`` as a second origin (a portal page) from a thread; call ``shutdown`` when done."""
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serious_accessibility_problems(page, within: str | None = None) -> list[str]:
    """axe-core's serious and critical violations on the page (or frame) as it is now, or only inside
    the element ``within`` selects; frames inside it are checked on their own."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run scripts/setup.sh test")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(_AXE_SERIOUS, within)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


def copied_text(page, timeout: float = 10.0) -> str:
    """The clipboard once the page has put the plain answer there (the copy button first puts the
    message's Markdown, the page then replaces it with the plain text and its sources)."""
    deadline = time.monotonic() + timeout
    while True:
        text = page.evaluate("navigator.clipboard.readText()")
        if "\n来源：\n" in text or time.monotonic() > deadline:
            return text
        page.wait_for_timeout(100)
