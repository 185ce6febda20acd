"""Pure scoring: each case's verdict with its reasons, and the metrics over many cases.

Nothing here calls Huashu; the runner hands in what came back as plain values. A metric whose
denominator is zero (precision with nothing reported, say) is None, shown as null in the JSON.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rag.scenarios import NO_MATCH_SCENARIO

from .cases import ComplianceCase, DraftCase, ExpectedViolation, RetrievalCase

HIT_KS = (1, 3, 5)
MRR_DEPTH = 10
NOT_GIVEN = "(not given)"


@dataclass(frozen=True)
class Ranked:
    """One retrieved script as the runner saw it."""

    id: str
    scenario: str
    score: float


@dataclass(frozen=True)
class Reported:
    """One violation the filter reported: category, span in the checked text, the text at the span."""

    category: str
    span: tuple[int, int]
    text: str
    action: str = ""


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one case, with the reasons it failed and what is needed to explain it."""

    id: str
    kind: str
    file: str
    line: int
    passed: bool
    reasons: tuple[str, ...] = ()
    group: str = NOT_GIVEN  # scenario for retrieval and draft cases
    latency_ms: float = 0.0
    rank: int | None = None  # retrieval: rank of the first correct script within MRR_DEPTH
    found: tuple[tuple[str, bool], ...] = ()  # compliance: (category, found) per expected violation
    correct: tuple[tuple[str, bool], ...] = ()  # compliance: (category, matches an expected one) per report
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


# ---- retrieval ----
def first_correct_rank(ranked: Sequence[Ranked], case: RetrievalCase, *, matched: bool = True) -> int | None:
    """Return the 1-based rank of the first correct script within MRR_DEPTH, or None.

    Correct means the expected script if one is named, else any script of the expected scenario.
    An out_of_scope case whose message matched no script is correct at rank 1: saying "nothing fits" is
    the right answer there, and it is what the agent is shown.
    """
    if not matched and case.expected_script is None and case.expected_scenario == NO_MATCH_SCENARIO:
        return 1
    for rank, item in enumerate(ranked[:MRR_DEPTH], 1):
        if case.expected_script is not None:
            if item.id == case.expected_script:
                return rank
        elif item.scenario == case.expected_scenario:
            return rank
    return None


def _target(case: RetrievalCase) -> str:
    return f"script {case.expected_script}" if case.expected_script else str(case.expected_scenario)


def score_retrieval(
    case: RetrievalCase,
    ranked: Sequence[Ranked],
    *,
    matched: bool,
    latency_ms: float = 0.0,
    group: str | None = None,
    detail: dict | None = None,
) -> CaseResult:
    """Judge a retrieval case: it passes when a correct script is ranked first."""
    rank = first_correct_rank(ranked, case, matched=matched)
    reasons: tuple[str, ...] = ()
    if rank != 1:
        top = ranked[0] if ranked else None
        if top is None:
            got = "no scripts"
        elif not matched and case.expected_scenario != NO_MATCH_SCENARIO:
            got = f"no match (best {top.scenario} / {top.id}, score {top.score:.3f})"
        else:
            got = f"{top.scenario} ({top.id}, score {top.score:.3f})"
        where = "not in the top 10" if rank is None else f"first correct at rank {rank}"
        reasons = (f"expected {_target(case)}, got {got}; {where}",)
    return CaseResult(
        case.id,
        case.kind,
        case.file,
        case.line,
        rank == 1,
        reasons,
        group or case.expected_scenario or NOT_GIVEN,
        latency_ms,
        rank,
        detail=detail or {},
    )


def hit_at_k(ranks: Sequence[int | None], k: int) -> float | None:
    """Return the share of cases whose first correct script is within the top k."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float | None:
    """Return the mean of 1/rank, counting a case with no correct script in the top 10 as 0."""
    if not ranks:
        return None
    return sum(1 / r for r in ranks if r is not None and r <= MRR_DEPTH) / len(ranks)


# ---- compliance ----
def spans_overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Return whether two half-open spans share at least one character."""
    return a[0] < b[1] and b[0] < a[1]


