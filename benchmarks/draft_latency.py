"""Benchmark draft latency on the starter knowledge base: first draft after start, then warm p50/p95.

Run: .venv/bin/python benchmarks/draft_latency.py [--rounds 2] [--cold-runs 3] [--json OUT]
The index is built fresh in a temp dir. Cold: a fresh Python process imports rag, constructs
Huashu and drafts once. Warm: every eval-set query (retrieval and draft sets) is drafted, and
retrieved in fused, dense-only and keyword-only mode side by side (the baselines). The scenario classifier
is measured by difference in the same loop: each query is also drafted by a second Huashu over the same index
with HUASHU_SCENARIO_MODEL=off, and retrieved in hybrid mode (fused without the classifier).
Targets: draft p95 <= 20 ms in script mode; first draft <= 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DRAFT_P95_TARGET_MS = 20.0
FIRST_DRAFT_TARGET_S = 3.0
FIRST_MESSAGE = ("快递到了，盒子压扁了，里面的奶瓶也裂了", "nuanbei")


def child_first_draft(data_dir: str, kb: str) -> None:
    """In a fresh process: import, construct Huashu, draft once, then again; print the timings as JSON."""
    t0 = time.perf_counter()
    from rag import Huashu, Settings

    t1 = time.perf_counter()
    app = Huashu(Settings(data_dir=Path(data_dir), kb_path=Path(kb)))
    t2 = time.perf_counter()
    first = app.draft(FIRST_MESSAGE[0], brand=FIRST_MESSAGE[1])
    t3 = time.perf_counter()
    done_epoch = time.time()
    app.draft("我地址写错了还能改吗", brand="jianyi")
    t4 = time.perf_counter()
    out = {
        "import_ms": (t1 - t0) * 1000,
        "construct_ms": (t2 - t1) * 1000,
        "first_draft_ms": (t3 - t2) * 1000,
        "in_process_to_first_draft_ms": (t3 - t0) * 1000,
        "second_draft_ms": (t4 - t3) * 1000,
        "first_draft_timings_ms": first.timings_ms,
        "first_draft_epoch": done_epoch,
        "matched": first.matched,
    }
    print(json.dumps(out))


def cold_runs(n: int, data_dir: Path, kb: Path) -> list[dict]:
    """Start `n` fresh processes one after another; return each one's timings plus the wall time."""
    runs = []
    for _ in range(n):
        before = time.time()
        proc = subprocess.run(
            [sys.executable, __file__, "--child-first-draft", str(data_dir), "--kb", str(kb)],
            capture_output=True,
            text=True,
            check=False,
        )
        after = time.time()
        if proc.returncode != 0:
            raise SystemExit(f"the cold-start child failed:\n{proc.stderr[-2000:]}")
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        got["process_start_to_first_draft_ms"] = (got.pop("first_draft_epoch") - before) * 1000
        got["process_wall_ms"] = (after - before) * 1000
        runs.append(got)
    return runs


