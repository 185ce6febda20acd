"""The per-key token bucket on its own: a high rate never refuses, a low one refuses the excess with a wait."""

from __future__ import annotations

import sys
import threading

import pytest

from rag.api.limits import RateLimiter


def test_many_threads_at_a_high_rate_are_never_refused():
    limiter = RateLimiter(per_minute=10**9, burst=30)  # far above what a loop can send
    refused = []

    def hammer():
        refused.extend(w for w in (limiter.take("k") for _ in range(3000)) if w > 0)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so they interleave inside take()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(before)
    assert refused == []


@pytest.mark.parametrize("workers,allowed", [(1, 6), (2, 3)])
def test_past_the_burst_each_request_waits_for_its_share_of_the_rate(workers, allowed):
    limiter = RateLimiter(per_minute=60, burst=6, workers=workers)
    waits = [limiter.take("k") for _ in range(10)]
    assert waits[:allowed] == [0.0] * allowed
    assert all(0 < w <= workers for w in waits[allowed:])  # one a second, shared between the workers
    assert limiter.take("other") == 0.0  # every key has its own bucket


def test_a_keys_own_rate_wins_over_the_default():
    limiter = RateLimiter(per_minute=10**6, burst=30)
    assert [limiter.take("slow", 2) > 0 for _ in range(3)] == [False, False, True]
