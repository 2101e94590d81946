"""Plain ASGI guards in front of the whole app (plain ASGI, so streamed responses pass through untouched).

From the outside in: security headers and the cross-origin write check, the Host allow-list, CORS, the
optional login, the admin check on document-changing routes, the body size cap, and Gradio's file routes.
Every refusal is JSON with a Chinese message: ``{"detail": ...}``, or OpenAI's error object under ``/v1``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.responses import JSONResponse
from starlette.requests import cookie_parser

MB = 1024 * 1024
SESSION_COOKIE = "qa_admin"
SESSION_SECONDS = 8 * 3600
DISABLED_ZH = "文档管理未开启：请在服务器上设置 QA_ADMIN_TOKEN_FILE 或 QA_ADMIN_TOKEN"
WRONG_TOKEN_ZH = "管理口令不正确"
TOO_LARGE_ZH = "请求内容过大"
# The rest of an oversized body is never read: the server closes the connection instead of draining it.
_CLOSE = {"Connection": "close"}
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_OPEN_PATHS = {"/healthz"}
_ANY_HOST = {"0.0.0.0", "::", ""}
# Gradio's routes, under "/" and "/embed/". Searched anywhere in the path, so no prefix trick gets past.
_GRADIO_FILE = re.compile(r"/gradio_api/file[=/](?P<target>.*)$", re.DOTALL)
_GRADIO_UNUSED = re.compile(r"/gradio_api/(proxy=|process_recording|vibe-|undo-vibe-)")
_GRADIO_UPLOAD = re.compile(r"^(/embed)?/gradio_api/upload/?$")
_DOCUMENTS = re.compile(r"^/api/documents(/.*)?$")


# --- shared helpers ------------------------------------------------------------------------
def route_path(scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def header_map(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def openai_error(status: int, message: str) -> JSONResponse:
    kind = "server_error" if status >= 500 else "invalid_request_error"
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": kind}}, status)


def error_response(path: str, status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """The one error shape of each API: OpenAI's error object under /v1, ``{"detail"}`` elsewhere."""
    response = openai_error(status, message) if path.startswith("/v1/") else JSONResponse({"detail": message}, status)
    if headers:
        response.headers.update(headers)
    return response


async def refuse(scope, receive, send, status: int, message: str, headers: dict | None = None) -> None:
    await error_response(route_path(scope), status, message, headers)(scope, receive, send)


def same_secret(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


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


# --- optional login ---------------------------------------------------------------------------
class AppLogin:
    """Optional login for everything but /healthz: a reverse-proxy user header, or the app password
    (HTTP Basic for browsers, ``Authorization: Bearer <password>`` for API clients such as ``openai``)."""

    def __init__(self, app, user: str, password: str | None, proxy_user_header: str | None):
        self.app = app
        self.user = user
        self.password = password
        self.proxy_header = proxy_user_header.lower() if proxy_user_header else None

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or route_path(scope) in _OPEN_PATHS \
                or scope.get("method") == "OPTIONS":
            return await self.app(scope, receive, send)
        user = self._user(header_map(scope))
        if user is None and scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if user is None:
            challenge = {"WWW-Authenticate": 'Basic realm="report-qa", charset="UTF-8"'} if self.password else {}
            message = "请先登录" if self.password else "请通过单位门户登录后访问"
            return await refuse(scope, receive, send, 401, message, challenge)
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

    def _user(self, headers: dict[str, str]) -> str | None:
        if self.proxy_header and headers.get(self.proxy_header, "").strip():
            return headers[self.proxy_header].strip()
        if not self.password:
            return None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(value.strip(), self.password):
            return self.user
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except ValueError:
                return None
            if same_secret(user, self.user) and same_secret(password, self.password):
                return user
        return None


# --- the admin token ------------------------------------------------------------------------
class AdminGate:
    """Document management is on only when an admin token is configured. Only digests of the token
    are kept: one to check a typed token, a key derived from it to sign session cookies."""

    def __init__(self, token: str | None):
        secret = token.encode("utf-8", "surrogatepass") if token else None
        self._digest = hashlib.sha256(secret).digest() if secret else None
        self._session_key = hmac.new(secret, b"report-qa admin session", hashlib.sha256).digest() if secret else None

    @property
    def enabled(self) -> bool:
        return self._digest is not None

    def accepts(self, token: str | None) -> bool:
        if not self.enabled or not isinstance(token, str) or not token:
            return False
        given = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        return secrets.compare_digest(given, self._digest)

    def session_cookie(self) -> str:
        """``<expiry>.<HMAC>``: proves the token was typed, without holding it."""
        expires = int(time.time()) + SESSION_SECONDS
        return f"{expires}.{self._sign(expires)}"

    def accepts_session(self, value: str | None) -> bool:
        expires, _, mac = (value or "").partition(".")
        if not self.enabled or not expires.isdigit() or int(expires) < time.time():
            return False
        return secrets.compare_digest(mac.encode("latin-1", "replace"), self._sign(int(expires)).encode())

    def refusal(self, token: str | None, session: str | None) -> str | None:
        """None when the request may change documents, else the Chinese reason."""
        if not self.enabled:
            return DISABLED_ZH
        return None if self.accepts(token) or self.accepts_session(session) else WRONG_TOKEN_ZH

    def _sign(self, expires: int) -> str:
        return hmac.new(self._session_key, str(expires).encode(), hashlib.sha256).hexdigest()


def changes_documents(method: str, path: str) -> bool:
    """Routes that write: uploads (the API's and Gradio's) and document removal."""
    if _GRADIO_UPLOAD.match(path):
        return method == "POST"
    return bool(_DOCUMENTS.match(path)) and method in ("POST", "DELETE")


class AdminRoutes:
    """Document-changing routes need the admin token (``X-Admin-Token``) or the session cookie set by
    ``POST /api/admin/session``; checked before any byte of the body is read."""

    def __init__(self, app, gate: AdminGate):
        self.app = app
        self.gate = gate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not changes_documents(scope["method"], route_path(scope)):
            return await self.app(scope, receive, send)
        headers = header_map(scope)
        session = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        problem = self.gate.refusal(headers.get("x-admin-token"), session)
        if problem:
            return await refuse(scope, receive, send, 403, problem)
        await self.app(scope, receive, send)


# --- body size --------------------------------------------------------------------------------
class _BodyTooLarge(Exception):
    pass


def is_upload(method: str, path: str) -> bool:
    return method == "POST" and (path == "/api/documents" or bool(_GRADIO_UPLOAD.match(path)))


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
        if _GRADIO_UPLOAD.match(path):
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
