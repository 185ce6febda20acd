"""What can go wrong with an LLM endpoint, said in plain words: every fault becomes one `LLMFault`.

The openai client, httpx underneath it, and LangChain's wrappers each raise their own exceptions; `classify`
turns any of them into an `LLMFault` (an `LLMUnavailableError`) whose `kind` says which fault it was and whose
message says what to do next. `retry_after` reads how long a 429 or 503 asked us to wait.
"""

from __future__ import annotations

import socket
from email.utils import parsedate_to_datetime
from time import time
from urllib.parse import urlsplit

from ..errors import LLMUnavailableError

RETRYABLE = frozenset({"rate_limit", "overloaded"})


class LLMFault(LLMUnavailableError):
    """The LLM could not give a usable draft; `kind` names the fault, `retry_after` a wait the server asked."""

    def __init__(
        self, kind: str, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Return whether trying again can help (rate limited or overloaded, nothing else)."""
        return self.kind in RETRYABLE


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _named(causes: list[BaseException], *names: str) -> bool:
    """Return whether any exception in the chain is (a subclass of) a class with one of `names`.

    By name, because the openai client's HTTP stack is httpx in some releases and httpx2 in others.
    """
    return any(k.__name__ in names for c in causes for k in type(c).__mro__)


def retry_after(headers) -> float | None:
    """Return the seconds a response's Retry-After (or retry-after-ms) header asks for, if it says."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


def timeout_fault(timeout_s: float) -> LLMFault:
    """Return the fault of an endpoint that did not finish within the timeout."""
    return LLMFault(
        "timeout",
        f"大模型 {timeout_s:g} 秒内没有写完（超时）。接口慢或卡住了；可以调大 HUASHU_LLM_TIMEOUT_S 或换个接口。",
    )


def classify(exc: BaseException, *, base_url: str, model: str, timeout_s: float) -> LLMFault:
    """Return the `LLMFault` for any exception the chat call raised."""
    import openai

    if isinstance(exc, LLMFault):
        return exc
    host = urlsplit(base_url).hostname or base_url
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        wait = retry_after(exc.response.headers)
        if status in (401, 403):
            return LLMFault(
                "auth",
                f"大模型接口拒绝了密钥（{status}）：检查 HUASHU_LLM_API_KEY（没设时用 OPENAI_API_KEY）。",
                status=status,
            )
        if status == 404:
            return LLMFault(
                "not_found",
                f"大模型接口说没有模型 {model}，或地址不对（404）：检查 HUASHU_LLM_MODEL 和 HUASHU_LLM_BASE_URL"
                "（通常以 /v1 结尾）；`huashu doctor` 会列出接口上的模型。",
                status=status,
            )
        if status == 429:
            return LLMFault(
                "rate_limit", "大模型接口限流（429），稍后再试。", status=status, retry_after=wait
            )
        if status == 503:
            return LLMFault("overloaded", "大模型接口暂时过载（503）。", status=status, retry_after=wait)
        if status >= 500:
            return LLMFault("server", f"大模型接口出错（{status}）。", status=status)
        return LLMFault("bad_request", f"大模型接口不接受这个请求（{status}）：{exc.message}", status=status)
    causes = list(_causes(exc))
    if isinstance(exc, openai.APITimeoutError) or _named(causes, "TimeoutException", "TimeoutError"):
        return timeout_fault(timeout_s)
    if any(isinstance(c, socket.gaierror) for c in causes) or any(
        "name or service not known" in str(c).lower() or "name resolution" in str(c).lower() for c in causes
    ):
        return LLMFault("dns", f"找不到大模型接口的主机 {host}：检查 HUASHU_LLM_BASE_URL 的地址拼写和网络。")
    if _named(causes, "ConnectionRefusedError", "ConnectError"):
        return LLMFault(
            "connect", f"连不上大模型接口 {base_url}：检查 HUASHU_LLM_BASE_URL 是否正确、服务是否已启动。"
        )
    if _named(causes, "RemoteProtocolError", "ReadError", "ConnectionResetError"):
        return LLMFault("stream_broken", "大模型的回复写到一半连接断了。")
    if isinstance(exc, openai.APIConnectionError | OSError) or _named(causes, "HTTPError", "TransportError"):
        return LLMFault("connect", f"和大模型接口 {base_url} 的连接出错：{exc}")
    return LLMFault("internal", f"调用大模型时出错（{type(exc).__name__}: {exc}）。")
