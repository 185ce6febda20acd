"""Benchmark drafting while the serving generation is rebuilt and swapped in the background.

Run: .venv/bin/python benchmarks/reload.py [--sizes 1000 10000] [--seconds 20] [--json OUT]
For each size a synthetic knowledge base is indexed in a temp dir (see _common.write_synthetic_kb). Then,
in one process, eval-set queries are drafted one after another on the main thread:
  baseline  with nothing else running;
  reload    while a second thread rebuilds the whole generation (reader, keyword scopes, rules, tones) and
            swaps it in, again and again (`Huashu.reload(force=True)`): the worst case, back to back;
  reindex   while a second thread edits one script file and re-indexes in process (embed, write, flip the
            manifest, then the incremental reload), again and again;
  reindex_process
            while a second thread edits one script file, runs `huashu index` in another process, and then
            reloads here (what the background watcher does when it sees the new generation): how a
            knowledge manager's re-index should reach a serving process.
Reported: draft p50/p95/p99/max in each phase, drafts per second, and how long one reload takes.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

PHASES = ("baseline", "reload", "reindex", "reindex_process")


def drafting(app, queries, seconds: float, background=None) -> dict:
    """Draft for `seconds` on this thread while `background` (a callable run in a loop) runs on another."""
    stop = threading.Event()
    rounds: list[float] = []
    errors: list[str] = []

    def loop():
        while not stop.is_set():
            t = time.perf_counter()
            try:
                background()
            except Exception as exc:  # a finding to report, not a reason to stop the benchmark
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            rounds.append(c.ms_since(t))

    thread = threading.Thread(target=loop) if background else None
    if thread:
        thread.start()
    samples, gens = [], set()
    deadline = time.monotonic() + seconds
    for message, brand in itertools.cycle(queries):
        if time.monotonic() > deadline:
            break
        t = time.perf_counter()
        gens.add(app.draft(message, brand=brand).index_gen)
        samples.append(c.ms_since(t))
    stop.set()
    if thread:
        thread.join()
    return {
        "draft": c.stats(samples),
        "drafts_per_s": round(len(samples) / seconds, 1),
        "background_rounds_ms": c.stats(rounds),
        "generations_seen": len(gens),
        "errors": errors,
    }


def run_size(n: int, args, embeddings) -> dict:
    from rag import Huashu, Settings

    print(f"\n== N = {n:,} scripts ==")
    with tempfile.TemporaryDirectory(prefix=f"huashu-bench-reload-{n}-") as tmp:
        root, data = Path(tmp) / "kb", Path(tmp) / "data"
        c.write_synthetic_kb(root, n, 100, seed=args.seed)
        app = Huashu(Settings(data_dir=data, kb_path=root, reload_poll_s=0), embeddings=embeddings)
        t = time.perf_counter()
        app.index()
        print(f"full index        {time.perf_counter() - t:8.1f} s")
        t = time.perf_counter()
        app.warm_up()
        first_load_ms = c.ms_since(t)
        queries = c.with_brands(c.eval_queries())
        for message, brand in queries[:20]:
            app.draft(message, brand=brand)
        out = {"scripts": n, "first_load_ms": round(first_load_ms, 1)}
        print(f"first generation  {first_load_ms:8.1f} ms (reader, keyword scopes, rules, tones)")
        out["baseline"] = drafting(app, queries, args.seconds)
        out["reload"] = drafting(app, queries, args.seconds, lambda: app.reload(force=True))
        edit = c.script_file(root, 0)
        original = edit.read_text(encoding="utf-8")
        revision = itertools.count(1)

        def reindex():
            edit.write_text(original.replace("。", f"（第{next(revision)}次修订）。", 1), encoding="utf-8")
            app.index()

        out["reindex"] = drafting(app, queries, args.seconds, reindex)
        env = os.environ | {"HUASHU_DATA_DIR": str(data), "HUASHU_KB_PATH": str(root)}

        def reindex_process():
            edit.write_text(original.replace("。", f"（第{next(revision)}次修订）。", 1), encoding="utf-8")
            cli = [sys.executable, "-m", "rag.cli", "index", "--quiet"]
            subprocess.run(cli, env=env, check=True, capture_output=True)
            app.reload()

        out["reindex_process"] = drafting(app, queries, args.seconds, reindex_process)
        edit.write_text(original, encoding="utf-8")
        app.close()
    for phase in PHASES:
        p = out[phase]
        print(c.stats_row(f"draft, {phase}", p["draft"]) + f"   {p['drafts_per_s']:.0f}/s")
        if p["background_rounds_ms"].get("n"):
            b = p["background_rounds_ms"]
            print(
                f"    background: {b['n']} rounds, p50 {b['p50']:.0f} ms, max {b['max']:.0f} ms; "
                f"{p['generations_seen']} generations served; errors: {p['errors'] or 'none'}"
            )
    base = out["baseline"]["draft"]["p95"]
    for phase in PHASES[1:]:
        out[f"{phase}_p95_ratio"] = round(out[phase]["draft"]["p95"] / base, 2)
        print(f"  p95 during {phase} / baseline p95: {out[f'{phase}_p95_ratio']:.2f}x")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seconds", type=float, default=20.0, help="drafting time per phase")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    from rag.embeddings import UseM3Embeddings

    info = c.machine()
    c.print_machine(info)
    embeddings = UseM3Embeddings(threads=1)
    embeddings.warm_up()
    results = {"machine": info, "sizes": [run_size(n, args, embeddings) for n in args.sizes]}
    c.write_json(args.json, results)


if __name__ == "__main__":
    main()
