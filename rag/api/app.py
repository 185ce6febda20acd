"""The app factory and what its routes share: one `Huashu`, the feedback store with its keys, the limiter.

uvicorn calls `create_app()` once in every worker process (`huashu serve` passes `factory=True`); each worker
holds its own serving generation and picks up new ones in the background, so a re-index run anywhere reaches
every worker without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from rag import ApiKeys, DraftResult, FeedbackUnavailableError, Huashu, HuashuError, draft_result_dict
from rag.api.errors import install as install_errors
from rag.api.limits import BodyLimit, RateLimiter
from rag.feedback import NOT_RECORDING, open_feedback_store

log = logging.getLogger(__name__)
STORE_RETRY_S = 5.0  # after a failed open, wait this long before trying the feedback store again
API_VERSION = "1"


class Services:
    """What every request uses; safe to share between the worker's threads."""

    def __init__(self, settings, huashu: Huashu | None = None):
        self.settings = settings
        self.huashu = huashu or Huashu(settings)
        self.limiter = RateLimiter(
            settings.api_rate_per_minute, settings.api_rate_burst, settings.api_workers
        )
        self._store = None
        self._store_error = ""
        self._next_try = 0.0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Load the model and the index and open the store now, so the first request is fast."""
        try:
            self.huashu.warm_up()
        except HuashuError as exc:  # /readyz says so; requests retry the load
            log.warning("not ready: %s", exc)
        try:
            self.store()
        except HuashuError as exc:
            log.warning("feedback store not available: %s", exc)

    def store(self):
        """Return the feedback store, opening it on first use; FeedbackUnavailableError while it cannot."""
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                if time.monotonic() < self._next_try:
                    raise FeedbackUnavailableError(self._store_error)
                try:
                    self._store = open_feedback_store(self.settings)
                except FeedbackUnavailableError as exc:
                    self._store_error, self._next_try = str(exc), time.monotonic() + STORE_RETRY_S
                    raise
        return self._store

    def keys(self) -> ApiKeys:
        """Return the API keys (in the feedback store)."""
        return ApiKeys(self.store())

    def record(self, result: DraftResult) -> dict:
        """Store the draft so a decision can follow; return its JSON form (with a notice when not stored)."""
        data = draft_result_dict(result)
        try:
            self.store().record_draft(result)
        except HuashuError as exc:
            log.warning("draft %s not recorded: %s", result.id, exc)
            data["notices"].append(NOT_RECORDING)
        return data

    def close(self) -> None:
        self.huashu.close()
        if self._store is not None:
            self._store.close()


def create_app(settings=None, *, huashu: Huashu | None = None) -> FastAPI:
    """Return the HTTP API over `settings` (default: from the environment)."""
    from rag import load_settings
    from rag.api.routes import router

    settings = settings or load_settings()
    services = Services(settings, huashu)

    @asynccontextmanager
    async def lifespan(_app):
        await run_in_threadpool(services.start)
        yield
        services.close()

    app = FastAPI(
        title="话术助手 Huashu API",
        version=API_VERSION,
        description=(
            "Reply drafts for chat desks: draft, record the agent's decision, check hand-typed text, search "
            "scripts. Every /v1 call needs `Authorization: Bearer <key>` (`huashu keys create`); a key serves "
            'only its brands. Errors: `{"error": {"code", "message", "field"}}`.'
        ),
        lifespan=lifespan,
    )
    app.state.services = services
    install_errors(app)
    app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app
