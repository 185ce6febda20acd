"""LLM drafting overhead over an instant endpoint, the circuit breaker's fast fallback, and fault fallback times.

A fake OpenAI-compatible server (tests/fake_openai.py) runs in this process on 127.0.0.1 and answers at once
by adapting the script it finds in the prompt, so what is left of a draft's time is ours: the prompt, the
openai client and LangChain, the hand-over from the worker thread, parsing, the stream gate. Script mode over
the same queries, same run, is the baseline. Server and client share one clock (perf_counter).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO / "tests"))
from fake_openai import Answer, FakeOpenAI  # noqa: E402

from rag import DraftDelta  # noqa: E402

CHAIN_P95_TARGET_MS = 30.0
BREAKER_P95_TARGET_MS = 20.0
FAULT_MARGIN_TARGET_MS = 50.0
AGENT_TURN = [
    {"role": "agent", "text": "您好，请问有什么可以帮您？"}
]  # no greeting: the first delta is the model's


def llm_phase(app, server: FakeOpenAI, queries, rounds: int) -> dict:
    """Time LLM drafts end to end and split off the server's own time."""
    wall, chain, beyond, first_fwd, ttft, server_ms = [], [], [], [], [], []
    fallbacks = 0
    for _ in range(rounds):
        for q, b in queries:
            server.seen.clear()
            t = time.perf_counter()
            first_delta = None
            result = None
            for event in app.stream_draft(q, brand=b, mode="llm", conversation=AGENT_TURN):
                if isinstance(event, DraftDelta):
                    first_delta = first_delta or time.perf_counter()
                else:
                    result = event
            total = c.ms_since(t)
            if result.drafter != "llm":
                fallbacks += 1
                continue
            (seen,) = server.chat_requests()
            wall.append(total)
            server_ms.append(seen.server_ms)
            beyond.append(total - seen.server_ms)
            chain.append(result.timings_ms["compose"] - seen.server_ms)
            ttft.append(result.timings_ms.get("llm_first_token", 0.0))
            if first_delta and seen.first_byte_at:
                first_fwd.append((first_delta - seen.first_byte_at) * 1000)
    return {
        "draft_wall_ms": c.stats(wall),
        "server_ms": c.stats(server_ms),
        "draft_minus_server_ms": c.stats(beyond),
        "chain_overhead_ms": c.stats(chain),
        "first_token_ms": c.stats(ttft),
        "first_release_after_server_first_byte_ms": c.stats(first_fwd),
        "fallbacks": fallbacks,
    }


def script_phase(app, queries, rounds: int) -> dict:
    """Time script-mode drafts over the same queries (the baseline)."""
    wall = []
    for _ in range(rounds):
        for q, b in queries:
            t = time.perf_counter()
            app.draft(q, brand=b, mode="script", conversation=AGENT_TURN)
            wall.append(c.ms_since(t))
    return {"draft_wall_ms": c.stats(wall)}


def breaker_phase(app, server: FakeOpenAI, queries) -> dict:
    """Open the breaker with failures, then time drafts that skip the LLM while it cools down."""
    server.default = Answer(fault="status", status=500)
    while app.pipeline.drafters["llm"].breaker.state == "closed":
        app.draft(queries[0][0], brand=queries[0][1], mode="llm")
    asked = len(server.chat_requests())
    wall = []
    for q, b in queries:
        t = time.perf_counter()
        result = app.draft(q, brand=b, mode="auto")
        wall.append(c.ms_since(t))
        assert result.drafter == "script" and result.fallback_reason
    server.default = Answer()
    return {"draft_wall_ms": c.stats(wall), "requests_while_open": len(server.chat_requests()) - asked}


FAULTS = {
    "delay (server silent)": Answer(fault="delay", delay_s=60),
    "stream stalls halfway": Answer(fault="stall"),
    "stream stops halfway": Answer(fault="stop_midway"),
    "http 500": Answer(fault="status", status=500),
    "http 503 every time (retried)": Answer(fault="status", status=503),
    "http 429, Retry-After past the timeout": Answer(fault="status", status=429, retry_after="60"),
    "empty completion": Answer(fault="empty"),
    "not Chinese": Answer(fault="english"),
    "cut mid-sentence": Answer(fault="cut"),
    "ten times too long": Answer(fault="too_long"),
}


