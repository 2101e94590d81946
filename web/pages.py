"""The Gradio pages on the app: the chat page at ``/``, the compact chat at ``/embed/``, and
``/gradio.js``, the ``<gradio-app>`` web component script served locally (intranets often reach no CDN)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse

from web.auth import AdminGate
from web.documents import Library
from web.security import MB, web_cache_dir

router = APIRouter(include_in_schema=False)
_EMBED_HEAD = "<script>document.documentElement.classList.add('qa-embed')</script>"


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


def mount_pages(app: FastAPI, bot, library: Library, settings, gate: AdminGate) -> None:
    """Mount both pages; after every other route, since "/" catches everything."""
    cache = fresh_web_cache(settings)  # before gradio builds anything: its components read the folder
    import gradio as gr

    from web.ui import CSS, FONTS, build_ui

    common = dict(enable_monitoring=False, run_history=False, show_error=False, ssr_mode=False, pwa=False,
                  mcp_server=False, root_path=None, max_file_size=int(settings.max_upload_mb * MB),
                  theme=gr.themes.Default(font=FONTS), css=CSS)
    embed = build_ui(bot, library, embed=True).queue(default_concurrency_limit=settings.concurrency)
    full = build_ui(bot, library, gate=gate, upload_root=cache).queue(default_concurrency_limit=settings.concurrency)
    # The compact page and its redirect come first: the full page at "/" would catch their paths.
    app.add_api_route("/embed", embed_redirect, include_in_schema=False)
    gr.mount_gradio_app(app, embed, path="/embed", footer_links=[], head=_EMBED_HEAD, **common)
    gr.mount_gradio_app(app, full, path="/", footer_links=["api"], **common)