def _matches(expected: ExpectedViolation, report: Reported) -> bool:
    return report.category == expected.category and any(spans_overlap(report.span, s) for s in expected.spans)


def match_violations(
    expected: Sequence[ExpectedViolation], reported: Sequence[Reported]
) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """Return (found flag per expected violation, matches-an-expected flag per reported one)."""
    found = tuple(any(_matches(e, r) for r in reported) for e in expected)
    correct = tuple(any(_matches(e, r) for e in expected) for r in reported)
    return found, correct


def score_compliance(
    case: ComplianceCase, reported: Sequence[Reported], *, latency_ms: float = 0.0, detail: dict | None = None
) -> CaseResult:
    """Judge a compliance case: it passes when every expected violation is found and nothing else is reported."""
    found, correct = match_violations(case.expected, reported)
    reasons = [
        f"missed {e.category} “{e.match}”" for e, ok in zip(case.expected, found, strict=True) if not ok
    ]
    reasons += [
        f"unexpected {r.category} “{r.text}” at {r.span[0]}-{r.span[1]}"
        for r, ok in zip(reported, correct, strict=True)
        if not ok
    ]
    return CaseResult(
        case.id,
        case.kind,
        case.file,
        case.line,
        not reasons,
        tuple(reasons),
        NOT_GIVEN,
        latency_ms,
        found=tuple((e.category, ok) for e, ok in zip(case.expected, found, strict=True)),
        correct=tuple((r.category, ok) for r, ok in zip(reported, correct, strict=True)),
        detail=detail or {},
    )


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def compliance_summary(results: Sequence[CaseResult]) -> dict:
    """Return recall, precision and false-positive rate over compliance results, with their counts."""
    found = [ok for r in results for _, ok in r.found]
    correct = [ok for r in results for _, ok in r.correct]
    compliant = [r for r in results if not r.found]
    flagged = [r for r in compliant if r.correct]
    return {
        "cases": len(results),
        "recall": _ratio(sum(found), len(found)),
        "precision": _ratio(sum(correct), len(correct)),
        "false_positive_rate": _ratio(len(flagged), len(compliant)),
        "passed": sum(r.passed for r in results),
        "expected_violations": len(found),
        "reported_violations": len(correct),
        "compliant_cases": len(compliant),
    }


def per_category(results: Sequence[CaseResult]) -> dict[str, dict]:
    """Return recall, precision and false positives per compliance category."""
    rows: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("expected", "found", "reported", "correct", "false_positive_cases"), 0)
    )
    compliant = [r for r in results if not r.found]
    for r in results:
        for category, ok in r.found:
            rows[category]["expected"] += 1
            rows[category]["found"] += ok
        for category, ok in r.correct:
            rows[category]["reported"] += 1
            rows[category]["correct"] += ok
    for r in compliant:
        for category in {c for c, _ in r.correct}:
            rows[category]["false_positive_cases"] += 1
    return {
        c: row
        | {
            "recall": _round(_ratio(row["found"], row["expected"])),
            "precision": _round(_ratio(row["correct"], row["reported"])),
            "false_positive_rate": _round(_ratio(row["false_positive_cases"], len(compliant))),
        }
        for c, row in sorted(rows.items())
    }


# ---- draft ----
def draft_failures(
    case: DraftCase,
    *,
    draft: str,
    scenario: str,
    leftover: Sequence[Reported] = (),
    tone: Sequence[str] = (),
    blocked: bool = False,
    block_reason: str = "",
) -> list[str]:
    """Return every reason a draft breaks the pass rules (empty when it passes)."""
    reasons = []
    if blocked:
        reasons.append(
            f"draft blocked by the filter: {block_reason}" if block_reason else "draft blocked by the filter"
        )
    if case.expected_scenario and scenario != case.expected_scenario:
        reasons.append(f"expected {case.expected_scenario}, got {scenario}")
    if case.must_include_any and not any(s in draft for s in case.must_include_any):
        reasons.append("contains none of " + ", ".join(f"“{s}”" for s in case.must_include_any))
    reasons += [f"contains “{s}”, which it must not" for s in case.must_not_include if s in draft]
    reasons += [f"post-filter still finds {v.category} “{v.text}”" for v in leftover]
    reasons += [f"tone: {p}" for p in tone]
    return reasons