def warm(app, queries: list[tuple[str, str]], rounds: int, app_off) -> dict:
    """Time retrieval in every mode and the whole draft over `queries`, `rounds` times."""
    import _common as c

    from rag.normalize import normalize_query

    modes = ("fused", "hybrid", "dense", "keyword")
    for q, b in queries:  # one untimed pass: caches, lazy objects, the allocator
        app.draft(q, brand=b)
        app_off.draft(q, brand=b)
        for m in modes:
            app.retrieve(q, brand=b, mode=m)
    retrieval = {m: [] for m in modes}
    parts: dict[str, list[float]] = {}
    embed, draft, draft_off, breakdown = [], [], [], {}
    matched = 0
    loop_start = time.perf_counter()
    for r in range(rounds):
        for i, (q, b) in enumerate(queries):
            order = modes[(i + r) % 4 :] + modes[: (i + r) % 4]  # rotate so no mode always goes first
            for m in order:
                t = time.perf_counter()
                got = app.retrieve(q, brand=b, mode=m)
                retrieval[m].append(c.ms_since(t))
                if m == "fused":
                    for k, v in got.timings_ms.items():
                        parts.setdefault(k, []).append(v)
            t = time.perf_counter()
            app.embeddings.embed_query(normalize_query(q))
            embed.append(c.ms_since(t))
            pair = [(draft, app), (draft_off, app_off)][
                :: 1 if (i + r) % 2 else -1
            ]  # alternate which goes first
            for samples, which in pair:
                t = time.perf_counter()
                got_draft = which.draft(q, brand=b)
                samples.append(c.ms_since(t))
                if which is app:
                    res = got_draft
            matched += res.matched
            for k, v in res.timings_ms.items():
                breakdown.setdefault(k, []).append(v)
    wall = time.perf_counter() - loop_start
    return {
        "queries": len(queries),
        "rounds": rounds,
        "retrieval_ms": {m: c.stats(v) for m, v in retrieval.items()},
        "fused_parts_ms": {k: c.stats(v) for k, v in parts.items()},
        "embed_query_ms": c.stats(embed),
        "draft_ms": c.stats(draft),
        "draft_no_classifier_ms": c.stats(draft_off),
        "draft_timings_ms": {k: c.stats(v) for k, v in breakdown.items()},
        "drafts_per_s": round(len(draft) / (sum(draft) / 1000), 1),
        "matched_share": round(matched / len(draft), 3),
        "loop_wall_s": round(wall, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", default=None, help="knowledge base (default: the starter one)")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the queries")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh processes for first-draft time")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N queries")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    parser.add_argument("--child-first-draft", metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_first_draft:
        child_first_draft(args.child_first_draft, args.kb)
        return 0

    import _common as c

    from rag import Huashu, Settings

    kb = Path(args.kb) if args.kb else c.STARTER_KB
    info = c.machine()
    c.print_machine(info)
    results: dict = {"benchmark": "draft_latency", "machine": info, "kb": str(kb)}
    with tempfile.TemporaryDirectory(prefix="huashu-bench-draft-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", kb_path=kb)
        app = Huashu(settings)
        t = time.perf_counter()
        report = app.index()
        results["index"] = {"seconds": round(time.perf_counter() - t, 2)} | report.summary()
        print(
            f"fresh index of {kb}: {results['index']['seconds']:.2f} s (incl. model load), "
            f"{len(report.added)} items, {report.embedded} vectors, {len(report.failed)} failed files"
        )

        cold = cold_runs(args.cold_runs, settings.data_dir, kb)
        results["cold"] = cold
        print(f"\ncold start ({args.cold_runs} fresh processes; first draft = {FIRST_MESSAGE[0]!r})")
        for key in (
            "process_start_to_first_draft_ms",
            "import_ms",
            "construct_ms",
            "first_draft_ms",
            "second_draft_ms",
        ):
            values = [r[key] for r in cold]
            print(f"  {key:<34} " + "  ".join(f"{v:8.1f}" for v in values) + " ms")
        inner = cold[0]["first_draft_timings_ms"]
        print("  first draft's own timings_ms: " + ", ".join(f"{k} {v:.1f}" for k, v in inner.items()))
        opened = inner["total"] - sum(inner.get(k, 0.0) for k in ("retrieve", "compose", "filter"))
        print(f"  first draft outside its timed stages (opening the index on first use): ~{opened:.0f} ms")
        best_cold = min(r["process_start_to_first_draft_ms"] for r in cold) / 1000
        worst_cold = max(r["process_start_to_first_draft_ms"] for r in cold) / 1000
        print(
            f"  target first draft <= {FIRST_DRAFT_TARGET_S:.0f} s: best {best_cold:.2f} s, worst {worst_cold:.2f} s -> "
            f"{'MET' if worst_cold <= FIRST_DRAFT_TARGET_S else 'MISSED'}"
        )

        queries = c.with_brands(c.eval_queries(args.limit))
        app.warm_up()
        app_off = Huashu(
            Settings(data_dir=Path(tmp) / "data", kb_path=kb, scenario_model="off"), embeddings=app.embeddings
        )
        app_off.warm_up()
        w = warm(app, queries, args.rounds, app_off)
        results["warm"] = w
        print(
            f"\nwarm, in process: {w['queries']} eval-set queries x {w['rounds']} rounds, each with a brand"
        )
        print(c.stats_row("retrieve fused (our design)", w["retrieval_ms"]["fused"]))
        print(c.stats_row("retrieve hybrid (no classifier)", w["retrieval_ms"]["hybrid"]))
        print(c.stats_row("retrieve dense only (baseline)", w["retrieval_ms"]["dense"]))
        print(c.stats_row("retrieve keyword only (baseline)", w["retrieval_ms"]["keyword"]))
        print(c.stats_row("embed_query alone (floor)", w["embed_query_ms"]))
        print("  fused search, inside:")
        for k, s in w["fused_parts_ms"].items():
            print(c.stats_row(f"  {k}", s))
        print(c.stats_row("draft (Huashu.draft, wall)", w["draft_ms"]))
        print(c.stats_row("draft, classifier off (baseline)", w["draft_no_classifier_ms"]))
        print("  draft timings_ms:")
        for k, s in w["draft_timings_ms"].items():
            print(c.stats_row(f"  {k}", s))
        p95 = w["draft_ms"]["p95"]
        print(
            f"  throughput {w['drafts_per_s']:.0f} drafts/s on one thread; matched a script for {w['matched_share']:.0%}"
        )
        print(
            f"  target draft p95 <= {DRAFT_P95_TARGET_MS:.0f} ms: {p95:.1f} ms -> "
            f"{'MET' if p95 <= DRAFT_P95_TARGET_MS else 'MISSED'}"
        )
    results["targets"] = {
        "draft_p95_ms": {"target": DRAFT_P95_TARGET_MS, "measured": p95, "met": p95 <= DRAFT_P95_TARGET_MS},
        "first_draft_s": {
            "target": FIRST_DRAFT_TARGET_S,
            "measured_worst": round(worst_cold, 3),
            "met": worst_cold <= FIRST_DRAFT_TARGET_S,
        },
    }
    results["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    c.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
