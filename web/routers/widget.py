"""The floating chat widget for portals: ``/widget.js`` (one ``<script>`` tag on the portal page) and
``/embed/ping``, which tells the widget whether this app lets the portal frame it, so a refusal shows
as a Chinese note naming the setting to change instead of a broken frame.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from web.origins import EmbedOrigins

router = APIRouter(include_in_schema=False)
WIDGET_JS = Path(__file__).resolve().parents[1] / "static" / "widget.js"


@router.get("/widget.js")
def widget_script() -> FileResponse:
    # A classic script loaded by another origin's page: no CORS needed, and "no-cache" so portals pick up
    # a new version after an upgrade.
    return FileResponse(WIDGET_JS, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})


@router.get("/embed/ping")
def embedding_check(request: Request, origin: str = Query("", max_length=300)) -> JSONResponse:
    """Whether the page asking (its ``Origin``, else ``?origin=``) may frame the app and call it.

    Readable from any origin (``*``, no credentials): the answer only repeats what the CSP header of
    every page already says.
    """
    origins: EmbedOrigins = request.app.state.embed_origins
    asking = request.headers.get("origin") or origin
    app_origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
    body = {"origin": asking, "frame_allowed": origins.allows_frame_in(asking, app_origin),
            "cors_allowed": origins.allows_calls_from(asking)}
    return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})