def score_draft(
    case: DraftCase, reasons: Sequence[str], *, latency_ms: float = 0.0, detail: dict | None = None
) -> CaseResult:
    """Wrap a draft case's failure reasons into its verdict."""
    return CaseResult(
        case.id,
        case.kind,
        case.file,
        case.line,
        not reasons,
        tuple(reasons),
        case.expected_scenario or NOT_GIVEN,
        latency_ms,
        detail=detail or {},
    )


# ---- latency ----
def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (0-100), interpolating linearly between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_summary(results: Iterable[CaseResult]) -> dict[str, float]:
    """Return p50, p95, p99 and max latency in ms per kind of case, as flat keys (draft_p50, …)."""
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r.latency_ms)
    out: dict[str, float] = {}
    for kind in ("retrieval", "compliance", "draft"):
        values = by_kind.get(kind)
        if values:
            for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)):
                out[f"{kind}_{name}"] = round(percentile(values, q), 3)
    return out


# ---- all together ----
def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def retrieval_summary(results: Sequence[CaseResult]) -> dict:
    """Return hit@1/3/5 and MRR over retrieval results."""
    ranks = [r.rank for r in results]
    out: dict = {"cases": len(results)}
    out |= {f"hit_at_{k}": _round(hit_at_k(ranks, k)) for k in HIT_KS}
    out["mrr"] = _round(mean_reciprocal_rank(ranks))
    return out


def retrieval_by_mode(results: Sequence[CaseResult]) -> dict[str, dict]:
    """Return hit@k and MRR per retrieval mode when the run also tried dense-only and keyword-only."""
    modes = sorted({m for r in results for m in r.detail.get("rank_by_mode", {})})
    if not modes:
        return {}
    out = {"fused": retrieval_summary(results)}
    for mode in modes:
        ranks = [r.detail["rank_by_mode"].get(mode) for r in results]
        out[mode] = {
            "cases": len(ranks),
            **{f"hit_at_{k}": _round(hit_at_k(ranks, k)) for k in HIT_KS},
            "mrr": _round(mean_reciprocal_rank(ranks)),
        }
    return out


def draft_summary(results: Sequence[CaseResult]) -> dict:
    """Return the pass rate over draft results."""
    passed = sum(r.passed for r in results)
    return {"cases": len(results), "pass_rate": _round(_ratio(passed, len(results))), "passed": passed}


def per_scenario(results: Sequence[CaseResult]) -> dict[str, dict[str, dict]]:
    """Return retrieval and draft metrics per expected scenario."""
    out: dict[str, dict[str, dict]] = {}
    for kind, summary in (("retrieval", retrieval_summary), ("draft", draft_summary)):
        groups: dict[str, list[CaseResult]] = defaultdict(list)
        for r in results:
            if r.kind == kind:
                groups[r.group].append(r)
        if groups:
            out[kind] = {g: summary(rs) for g, rs in sorted(groups.items())}
    return out


def summarize(results: Sequence[CaseResult]) -> dict:
    """Return the contract's metric sections plus per-scenario, per-category and latency breakdowns."""
    kinds = {k: [r for r in results if r.kind == k] for k in ("retrieval", "compliance", "draft")}
    compliance = compliance_summary(kinds["compliance"])
    for key in ("recall", "precision", "false_positive_rate"):
        compliance[key] = _round(compliance[key])
    return {
        "retrieval": retrieval_summary(kinds["retrieval"]) if kinds["retrieval"] else {"cases": 0},
        "compliance": compliance if kinds["compliance"] else {"cases": 0},
        "draft": draft_summary(kinds["draft"]) if kinds["draft"] else {"cases": 0},
        "latency_ms": latency_summary(results),
        "per_scenario": per_scenario(results),
        "per_category": per_category(kinds["compliance"]),
    } | ({"retrieval_by_mode": by_mode} if (by_mode := retrieval_by_mode(kinds["retrieval"])) else {})
