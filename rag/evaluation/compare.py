"""Compare two results documents: metric deltas and the cases that flipped between passing and failing."""

from __future__ import annotations

import json
from pathlib import Path, PurePath

from rag.errors import EvalFileError

SECTIONS = ("retrieval", "compliance", "draft", "latency_ms")
QUALITY = {
    "retrieval": ("hit_at_1", "hit_at_3", "hit_at_5", "mrr"),
    "compliance": ("recall", "precision", "false_positive_rate"),
    "draft": ("pass_rate",),
}
LOWER_IS_BETTER = {"compliance.false_positive_rate"}


def direction(key: str) -> int:
    """Return +1 when a higher value of `key` (section.metric) is better, -1 when lower is, 0 for counts."""
    section, _, metric = key.partition(".")
    if key in LOWER_IS_BETTER or section == "latency_ms":
        return -1
    return 1 if metric in QUALITY.get(section, ()) else 0


def load_results(path: str | Path) -> dict:
    """Read a results JSON; raise EvalFileError when it cannot be read or is not a results document."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalFileError(f"{path}: no such results file; check the path.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read it as a results JSON ({exc}).") from None
    if not isinstance(data, dict) or not any(isinstance(data.get(s), dict) for s in SECTIONS):
        raise EvalFileError(
            f"{path} is not a results file of `huashu eval run --json` (no retrieval/compliance/draft)."
        )
    return data


def metric_deltas(a: dict, b: dict) -> list[dict]:
    """Return one row per numeric metric present in either run: key, a, b, delta and better/worse/same."""
    rows = []
    for section in SECTIONS:
        sa, sb = a.get(section) or {}, b.get(section) or {}
        for metric in dict.fromkeys([*sa, *sb]):
            va, vb = sa.get(metric), sb.get(metric)
            if not all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in (va, vb)
            ):
                continue
            key = f"{section}.{metric}"
            delta = None if va is None or vb is None else round(vb - va, 6)
            sign = direction(key)
            if delta is None or sign == 0:
                verdict = ""
            elif abs(delta) < 1e-9:
                verdict = "same"
            else:
                verdict = "better" if delta * sign > 0 else "worse"
            rows.append({"metric": key, "a": va, "b": vb, "delta": delta, "verdict": verdict})
    return rows


def _verdicts(results: dict) -> dict[tuple[str, str], dict] | None:
    cases = results.get("cases")
    if not isinstance(cases, list):
        return None
    return {
        (PurePath(c.get("file", "")).name, str(c["id"])): c
        for c in cases
        if isinstance(c, dict) and "id" in c
    }


def _failed_keys(results: dict) -> dict[tuple[str, str], dict]:
    return {
        (f.get("kind", ""), str(f["id"])): f
        for f in results.get("failures", [])
        if isinstance(f, dict) and "id" in f
    }


def flipped_cases(a: dict, b: dict) -> dict:
    """Return the cases that went from passing to failing and back, with B's reason for each new failure.

    Cases are matched by eval file name and id. A results file without the per-case list (made by another
    tool that only follows the contract) is compared through its failures alone, and the answer says so.
    """
    va, vb = _verdicts(a), _verdicts(b)
    reasons = {
        (PurePath(f.get("file", "")).name, str(f["id"])): f.get("reason", "") for f in b.get("failures", [])
    }
    if va is None or vb is None:
        fa, fb = _failed_keys(a), _failed_keys(b)
        return {
            "exact": False,
            "to_failed": [
                {"id": k[1], "kind": k[0], "reason": fb[k].get("reason", "")} for k in fb if k not in fa
            ],
            "to_passed": [{"id": k[1], "kind": k[0]} for k in fa if k not in fb],
            "only_in_a": 0,
            "only_in_b": 0,
        }
    common = [k for k in va if k in vb]
    return {
        "exact": True,
        "to_failed": [
            {"file": k[0], "id": k[1], "kind": vb[k].get("kind", ""), "reason": reasons.get(k, "")}
            for k in common
            if va[k].get("passed") and not vb[k].get("passed")
        ],
        "to_passed": [
            {"file": k[0], "id": k[1], "kind": vb[k].get("kind", "")}
            for k in common
            if not va[k].get("passed") and vb[k].get("passed")
        ],
        "only_in_a": sum(1 for k in va if k not in vb),
        "only_in_b": sum(1 for k in vb if k not in va),
    }


def compare(a: dict, b: dict) -> dict:
    """Return the comparison of run A (before) with run B (after)."""
    return {
        "config": {"a": a.get("config", {}), "b": b.get("config", {})},
        "metrics": metric_deltas(a, b),
        "flipped": flipped_cases(a, b),
    }


def _num(value) -> str:
    return "–" if value is None else f"{value:.4g}"


def render_comparison(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    """Return the comparison as plain text for the terminal."""
    lines = [f"A: {name_a}", f"B: {name_b}"]
    ca, cb = result["config"]["a"], result["config"]["b"]
    for key in ("embedding", "llm", "kb_fingerprint"):
        if ca.get(key) != cb.get(key):
            lines.append(f"  {key}: {ca.get(key)} -> {cb.get(key)}")
    width = max([len(r["metric"]) for r in result["metrics"]] + [6])
    lines += ["", f"{'metric':<{width}}  {'A':>9}  {'B':>9}  {'delta':>9}"]
    for r in result["metrics"]:
        delta = "–" if r["delta"] is None else f"{r['delta']:+.4g}"
        lines.append(
            f"{r['metric']:<{width}}  {_num(r['a']):>9}  {_num(r['b']):>9}  {delta:>9}  {r['verdict']}".rstrip()
        )
    flipped = result["flipped"]
    if not flipped["exact"]:
        lines += ["", "(one file has no per-case list: flips are read from the failures lists alone)"]
    lines += ["", f"passed -> failed: {len(flipped['to_failed'])}"]
    lines += [
        f"  {c['kind']} {c.get('file', '')}:{c['id']}  {c.get('reason', '')}".rstrip()
        for c in flipped["to_failed"]
    ]
    lines += [f"failed -> passed: {len(flipped['to_passed'])}"]
    lines += [f"  {c['kind']} {c.get('file', '')}:{c['id']}" for c in flipped["to_passed"]]
    if flipped["only_in_a"] or flipped["only_in_b"]:
        lines.append(f"cases only in A: {flipped['only_in_a']}, only in B: {flipped['only_in_b']}")
    return "\n".join(lines)
