"""A separate process writing to the feedback store (for the concurrency and kill -9 tests).

usage: feedback_worker.py PREFIX COUNT [TEXT_CHARS]
Opens the store the HUASHU_* environment names, prints "ready", waits for a line on stdin, then records
COUNT drafts and a decision on each, printing each draft id once its decision is committed.
"""

from __future__ import annotations

import sys

from rag import DraftResult, load_settings, open_feedback_store
from rag.types import DraftRequest


def final_text(draft_id: str, chars: int) -> str:
    """Return the long edited text the worker writes for a draft (the reader checks it whole)."""
    unit = f"[{draft_id}]您好，付款后24小时内发货，请留意订单页的运单号。"
    return (unit * (chars // len(unit) + 1))[:chars]


def main() -> int:
    prefix, count = sys.argv[1], int(sys.argv[2])
    chars = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    store = open_feedback_store(load_settings())
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(count):
        draft_id = f"{prefix}-{i}"
        store.record_draft(
            DraftResult(
                draft="您好，付款后24小时内发货。",
                scenario="shipping_delay",
                mode="script",
                brand="lanxu",
                script_id=f"ship_{i % 7}",
                id=draft_id,
                created_at="2026-11-20T08:00:00+00:00",
                request=DraftRequest(message="什么时候发货", brand="lanxu"),
            )
        )
        if chars:
            store.decide(draft_id, "edited", final_text=final_text(draft_id, chars), agent=prefix)
        else:
            store.decide(draft_id, ("accepted", "rejected")[i % 2], reason="tone" if i % 2 else None)
        print(draft_id, flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
