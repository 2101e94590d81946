"""Every error the web app answers, in Chinese and in the shape of the API asked: OpenAI's error object
under ``/v1``, ``{"detail"}`` elsewhere. The project's user-facing errors get their status here, in one
table; validation and HTTP errors get a Chinese line; anything else is a 500 whose trace stays in the log.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.llm import LLMUnavailable
from bot.types import InputError
from index.errors import UserFacingError
from index.loaders import LoadError
from index.store import IndexBusyError, IndexCorruptError
from prompts import PromptError
from web.asgi import route_path

log = logging.getLogger(__name__)

SERVER_ERROR_ZH = "服务器内部错误，请稍后再试"
NO_SUCH_ROUTE_ZH = "没有这个接口"
# The first matching class decides; a user-facing error not listed here is the server's fault.
_STATUS_OF_ERROR: tuple[tuple[type[UserFacingError], int], ...] = (
    (InputError, 400),
    (LoadError, 400),
    (IndexBusyError, 409),
    (IndexCorruptError, 503),
    (LLMUnavailable, 503),
    (PromptError, 500),
)
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
_CJK = re.compile(r"[\u4e00-\u9fff]")


# --- the two shapes ---------------------------------------------------------------------------
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
    """An error answered by an ASGI guard, before the app sees the request."""
    await error_response(route_path(scope), status, message, headers)(scope, receive, send)


# --- Chinese messages -------------------------------------------------------------------------
def status_of(error: UserFacingError) -> int:
    return next((status for kind, status in _STATUS_OF_ERROR if isinstance(error, kind)), 500)


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


# --- handlers ---------------------------------------------------------------------------------
def add_error_handlers(app: FastAPI) -> None:
    """One error shape per API, a Chinese message on every path, never a trace."""

    @app.exception_handler(UserFacingError)
    async def user_facing_error(request: Request, exc: UserFacingError):
        status = status_of(exc)
        if status >= 500:
            log.warning("%s: %s", type(exc).__name__, exc)
        return error_response(route_path(request.scope), status, exc.message_zh)

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


# Included after every real route and before the pages mounted at "/": unknown API paths answer in
# their API's error shape, not with the chat page's English 404.
unknown_routes = APIRouter(include_in_schema=False)
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@unknown_routes.api_route("/v1/{rest:path}", methods=_METHODS)
def unknown_openai_route(rest: str) -> JSONResponse:
    return openai_error(404, NO_SUCH_ROUTE_ZH)


@unknown_routes.api_route("/api/{rest:path}", methods=_METHODS)
def unknown_api_route(rest: str) -> JSONResponse:
    return JSONResponse({"detail": NO_SUCH_ROUTE_ZH}, 404)
