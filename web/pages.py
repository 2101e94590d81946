"""The Gradio pages on the app: the chat page at ``/``, the compact chat at ``/embed/``, the report
viewer at ``/reports/{doc_id}`` (web/routers/reports.py), and ``/gradio.js``, the ``<gradio-app>`` web
component script served locally (intranets often reach no CDN)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse

from web.asgi import route_path
from web.auth import AdminGate
from web.documents import Library
from web.routers import reports
from web.security import MB, web_cache_dir
from web.static_files import static_text

router = APIRouter(include_in_schema=False)
router.include_router(reports.router)
# Gradio's page template says lang="en"; ours are Chinese, and their CSS needs to know the page is the
# whole window (qa-page) and, for /embed/, compact (qa-embed). A portal's <gradio-app> gets neither.
_TEMPLATE_HTML = b'<html\n\tlang="en"'
_PAGE_HTML = {"/": b'<html class="qa-page"\n\tlang="zh-CN"',
              "/embed/": b'<html class="qa-page qa-embed"\n\tlang="zh-CN"'}
# A CJK-first system font stack: the page works without any font download.
FONTS = ["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Source Han Sans SC", "sans-serif"]


def gradio_js_path() -> Path:
    import gradio

    return Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js"


@router.get("/gradio.js")
def web_component() -> FileResponse:
    return FileResponse(gradio_js_path(), media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def embed_redirect(request: Request) -> RedirectResponse:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/embed/{query}")


def fresh_web_cache(settings) -> Path:
    """Empty Gradio's cache at start and point Gradio at it (read when the pages are built)."""
    cache = web_cache_dir(settings)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    return cache


def chat_theme():
    """Gradio's default theme in a calm blue, with every text colour at WCAG AA contrast in light and dark."""
    import gradio as gr

    return gr.themes.Default(primary_hue="blue", font=FONTS).set(
        button_primary_background_fill="*primary_700", button_primary_background_fill_hover="*primary_800",
        button_primary_background_fill_dark="*primary_600", button_primary_background_fill_hover_dark="*primary_700",
        button_primary_text_color="white", button_primary_text_color_dark="white",
        link_text_color="#0b57d0", link_text_color_hover="#0842a0", link_text_color_visited="#6a2ea0",
        link_text_color_active="#0b57d0", link_text_color_dark="#8ab4f8", link_text_color_hover_dark="#aecbfa",
        link_text_color_visited_dark="#c58af9", link_text_color_active_dark="#8ab4f8",
        block_info_text_color="*neutral_600", block_info_text_color_dark="*neutral_300",
        input_placeholder_color="*neutral_500", input_placeholder_color_dark="*neutral_400",
    )


class PageHtml:
    """Serve the two chat pages as ``<html class="qa-page…" lang="zh-CN">``: the page HTML is read whole
    (it is small) and uncompressed (the request's Accept-Encoding is dropped for these two paths only)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        page = _PAGE_HTML.get(route_path(scope)) if scope["type"] == "http" and scope["method"] == "GET" else None
        if page is None:
            return await self.app(scope, receive, send)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]}
        start: dict = {}
        body = bytearray()

        async def rewrite(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            html = bytes(body).replace(_TEMPLATE_HTML, page, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": headers + [(b"content-length", str(len(html)).encode())]})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, rewrite)


def mount_pages(app: FastAPI, bot, library: Library, settings, gate: AdminGate) -> None:
    """Mount both pages; after every other route, since "/" catches everything."""
    cache = fresh_web_cache(settings)  # before gradio builds anything: its components read the folder
    import gradio as gr

    from web.ui import build_ui

    feedback = app.state.feedback
    common = dict(enable_monitoring=False, run_history=False, show_error=False, ssr_mode=False, pwa=False,
                  mcp_server=False, root_path=None, max_file_size=int(settings.max_upload_mb * MB),
                  theme=chat_theme(), css=static_text("chat.css"), js=static_text("chat.js"),
                  head=f"<style>{static_text('page.css')}</style>")
    embed = build_ui(bot, library, embed=True, feedback=feedback).queue(default_concurrency_limit=settings.concurrency)
    full = build_ui(bot, library, gate=gate, upload_root=cache, feedback=feedback).queue(
        default_concurrency_limit=settings.concurrency)
    app.add_middleware(PageHtml)
    # The compact page and its redirect come first: the full page at "/" would catch their paths.
    app.add_api_route("/embed", embed_redirect, include_in_schema=False)
    gr.mount_gradio_app(app, embed, path="/embed", footer_links=[], **common)
    gr.mount_gradio_app(app, full, path="/", footer_links=["api"], **common)
