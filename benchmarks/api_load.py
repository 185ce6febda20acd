"""Benchmark the HTTP API under load: N desks drafting at once while the knowledge base is re-indexed.

Run: .venv/bin/python benchmarks/api_load.py [--clients 8] [--seconds 60] [--workers 1 2] [--json OUT]
Loopback only, bounded in time. The starter knowledge base is copied to a temp dir and indexed into a
`chroma run` server there; for each worker count, `huashu serve --workers W` is started on 127.0.0.1 and
`--clients` concurrent clients (one asyncio task and one kept-alive connection each) post eval-set messages
to POST /v1/drafts for `--seconds`, while another thread edits one script file and runs `huashu index` in its
own process again and again (every worker picks each new generation up in the background).
Reported per worker count: requests per second (and per usable core), client-side p50/p95/p99, errors
(anything but 200; target 0), re-index rounds and generations served, and beside it the library's own draft
time for the same requests (`timings_ms.total` in each answer), so the HTTP overhead shows as a ratio.
The clients run on the same cores as the server: on a 2-core box they take a share of it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

EDITED = "scripts/order/shipping_delay.yaml"  # the file the background re-index edits


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    """Wait until `url` answers 200; fail with the process's exit status if it dies first."""
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[:4]} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def huashu(env: dict, *args: str) -> None:
    """Run `huashu ARGS` in its own process."""
    done = subprocess.run([sys.executable, "-m", "rag.cli", *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"huashu {' '.join(args)} failed: {done.stderr}")


def reindex_loop(env: dict, kb: Path, stop: threading.Event, rounds: list[float], errors: list[str]) -> None:
    """Edit one script file and re-index in another process, again and again, until `stop`."""
    path = kb / EDITED
    original = path.read_text(encoding="utf-8")
    for n in itertools.count(1):
        if stop.is_set():
            break
        path.write_text(original.replace("。", f"（第{n}次修订）。", 1), encoding="utf-8")
        t = time.perf_counter()
        try:
            huashu(env, "index", "--quiet")
        except SystemExit as exc:
            errors.append(str(exc))
            break
        rounds.append(c.ms_since(t))
    path.write_text(original, encoding="utf-8")


async def load(url: str, key: str, queries, clients: int, seconds: float) -> dict:
    """Run `clients` concurrent drafting loops for `seconds`; return latencies, library times and errors."""
    import httpx

    http_ms: list[float] = []
    library_ms: list[float] = []
    errors: dict[str, int] = {}
    gens: set[int] = set()
    deadline = time.monotonic() + seconds

    async def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            for message, brand in itertools.islice(itertools.cycle(queries), i, None):
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                try:
                    r = await http.post("/v1/drafts", json={"message": message, "brand": brand})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                elapsed = c.ms_since(t)
                if r.status_code != 200:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                    continue
                body = r.json()
                http_ms.append(elapsed)
                library_ms.append(body["timings_ms"]["total"])
                gens.add(body["index_gen"])

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - started
    return {"http": http_ms, "library": library_ms, "errors": errors, "gens": gens, "wall_s": wall}


def run_workers(workers: int, args, env: dict, kb: Path, key: str, queries, cores: int) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(Path(env["HUASHU_DATA_DIR"]) / f"serve-{workers}.log", "w")  # noqa: SIM115
    cmd = [sys.executable, "-m", "rag.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd + ["--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        t = time.perf_counter()
        wait_for(f"{url}/readyz", proc)
        ready_s = time.perf_counter() - t
        asyncio.run(load(url, key, queries[:50], args.clients, min(5.0, args.seconds)))  # warm every worker
        single = asyncio.run(load(url, key, queries, 1, args.baseline_seconds))  # one desk, nothing else
        stop, rounds, reindex_errors = threading.Event(), [], []
        thread = threading.Thread(target=reindex_loop, args=(env, kb, stop, rounds, reindex_errors))
        if args.reindex:
            thread.start()
        result = asyncio.run(load(url, key, queries, args.clients, args.seconds))
        stop.set()
        if args.reindex:
            thread.join()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
    n = len(result["http"])
    rps = n / result["wall_s"]
    http, library = c.stats(result["http"]), c.stats(result["library"])
    out = {
        "workers": workers,
        "clients": args.clients,
        "seconds": round(result["wall_s"], 1),
        "ready_s": round(ready_s, 1),
        "requests_ok": n,
        "rps": round(rps, 1),
        "rps_per_core": round(rps / cores, 1),
        "http_ms": http,
        "library_draft_ms": library,
        "http_over_library_p50": round(http["p50"] / library["p50"], 2) if n else None,
        "one_client": {
            "rps": round(len(single["http"]) / single["wall_s"], 1),
            "http_ms": c.stats(single["http"]),
            "library_draft_ms": c.stats(single["library"]),
        },
        "errors": result["errors"],
        "error_count": sum(result["errors"].values()),
        "reindex_rounds_ms": c.stats(rounds),
        "reindex_errors": reindex_errors,
        "generations_served": len(result["gens"]),
    }
    print(
        f"\n== {workers} worker(s), {args.clients} clients, {out['seconds']} s (ready after {out['ready_s']} s) =="
    )
    print(f"  {n} drafts, {rps:.1f} req/s ({out['rps_per_core']:.1f} per core), errors: {out['error_count']}"
          f" {result['errors'] or ''}")  # fmt: skip
    print(c.stats_row("HTTP round trip (client)", http))
    print(c.stats_row("library draft (timings_ms.total)", library))
    if n:
        print(f"  HTTP p50 / library p50: {out['http_over_library_p50']:.2f}x")
    one = out["one_client"]
    print(
        f"  baseline, one client alone for {args.baseline_seconds:.0f} s, no re-index: {one['rps']:.1f} req/s"
    )
    print(c.stats_row("  HTTP round trip (client)", one["http_ms"]))
    print(c.stats_row("  library draft", one["library_draft_ms"]))
    r = out["reindex_rounds_ms"]
    if r.get("n"):
        print(f"  re-index: {r['n']} rounds, p50 {r['p50'] / 1000:.1f} s; {out['generations_served']} generations "
              f"served; errors: {reindex_errors or 'none'}")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="drafting time per worker count")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="one client alone, first")
    parser.add_argument(
        "--no-reindex", dest="reindex", action="store_false", help="no re-index while loading"
    )
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    from rag import ApiKeys, Settings, open_feedback_store

    info = c.machine()
    c.print_machine(info)
    cores = info["usable_cores"] or 1
    queries = c.with_brands(c.eval_queries())
    chroma = Path(sys.executable).with_name("chroma")
    with tempfile.TemporaryDirectory(prefix="huashu-bench-api-") as tmp:
        kb, data = Path(tmp) / "kb", Path(tmp) / "data"
        shutil.copytree(c.STARTER_KB, kb)
        data.mkdir()
        port = free_port()
        store_cmd = [str(chroma), "run", "--path", str(Path(tmp) / "chroma"), "--host", "127.0.0.1"]
        chroma_proc = subprocess.Popen(
            store_cmd + ["--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/api/v2/heartbeat", chroma_proc)
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")} | {
                "HUASHU_DATA_DIR": str(data),
                "HUASHU_KB_PATH": str(kb),
                "HUASHU_CHROMA_URL": f"http://127.0.0.1:{port}",
                "HUASHU_COLLECTION_PREFIX": f"bench{uuid.uuid4().hex[:6]}",
                "HUASHU_RELOAD_POLL_S": "1",
            }
            t = time.perf_counter()
            huashu(env, "index", "--quiet")
            print(
                f"index of the starter knowledge base into the Chroma server: {time.perf_counter() - t:.1f} s"
            )
            with open_feedback_store(Settings(_env_file=None, data_dir=data, kb_path=kb)) as store:
                key = ApiKeys(store).create("bench", c.BRANDS, rate_per_minute=10**7)[1]
            runs = [run_workers(w, args, env, kb, key, queries, cores) for w in args.workers]
        finally:
            chroma_proc.terminate()
            chroma_proc.wait(timeout=30)
    c.write_json(args.json, {"machine": info, "runs": runs})


if __name__ == "__main__":
    main()
