"""👍/👎 feedback: anyone who may use the chat may send it; only an admin may read it.

``POST /api/feedback`` stores one rating. ``GET /api/feedback`` (JSON, paged), ``GET /api/feedback.csv``
(for Excel) and the page ``GET /admin/feedback`` need the admin token (``X-Admin-Token``) or the admin
session cookie that ``POST /api/admin/session`` sets (the 文档 tab, or the form on the refusal page).
"""
from __future__ import annotations

import html
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from web.auth import SESSION_COOKIE, AdminGate
from web.dependencies import GateDep
from web.feedback import RATING_ZH, FeedbackStore, source_label

router = APIRouter(tags=["反馈"])

PAGE_SIZE = 50
FEEDBACK_OFF_ZH = "查看反馈需要管理口令：请在服务器上设置 QA_ADMIN_TOKEN_FILE 或 QA_ADMIN_TOKEN"
NEED_TOKEN_ZH = "查看反馈需要管理口令"
_ANSWER_SHOWN_CHARS = 300


def _store(request: Request) -> FeedbackStore:
    return request.app.state.feedback


StoreDep = Annotated[FeedbackStore, Depends(_store)]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="提问")
    answer: str = Field(description="被评价的回答")
    rating: Literal["up", "down"] = Field(description="up：有用；down：没用")
    comment: str = Field("", description="可选的意见")
    sources: list[dict] = Field(default_factory=list, description="回答的参考来源（n、doc、title、section…）")
    docs: list[str] = Field(default_factory=list, description="提问时限定的报告")


def admin_refusal(request: Request, gate: AdminGate) -> str | None:
    """None when the request carries the admin token or session, else the Chinese reason."""
    if not gate.enabled:
        return FEEDBACK_OFF_ZH
    if gate.accepts(request.headers.get("x-admin-token")) or gate.accepts_session(request.cookies.get(SESSION_COOKIE)):
        return None
    return NEED_TOKEN_ZH


def require_admin(request: Request, gate: GateDep) -> None:
    problem = admin_refusal(request, gate)
    if problem:
        raise HTTPException(403, problem)


@router.post("/api/feedback", summary="对回答点赞或点踩（可附意见）")
def add_feedback(body: FeedbackRequest, store: StoreDep) -> dict:
    feedback_id = store.add(body.question, body.answer, body.rating, body.comment, body.sources, body.docs)
    return {"ok": True, "id": feedback_id, "message": "感谢反馈"}


@router.get("/api/feedback", summary="最近的反馈（需要管理口令）", dependencies=[Depends(require_admin)])
def list_feedback(store: StoreDep, limit: int = Query(PAGE_SIZE, ge=1, le=500),
                  offset: int = Query(0, ge=0)) -> dict:
    return {**store.counts(), "limit": limit, "offset": offset, "items": store.list(limit, offset)}


@router.get("/api/feedback.csv", summary="导出全部反馈为 CSV（需要管理口令）", dependencies=[Depends(require_admin)])
def export_feedback(store: StoreDep) -> Response:
    return Response(store.to_csv().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="feedback.csv"', "Cache-Control": "no-store"})


@router.get("/admin/feedback", include_in_schema=False)
def feedback_page(request: Request, gate: GateDep, store: StoreDep, page: int = Query(1, ge=1)) -> HTMLResponse:
    problem = admin_refusal(request, gate)
    if problem:
        return HTMLResponse(refusal_page(problem, login=gate.enabled), 403, headers={"Cache-Control": "no-store"})
    offset = (page - 1) * PAGE_SIZE
    body = feedback_table(store.counts(), store.list(PAGE_SIZE, offset), page)
    return HTMLResponse(_page("反馈记录", body), headers={"Cache-Control": "no-store"})


# --- the admin page -----------------------------------------------------------------------
_STYLE = """
body { margin: 0 auto; max-width: 1200px; padding: 16px; color: #1f2937; background: #fff; line-height: 1.5;
       font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
h1 { font-size: 1.4em; margin: 0.2em 0 0.4em; }
a { color: #1d4ed8; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { border: 1px solid #d1d5db; padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.answer { max-width: 28em; white-space: pre-wrap; }
form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
input, button { font: inherit; padding: 6px 10px; }
button { background: #1d4ed8; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
.note { color: #b91c1c; }
"""
_LOGIN_SCRIPT = """
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const note = document.getElementById("login-note");
  const token = document.getElementById("token").value;
  const reply = await fetch("../api/admin/session", {method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({token})});
  if (reply.ok) { location.reload(); return; }
  note.textContent = (await reply.json().catch(() => ({}))).detail || "登录失败，请重试";
});
"""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")


def refusal_page(problem: str, login: bool) -> str:
    """The 403 page: why, and (when a token is configured) a form that opens the admin session."""
    body = f'<h1>反馈记录</h1><p class="note" role="alert">{html.escape(problem)}</p>'
    if login:
        body += ('<form id="login"><label for="token">管理口令</label>'
                 '<input id="token" type="password" autocomplete="current-password" required>'
                 '<button type="submit">登录</button><span id="login-note" class="note" role="status"></span>'
                 f"</form><script>{_LOGIN_SCRIPT}</script>")
    return _page("反馈记录 · 需要管理口令", body)


def _row(item: dict) -> str:
    answer = item["answer"]
    shown = answer if len(answer) <= _ANSWER_SHOWN_CHARS else answer[:_ANSWER_SHOWN_CHARS] + "……"
    sources = "<br>".join(html.escape(source_label(s)) for s in item["sources"])
    cells = (str(item["id"]), html.escape(item["created_at"].replace("T", " ")), RATING_ZH[item["rating"]],
             html.escape(item["question"]), html.escape(shown), html.escape(item["comment"]), sources)
    return "<tr>" + "".join(f'<td{" class=answer" if i == 4 else ""}>{c}</td>' for i, c in enumerate(cells)) + "</tr>"


def feedback_table(counts: dict, items: list[dict], page: int) -> str:
    summary = (f"<p>共 {counts['total']} 条反馈：👍 {counts['up']} 条，👎 {counts['down']} 条。"
               f'<a href="../api/feedback.csv" download>导出 CSV（Excel 可直接打开）</a></p>')
    if not items:
        return f"<h1>反馈记录</h1>{summary}<p>{'还没有反馈。' if page == 1 else '这一页没有反馈。'}</p>"
    head = "".join(f'<th scope="col">{h}</th>' for h in ("编号", "时间（UTC）", "评价", "问题", "回答", "意见", "来源"))
    pages = []
    if page > 1:
        pages.append(f'<a href="?page={page - 1}">上一页</a>')
    if page * PAGE_SIZE < counts["total"]:
        pages.append(f'<a href="?page={page + 1}">下一页</a>')
    return (f"<h1>反馈记录</h1>{summary}<div class=\"table-wrap\"><table><caption>第 {page} 页，最新的在前</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(_row(i) for i in items)}</tbody></table></div>"
            f"<nav aria-label=\"翻页\">{' '.join(pages)}</nav>")
