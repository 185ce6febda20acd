"""Feedback store: decisions written per second, and analytics latency at 10,000 and 1,000,000 decisions.

Writes go through the public API (`record_draft` + `decide`), one process and four at once, against the
same write done with the bare driver (one INSERT per transaction: the floor). Analytics run on synthetic
decisions bulk-loaded into the real schema (the API would take an hour to write a million).
SQLite always; PostgreSQL on a throw-away cluster (fsync on) unless --no-postgres.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import random
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the cluster helper the tests use

from _common import machine, print_machine, stats_row, write_json  # noqa: E402
from _common import stats as percentiles  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from rag import DraftResult, Settings, open_feedback_store  # noqa: E402
from rag.feedback.models import DecisionRow, DraftRow  # noqa: E402
from rag.types import DraftRequest  # noqa: E402

log = logging.getLogger("bench.feedback")
DRAFT = "您好，付款后24小时内发货，节假日顺延，发货后订单页会显示运单号，请您留意。"
EDITS = (DRAFT.replace("您好，", ""), DRAFT.replace("24小时", "48小时"), DRAFT + "还有什么可以帮您？")
SCENARIOS = ("shipping_delay", "logistics_tracking", "return_exchange", "refund_progress", "damaged_or_missing",
             "product_usage", "price_objection", "promotion_coupon", "complaint_service", "greeting")  # fmt: skip
BRANDS = ("lanxu", "nuanbei", "jianyi")


def settings_for(root: Path, url: str | None) -> Settings:
    return Settings(_env_file=None, data_dir=root, feedback_url=url)


def result(draft_id: str, i: int) -> DraftResult:
    return DraftResult(
        draft=DRAFT,
        scenario=SCENARIOS[i % len(SCENARIOS)],
        mode="script",
        brand=BRANDS[i % 3],
        script_id=f"script_{i % 300}",
        id=draft_id,
        created_at="2026-11-20T08:00:00+00:00",
        request=DraftRequest(message="我的快递怎么还没发？手机13812345678", brand=BRANDS[i % 3]),
        timings_ms={"total": 8.0},
    )


def _writer(root: str, url: str | None, prefix: str, n: int, start, out) -> None:
    store = open_feedback_store(settings_for(Path(root), url))
    drafts = [f"{prefix}-{i}" for i in range(n)]
    for i, d in enumerate(drafts):
        store.record_draft(result(d, i))
    start.wait()
    t0 = time.perf_counter()
    for i, d in enumerate(drafts):
        if i % 3 == 0:
            store.decide(d, "accepted")
        elif i % 3 == 1:
            store.decide(d, "edited", final_text=EDITS[i % 3])
        else:
            store.decide(d, "rejected", reason="tone")
    out.put(time.perf_counter() - t0)
    store.close()


def decisions_per_second(root: Path, url: str | None, procs: int, n: int) -> dict:
    """Return decisions/s with `procs` processes each deciding `n` pre-recorded drafts at once."""
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(procs + 1), ctx.Queue()
    tag = f"p{procs}x{random.randrange(10**9)}"
    workers = [
        ctx.Process(target=_writer, args=(str(root), url, f"{tag}-{k}", n, start, out)) for k in range(procs)
    ]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    times = [out.get(timeout=600) for _ in workers]
    wall = time.perf_counter() - t0
    for w in workers:
        w.join()
    return {"processes": procs, "decisions": procs * n, "wall_s": round(wall, 3),
            "decisions_per_s": round(procs * n / wall, 1), "slowest_worker_s": round(max(times), 3)}  # fmt: skip


def driver_floor(root: Path, url: str | None, n: int) -> dict:
    """Return the bare driver's rate for one small INSERT per transaction on the same database."""
    if url is None:
        import sqlite3

        conn = sqlite3.connect(root / "floor.sqlite3", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v TEXT)")
        run = lambda i: conn.execute("INSERT INTO t VALUES (?, ?)", (f"{time.time_ns()}-{i}", DRAFT))  # noqa: E731
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        conn.execute("CREATE TABLE IF NOT EXISTS floor_t (id TEXT PRIMARY KEY, v TEXT)")
        run = lambda i: conn.execute("INSERT INTO floor_t VALUES (%s, %s)", (f"{time.time_ns()}-{i}", DRAFT))  # noqa: E731
    t0 = time.perf_counter()
    for i in range(n):
        run(i)
    wall = time.perf_counter() - t0
    conn.close()
    return {"processes": 1, "inserts": n, "inserts_per_s": round(n / wall, 1)}


