"""The one place results and reports become JSON-ready dicts: the CLI, the eval runner, the feedback store,
the HTTP API and the workspace all call these, so a field means the same thing everywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from datetime import date

from .types import DraftRequest, DraftResult, FilterResult, Hit, Turn, Violation

SCORE_DIGITS = 4


def hit_dict(hit: Hit) -> dict:
    """Return a retrieved source: id, kind (script, policy, reference), scenario and scores."""
    return {
        "id": hit.id,
        "kind": hit.kind,
        "scenario": hit.scenario,
        "score": round(hit.score, SCORE_DIGITS),
        "dense_score": round(hit.dense_score, SCORE_DIGITS),
        "keyword_score": round(hit.keyword_score, SCORE_DIGITS),
        "scenario_prob": round(hit.scenario_prob, SCORE_DIGITS),
        "matched_via": hit.matched_via,
        "matched_text": hit.matched_text,
    }


def violation_dict(v: Violation) -> dict:
    """Return what the filter found: `span` is the text, `start`/`end` its place in the text checked."""
    return {
        "category": v.category,
        "span": v.text,
        "start": v.span[0],
        "end": v.span[1],
        "action": v.action,
        "reason": v.reason,
        "rule_id": v.rule_id,
        "replacement": v.replacement,
        "confidence": v.confidence,
    }


def filter_result_dict(result: FilterResult) -> dict:
    """Return a compliance check: the filtered text, what was found, whether it may be sent."""
    return {
        "text": result.text,
        "violations": [violation_dict(v) for v in result.violations],
        "blocked": result.blocked,
        "block_reason": result.block_reason,
    }


def request_dict(request: DraftRequest | None) -> dict | None:
    """Return the request a draft answered."""
    if request is None:
        return None
    return {
        "message": request.message,
        "brand": request.brand,
        "conversation": [{"role": t.role, "text": t.text} for t in request.conversation],
        "order": dict(request.order),
        "mode": request.mode,
        "script_id": request.script_id,
        "today": request.today.isoformat() if request.today else None,
    }


def draft_result_dict(result: DraftResult) -> dict:
    """Return a draft with everything that explains it (the contract's keys first)."""
    return {
        "id": result.id,
        "draft": result.draft,
        "scenario": result.scenario,
        "mode": result.mode,
        "sources": [hit_dict(h) for h in result.sources],
        "violations": [violation_dict(v) for v in result.violations],
        "brand": result.brand,
        "matched": result.matched,
        "blocked": result.blocked,
        "block_reason": result.block_reason,
        "script_id": result.script_id,
        "notices": list(result.notices),
        "fallback_reason": result.fallback_reason,
        "raw_draft": result.raw_draft,
        "drafter": result.drafter,
        "drafter_version": result.drafter_version,
        "model": result.model,
        "citations": list(result.citations),
        "usage": dict(result.usage),
        "index_gen": result.index_gen,
        "kb_fingerprint": result.kb_fingerprint,
        "created_at": result.created_at,
        "order": dict(result.order),
        "grounding": list(result.grounding),
        "timings_ms": dict(result.timings_ms),
        "request": request_dict(result.request),
    }


def draft_result_from_dict(data: dict) -> DraftResult:
    """Rebuild a `DraftResult` from `draft_result_dict`'s output (to re-check an edit in another process)."""
    req = data.get("request")
    request = None
    if req:
        request = DraftRequest(
            message=req["message"],
            brand=req["brand"],
            conversation=tuple(Turn(t["role"], t["text"]) for t in req.get("conversation", ())),
            order=dict(req.get("order") or {}),
            mode=req.get("mode", "auto"),
            script_id=req.get("script_id"),
            today=date.fromisoformat(req["today"]) if req.get("today") else None,
        )
    return DraftResult(
        draft=data["draft"],
        scenario=data["scenario"],
        mode=data["mode"],
        brand=data["brand"],
        sources=tuple(
            Hit(
                h["id"],
                h["kind"],
                h["scenario"],
                h["score"],
                h.get("matched_text", ""),
                h.get("matched_via", ""),
                h.get("dense_score", 0.0),
                h.get("keyword_score", 0.0),
                h.get("scenario_prob", 0.0),
            )
            for h in data.get("sources", ())
        ),
        violations=tuple(
            Violation(
                v["category"],
                (v["start"], v["end"]),
                v["span"],
                v["action"],
                v.get("reason", ""),
                v.get("rule_id", ""),
                v.get("replacement"),
                v.get("confidence"),
            )
            for v in data.get("violations", ())
        ),
        matched=data.get("matched", True),
        blocked=data.get("blocked", False),
        notices=tuple(data.get("notices", ())),
        script_id=data.get("script_id", ""),
        grounding=tuple(data.get("grounding", ())),
        order=dict(data.get("order") or {}),
        timings_ms=dict(data.get("timings_ms") or {}),
        id=data.get("id", ""),
        created_at=data.get("created_at", ""),
        request=request,
        block_reason=data.get("block_reason", ""),
        raw_draft=data.get("raw_draft", ""),
        drafter=data.get("drafter", ""),
        drafter_version=data.get("drafter_version", ""),
        model=data.get("model", ""),
        fallback_reason=data.get("fallback_reason", ""),
        citations=tuple(data.get("citations", ())),
        usage=dict(data.get("usage") or {}),
        index_gen=data.get("index_gen", 0),
        kb_fingerprint=data.get("kb_fingerprint", ""),
    )


def retrieval_dict(found) -> dict:
    """Return a retrieval: ranked scripts (with their replies), grounding policies, reference chunks, whether
    anything fit; scripts and policies name the brands they serve."""
    return {
        "query": found.query,
        "matched": found.matched,
        "scripts": [
            hit_dict(s.hit) | {"title": s.item.title, "reply": s.item.reply, "brands": list(s.item.brands)}
            for s in found.scripts
        ],
        "policies": [
            hit_dict(p.hit) | {"title": p.item.title, "brands": list(p.item.brands)} for p in found.policies
        ],
        "references": [hit_dict(r.hit) | {"source": r.item.source} for r in found.references],
        "timings_ms": {k: round(v, 3) for k, v in found.timings_ms.items()},
    }


def index_report_dict(report) -> dict:
    """Return a re-index report: every list in full, plus the counts."""
    return asdict(report) | {"summary": report.summary()}


def index_stats(gen, store_location: str) -> dict:
    """Return what a serving generation holds and how it was built."""
    manifest = gen.reader.manifest
    scripts = gen.reader.scripts()
    return {
        "kinds": dict(Counter(key.split(":", 1)[0] for key in manifest.items)),
        "scripts_per_scenario": dict(sorted(Counter(s.scenario for s in scripts).items())),
        "scripts_per_brand": dict(sorted(Counter(b for s in scripts for b in s.brands).items())),
        "brands": sorted(gen.brands),
        "tones": sorted(gen.tones),
        "embedding": manifest.provider,
        "dim": manifest.dim,
        "built_at": manifest.built_at,
        "kb_path": manifest.kb_path,
        "kb_fingerprint": manifest.kb_fingerprint,
        "config": manifest.config,
        "gen": manifest.gen,
        "store": store_location,
        "last_report": manifest.last_report,
        # the classifier this generation was built with, and whether this process serves it (why not, if not)
        "scenario_model": dict(manifest.scenario_model)
        | {"serving": gen.reader.scenario_model is not None, "note": gen.reader.scenario_note},
    }


def reported_dict(reported) -> dict:
    """Return one violation as the eval runner records it (category, span as [start, end], text, action)."""
    return {
        "category": reported.category,
        "span": list(reported.span),
        "text": reported.text,
        "action": reported.action,
    }


def eval_results_dict(run) -> dict:
    """Return the results document: the contract's keys first, then the breakdowns."""
    from .evaluation.metrics import summarize
    from .evaluation.run import RESULTS_VERSION

    summary = summarize(run.results)
    failures = [
        {
            "id": r.id,
            "kind": r.kind,
            "reason": r.reason,
            "file": r.file,
            "line": r.line,
            "reasons": list(r.reasons),
            "detail": r.detail,
        }
        for r in run.results
        if not r.passed
    ]
    cases = [
        {"file": r.file, "line": r.line, "id": r.id, "kind": r.kind, "passed": r.passed, "group": r.group}
        | ({"rank": r.rank} if r.kind == "retrieval" else {})
        | {"latency_ms": r.latency_ms}
        for r in run.results
    ]
    return {
        "retrieval": summary["retrieval"],
        "compliance": summary["compliance"],
        "draft": summary["draft"],
        "latency_ms": summary["latency_ms"],
        "config": run.config,
        "failures": failures,
        "per_scenario": summary["per_scenario"],
        "per_category": summary["per_category"],
        **({"retrieval_by_mode": summary["retrieval_by_mode"]} if "retrieval_by_mode" in summary else {}),
        "skipped": [{"file": s.file, "line": s.line, "id": s.id, "reason": s.reason} for s in run.skipped],
        "cases": cases,
        "run": {
            "version": RESULTS_VERSION,
            "files": list(run.files),
            "started_at": run.started_at,
            "duration_s": run.duration_s,
            "cases_run": len(run.results),
            "lines_skipped": len(run.skipped),
        },
    }
