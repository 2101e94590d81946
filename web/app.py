"""The web app: the Gradio chat page mounted on FastAPI, an HTTP API, an OpenAI-compatible endpoint.

Routes: ``/`` chat page, ``/embed/`` compact chat for intranet pages, ``/gradio.js`` the ``<gradio-app>``
web component served locally, ``POST /api/ask``, ``/api/documents``, ``POST /api/admin/session``,
``POST /v1/chat/completions`` (plain and SSE), ``GET /v1/models``, ``/healthz``, OpenAPI docs at ``/docs``
and ``/redoc`` (assets served locally).

Security (see web/security.py): a Host allow-list, CORS by an explicit allow-list (Starlette's middleware;
Gradio then adds none of its own), a Content-Security-Policy that blocks images from other hosts and
limits who may frame the app, cross-origin writes refused unless allow-listed, body caps on the bytes
actually read, document changes only with the admin token, Gradio's file routes limited to the app's own
cache, optional login for the whole app (HTTP Basic, or a bearer key for API clients) or a user header set
by a trusted reverse proxy. One error shape per API, always in Chinese.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

from fastapi import FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.followup import message_text
from bot.types import Answer, InputError
from index.store import staging_tempdir
from web.documents import Library
from web.security import (DISABLED_ZH, MB, SESSION_COOKIE, SESSION_SECONDS, WRONG_TOKEN_ZH, AdminGate, AdminRoutes,
                        AppLogin, BodyLimit, GradioFiles, HostAllowList, SecurityHeaders, allowed_hosts,
                        error_response, openai_error, route_path)

log = logging.getLogger(__name__)

MODEL_ID = "report-qa"
SERVER_ERROR_ZH = "服务器内部错误，请稍后再试"
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# --- request and response shapes -----------------------------------------------------------
def _refuse_surrogates(value: Any) -> Any:
    """Lone surrogates ("\\ud800") pass JSON parsing but are not text: refuse them with the request."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            raise ValueError("含有无法识别的字符（孤立的代理字符）")
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


