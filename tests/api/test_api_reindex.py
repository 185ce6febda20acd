"""A re-index from another process while both workers serve: no failed request, every worker moves on."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from conftest import script, write_script

from .conftest import WORKERS

pytestmark = pytest.mark.slow
MARKER = "（第二版话术）"


def _ready_by_worker(api_server, newer_than: int, seconds: float = 60) -> dict[int, int]:
    """Ask /readyz on fresh connections until every worker serves one generation newer than `newer_than`."""
    seen: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = httpx.get(f"{api_server.url}/readyz", headers={"Connection": "close"}, timeout=10).json()
        seen[body["worker"]] = body["index"]["index_gen"]
        if len(seen) == WORKERS and len(set(seen.values())) == 1 and min(seen.values()) > newer_than:
            return seen
        time.sleep(0.05)
    return seen


def test_reindex_while_serving_reaches_every_worker_and_fails_no_request(api_server):
    with api_server.client(key=None) as c:
        before = c.get("/readyz").json()["index"]["index_gen"]
    statuses: list[int] = []
    gens: set[int] = set()
    stop = threading.Event()

    def draft_loop():
        headers = {"Authorization": f"Bearer {api_server.keys['both']}", "Connection": "close"}
        with httpx.Client(base_url=api_server.url, headers=headers, timeout=60) as c:
            while not stop.is_set():
                r = c.post(
                    "/v1/drafts", json={"message": "怎么还没发货", "brand": "jianyi", "mode": "script"}
                )
                statuses.append(r.status_code)
                if r.status_code == 200:
                    gens.add(r.json()["index_gen"])

    threads = [threading.Thread(target=draft_loop) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        write_script(
            api_server.kb / "scripts" / "order.yaml",
            [script("ship_a", reply=f"我们会在付款后24小时内发货，请您留意订单页的运单号{MARKER}。")],
        )
        done = api_server.cli(
            "index", "--quiet", "--allow-mass-delete"
        )  # damage_a is its scenario's only script
        assert done.returncode == 0, done.stderr
        seen = _ready_by_worker(api_server, before)
        time.sleep(0.5)  # a few more drafts on the new generation
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(seen) == WORKERS and set(seen.values()) == {before + 1}, seen
    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert gens == {before, before + 1}
    with api_server.client() as c:
        r = c.post("/v1/drafts", json={"message": "怎么还没发货", "brand": "jianyi", "mode": "script"})
        assert MARKER in r.json()["draft"] and r.json()["index_gen"] == before + 1
        search = c.get("/v1/scripts/search", params={"q": "东西碎了", "brand": "jianyi"}).json()
    assert "damage_a" not in [s["id"] for s in search["scripts"]]  # removed by the re-index
