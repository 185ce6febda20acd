"""Count crashes of drafts in fresh processes while another process re-indexes the same embedded store in full.

Run: .venv/bin/python benchmarks/concurrent_drafts.py [--scripts 2300] [--drafts 300] [--json OUT]
A synthetic knowledge base of N scripts (see _common.write_synthetic_kb) is indexed once in a temp dir. Then
one thread runs `huashu index --full --quiet` in a subprocess again and again, while the main thread runs
`huashu -v draft MESSAGE --brand B --json` in a fresh subprocess each time (eval-set queries, round-robin
brands) against the same data dir, until N drafts are done. Two processes on one embedded Chroma store is
what issue 16 found crashing (a segfault once in 36 drafts before the store lock).

Reported: each draft's exit status sorted into ok (0), clear error (1 or 2 with a message, no traceback),
traceback and crash (killed by a signal, or 139/134); whether a re-index was running when the draft started
and ended; the draft's wall time (process start included) and its in-process total; how long the draft
waited for the store lock (the `store lock taken after` debug line); the re-index runs and their status.
Crashed drafts keep their stderr (PYTHONFAULTHANDLER=1 prints the native stack) in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

LOCK_LINE = re.compile(r"store lock taken after ([0-9.]+) ms")
CRASH_CODES = {134, 135, 136, 139}  # a shell's 128+signal: abort, bus error, FPE, segfault


def _env(kb: Path, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    return env | {
        "HUASHU_KB_PATH": str(kb),
        "HUASHU_DATA_DIR": str(data),
        "PYTHONPATH": str(c.REPO),
        "PYTHONFAULTHANDLER": "1",
    }


def _huashu(args: list[str], env: dict[str, str], timeout: float = 900) -> tuple[int, str, str, float]:
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, env=env, cwd=c.REPO, timeout=timeout
    )
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    return proc.returncode, out, err, c.ms_since(t)


def classify(code: int, out: str, err: str) -> str:
    """Sort one run: ok, clear_error, traceback or crash."""
    if code < 0 or code in CRASH_CODES:
        return "crash"
    if "Traceback" in err + out or "Fatal Python error" in err:
        return "traceback"
    return "ok" if code == 0 else "clear_error"


class Reindexer(threading.Thread):
    """Run full re-indexes back to back in another process until told to stop."""

    def __init__(self, env: dict[str, str]):
        super().__init__(daemon=True)
        self.env, self.stop = env, threading.Event()
        self.running = threading.Event()
        self.runs: list[dict] = []

    def run(self) -> None:
        while not self.stop.is_set():
            self.running.set()
            code, out, err, ms = _huashu(["index", "--full", "--quiet"], self.env)
            self.running.clear()
            kind = classify(code, out, err)
            self.runs.append(
                {"code": code, "kind": kind, "ms": round(ms), "err": err[-2000:] if code else ""}
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scripts", type=int, default=2300)
    parser.add_argument("--drafts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--workdir", help="keep the knowledge base and data here (default: a temp dir)")
    args = parser.parse_args(argv)

    info = c.machine()
    c.print_machine(info)
    with tempfile.TemporaryDirectory(prefix="huashu-concurrent-") as tmp:
        root = Path(args.workdir or tmp)
        kb, data = root / "kb", root / "data"
        files = c.write_synthetic_kb(kb, args.scripts, seed=args.seed)
        env = _env(kb, data)
        code, out, err, ms = _huashu(["index", "--quiet"], env)
        if code != 0:
            print(f"first index failed ({code}): {err[-2000:]}", file=sys.stderr)
            return 1
        print(f"{args.scripts} scripts in {files} files; first index {ms / 1000:.1f} s: {out.strip()}")

        queries = c.with_brands(c.eval_queries())
        reindexer = Reindexer(env)
        reindexer.start()
        reindexer.running.wait()
        drafts: list[dict] = []
        started = time.monotonic()
        for i in range(args.drafts):
            message, brand = queries[i % len(queries)]
            during_start = reindexer.running.is_set()
            code, out, err, ms = _huashu(["-v", "draft", message, "--brand", brand, "--json"], _env(kb, data))
            kind = classify(code, out, err)
            waits = [float(m) for m in LOCK_LINE.findall(err)]
            row = {
                "i": i,
                "code": code,
                "kind": kind,
                "wall_ms": round(ms, 1),
                "lock_wait_ms": waits[0] if waits else None,
                "during_reindex": during_start or reindexer.running.is_set(),
                "index_runs_done": len(reindexer.runs),
            }
            if kind == "ok":
                result = json.loads(out)
                row["total_ms"] = result["timings_ms"]["total"]
                row["gen"] = result["index_gen"]
            else:
                row["err"] = err[-4000:]
                lines = [ln for ln in err.splitlines() if not ln.startswith(("DEBUG", "INFO"))]
                row["message"] = "\n".join(lines[-3:])
            drafts.append(row)
            if (i + 1) % 25 == 0:
                counts = _counts(drafts)
                print(
                    f"  {i + 1} drafts in {time.monotonic() - started:.0f} s, {len(reindexer.runs)} full re-indexes "
                    f"done: {counts}",
                    flush=True,
                )
        reindexer.stop.set()
        reindexer.join()

    results = summarise(args, info, drafts, reindexer.runs, time.monotonic() - started)
    report(results)
    c.write_json(args.json, results | {"drafts": drafts, "index_runs": reindexer.runs})
    return 0 if results["crashes"] == 0 and results["tracebacks"] == 0 else 1


def _counts(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    return counts


def summarise(args, info: dict, drafts: list[dict], runs: list[dict], seconds: float) -> dict:
    """Return the numbers the README records."""
    counts = _counts(drafts)
    waits = [r["lock_wait_ms"] for r in drafts if r["lock_wait_ms"] is not None]
    return {
        "benchmark": "concurrent_drafts",
        "machine": info,
        "scripts": args.scripts,
        "drafts": len(drafts),
        "seconds": round(seconds),
        "during_reindex": sum(r["during_reindex"] for r in drafts),
        "counts": counts,
        "crashes": counts.get("crash", 0),
        "tracebacks": counts.get("traceback", 0),
        "clear_errors": sorted({r["message"] for r in drafts if r["kind"] == "clear_error"}),
        "exit_codes": sorted({r["code"] for r in drafts}),
        "gens_served": sorted({r["gen"] for r in drafts if "gen" in r}),
        "wall_ms": c.stats([r["wall_ms"] for r in drafts if r["kind"] == "ok"]),
        "draft_total_ms": c.stats([r["total_ms"] for r in drafts if "total_ms" in r]),
        "lock_wait_ms": c.stats(waits),
        "waited_over_100ms": sum(w > 100 for w in waits),
        "index_runs": {
            "n": len(runs),
            "counts": _counts(runs),
            "ms": c.stats([float(r["ms"]) for r in runs]),
        },
    }


def report(r: dict) -> None:
    print(
        f"\n{r['drafts']} drafts ({r['during_reindex']} with a full re-index running) in {r['seconds']} s "
        f"at {r['scripts']} scripts: {r['counts']}; exit codes {r['exit_codes']}"
    )
    print(f"crashes {r['crashes']}, tracebacks {r['tracebacks']}; generations served {r['gens_served']}")
    for msg in r["clear_errors"]:
        print(f"  clear error: {msg}")
    print(c.stats_row("draft wall time (process start incl.)", r["wall_ms"]))
    print(c.stats_row("draft in-process total", r["draft_total_ms"]))
    print(c.stats_row("wait for the store lock", r["lock_wait_ms"]))
    print(f"  drafts that waited over 100 ms for the lock: {r['waited_over_100ms']}")
    ix = r["index_runs"]
    print(f"full re-indexes: {ix['n']} {ix['counts']}")
    print(c.stats_row("full re-index", ix["ms"]))


if __name__ == "__main__":
    sys.exit(main())
