"""The web app: the Gradio chat page mounted on FastAPI, an HTTP API, an OpenAI-compatible endpoint.

Routes: ``/`` chat page, ``/embed/`` compact chat for intranet pages, ``/gradio.js`` the ``<gradio-app>``
web component served locally, ``POST /api/ask``, ``/api/documents``, ``POST /v1/chat/completions``
(plain and SSE), ``GET /v1/models``, ``/healthz``, OpenAPI docs at ``/docs`` and ``/redoc`` (assets served locally).

Security: CORS by an explicit allow-list (Starlette's middleware; Gradio then adds none of its own),
a Content-Security-Policy that blocks images from other hosts and limits who may frame the app,
cross-origin writes refused unless allow-listed, optional login for the whole app (HTTP Basic, or a
bearer key for API clients) or a user header set by a trusted reverse proxy.
"""
from __future__ import annotations

import base64
import json
import logging
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from fastapi import FastAPI, File, Header, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

from bot.followup import message_text
from bot.library import MB, Library
from bot.types import Answer, InputError

log = logging.getLogger(__name__)

MODEL_ID = "report-qa"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_OPEN_PATHS = {"/healthz"}


# --- request and response shapes -----------------------------------------------------------
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class AskRequest(BaseModel):
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


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens... are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False


