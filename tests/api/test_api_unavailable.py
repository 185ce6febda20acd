"""A server whose index is not built and whose feedback store cannot be reached: up, not ready, 503s that say why."""

from __future__ import annotations

import httpx
import pytest
from conftest import build_mini_kb
from pgcluster import free_port

from .conftest import ApiServer, server_env, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def broken_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("api-broken")
    kb = build_mini_kb(root / "kb")
    env = server_env(root, kb, feedback_url=f"postgresql://huashu@127.0.0.1:{free_port()}/huashu")
    server = ApiServer(f"http://127.0.0.1:{free_port()}", env, kb, root / "server.log", proc=None)
    with serving(server, 1, ready="/healthz"):
        yield server


def test_up_but_not_ready_and_readyz_says_why(broken_server):
    assert httpx.get(f"{broken_server.url}/healthz").status_code == 200
    r = httpx.get(f"{broken_server.url}/readyz", timeout=30)
    assert r.status_code == 503
    body = r.json()
    assert (
        body["ready"] is False and body["index"]["ok"] is False and "huashu index" in body["index"]["message"]
    )
    assert body["feedback"]["ok"] is False and "HUASHU_FEEDBACK_URL" in body["feedback"]["message"]


def test_a_store_that_cannot_be_reached_is_503_with_retry_after(broken_server):
    headers = {"Authorization": "Bearer hsk_0badc0de_" + "x" * 43}
    r = httpx.post(f"{broken_server.url}/v1/check", json={"text": "好的", "brand": "lanxu"}, headers=headers)
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
    assert "HUASHU_FEEDBACK_URL" in r.json()["error"]["message"] and int(r.headers["retry-after"]) >= 1
