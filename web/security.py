"""The plain ASGI guards in front of the whole app (plain ASGI, so streamed responses pass through untouched).

From the outside in: security headers and the cross-origin write check, the Host allow-list, CORS, the
optional login and the admin check (web/auth.py), the body size cap, and Gradio's file routes. Every
refusal is JSON with a Chinese message: ``{"detail": ...}``, or OpenAI's error object under ``/v1``.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from web.asgi import header_map, route_path
from web.auth import GRADIO_UPLOAD, AdminGate, AdminRoutes, AppLogin
from web.errors import refuse
from web.origins import EmbedOrigins

log = logging.getLogger(__name__)

MB = 1024 * 1024
TOO_LARGE_ZH = "请求内容过大"
# The rest of an oversized body is never read: the server closes the connection instead of draining it.
_CLOSE = {"Connection": "close"}
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ANY_HOST = {"0.0.0.0", "::", ""}
# Gradio's routes, under "/" and "/embed/". Searched anywhere in the path, so no prefix trick gets past.
_GRADIO_FILE = re.compile(r"/gradio_api/file[=/](?P<target>.*)$", re.DOTALL)
_GRADIO_UNUSED = re.compile(r"/gradio_api/(proxy=|process_recording|vibe-|undo-vibe-)")


def add_guards(app: FastAPI, settings, gate: AdminGate) -> None:
    """Install the guards; the last added runs first."""
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
    origins = app.state.embed_origins = EmbedOrigins.from_settings(settings)  # the embedding check reads it too
    app.add_middleware(CORSMiddleware, allow_origins=list(origins.cors), allow_credentials=True,
                       allow_methods=["GET", "POST", "DELETE", "OPTIONS"], allow_headers=["*"], max_age=600)
    hosts = allowed_hosts(settings)
    app.add_middleware(HostAllowList, hosts=hosts)
    app.add_middleware(SecurityHeaders, frame_ancestors=list(origins.frame_ancestors),
                       allowed_origins=list(origins.cors))
    log.info("allowed hosts: %s", ", ".join(hosts))
    if not gate.enabled:
        log.info("document management is off: set QA_ADMIN_TOKEN_FILE (or QA_ADMIN_TOKEN) to turn it on")


def web_cache_dir(settings) -> Path:
    """Gradio's file cache for this app, ``<index_dir>/web-cache``: its file routes serve nothing else."""
    return (Path(settings.index_dir) / "web-cache").resolve()


# --- security headers and cross-origin writes ----------------------------------------------
class SecurityHeaders:
    """CSP, nosniff and referrer policy on every response; cross-origin writes only from the allow-list."""

    def __init__(self, app, frame_ancestors: list[str], allowed_origins: list[str]):
        self.app = app
        self.allowed = set(allowed_origins)
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

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        headers = header_map(scope)
        origin = headers.get("origin")
        if scope["method"] in _UNSAFE_METHODS and origin and origin not in self.allowed \
                and urlsplit(origin).netloc != headers.get("host"):
            return await refuse(scope, receive, send_with_headers, 403, "不允许从该来源提交请求")
        await self.app(scope, receive, send_with_headers)


# --- Host allow-list --------------------------------------------------------------------------
def allowed_hosts(settings) -> list[str]:
    """The configured host names, else the listen host and the loopback names; "*" (any) when the app
    listens on every interface without a list."""
    if settings.allowed_hosts:
        return [host_name(h) if h != "*" else h for h in settings.allowed_hosts]
    if settings.host in _ANY_HOST:
        return ["*"]
    return list(dict.fromkeys([host_name(settings.host), "localhost", "127.0.0.1", "::1"]))