# --- middleware (plain ASGI, so streamed responses pass through untouched) --------------------
class SecurityHeaders:
    """CSP, nosniff and referrer policy on every response; cross-origin writes only from the allow-list."""

    def __init__(self, app, frame_ancestors: list[str], allowed_origins: list[str], max_body: int):
        self.app = app
        self.allowed = set(allowed_origins)
        self.max_body = max_body
        ancestors = " ".join(frame_ancestors) or "'none'"
        self.headers = [
            (b"content-security-policy",
             f"img-src 'self' data: blob:; object-src 'none'; frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refuse(scope["method"], headers)
        if refusal:
            status, message = refusal
            return await JSONResponse({"detail": message}, status, headers=self._plain(self.headers))(
                scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refuse(self, method: str, headers: dict[str, str]) -> tuple[int, str] | None:
        origin = headers.get("origin")
        if method in _UNSAFE_METHODS and origin and origin not in self.allowed \
                and urlsplit(origin).netloc != headers.get("host"):
            return 403, "不允许从该来源提交请求"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            return 413, "请求内容过大"
        return None

    @staticmethod
    def _plain(pairs):
        return {k.decode(): v.decode() for k, v in pairs}


class AppLogin:
    """Optional login for everything but /healthz: a reverse-proxy user header, or the app password
    (HTTP Basic for browsers, ``Authorization: Bearer <password>`` for API clients such as ``openai``)."""

    def __init__(self, app, user: str, password: str | None, proxy_user_header: str | None):
        self.app = app
        self.user = user
        self.password = password
        self.proxy_header = proxy_user_header.lower() if proxy_user_header else None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or _route_path(scope) in _OPEN_PATHS \
                or scope.get("method") == "OPTIONS":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        user = self._user(headers)
        if user is None and scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if user is None:
            challenge = {"WWW-Authenticate": 'Basic realm="report-qa", charset="UTF-8"'} if self.password else {}
            message = "请先登录" if self.password else "请通过单位门户登录后访问"
            return await JSONResponse({"detail": message}, 401, headers=challenge)(scope, receive, send)
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    def _user(self, headers: dict[str, str]) -> str | None:
        if self.proxy_header and headers.get(self.proxy_header, "").strip():
            return headers[self.proxy_header].strip()
        if not self.password:
            return None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and _same(value.strip(), self.password):
            return self.user
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except ValueError:
                return None
            if _same(user, self.user) and _same(password, self.password):
                return user
        return None


def _route_path(scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


# --- helpers ----------------------------------------------------------------------------
def history_of(messages: list[ChatMessage]) -> list[dict]:
    """The bot keeps the user/assistant turns it needs and caps them to ``history_turns``."""
    return [{"role": m.role, "content": m.content} for m in messages]


def _openai_error(status: int, message: str, code: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": code, "param": None, "code": code}}, status)


def _completion_extras(answer: Answer) -> dict:
    return {"references": [s.to_dict() for s in answer.sources], "question": answer.question,
            "refused": answer.refused}


def _sse(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def gradio_js_path() -> Path:
    import gradio

    return Path(gradio.__file__).parent / "templates" / "frontend" / "gradio.js"


# --- the app ----------------------------------------------------------------------------
def create_app(bot, settings=None, *, ui: bool = True) -> FastAPI:
    """Build the whole web app around one bot; ``ui=False`` leaves out the Gradio pages (API only)."""
    settings = settings or bot.settings
    library = Library(bot.components, settings)
    # FastAPIOffline serves the Swagger UI and ReDoc assets itself: intranets often reach no CDN.
    app = FastAPIOffline(title="工作报告问答 API", version="0.1.0",
                  description="根据已收录的工作报告回答问题，答案中的 [n] 对应 sources/references 中的原文。")
    app.state.bot = bot
    app.state.library = library

    if settings.app_password or settings.proxy_user_header:
        app.add_middleware(AppLogin, user=settings.app_user, password=settings.app_password,
                           proxy_user_header=settings.proxy_user_header)
        if settings.proxy_user_header:
            log.warning("trusting the %s header: make sure only the reverse proxy can reach this app",
                        settings.proxy_user_header)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE", "OPTIONS"], allow_headers=["*"], max_age=600)
    app.add_middleware(SecurityHeaders, frame_ancestors=list(settings.frame_ancestors),
                       allowed_origins=list(settings.cors_origins),
                       max_body=int(settings.max_upload_mb * MB) + MB)
    if not settings.admin_token and settings.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("no admin token is set: anyone who can open the page can upload and remove documents")

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        message = "请求格式不正确：" + "；".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])} {e.get('msg', '')}".strip() for e in exc.errors())
        if request.url.path.startswith("/v1/"):
            return _openai_error(400, message)
        return JSONResponse({"detail": message}, 422)

    @app.get("/healthz", tags=["运维"], summary="健康检查")
    def healthz() -> dict:
        return {"status": "ok", "chunks": bot.components.store.count()}

    @app.post("/api/ask", response_model=AskResponse, tags=["问答"], summary="提问（与 python -m bot ask --json 相同）",
              responses={400: {"description": "问题为空、过长或含控制字符"}})
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
            return _openai_error(400, "最后一条消息应当是用户的问题")
        question = message_text(last.content)
        history = history_of(body.messages[:-1])
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": ident, "created": created, "model": body.model}
        if not body.stream:
            try:
                answer = await run_in_threadpool(bot.ask, question, history)
            except InputError as exc:
                return _openai_error(400, exc.message_zh)
            return {**base, "object": "chat.completion", **_completion_extras(answer),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer.answer}}]}
        items = bot.stream(question, history)
        try:
            first = await run_in_threadpool(next, items)  # bad input fails here, before any byte is sent
        except InputError as exc:
            return _openai_error(400, exc.message_zh)
        return StreamingResponse(_completion_stream(first, items, base), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/documents", tags=["文档"], summary="已收录的文档、章节和片段数")
    def documents() -> list[dict]:
        return [{k: v for k, v in d.items() if k != "hash"} for d in library.documents()]

    @app.post("/api/documents", tags=["文档"], summary="上传并导入文档（需要管理口令时放在 X-Admin-Token）")
    def upload(files: list[UploadFile] = File(...), x_admin_token: str | None = Header(None)) -> dict:
        if not library.authorised(x_admin_token):
            raise HTTPException(403, "管理口令不正确")
        with tempfile.TemporaryDirectory(prefix="http-upload-") as folder:
            uploads = []
            for i, item in enumerate(files):
                path = Path(folder) / f"{i}.part"
                with open(path, "wb") as out:
                    while chunk := item.file.read(MB):
                        out.write(chunk)
                uploads.append((item.filename or "", path))
            outcomes = library.add(uploads)
        return {"results": [{"name": o.name, "ok": o.ok, "message": o.message_zh} for o in outcomes]}

    @app.delete("/api/documents/{doc_id}", tags=["文档"], summary="删除文档（需要管理口令时放在 X-Admin-Token）")
    def remove(doc_id: str, x_admin_token: str | None = Header(None)) -> dict:
        if not library.authorised(x_admin_token):
            raise HTTPException(403, "管理口令不正确")
        ok, message = library.remove(doc_id)
        if not ok:
            raise HTTPException(404, message)
        return {"ok": True, "message": message}

    @app.get("/gradio.js", include_in_schema=False)
    def web_component() -> FileResponse:
        return FileResponse(gradio_js_path(), media_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})

    if ui:
        _mount_pages(app, bot, library, settings)
    return app


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
        yield _sse({"error": {"message": "回答时出错，请稍后再试", "type": "server_error"}})
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


def _mount_pages(app: FastAPI, bot, library: Library, settings) -> None:
    import gradio as gr

    from bot.ui import CSS, FONTS, build_ui

    theme = gr.themes.Default(font=FONTS)
    common = dict(enable_monitoring=False, run_history=False, show_error=False, ssr_mode=False, pwa=False,
                  mcp_server=False, root_path=None, max_file_size=int(settings.max_upload_mb * MB),
                  theme=theme, css=CSS)
    # Mount order matters: "/" catches everything, so the compact page and its redirect come first.
    embed = build_ui(bot, library, embed=True).queue(default_concurrency_limit=settings.concurrency)
    full = build_ui(bot, library).queue(default_concurrency_limit=settings.concurrency)

    @app.get("/embed", include_in_schema=False)
    def embed_redirect(request: Request) -> RedirectResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{request.scope.get('root_path', '')}/embed/{query}")

    gr.mount_gradio_app(app, embed, path="/embed", footer_links=[], head=_EMBED_HEAD, **common)
    gr.mount_gradio_app(app, full, path="/", footer_links=["api"], **common)


_EMBED_HEAD = "<script>document.documentElement.classList.add('qa-embed')</script>"