class _TextRequest(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        return _refuse_surrogates(data)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class AskRequest(_TextRequest):
    question: str = Field(description="用户的问题")
    history: list[ChatMessage] = Field(default_factory=list, max_length=200,
                                       description="此前的对话，OpenAI 格式 {role, content}")


class SourceOut(BaseModel):
    n: int
    doc: str
    section: str
    text: str
    start: int
    end: int
    score: float


class AskResponse(BaseModel):
    answer: str
    refused: bool
    question: str = Field(description="实际检索的问题：规范化后的，追问改写后的")
    sources: list[SourceOut]
    timings_ms: dict[str, float]


class ChatCompletionRequest(_TextRequest):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens... are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


class SessionRequest(_TextRequest):
    token: str = Field(max_length=1000, description="管理口令")


# --- error messages --------------------------------------------------------------------------
_PROBLEMS_ZH = {
    "missing": "缺少此项", "string_type": "应为文字", "list_type": "应为列表", "dict_type": "应为对象",
    "model_type": "应为对象", "model_attributes_type": "应为对象", "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false", "int_type": "应为整数", "int_parsing": "应为整数",
    "float_type": "应为数字", "float_parsing": "应为数字", "too_long": "过长", "too_short": "过短",
    "string_too_long": "过长", "literal_error": "取值不受支持", "extra_forbidden": "不支持此项",
}
_HTTP_ZH = {400: "请求格式不正确", 401: "请先登录", 403: "禁止访问", 404: "未找到", 405: "不支持该请求方法",
            413: "请求内容过大", 415: "不支持的内容类型", 422: "请求格式不正确", 429: "请求过于频繁，请稍后再试"}
_BODY_PARSE_ERROR = "There was an error parsing the body"


def _problem_zh(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "不是有效的 JSON"
    if kind == "value_error":
        reason = str((error.get("ctx") or {}).get("error", ""))
        if "UploadFile" in reason:
            return "应为文件"
        return reason if _CJK.search(reason) else "格式不正确"
    return _PROBLEMS_ZH.get(kind, "格式不正确")


def validation_message(errors: list[dict]) -> str:
    """Pydantic's errors as one Chinese line: the field, then what is wrong with it (never the input)."""
    parts: dict[str, None] = {}
    for error in errors:
        loc = error.get("loc", ())[1:]
        problem = _problem_zh(error)
        if error.get("type") == "json_invalid":
            parts[f"请求体{problem}"] = None
        else:
            parts[f"{'.'.join(str(p) for p in loc)} {problem}".strip()] = None
    return "请求格式不正确：" + "；".join(list(parts)[:5])


def http_message(status: int, detail: Any) -> str:
    if isinstance(detail, str) and _CJK.search(detail):
        return detail
    if detail == _BODY_PARSE_ERROR:
        return "请求内容无法解析，请发送 UTF-8 编码的 JSON 或有效的表单"
    return _HTTP_ZH.get(status, SERVER_ERROR_ZH if status >= 500 else "请求无法处理")


# --- helpers ----------------------------------------------------------------------------
def history_of(messages: list[ChatMessage]) -> list[dict]:
    """The bot keeps the user/assistant turns it needs and caps them (``history_turns``, ``max_history_chars``)."""
    return [{"role": m.role, "content": m.content} for m in messages]


def _completion_extras(answer: Answer) -> dict:
    return {"references": [s.to_dict() for s in answer.sources], "question": answer.question,
            "refused": answer.refused}


def _sse(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def gradio_js_path() -> Path:
    import gradio

    return Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js"


def web_cache_dir(settings) -> Path:
    """Gradio's file cache for this app, ``<index_dir>/web-cache``: its file routes serve nothing else."""
    return (Path(settings.index_dir) / "web-cache").resolve()


def _fresh_web_cache(settings) -> Path:
    """Empty the cache at start and point Gradio at it (read when the pages are built)."""
    cache = web_cache_dir(settings)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    return cache


# --- the app ----------------------------------------------------------------------------
def create_app(bot, settings=None, *, ui: bool = True) -> FastAPI:
    """Build the whole web app around one bot; ``ui=False`` leaves out the Gradio pages (API only)."""
    settings = settings or bot.settings
    library = Library(bot.components, settings)
    gate = AdminGate(settings.admin_secret())
    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: intranets often reach no CDN.
    app = FastAPIOffline(title="工作报告问答 API", version="0.1.0",
                         description="根据已收录的工作报告回答问题，答案中的 [n] 对应 sources/references 中的原文。")
    app.state.bot = bot
    app.state.library = library
    app.state.admin = gate
    app.state.web_cache = web_cache_dir(settings)
    _add_guards(app, settings, gate)
    _add_error_handlers(app)
    _add_question_routes(app, bot)
    _add_document_routes(app, library, settings, gate)

    @app.get("/healthz", tags=["运维"], summary="健康检查")
    def healthz() -> dict:
        return {"status": "ok", "chunks": bot.components.store.count()}

    @app.get("/gradio.js", include_in_schema=False)
    def web_component() -> FileResponse:
        return FileResponse(gradio_js_path(), media_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})

    _add_unknown_routes(app)  # after every real route, before the pages mounted at "/"
    if ui:
        _mount_pages(app, bot, library, settings, gate)
    return app


def _add_unknown_routes(app: FastAPI) -> None:
    """Unknown API paths answer in their API's error shape, not with the chat page's English 404."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/v1/{rest:path}", methods=methods, include_in_schema=False)
    def unknown_openai_route(rest: str) -> JSONResponse:
        return openai_error(404, "没有这个接口")

    @app.api_route("/api/{rest:path}", methods=methods, include_in_schema=False)
    def unknown_api_route(rest: str) -> JSONResponse:
        return JSONResponse({"detail": "没有这个接口"}, 404)


def _add_guards(app: FastAPI, settings, gate: AdminGate) -> None:
    """The ASGI guards; the last added runs first."""
    app.add_middleware(GradioFiles, cache_dir=web_cache_dir(settings), max_upload_mb=settings.max_upload_mb)
    app.add_middleware(BodyLimit, json_cap=settings.max_request_kb * 1024,
                       upload_cap=int(settings.max_upload_mb * MB) + MB)
    app.add_middleware(AdminRoutes, gate=gate)
    if settings.app_password or settings.proxy_user_header:
        app.add_middleware(AppLogin, user=settings.app_user, password=settings.app_password,
                           proxy_user_header=settings.proxy_user_header)
        if settings.proxy_user_header:
            log.warning("trusting the %s header: make sure only the reverse proxy can reach this app",
                        settings.proxy_user_header)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE", "OPTIONS"], allow_headers=["*"], max_age=600)
    hosts = allowed_hosts(settings)
    app.add_middleware(HostAllowList, hosts=hosts)
    app.add_middleware(SecurityHeaders, frame_ancestors=list(settings.frame_ancestors),
                       allowed_origins=list(settings.cors_origins))
    log.info("allowed hosts: %s", ", ".join(hosts))
    if not gate.enabled:
        log.info("document management is off: set QA_ADMIN_TOKEN_FILE (or QA_ADMIN_TOKEN) to turn it on")


def _add_error_handlers(app: FastAPI) -> None:
    """One error shape per API (OpenAI's under /v1), a Chinese message on every path, never a trace."""

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return error_response(route_path(request.scope), 400, validation_message(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return error_response(route_path(request.scope), exc.status_code, http_message(exc.status_code, exc.detail),
                              dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception):  # the server log gets the trace
        return error_response(route_path(request.scope), 500, SERVER_ERROR_ZH)


def _add_question_routes(app: FastAPI, bot) -> None:
    @app.post("/api/ask", response_model=AskResponse, tags=["问答"], summary="提问（与 python -m bot ask --json 相同）",
              responses={400: {"description": "问题为空、过长或含控制字符；请求格式不正确"},
                         413: {"description": "请求内容过大"}})
    def ask(body: AskRequest) -> dict:
        try:
            answer = bot.ask(body.question, history_of(body.history))
        except InputError as exc:
            raise HTTPException(400, exc.message_zh) from None
        return answer.to_dict()

    @app.get("/v1/models", tags=["OpenAI 兼容"])
    def models() -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "report-qa"}]}

    @app.post("/v1/chat/completions", tags=["OpenAI 兼容"],
              summary="OpenAI 兼容的对话接口；来源在 references 字段")
    async def chat_completions(body: ChatCompletionRequest):
        last = body.messages[-1]
        if last.role != "user":
            return openai_error(400, "最后一条消息应当是用户的问题")
        question = message_text(last.content)
        history = history_of(body.messages[:-1])
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": ident, "created": created, "model": body.model}
        if not body.stream:
            try:
                answer = await run_in_threadpool(bot.ask, question, history)
            except InputError as exc:
                return openai_error(400, exc.message_zh)
            return {**base, "object": "chat.completion", **_completion_extras(answer),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer.answer}}]}
        items = bot.stream(question, history)
        try:
            first = await run_in_threadpool(next, items)  # bad input fails here, before any byte is sent
        except InputError as exc:
            return openai_error(400, exc.message_zh)
        return StreamingResponse(_completion_stream(first, items, base), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _add_document_routes(app: FastAPI, library: Library, settings, gate: AdminGate) -> None:
    """Listing is open; changes need the admin token (X-Admin-Token or the session cookie, checked by
    AdminRoutes before the body is read)."""

    @app.get("/api/documents", tags=["文档"], summary="已收录的文档、章节和片段数")
    def documents() -> list[dict]:
        return [{k: v for k, v in d.items() if k != "hash"} for d in library.documents()]

    @app.post("/api/documents", tags=["文档"], summary="上传并导入文档（管理口令放在 X-Admin-Token）")
    def upload(files: list[UploadFile] = File(...),
               replace: bool = Query(False, description="同名文档已存在时替换它（旧文件移到 removed/）")) -> dict:
        with staging_tempdir(settings.index_dir, "http-upload") as folder:
            uploads = []
            for i, item in enumerate(files):
                path = Path(folder) / f"{i}.part"
                with open(path, "wb") as out:
                    while chunk := item.file.read(MB):
                        out.write(chunk)
                uploads.append((item.filename or "", path))
            outcomes = library.add(uploads, replace=replace)
        return {"results": [{"name": o.name, "ok": o.ok, "message": o.message_zh} for o in outcomes]}

    @app.delete("/api/documents/{doc_id}", tags=["文档"], summary="删除文档（管理口令放在 X-Admin-Token）")
    def remove(doc_id: str) -> dict:
        ok, message = library.remove(doc_id)
        if not ok:
            raise HTTPException(404, message)
        return {"ok": True, "message": message}

    @app.post("/api/admin/session", tags=["文档"], summary="验证管理口令，设置文档管理用的 HttpOnly Cookie")
    def admin_session(body: SessionRequest, request: Request) -> JSONResponse:
        cookie_path = request.scope.get("root_path") or "/"
        if not gate.enabled or not gate.accepts(body.token):
            response = JSONResponse({"detail": DISABLED_ZH if not gate.enabled else WRONG_TOKEN_ZH}, 403)
            response.delete_cookie(SESSION_COOKIE, path=cookie_path)
            return response
        response = JSONResponse({"ok": True, "message": "管理口令正确"})
        response.set_cookie(SESSION_COOKIE, gate.session_cookie(), max_age=SESSION_SECONDS, path=cookie_path,
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return response


def _completion_stream(first, items: Iterator, base: dict) -> Iterator[bytes]:
    """SSE chunks in the OpenAI format; the last carries ``references`` and the authoritative ``answer``."""
    def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
        return _sse({**base, "object": "chat.completion.chunk", **extra,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

    yield chunk({"role": "assistant", "content": ""})
    streamed, answer = "", None
    try:
        for item in _chain([first], items):
            if isinstance(item, Answer):
                answer = item
            elif item:
                streamed += item
                yield chunk({"content": item})
    except Exception:
        log.exception("streamed completion failed")
        yield _sse({"error": {"message": "回答时出错，请稍后再试", "type": "server_error", "param": None,
                              "code": "server_error"}})
        yield _sse("[DONE]")
        return
    if answer is not None:
        tail = answer.answer[len(streamed):] if answer.answer.startswith(streamed) else ""
        if tail:
            yield chunk({"content": tail})
        yield chunk({}, "stop", answer=answer.answer, **_completion_extras(answer))
    yield _sse("[DONE]")


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


def _mount_pages(app: FastAPI, bot, library: Library, settings, gate: AdminGate) -> None:
    cache = _fresh_web_cache(settings)  # before gradio builds anything: its components read the folder
    import gradio as gr

    from web.ui import CSS, FONTS, build_ui

    theme = gr.themes.Default(font=FONTS)
    common = dict(enable_monitoring=False, run_history=False, show_error=False, ssr_mode=False, pwa=False,
                  mcp_server=False, root_path=None, max_file_size=int(settings.max_upload_mb * MB),
                  theme=theme, css=CSS)
    # Mount order matters: "/" catches everything, so the compact page and its redirect come first.
    embed = build_ui(bot, library, embed=True).queue(default_concurrency_limit=settings.concurrency)
    full = build_ui(bot, library, gate=gate, upload_root=cache).queue(default_concurrency_limit=settings.concurrency)

    @app.get("/embed", include_in_schema=False)
    def embed_redirect(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{request.scope.get('root_path', '')}/embed/{query}")

    gr.mount_gradio_app(app, embed, path="/embed", footer_links=[], head=_EMBED_HEAD, **common)
    gr.mount_gradio_app(app, full, path="/", footer_links=["api"], **common)


_EMBED_HEAD = "<script>document.documentElement.classList.add('qa-embed')</script>"
