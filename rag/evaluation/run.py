"""Run eval cases through the same Huashu calls the workspace makes, and collect what came back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from rag.errors import ConfigError
from rag.serialize import eval_results_dict, reported_dict
from rag.tone import tone_problems

from .cases import Case, ComplianceCase, DraftCase, EvalSet, RetrievalCase, Skipped
from .metrics import (
    CaseResult,
    Ranked,
    Reported,
    draft_failures,
    first_correct_rank,
    score_compliance,
    score_draft,
    score_retrieval,
)

log = logging.getLogger(__name__)
RESULTS_VERSION = 1
TOP_SHOWN = 3


@dataclass(frozen=True)
class EvalRun:
    """Everything one run produced: a verdict per case, the lines skipped, and what was measured with."""

    results: tuple[CaseResult, ...]
    skipped: tuple[Skipped, ...]
    config: dict
    files: tuple[str, ...]
    started_at: str
    duration_s: float


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _reported(violations) -> list[Reported]:
    return [Reported(v.category, tuple(v.span), v.text, v.action) for v in violations]


def _as_json(reported: Sequence[Reported]) -> list[dict]:
    return [reported_dict(r) for r in reported]


class EvalRunner:
    """Run eval cases against one Huashu; `brand` fills in cases that name none, `today` pins policy dates."""

    def __init__(
        self,
        app,
        *,
        brand: str | None = None,
        today: date | None = None,
        modes: Sequence[str] = (),
        draft_mode: str = "auto",
    ):
        self.app = app
        self.draft_mode = draft_mode  # llm: draft and retrieval cases go through the LLM drafting path
        self.llm = app.pipeline.drafters.get("llm")
        if draft_mode == "llm" and self.llm is None:
            raise ConfigError(
                "--mode llm 需要大模型：设置 HUASHU_LLM_BASE_URL 和 HUASHU_LLM_MODEL（huashu doctor 可以检查）。"
            )
        self.modes = tuple(m for m in modes if m != "fused")  # fused is the main run; these run beside it
        self.brand = app.check_brand(brand)
        self.today = today

    def prepare(self, cases: Sequence[Case]) -> tuple[list[Case], list[Skipped]]:
        """Resolve each case's brand and check brands and script ids against this knowledge base."""
        scripts = {s.id: s.scenario for s in self.app.scripts()}
        ready: list[Case] = []
        skipped: list[Skipped] = []
        for case in cases:
            brand = case.brand or self.brand
            reason = None
            if brand is not None and brand not in self.app.brands:
                reason = f"unknown brand {brand!r}; known brands: {', '.join(sorted(self.app.brands))}"
            elif isinstance(case, DraftCase) and brand is None:
                reason = 'a draft case needs a brand: add "brand" to the case or pass --brand'
            elif isinstance(case, RetrievalCase) and case.expected_script:
                scenario = scripts.get(case.expected_script)
                if scenario is None:
                    reason = f"expected_script {case.expected_script!r} is not a script in the index"
                elif case.expected_scenario and scenario != case.expected_scenario:
                    reason = (
                        f"expected_script {case.expected_script!r} is a {scenario} script, "
                        f"not {case.expected_scenario}"
                    )
            if reason:
                skipped.append(Skipped(case.file, case.line, reason, case.id))
            else:
                ready.append(replace(case, brand=brand))
        return ready, skipped

    def run(
        self,
        evalset: EvalSet,
        on_case: Callable[[CaseResult], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> EvalRun:
        """Run every usable case of `evalset` in order; a case that raises fails with the error as its reason."""
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        start = time.perf_counter()
        self.app.warm_up()  # load the model and the index before anything is timed
        ready, more_skipped = self.prepare(evalset.cases)
        if on_start:
            on_start(len(ready))
        results = []
        for case in ready:
            result = self.run_case(case)
            results.append(result)
            if on_case:
                on_case(result)
        config = self.app.config_summary() | {
            "today": (self.today or date.today()).isoformat(),
            "brand_default": self.brand,
            "draft_mode": self.draft_mode,
            "prompt_version": self.llm.version if self.llm is not None else None,
        }
        skipped = sorted(
            evalset.skipped + tuple(more_skipped), key=lambda s: (evalset.files.index(s.file), s.line)
        )
        return EvalRun(
            tuple(results),
            tuple(skipped),
            config,
            evalset.files,
            started_at,
            round(time.perf_counter() - start, 3),
        )

    def run_case(self, case: Case) -> CaseResult:
        """Run one prepared case and judge it."""
        try:
            if isinstance(case, RetrievalCase):
                return self._retrieval(case)
            if isinstance(case, ComplianceCase):
                return self._compliance(case)
            return self._draft(case)
        except Exception as exc:  # one broken case must not end a run of hundreds; it fails with the error
            log.warning("%s:%s case %s raised", case.file, case.line, case.id, exc_info=True)
            return CaseResult(
                case.id,
                case.kind,
                case.file,
                case.line,
                False,
                (f"error: {type(exc).__name__}: {exc}",),
                detail={"query": getattr(case, "query", getattr(case, "text", "")), "brand": case.brand},
            )

    def _retrieval(self, case: RetrievalCase) -> CaseResult:
        if self.draft_mode == "llm" and case.brand:  # a draft needs a brand; brand-less cases only retrieve
            return self._retrieval_through_llm(case)
        t = time.perf_counter()
        found = self.app.retrieve(case.query, brand=case.brand, k=10, today=self.today)
        latency = _ms(t)
        ranked = [Ranked(s.hit.id, s.hit.scenario, round(s.hit.score, 6)) for s in found.scripts]
        expected = {"scenario": case.expected_scenario, "script": case.expected_script}
        group = case.expected_scenario
        if group is None:
            group = next((r.scenario for r in ranked if r.id == case.expected_script), None)
        detail = {
            "query": case.query,
            "brand": case.brand,
            "expected": expected,
            "matched": found.matched,
            "top": [vars(r) for r in ranked[:TOP_SHOWN]],
        }
        if self.modes:  # the same case through dense-only and keyword-only retrieval, for a side-by-side
            detail["rank_by_mode"] = {
                mode: first_correct_rank(
                    [Ranked(s.hit.id, s.hit.scenario, s.hit.score) for s in other.scripts],
                    case,
                    matched=other.matched,
                )
                for mode in self.modes
                for other in [
                    self.app.retrieve(case.query, brand=case.brand, k=10, today=self.today, mode=mode)
                ]
            }
        return score_retrieval(
            case, ranked, matched=found.matched, latency_ms=latency, group=group, detail=detail
        )

    def _compliance(self, case: ComplianceCase) -> CaseResult:
        if case.sources is not None:
            sources = list(case.sources)
        else:  # the library grounds numbers in the brand's policies; pin their date when asked to
            sources = self.app.policy_texts(case.brand, self.today) if self.today else None
        t = time.perf_counter()
        checked = self.app.check(case.text, brand=case.brand, sources=sources)
        latency = _ms(t)
        reported = _reported(checked.violations)
        detail = {
            "text": case.text,
            "brand": case.brand,
            "expected": [{"category": e.category, "match": e.match} for e in case.expected],
            "reported": _as_json(reported),
            "final_text": checked.text,
        }
        return score_compliance(case, reported, latency_ms=latency, detail=detail)

    def _retrieval_through_llm(self, case: RetrievalCase) -> CaseResult:
        """Score the scripts an LLM draft was written from (the sources it shows), as the agent sees them."""
        t = time.perf_counter()
        result = self.app.draft(case.query, brand=case.brand, today=self.today, mode="llm")
        latency = _ms(t)
        ranked = [Ranked(h.id, h.scenario, round(h.score, 6)) for h in result.sources if h.kind == "script"]
        detail = {
            "query": case.query,
            "brand": case.brand,
            "expected": {"scenario": case.expected_scenario, "script": case.expected_script},
            "matched": result.matched,
            "top": [vars(r) for r in ranked[:TOP_SHOWN]],
        } | _llm_detail(result)
        group = case.expected_scenario or next(
            (r.scenario for r in ranked if r.id == case.expected_script), None
        )
        return score_retrieval(
            case, ranked, matched=result.matched, latency_ms=latency, group=group, detail=detail
        )

    def _draft(self, case: DraftCase) -> CaseResult:
        t = time.perf_counter()
        result = self.app.draft(case.query, brand=case.brand, today=self.today, mode=self.draft_mode)
        latency = _ms(t)
        leftover = _reported(
            self.app.recheck(result, result.draft).violations
        )  # what the agent would be warned of
        brand = self.app.brands[case.brand]
        tone = tone_problems(result.draft, self.app.tones[brand.tone]) if brand.tone in self.app.tones else []
        reasons = draft_failures(
            case,
            draft=result.draft,
            scenario=result.scenario,
            leftover=leftover,
            tone=tone,
            blocked=result.blocked,
            block_reason=result.block_reason,
        )
        if (
            self.draft_mode == "llm" and result.matched and result.drafter != "llm"
        ):  # the LLM path was not tested
            reasons = [*reasons, f"fell back to script mode: {result.fallback_reason}"]
        detail = {
            "query": case.query,
            "brand": case.brand,
            "expected": {
                "scenario": case.expected_scenario,
                "must_include_any": list(case.must_include_any),
                "must_not_include": list(case.must_not_include),
            },
            "top": [
                {"id": h.id, "scenario": h.scenario, "score": round(h.score, 6)}
                for h in result.sources
                if h.kind == "script"
            ][:TOP_SHOWN],
            "scenario": result.scenario,
            "script_id": result.script_id,
            "matched": result.matched,
            "draft": result.draft,
            "filtered": _as_json(_reported(result.violations)),
            "leftover": _as_json(leftover),
            "tone": tone,
        } | (_llm_detail(result) if self.draft_mode == "llm" else {})
        return score_draft(case, reasons, latency_ms=latency, detail=detail)


def _llm_detail(result) -> dict:
    """Return what an LLM-path draft recorded: drafter, fallback, citations, tokens, first token."""
    return {
        "drafter": result.drafter,
        "fallback_reason": result.fallback_reason,
        "citations": list(result.citations),
        "usage": dict(result.usage),
        "llm_first_token_ms": result.timings_ms.get("llm_first_token"),
    }


def results_json(run: EvalRun) -> dict:
    """Return the results document (see `rag.serialize.eval_results_dict`)."""
    return eval_results_dict(run)