def fault_phase(make_app, server: FakeOpenAI, queries, timeout_s: float, repeats: int) -> dict:
    """Time whole drafts (fallback included) under each fault; the bound is the timeout plus 50 ms."""
    out = {}
    app = make_app(server.settings(llm_timeout_s=timeout_s, llm_breaker_threshold=1_000_000))
    cases = dict(FAULTS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    for name, answer in [*cases.items(), ("connection refused", None)]:
        target = app
        if answer is None:
            target = make_app(
                server.settings(
                    llm_base_url=refused, llm_timeout_s=timeout_s, llm_breaker_threshold=1_000_000
                )
            )
        else:
            server.default = answer
        wall = []
        for i in range(repeats):
            q, b = queries[i % len(queries)]
            t = time.perf_counter()
            result = target.draft(q, brand=b, mode="llm")
            wall.append(c.ms_since(t))
            assert result.drafter == "script", (name, result.drafter)
        server.reset()
        out[name] = c.stats(wall)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the queries")
    parser.add_argument("--limit", type=int, default=60, help="eval-set queries used (with a brand each)")
    parser.add_argument(
        "--fault-timeout", type=float, default=0.5, help="HUASHU_LLM_TIMEOUT_S for the fault phase"
    )
    parser.add_argument("--fault-repeats", type=int, default=5, help="drafts per fault")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    from rag import Huashu, Settings

    logging.disable(logging.WARNING)  # every fault logs its fallback; the numbers are what matter here

    info = c.machine()
    c.print_machine(info)
    results: dict = {"benchmark": "llm_overhead", "machine": info}
    queries = [(q, b) for q, b in c.with_brands(c.eval_queries()) if b][: args.limit]
    with tempfile.TemporaryDirectory(prefix="huashu-bench-llm-") as tmp, FakeOpenAI() as server:
        base = Settings(data_dir=Path(tmp) / "data", kb_path=c.STARTER_KB, reload_poll_s=0)
        Huashu(base).index()
        embeddings = None

        def make_app(overrides: dict):
            nonlocal embeddings
            app = Huashu(base.model_copy(update=overrides), embeddings=embeddings)
            app.warm_up()
            embeddings = app.embeddings
            return app

        app = make_app(server.settings(llm_timeout_s=5.0, llm_breaker_threshold=1_000_000))
        for q, b in queries:  # one untimed pass of each mode: caches, connections, lazy imports
            app.draft(q, brand=b, mode="script")
            app.draft(q, brand=b, mode="llm")
        print(
            f"\n{len(queries)} eval-set queries x {args.rounds} rounds; fake server answers at once (adapt mode)"
        )
        script = results["script"] = script_phase(app, queries, args.rounds)
        llm = results["llm"] = llm_phase(app, server, queries, args.rounds)
        print(c.stats_row("script mode: draft (baseline)", script["draft_wall_ms"], 44))
        print(c.stats_row("llm mode: draft, streamed", llm["draft_wall_ms"], 44))
        print(c.stats_row("  server's own time", llm["server_ms"], 44))
        print(c.stats_row("  draft minus server (ours, all stages)", llm["draft_minus_server_ms"], 44))
        print(c.stats_row("  chain overhead (compose minus server)", llm["chain_overhead_ms"], 44))
        print(c.stats_row("  first token (drafter start to 1st token)", llm["first_token_ms"], 44))
        print(
            c.stats_row(
                "  first sentence shown after server's 1st byte",
                llm["first_release_after_server_first_byte_ms"],
                44,
            )
        )
        server.default = Answer(chunk_chars=100_000)  # the fixed cost: the whole answer in one chunk
        one = results["llm_one_chunk"] = llm_phase(app, server, queries, 1)
        server.default = Answer()
        print(c.stats_row("  chain overhead, answer in one chunk", one["chain_overhead_ms"], 44))
        if llm["fallbacks"]:
            print(f"  note: {llm['fallbacks']} LLM drafts fell back (left out of the numbers above)")

        breaker_app = make_app(server.settings(llm_breaker_threshold=1, llm_breaker_cooldown_s=3600))
        breaker = results["breaker_open"] = breaker_phase(breaker_app, server, queries)
        print(
            f"\nbreaker open (endpoint failing; {breaker['requests_while_open']} requests reached it while open)"
        )
        print(c.stats_row("auto mode, LLM skipped: draft", breaker["draft_wall_ms"], 44))

        print(f"\nfaults: whole draft incl. the script fallback, HUASHU_LLM_TIMEOUT_S={args.fault_timeout}")
        faults = results["faults"] = fault_phase(
            make_app, server, queries, args.fault_timeout, args.fault_repeats
        )
        for name, s in faults.items():
            print(c.stats_row(name, s, 44))

    chain_p95 = llm["chain_overhead_ms"]["p95"]
    breaker_p95 = breaker["draft_wall_ms"]["p95"]
    worst = max(s["max"] for s in faults.values())
    bound = args.fault_timeout * 1000 + FAULT_MARGIN_TARGET_MS
    results["targets"] = {
        "chain_overhead_p95_ms": {
            "target": CHAIN_P95_TARGET_MS,
            "measured": chain_p95,
            "met": chain_p95 <= CHAIN_P95_TARGET_MS,
        },
        "breaker_fallback_p95_ms": {
            "target": BREAKER_P95_TARGET_MS,
            "measured": breaker_p95,
            "met": breaker_p95 <= BREAKER_P95_TARGET_MS,
        },
        "fault_fallback_max_ms": {"target": bound, "measured": worst, "met": worst <= bound},
    }
    print()
    for key, t in results["targets"].items():
        print(f"target {key} <= {t['target']:.0f}: {t['measured']:.1f} -> {'MET' if t['met'] else 'MISSED'}")
    results["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    c.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