def bulk_load(store, total: int, already: int, days: int = 180, batch: int = 20_000) -> None:
    """Add synthetic drafts and decisions until the store holds `total`, spread over `days` days."""
    rng = random.Random(already)
    now = datetime(2026, 11, 30, 12)
    with store.engine.begin() as conn:
        for lo in range(already, total, batch):
            drafts, decisions = [], []
            for i in range(lo, min(total, lo + batch)):
                when = now - timedelta(seconds=rng.randrange(days * 86400))
                sid, brand = rng.randrange(300), BRANDS[rng.randrange(3)]
                scenario, mode = SCENARIOS[sid % len(SCENARIOS)], ("script", "llm")[rng.random() < 0.3]
                roll = rng.random() + (0.3 if sid % 17 == 0 else 0)  # some scripts agents keep rewriting
                decision = "accepted" if roll < 0.6 else "edited" if roll < 0.85 else "rejected"
                final = DRAFT if decision == "accepted" else EDITS[i % 3] if decision == "edited" else None
                sim = None if final is None else 1.0 if final == DRAFT else round(rng.uniform(0.6, 0.99), 4)
                drafts.append({"id": f"b{i}", "created_at": when, "recorded_at": when, "brand": brand,
                               "scenario": scenario, "script_id": f"script_{sid}", "mode": mode, "drafter": mode,
                               "drafter_version": "", "model": "", "matched": True, "blocked": False,
                               "message": "快递怎么还没到", "draft": DRAFT, "latency_ms": 8.0, "prompt_tokens": None,
                               "completion_tokens": None, "index_gen": 1, "kb_fingerprint": "bench",
                               "result": {"id": f"b{i}", "draft": DRAFT}})  # fmt: skip
                day = when.date()
                decisions.append({"draft_id": f"b{i}", "decision": decision, "final_text": final,
                                  "edit_distance": None if final is None else 3, "similarity": sim,
                                  "sim_pct": None if sim is None else int(sim * 100 + 0.5),
                                  "reason": "tone" if decision == "rejected" else None, "note": None, "agent": "a1",
                                  "chosen_script": None, "recheck": None, "decided_at": when,
                                  "day": day.isoformat(), "week": (day - timedelta(days=day.weekday())).isoformat(),
                                  "brand": brand, "scenario": scenario, "script_id": f"script_{sid}", "mode": mode})  # fmt: skip
            conn.execute(insert(DraftRow), drafts)
            conn.execute(insert(DecisionRow), decisions)
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


QUERIES = {
    **{f"stats by {by}, all time": (lambda s, by=by: s.stats(by=by)) for by in ("scenario", "script", "day")},
    **{
        f"stats by {by}, last 30 days": (lambda s, by=by: s.stats(since=datetime(2026, 10, 31), by=by))
        for by in ("scenario", "script", "brand", "mode", "day", "week")
    },  # fmt: skip
    "stats by scenario, last 7 days, one brand": lambda s: s.stats(
        since=datetime(2026, 11, 23), by="scenario", brand="lanxu"
    ),
    "scripts needing work, last 30 days": lambda s: s.scripts_needing_work(since=datetime(2026, 10, 31)),
    "scripts needing work, all time": lambda s: s.scripts_needing_work(),
}


def time_queries(store, rounds: int) -> dict:
    out = {}
    for name, q in QUERIES.items():
        q(store)  # warm the page cache once
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            q(store)
            samples.append((time.perf_counter() - t0) * 1000)
        out[name] = percentiles(samples)
        print(stats_row(name, out[name], width=46), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--rounds", type=int, default=20, help="timed runs of each analytics query")
    ap.add_argument("--writes", type=int, default=500, help="decisions per writer process")
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--postgres-sizes", type=int, nargs="+", help="sizes for PostgreSQL (default: --sizes)")
    ap.add_argument("--json", metavar="OUT")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    report = {"machine": machine(), "backends": {}}
    print_machine(report["machine"])
    tmp = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
    backends = [("sqlite", None, args.sizes)]
    cluster = None
    if not args.no_postgres:
        from pgcluster import start_cluster

        cluster = start_cluster(tmp / "pg", durable=True)
        backends.append(("postgresql", cluster.create_database("bench"), args.postgres_sizes or args.sizes))
    try:
        for name, url, sizes in backends:
            root = tmp / name
            root.mkdir()
            res = report["backends"][name] = {"writes": [], "analytics": {}}
            res["driver_floor"] = driver_floor(root, url, 2000)
            log.info("%s: bare driver %s inserts/s", name, res["driver_floor"]["inserts_per_s"])
            for procs in (1, 4):
                w = decisions_per_second(root, url, procs, args.writes)
                res["writes"].append(w)
                log.info("%s: %d process(es): %s decisions/s", name, procs, w["decisions_per_s"])
            store = open_feedback_store(settings_for(root, url))
            held = store.count()["decisions"]
            for size in sorted(sizes):
                t0 = time.perf_counter()
                bulk_load(store, size + held, store.count()["decisions"])
                log.info("%s: loaded to %d decisions in %.0f s", name, size + held, time.perf_counter() - t0)
                res["analytics"][str(size)] = time_queries(store, args.rounds)
            store.close()
    finally:
        if cluster:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
