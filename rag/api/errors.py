"""One error shape for every failure: `{"error": {"code", "message", "field"}}`, with the HTTP status.

Library errors carry a `code` (rag/errors.py) that maps to a status here, so no message is ever parsed. The
message is the library's own plain-Chinese sentence that says what to do next; a body the schema refuses
names the field; anything unexpected is a 500 with a plain sentence and the traceback goes to the log only.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag import DecisionConflictError, HuashuError

log = logging.getLogger(__name__)

# HuashuError.code -> HTTP status
STATUS = {
    "bad_input": 400,
    "not_found": 404,
    "conflict": 409,
    "busy": 503,
    "unavailable": 503,
    "config": 500,
    "internal": 500,
}
RETRY_AFTER_S = {"busy": 2, "unavailable": 5}  # what a client should wait before trying again
INTERNAL = "服务器内部出错了，这次请求没有完成。请稍后重试；一直出错请联系管理员查看日志。"
HTTP_CODES = {
    401: ("unauthorized", "缺少有效的 API 密钥：请在请求头加上 Authorization: Bearer <密钥>。"),
    403: ("forbidden", "这个密钥不能访问该资源。"),
    404: ("not_found", "没有这个地址：请对照 /docs 里的接口列表。"),
    405: ("method_not_allowed", "这个地址不支持这种请求方法：请对照 /docs 里的接口说明。"),
    413: ("too_large", "请求体太大。"),
    429: ("rate_limited", "请求太频繁，请稍后再试。"),
}


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a plain message, and the field at fault when there is one."""

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the API itself raises (auth, scope, rate limit, size)."""

    def __init__(self, status: int, message: str | None = None, *, headers: dict | None = None):
        code, default = HTTP_CODES[status]
        super().__init__(message or default)
        self.status, self.code, self.message, self.headers = status, code, message or default, headers or {}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers=None
) -> JSONResponse:
    """Return the one error shape."""
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_event(exc: BaseException) -> dict:
    """Return the error shape for an exception raised after a stream has started."""
    status, code, message, _ = _describe(exc)
    return {"error": {"code": code, "message": message, "field": None}, "status": status}


def _describe(exc: BaseException) -> tuple[int, str, str, dict]:
    if isinstance(exc, ApiError):
        return exc.status, exc.code, exc.message, exc.headers
    if isinstance(exc, DecisionConflictError):
        return 409, "conflict", str(exc), {}
    if isinstance(exc, HuashuError):
        status = STATUS.get(exc.code, 500)
        headers = {"Retry-After": str(RETRY_AFTER_S[exc.code])} if exc.code in RETRY_AFTER_S else {}
        if status >= 500 and exc.code in ("config", "internal"):
            log.error("request failed (%s): %s", exc.code, exc)
        return status, exc.code, str(exc), headers
    log.error("unexpected error in a request", exc_info=exc)
    return 500, "internal", INTERNAL, {}


# ---- validation messages: name the field, say what it should be ----
def _field(loc) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _say(err: dict) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        return "缺少这个字段"
    if kind == "json_invalid":
        return "请求体不是合法的 JSON"
    if kind in ("string_too_short", "too_short"):
        return "不能为空" if ctx.get("min_length") == 1 else f"太短（至少 {ctx.get('min_length')}）"
    if kind == "string_too_long":
        return f"太长（最多 {ctx.get('max_length')} 个字符）"
    if kind == "too_long":
        return f"项数太多（最多 {ctx.get('max_length')} 项）"
    if kind in ("literal_error", "enum"):
        return f"只能是 {ctx.get('expected', '')}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"类型不对（{err.get('msg', '')}）"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"超出范围（{err.get('msg', '')}）"
    return err.get("msg", "不符合要求")


def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {}
    field = None if first.get("type") == "json_invalid" else _field(first.get("loc", ()))
    where = f"字段 {field} " if field else "请求体"
    more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
    message = f"请求里{where}不对：{_say(first)}{more}。请对照 /docs 里的接口说明改正后重试。"
    return error_response(422, "bad_input", message, field)


def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code, message = HTTP_CODES.get(exc.status_code, ("http_error", str(exc.detail)))
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


def _any(_request: Request, exc: Exception) -> JSONResponse:
    status, code, message, headers = _describe(exc)
    return error_response(status, code, message, headers=headers or None)


def install(app: FastAPI) -> None:
    """Make every error of `app` answer in the one shape."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(ApiError, _any)
    app.add_exception_handler(HuashuError, _any)
    app.add_exception_handler(Exception, _any)
