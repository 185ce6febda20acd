"""A small OpenAI-compatible server on 127.0.0.1 for tests and benchmarks: real HTTP, scripted answers, faults.

It serves `GET /v1/models` and `POST /v1/chat/completions` (streamed as server-sent events or not). Each
request takes the next queued `Answer` (`server.answer(...)`), else the default one, which adapts the script
it finds in the prompt (`[S1] …`) the way a well-behaved model would. Faults: a delay, an HTTP status with an
optional Retry-After, an empty or non-Chinese completion, one cut mid-sentence, a stream that stops halfway
(connection closed) or stalls, and one ten times longer than asked.

Use it as a pytest fixture (`fake_openai`: a session-wide server, reset for each test; import the fixtures
in a conftest) or directly: `with FakeOpenAI() as server: ...` (the LLM benchmark does).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

MODEL = "fake-chat-1"
API_KEY = "sk-test-fake"
FAULTS = ("adapt", "text", "status", "delay", "empty", "english", "cut", "stop_midway", "stall", "too_long")
ENGLISH = "Sure! We will take care of your order right away. Thanks for your patience."
_SOURCE = re.compile(r"^\[(S\d+)\][^\n]*\n(.+?)(?=\n\n|\Z)", re.MULTILINE | re.DOTALL)
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


@dataclass(frozen=True)
class Answer:
    """What the server does with one chat request.

    `fault` is one of FAULTS: adapt (the script in the prompt, adapted and cited), text (`text` as given),
    status (`status` with `retry_after` and `error_code`), delay (wait `delay_s`, then adapt or `text`),
    empty, english, cut (stops mid-sentence with finish_reason stop), stop_midway (stream closed halfway),
    stall (stream halts halfway until the test ends), too_long (the answer ten times over).
    """

    fault: str = "adapt"
    text: str | None = None
    status: int = 200
    retry_after: str | None = None
    error_code: str | None = None
    delay_s: float = 0.0
    chunk_chars: int = 4
    pace_s: float = 0.0  # a streamed answer waits this long between chunks (a model writing as it goes)


@dataclass
class Seen:
    """One request the server received, and when (perf_counter) it wrote its first and last byte."""

    path: str
    body: dict
    headers: dict
    received_at: float
    first_byte_at: float | None = None
    done_at: float | None = None
    answer: Answer | None = None
    peer: tuple = ()  # the client's (host, port): one port for many requests means a kept-alive connection

    @property
    def prompt(self) -> str:
        """Return the text of every message, joined (what the model was shown)."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", ()))

    @property
    def server_ms(self) -> float:
        """Return how long the server took from receiving the request to its last byte."""
        return ((self.done_at or self.received_at) - self.received_at) * 1000


def adapt(prompt: str) -> str:
    """Answer like a model that follows the prompt: the first script, lightly adapted, with citations."""
    sources = dict((sid, text.strip()) for sid, text in _SOURCE.findall(prompt))
    script = sources.get("S1")
    if not script:
        return "您的问题我记下了，我核实一下再回复您。"
    sentences = [s for s in _SENTENCE.findall(script) if s.strip()]
    if not sentences:
        return "您的问题我记下了，我核实一下再回复您。"
    cited = "[P1]" if "[P1]" in prompt else ""
    first = (
        sentences[0].rstrip("。！？!?")
        + "[S1]"
        + (sentences[0][-1] if sentences[0][-1] in "。！？!?" else "。")
    )
    rest = "".join(sentences[1:])
    if rest and cited and rest[-1] in "。！？!?":
        rest = rest[:-1] + cited + rest[-1]
    return "明白您的情况。" + first + rest


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # a client that hung up is no news here
        pass


