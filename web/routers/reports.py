"""``GET /reports/{doc_id}?at=START-END``: the report viewer (web/viewer.py), where every ``[n]`` of an
answer leads. Relative links keep it working under a root path and next to ``/embed/``."""
from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from web.dependencies import BotDep
from web.static_files import static_text
from web.viewer import not_found_html, parse_at, report_html

router = APIRouter(include_in_schema=False)


@router.get("/reports/{doc_id}")
def report(doc_id: str, bot: BotDep, at: str | None = Query(None, max_length=40)) -> HTMLResponse:
    css = static_text("viewer.css")
    chunks = bot.components.store.chunks_where({"doc_id": doc_id})
    if not chunks:
        return HTMLResponse(not_found_html(css), status_code=404)
    return HTMLResponse(report_html(chunks, parse_at(at), css))
