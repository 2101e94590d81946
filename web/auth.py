"""Who may use the app and who may change its documents: the optional login (a reverse-proxy user
header, or the app password) and the admin token, kept only as digests, with its session cookie."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time

from starlette.requests import cookie_parser

from web.asgi import header_map, route_path
from web.errors import refuse

SESSION_COOKIE = "qa_admin"
SESSION_SECONDS = 8 * 3600
DISABLED_ZH = "文档管理未开启：请在服务器上设置 QA_ADMIN_TOKEN_FILE 或 QA_ADMIN_TOKEN"
WRONG_TOKEN_ZH = "管理口令不正确"
_OPEN_PATHS = {"/healthz"}
GRADIO_UPLOAD = re.compile(r"^(/embed)?/gradio_api/upload/?$")
_DOCUMENTS = re.compile(r"^/api/documents(/.*)?$")


def same_secret(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


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
    if GRADIO_UPLOAD.match(path):
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
