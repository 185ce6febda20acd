"""Limits that keep one desk from starving the others: request size and per-key request rate."""

from __future__ import annotations

import json
import math
import threading
import time

from rag.api.errors import HTTP_CODES


class BodyLimit:
    """ASGI middleware: refuse a request body over `max_bytes` with 413, declared or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        # Read the whole body first (it is small by definition), so one past the limit never reaches the app.
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return await self._refuse(send)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would say it

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        code, _ = HTTP_CODES[413]
        message = f"请求体超过 {self.max_bytes} 字节，已拒绝：请只发当前消息和必要的几轮对话。"
        body = json.dumps({"error": {"code": code, "message": message, "field": None}}, ensure_ascii=False)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode("utf-8")})


class RateLimiter:
    """A token bucket per key: `rate` requests a minute, `burst` at once; thread-safe, this process only.

    Several workers each keep their own buckets, so each is given its share (`workers`): the whole server
    then allows about the configured rate, however the kernel spreads connections between workers.
    """

    def __init__(self, per_minute: int, burst: int, workers: int = 1):
        self.per_minute = per_minute
        self.burst = burst
        self.workers = max(1, workers)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str, per_minute: int | None = None) -> float:
        """Spend one request of `key`; return 0 when allowed, else the seconds until the next one is."""
        rate = (per_minute or self.per_minute) / 60.0 / self.workers  # tokens per second, this worker
        capacity = max(1.0, math.ceil(min(self.burst, per_minute or self.burst) / self.workers))
        with self._lock:  # the clock is read under the lock: a reading older than the bucket's would drain it
            now = time.monotonic()
            tokens, then = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - then) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