class FakeOpenAI:
    """The server: start it, queue answers, read what it was asked."""

    def __init__(self, *, api_key: str = API_KEY, models: tuple[str, ...] = (MODEL,)):
        self.api_key = api_key
        self.models = models
        self.default = Answer()
        self.seen: list[Seen] = []
        self._queue: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()  # wakes delayed and stalled handlers when a test ends
        self._httpd = _Quiet(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-openai", daemon=True)

    # ---- life ----
    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget queued answers and requests; wake handlers still waiting from an earlier test."""
        self._release.set()
        with self._lock:
            self._queue.clear()
            self.seen.clear()
            self.default = Answer()
        self._release = threading.Event()

    # ---- scripting ----
    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def settings(self, **extra) -> dict:
        """Return the Settings overrides that point Huashu at this server."""
        return {
            "llm_base_url": self.base_url,
            "llm_api_key": self.api_key,
            "llm_model": self.models[0],
        } | extra

    def answer(self, *answers: Answer) -> None:
        """Queue answers for the next requests, in order (then the default answers)."""
        with self._lock:
            self._queue.extend(answers)

    def chat_requests(self) -> list[Seen]:
        """Return the chat-completion requests received so far."""
        return [s for s in self.seen if s.path.endswith("/chat/completions")]

    def _next(self) -> Answer:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _handler(server: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

        def log_message(self, *args) -> None:  # quiet
            pass

        def setup(self) -> None:
            super().setup()
            # as real servers do: without it, headers and body in two writes wait out a delayed ACK (~40 ms)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        # ---- plumbing ----
        def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
            body = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def _error(self, status: int, message: str, code: str, headers: dict | None = None) -> None:
            self._json(status, {"error": {"message": message, "type": code, "code": code}}, headers)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") == f"Bearer {server.api_key}":
                return True
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
            return False

        # ---- routes ----
        def do_GET(self) -> None:
            seen = Seen(self.path, {}, dict(self.headers), time.perf_counter(), peer=self.client_address)
            server._record(seen)
            if self.path.rstrip("/") != "/v1/models":
                self._error(404, f"no route {self.path}", "not_found")
            elif self._authorised():
                self._json(
                    200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]}
                )
            seen.done_at = time.perf_counter()

        def do_POST(self) -> None:
            received = time.perf_counter()
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            seen = Seen(self.path, body, dict(self.headers), received, peer=self.client_address)
            server._record(seen)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._error(404, f"no route {self.path}", "not_found")
                return
            if not self._authorised():
                return
            if body.get("model") not in server.models:
                self._error(404, f"The model `{body.get('model')}` does not exist.", "model_not_found")
                return
            answer = seen.answer = server._next()
            release = server._release
            if answer.fault == "status":
                headers = {"Retry-After": answer.retry_after} if answer.retry_after is not None else {}
                self._error(
                    answer.status, f"fake error {answer.status}", answer.error_code or "error", headers
                )
                seen.done_at = time.perf_counter()
                return
            if answer.fault == "delay" and release.wait(answer.delay_s):
                self.close_connection = True
                return
            text = _completion(answer, seen.prompt)
            if body.get("stream"):
                self._stream(seen, answer, text, body, release)
            else:
                seen.first_byte_at = time.perf_counter()
                self._json(200, _completion_body(body, text, "length" if answer.fault == "cut" else "stop"))
            seen.done_at = time.perf_counter()

        def _stream(
            self, seen: Seen, answer: Answer, text: str, body: dict, release: threading.Event
        ) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            pieces = [text[i : i + answer.chunk_chars] for i in range(0, len(text), answer.chunk_chars)]
            half = len(pieces) // 2 if answer.fault in ("stop_midway", "stall") else None
            events = [_chunk(body, {"role": "assistant", "content": ""}, None)]
            seen.first_byte_at = time.perf_counter()
            for i, piece in enumerate(pieces):
                if half is not None and i == half:
                    self._send_events(events)
                    if answer.fault == "stall":
                        release.wait(120)
                    self.close_connection = True  # no terminating chunk: the peer sees a broken body
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                events.append(_chunk(body, {"content": piece}, None))
                if answer.pace_s:
                    self._send_events(events)
                    events = []
                    release.wait(answer.pace_s)
            events.append(_chunk(body, {}, "stop"))
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append(_chunk(body, None, None) | {"choices": [], "usage": _usage(body, text)})
            self._send_events(events, done=True)

        def _send_events(self, events: list[dict], done: bool = False) -> None:
            if not events and not done:
                return  # an empty chunk would end the chunked body
            data = "".join(f"data: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events)
            if done:
                data += "data: [DONE]\n\n"
            raw = data.encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n" + (b"0\r\n\r\n" if done else b""))
            self.wfile.flush()

    return Handler


def _completion(answer: Answer, prompt: str) -> str:
    base = answer.text if answer.text is not None else adapt(prompt)
    if answer.fault == "empty":
        return ""
    if answer.fault == "english":
        return ENGLISH
    if answer.fault == "cut":
        return base[: max(1, len(base) // 2)].rstrip("。！？!?")
    if answer.fault == "too_long":
        return base * 10
    return base


def _usage(body: dict, text: str) -> dict:
    prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", ()))
    return {"prompt_tokens": prompt, "completion_tokens": len(text), "total_tokens": prompt + len(text)}


def _chunk(body: dict, delta: dict | None, finish: str | None) -> dict:
    choice = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": choice,
    }


def _completion_body(body: dict, text: str, finish: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": _usage(body, text),
    }


# ---- pytest fixtures (import them in a conftest) ----
@pytest.fixture(scope="session")
def fake_openai_server():
    """One fake OpenAI-compatible server for the whole session."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server) -> FakeOpenAI:
    """The session's fake server with no queued answers and no requests seen."""
    fake_openai_server.reset()
    yield fake_openai_server
    fake_openai_server.reset()


LLM_TIMEOUT_S = 2.0


@pytest.fixture(scope="session")
def llm_app(huashu_app, fake_openai_server):
    """A Huashu over the session's index that drafts through the fake server (timeout LLM_TIMEOUT_S).

    Its circuit breaker never opens (the breaker has its own tests); use it with the `fake_openai`
    fixture, which clears queued answers between tests.
    """
    from rag import Huashu

    settings = huashu_app.settings.model_copy(
        update=fake_openai_server.settings(llm_timeout_s=LLM_TIMEOUT_S, llm_breaker_threshold=1_000_000)
    )
    app = Huashu(settings, embeddings=huashu_app.embeddings)
    app.warm_up()  # the index and the LLM client load here, not inside the first timed draft
    yield app
    app.close()
