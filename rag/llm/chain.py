"""The LangChain chain (`ChatPromptTemplate | ChatOpenAI(base_url=…)`) and how a draft calls it.

One deadline covers the whole call, retries included. The chain streams in a worker thread that hands
chunks over a queue, so the deadline holds however the endpoint stalls: when it passes, the draft stops
waiting at once (the worker ends by itself at its own timeout). Only 429 and 503 are retried, after the
wait the server asked for (Retry-After) or a short doubling back-off, and only if that wait still leaves
time for an answer before the deadline.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..prompts import chat_prompt
from .faults import LLMFault, classify, timeout_fault

log = logging.getLogger(__name__)
MAX_RETRIES = 2
BACKOFF_S = 0.25  # first wait when the server names none; doubles each retry
MIN_ATTEMPT_S = 0.2  # a retry must leave at least this long for the answer
WORKERS = 16  # streams read at once; more wait in line (and time out if the endpoint stalls them all)
NO_KEY = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) take any key


@dataclass(frozen=True)
class LLMConfig:
    """How to reach the chat model and how long to wait for it."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 20.0
    temperature: float = 0.3
    max_tokens: int = 512
    breaker_threshold: int = 3
    breaker_cooldown_s: float = 30.0

    @classmethod
    def from_settings(cls, settings) -> LLMConfig:
        """Return the LLM config the settings describe (settings.llm_base_url must be set)."""
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
            breaker_threshold=settings.llm_breaker_threshold,
            breaker_cooldown_s=settings.llm_breaker_cooldown_s,
        )


def chat_model(config: LLMConfig):
    """Return the LangChain chat model for `config` (imports langchain_openai: call only when drafting)."""
    from langchain_openai import ChatOpenAI

    # OpenAI itself wants max_completion_tokens (what ChatOpenAI sends); DeepSeek, Qwen, vLLM, Ollama and
    # llama.cpp all read the older max_tokens, and not all of them the newer name.
    if urlsplit(config.base_url).hostname == "api.openai.com":
        limit = {"max_tokens": config.max_tokens}
    else:
        limit = {"extra_body": {"max_tokens": config.max_tokens}}
    return ChatOpenAI(
        model=config.model,
        base_url=config.base_url,
        api_key=config.api_key or NO_KEY,
        temperature=config.temperature,
        **limit,
        timeout=config.timeout_s,
        max_retries=0,  # retries are ours: only where they help, never past the deadline
        stream_usage=True,
    )


class ChatChain:
    """The prompt and the chat model as one runnable, called with a deadline."""

    def __init__(self, config: LLMConfig, model=None):
        self.config = config
        self._model = model
        self._workers = None
        self._lock = threading.Lock()

    @property
    def workers(self) -> _Workers:
        """The threads that read streams (started on first use, reused after)."""
        if self._workers is None:
            with self._lock:
                if self._workers is None:
                    self._workers = _Workers(WORKERS)
        return self._workers

    @property
    def model(self):
        """The chat model (made on first use, so building Huashu imports no LangChain)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = chat_model(self.config)
        return self._model

    def stream(self, variables: dict, deadline: float) -> Iterator[tuple]:
        """Yield ("text", str), ("usage", dict), ("finish", reason) and ("retry", kind, seconds) events.

        Raise `LLMFault` on any failure, and a timeout fault the moment `deadline` (perf_counter) passes.
        """
        for attempt in range(MAX_RETRIES + 1):
            started = False
            try:
                for event in self._attempt(variables, deadline):
                    started = True
                    yield event
                return
            except LLMFault as fault:
                if started or not fault.retryable or attempt == MAX_RETRIES:
                    raise
                wait = fault.retry_after if fault.retry_after is not None else BACKOFF_S * 2**attempt
                if time.perf_counter() + wait + MIN_ATTEMPT_S > deadline:
                    raise
                log.info("LLM %s: retrying in %.2f s", fault.kind, wait)
                yield ("retry", fault.kind, wait)
                time.sleep(wait)

    def _attempt(self, variables: dict, deadline: float) -> Iterator[tuple]:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            raise timeout_fault(self.config.timeout_s)
        chain = chat_prompt() | self.model.bind(timeout=remaining)
        handoff: queue.SimpleQueue = queue.SimpleQueue()
        cancelled = threading.Event()

        def work() -> None:
            try:
                for chunk in chain.stream(variables):
                    if cancelled.is_set():
                        return
                    handoff.put(("events", list(_events(chunk))))
                handoff.put(("end", None))
            except BaseException as exc:  # handed to the caller, who classifies it
                handoff.put(("error", exc))

        self.workers.submit(work)
        try:
            while True:
                try:
                    kind, value = handoff.get(timeout=max(0.0, deadline - time.perf_counter()))
                except queue.Empty:
                    raise timeout_fault(self.config.timeout_s) from None
                if kind == "end":
                    return
                if kind == "error":
                    raise classify(
                        value,
                        base_url=self.config.base_url,
                        model=self.config.model,
                        timeout_s=self.config.timeout_s,
                    ) from value
                yield from value
        finally:
            cancelled.set()


class _Workers:
    """A few daemon threads that run jobs: a thread left reading a stalled stream never holds up exit."""

    def __init__(self, size: int):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.size = size
        self.started = 0
        self.idle = 0
        self._lock = threading.Lock()

    def submit(self, job) -> None:
        with self._lock:
            if self.idle <= 0 and self.started < self.size:
                self.started += 1
                threading.Thread(target=self._run, name=f"huashu-llm-{self.started}", daemon=True).start()
            else:
                self.idle -= 1
        self.jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            job()
            with self._lock:
                self.idle += 1


def _events(chunk) -> Iterator[tuple]:
    """Return what one AIMessageChunk carries: text, token usage, the finish reason."""
    text = chunk.content if isinstance(chunk.content, str) else chunk.text
    if text:
        yield ("text", text)
    usage = getattr(chunk, "usage_metadata", None)
    if usage:
        yield (
            "usage",
            {
                "prompt_tokens": usage.get("input_tokens", 0),
                "completion_tokens": usage.get("output_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
        )
    finish = (chunk.response_metadata or {}).get("finish_reason")
    if finish:
        yield ("finish", finish)
