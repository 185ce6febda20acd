"""The endpoints: thin calls into `Huashu` and the feedback store, answered in the library's JSON shapes."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from itertools import chain
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag import (
    BadInputError,
    DraftDelta,
    DraftResult,
    NotFoundError,
    draft_result_from_dict,
    filter_result_dict,
    retrieval_dict,
    violation_dict,
)
from rag.api.auth import Desk, allow
from rag.api.errors import ErrorBody, error_event
from rag.api.schemas import CheckIn, CheckOut, DecisionIn, DecisionOut, DraftIn, DraftOut, SearchOut

log = logging.getLogger(__name__)
router = APIRouter()
EVENT_STREAM = "text/event-stream"
_ERRORS = {
    s: {"model": ErrorBody, "description": d}
    for s, d in {
        400: "bad input (the message says what to fix)",
        401: "no valid key",
        403: "the key does not serve this brand",
        413: "body too large",
        422: "the body does not match the schema (`field` names the field)",
        429: "rate limit; see Retry-After",
        503: "index or store not available; see Retry-After",
    }.items()
}


def _services(request: Request):
    return request.app.state.services


# ---- drafts ----
@router.post(
    "/v1/drafts",
    response_model=DraftOut,
    responses=_ERRORS
    | {
        200: {
            "description": "The draft; with `Accept: text/event-stream`, `delta` events (text the filter has "
            "passed; `reset` means start the shown text over) and then one `result` event with the draft.",
            "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
        }
    },
    tags=["drafts"],
)
def create_draft(body: DraftIn, request: Request, key: Desk):
    """Draft a reply to the customer's latest message."""
    allow(key, body.brand)
    services = _services(request)
    if body.mode == "llm" and "llm" not in services.huashu.pipeline.drafters:
        raise BadInputError("这台服务器没有配置大模型，不能用 mode=llm：请用 auto 或 script。")
    kwargs = {
        "brand": body.brand,
        "conversation": [t.model_dump() for t in body.conversation],
        "order": body.order,
        "mode": body.mode,
        "script_id": body.script_id,
    }
    if EVENT_STREAM not in request.headers.get("accept", ""):
        return JSONResponse(services.record(services.huashu.draft(body.message, **kwargs)))
    events = services.huashu.stream_draft(body.message, **kwargs)
    first = next(events)  # checks the request and retrieves: a bad one fails here, as a plain error response
    return StreamingResponse(
        _sse(services, chain([first], events)),
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse(services, events: Iterator) -> Iterator[str]:
    """Turn the draft's deltas and result into server-sent events; an error mid-stream is an `error` event."""
    try:
        for event in events:
            if isinstance(event, DraftDelta):
                yield _event("delta", {"text": event.text, "reset": event.reset})
            elif isinstance(event, DraftResult):
                yield _event("result", services.record(event))
    except Exception as exc:  # the status line is gone: say it in the stream
        yield _event("error", error_event(exc))


@router.post(
    "/v1/drafts/{draft_id}/decision",
    response_model=DecisionOut,
    responses=_ERRORS | {409: {"model": ErrorBody}},
)
def decide(
    body: DecisionIn,
    request: Request,
    draft_id: Annotated[str, Path(min_length=1, max_length=64)],
    key: Desk,
):
    """Record the agent's decision: accepted, edited (the text is re-checked) or rejected; a repeat is a no-op."""
    services = _services(request)
    store = services.store()
    stored = store.get_draft(draft_id)
    if stored is None:
        raise NotFoundError(f"没有找到草稿 {draft_id}：请用 POST /v1/drafts 返回的 id。")
    allow(key, stored["brand"])
    check = None
    if body.decision == "edited" and body.final_text and body.final_text.strip():
        rechecked = services.huashu.recheck(draft_result_from_dict(stored), body.final_text)
        check = {
            "text": rechecked.draft,
            "violations": [violation_dict(v) for v in rechecked.violations],
            "blocked": rechecked.blocked,
            "block_reason": rechecked.block_reason,
        }
    decision = store.decide(
        draft_id,
        body.decision,
        final_text=body.final_text,
        reason=body.reason,
        note=body.note,
        agent=body.agent,
        chosen_script=body.chosen_script,
        recheck=check["violations"] if check else None,
    )
    return {"decision": decision.to_dict(), "check": check}


# ---- checks and search ----
@router.post("/v1/check", response_model=CheckOut, responses=_ERRORS, tags=["checks"])
def check(body: CheckIn, request: Request, key: Desk):
    """Check a text an agent typed: what the filter finds, the filtered text, and whether it may be sent."""
    allow(key, body.brand)
    result = _services(request).huashu.check(
        body.text, brand=body.brand, sources=body.sources, order=body.order
    )
    return filter_result_dict(result)


@router.get("/v1/scripts/search", response_model=SearchOut, responses=_ERRORS, tags=["scripts"])
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What the agent is looking for.")],
    brand: Annotated[str, Query(min_length=1, max_length=64)],
    key: Desk,
    k: Annotated[int, Query(ge=1, le=50, description="How many scripts at most.")] = 10,
):
    """Return ranked scripts and grounding policies for one brand (for a desk's script picker)."""
    allow(key, brand)
    return retrieval_dict(_services(request).huashu.retrieve(q, brand=brand, k=k))


# ---- health ----
@router.get("/healthz", tags=["health"])
def healthz():
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "not ready; the body says why"}})
def readyz(request: Request):
    """Whether this worker can serve: index loaded, feedback store reachable; the LLM's state."""
    services = _services(request)
    huashu = services.huashu
    index = {"ok": True, "message": ""}
    try:
        _ = huashu.generation  # loads it when the start-up could not
    except Exception as exc:  # reported, never raised: this is the health check
        index = {"ok": False, "message": str(exc)}
    feedback = {"ok": True, "message": ""}
    try:
        services.store().get_decision("readyz-probe")  # one indexed read of the real tables
    except Exception as exc:
        feedback = {"ok": False, "message": str(exc)}
    llm = huashu.pipeline.drafters.get("llm")
    body = {
        "ready": index["ok"] and feedback["ok"],
        "worker": os.getpid(),
        "index": index | huashu.status(),
        "feedback": feedback,
        "llm": {
            "configured": llm is not None,
            "available": bool(llm is not None and getattr(llm, "available", True)),
            "model": getattr(llm, "model", "") if llm is not None else "",
        },
    }
    return JSONResponse(body, status_code=200 if body["ready"] else 503)