def host_name(value: str) -> str:
    """A Host header or list entry without its port and brackets: "[::1]:7860" → "::1"."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class HostAllowList:
    """Answers only requests whose Host names this app, so a rebound DNS name cannot reach it."""

    def __init__(self, app, hosts: list[str]):
        self.app = app
        self.any = "*" in hosts
        self.exact = {h for h in hosts if not h.startswith("*.")}
        self.suffixes = tuple(h[1:] for h in hosts if h.startswith("*."))

    def allows(self, host: str) -> bool:
        name = host_name(host)
        return bool(name) and (name in self.exact or name.endswith(self.suffixes))

    async def __call__(self, scope, receive, send):
        if self.any or scope["type"] not in ("http", "websocket") or self.allows(header_map(scope).get("host", "")):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        await refuse(scope, receive, send, 400, "不允许的主机名")


# --- body size --------------------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


def is_upload(method: str, path: str) -> bool:
    return method == "POST" and (path == "/api/documents" or bool(GRADIO_UPLOAD.match(path)))


class BodyLimit:
    """Counts the request body as it arrives, chunked or not, and answers 413 as soon as it passes the
    cap: uploads get ``upload_cap``, everything else (questions, chat events) ``json_cap``. Whatever the
    app answers once the cap is passed (a parse error, a 500) is replaced by the 413."""

    def __init__(self, app, json_cap: int, upload_cap: int):
        self.app = app
        self.json_cap = json_cap
        self.upload_cap = upload_cap

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        cap = self.upload_cap if is_upload(scope["method"], route_path(scope)) else self.json_cap
        declared = header_map(scope).get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            return await refuse(scope, receive, send, 413, TOO_LARGE_ZH, _CLOSE)
        state = {"read": 0, "over": False, "started": False}

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > cap:
                    state["over"] = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message):
            if state["over"]:
                if not state["started"]:
                    state["started"] = True
                    await refuse(scope, receive, send, 413, TOO_LARGE_ZH, _CLOSE)
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not state["started"]:
                await refuse(scope, receive, send, 413, TOO_LARGE_ZH, _CLOSE)


# --- Gradio's file routes ---------------------------------------------------------------------
class GradioFiles:
    """Gradio's file routes serve only files inside this app's own cache folder (``mount_gradio_app``
    leaves Gradio's allowed-path checks off), its URL proxy and screen-recording routes are closed, and
    its upload route answers errors in Chinese."""

    def __init__(self, app, cache_dir: Path, max_upload_mb: float):
        self.app = app
        self.cache = Path(cache_dir).resolve()
        self.max_upload_mb = max_upload_mb

    def serves(self, target: str) -> bool:
        if ":" in target.split("/", 1)[0] or target.startswith("//"):
            return False  # a URL ("http://…"), which Gradio would fetch and relay
        try:
            resolved = Path(target if target.startswith("/") else Path.cwd() / target).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return False
        return resolved.is_file() and resolved.is_relative_to(self.cache)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = route_path(scope)
        wanted = _GRADIO_FILE.search(path)
        if _GRADIO_UNUSED.search(path) or (wanted and not self.serves(wanted.group("target"))):
            return await refuse(scope, receive, send, 403, "不允许访问该文件")
        if GRADIO_UPLOAD.match(path):
            if not header_map(scope).get("content-length", "").isdigit():
                # Browsers always declare the size of a form upload. Without it the cap is only found
                # while Gradio's parser is already writing partial files into the cache.
                return await refuse(scope, receive, send, 411, "上传请求缺少内容长度，请通过网页重新上传")
            return await self.app(scope, receive, self._chinese_errors(scope, receive, send))
        await self.app(scope, receive, send)

    def _chinese_errors(self, scope, receive, send):
        """Gradio answers upload errors in English plain text; the page shows them, so they become Chinese."""
        replaced = False

        async def send_zh(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] >= 400:
                replaced = True
                status = message["status"]
                reason = (f"文件过大，每个文件不超过 {self.max_upload_mb:g} MB" if status == 413
                          else "上传的内容无法解析，请重新选择文件")
                return await refuse(scope, receive, send, status, reason)
            if not replaced:
                await send(message)

        return send_zh
