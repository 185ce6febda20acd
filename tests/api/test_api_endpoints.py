"""Every endpoint against the real server: shapes, streaming, key scoping, and the one error shape."""

from __future__ import annotations

import json

import pytest

from rag import draft_result_dict, draft_result_from_dict

from .conftest import sse_events

pytestmark = pytest.mark.slow
SHIPPING = {
    "message": "拍了两天了怎么还不发货",
    "brand": "jianyi",
    "order": {"order_id": "2026112200001"},
    "mode": "script",
}


def _error(response, status: int, code: str) -> dict:
    """Assert the one error shape with this status and code; return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"].strip()
    return body["error"]


def test_health_and_readiness(api_server):
    with api_server.client(key=None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["index"]["ok"] and body["feedback"]["ok"]
    assert body["index"]["index_gen"] >= 1
    assert body["llm"] == {"configured": True, "available": True, "model": "fake-chat-1"}


def test_draft_is_the_librarys_json_shape_and_is_recorded(api_server):
    with api_server.client() as c:
        r = c.post("/v1/drafts", json=SHIPPING)
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == list(draft_result_dict(draft_result_from_dict(body)))  # rag/serialize.py's shape
    assert body["scenario"] == "shipping_delay" and body["script_id"] == "ship_a"
    assert "2026112200001" in body["draft"] and body["mode"] == "script"
    assert body["brand"] == "jianyi" and body["id"] and body["timings_ms"]["total"] > 0
    assert not any("反馈库" in n for n in body["notices"])  # recorded in the feedback store


def test_stream_sends_deltas_then_the_result(api_server):
    with api_server.client(headers={"Accept": "text/event-stream"}) as c:
        r = c.post("/v1/drafts", json=SHIPPING)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    names = [name for name, _ in events]
    assert names[-1] == "result" and set(names[:-1]) == {"delta"}
    result = events[-1][1]
    assert "".join(d["text"] for _, d in events[:-1]) == result["draft"]
    assert result["scenario"] == "shipping_delay" and result["id"]


def test_a_bad_stream_request_is_a_plain_error_before_any_event(api_server):
    body = SHIPPING | {"script_id": "no_such_script"}
    with api_server.client(headers={"Accept": "text/event-stream"}) as c:
        r = c.post("/v1/drafts", json=body)
    assert "no_such_script" in _error(r, 404, "not_found")["message"]


def test_check_finds_and_rewrites_what_the_filter_must_catch(api_server):
    with api_server.client() as c:
        r = c.post("/v1/check", json={"text": "这款精华100%有效，不满意随便退！", "brand": "lanxu"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {v["category"] for v in body["violations"]} >= {"absolute_claim", "unconditional_promise"}
    assert "100%有效" not in body["text"] and body["blocked"] is False


def test_search_never_shows_another_brands_scripts(api_server):
    query = {"q": "精华怎么用，一次用几滴"}
    with api_server.client("both") as c:
        lanxu = c.get("/v1/scripts/search", params=query | {"brand": "lanxu"}).json()
        jianyi = c.get("/v1/scripts/search", params=query | {"brand": "jianyi", "k": 50}).json()
    assert lanxu["scripts"][0]["id"] == "usage_lanxu" and lanxu["scripts"][0]["reply"]
    assert jianyi["scripts"] and "usage_lanxu" not in [s["id"] for s in jianyi["scripts"]]
    assert all(set(s["brands"]) & {"all", "jianyi"} for s in jianyi["scripts"] + jianyi["policies"])
    with api_server.client("jianyi") as c:
        _error(c.get("/v1/scripts/search", params=query | {"brand": "lanxu"}), 403, "forbidden")


BIG = "顾客消息" * 3000  # over the test server's 16 KiB body limit
ERRORS = [
    # (key, method, path, body, status, code, field)
    (None, "post", "/v1/drafts", SHIPPING, 401, "unauthorized", None),
    ("nuanbei", "post", "/v1/drafts", SHIPPING, 403, "forbidden", None),
    ("both", "post", "/v1/drafts", SHIPPING | {"brand": "nosuch"}, 403, "forbidden", None),
    ("both", "post", "/v1/drafts", {"brand": "jianyi"}, 422, "bad_input", "message"),
    ("both", "post", "/v1/drafts", SHIPPING | {"message": ""}, 422, "bad_input", "message"),
    ("both", "post", "/v1/drafts", SHIPPING | {"mode": "fast"}, 422, "bad_input", "mode"),
    (
        "both",
        "post",
        "/v1/drafts",
        SHIPPING | {"conversation": [{"role": "bot", "text": "hi"}]},
        422,
        "bad_input",
        "conversation.0.role",
    ),
    ("both", "post", "/v1/drafts", SHIPPING | {"order": {"order_id": "订单!!"}}, 400, "bad_input", None),
    ("both", "post", "/v1/drafts", SHIPPING | {"order": {"coupon": "1"}}, 400, "bad_input", None),
    ("both", "post", "/v1/drafts", SHIPPING | {"message": BIG}, 413, "too_large", None),
    ("both", "post", "/v1/check", {"text": "好的", "brand": "nuanbei"}, 403, "forbidden", None),
    ("both", "post", "/v1/check", {"brand": "lanxu"}, 422, "bad_input", "text"),
    ("both", "get", "/v1/scripts/search?brand=lanxu", None, 422, "bad_input", "q"),
    ("both", "get", "/v1/scripts/search?q=x&brand=lanxu&k=0", None, 422, "bad_input", "k"),
    ("both", "get", "/v1/nothing-here", None, 404, "not_found", None),
    ("both", "delete", "/v1/drafts", None, 405, "method_not_allowed", None),
]


@pytest.mark.parametrize("key,method,path,body,status,code,field", ERRORS)
def test_every_error_has_one_shape(api_server, key, method, path, body, status, code, field):
    with api_server.client(key) as c:
        r = c.request(method.upper(), path, json=body)
    assert _error(r, status, code)["field"] == field
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer nonsense", "Bearer hsk_0badc0de_" + "x" * 43, "Basic dXNlcjpwYXNz"]
)
def test_a_wrong_key_is_401(api_server, header):
    with api_server.client(key=None, headers={"Authorization": header}) as c:
        _error(c.post("/v1/check", json={"text": "好的", "brand": "lanxu"}), 401, "unauthorized")


def test_invalid_json_is_422_without_a_field(api_server):
    with api_server.client(headers={"Content-Type": "application/json"}) as c:
        assert _error(c.post("/v1/drafts", content=b"{not json"), 422, "bad_input")["field"] is None


def test_a_revoked_key_stops_working_at_once(api_server):
    from rag import ApiKeys, open_feedback_store

    with open_feedback_store(api_server.settings()) as store:
        key, token = ApiKeys(store).create("desk-temp", ["lanxu"])
    check = {"text": "好的", "brand": "lanxu"}
    headers = {"Authorization": f"Bearer {token}"}
    with api_server.client(key=None, headers=headers) as c:
        assert c.post("/v1/check", json=check).status_code == 200
        done = api_server.cli("keys", "revoke", key.id)
        assert done.returncode == 0 and key.id in done.stdout, done.stderr
        _error(c.post("/v1/check", json=check), 401, "unauthorized")
    listed = api_server.cli("keys", "list", "--json")
    assert listed.returncode == 0 and token not in listed.stdout and "hsk_" not in listed.stdout
    assert {k["id"]: k["revoked_at"] is not None for k in json.loads(listed.stdout)}[key.id]


def test_rate_limit_answers_429_with_retry_after(api_server):
    with api_server.client("slow") as c:
        responses = [c.post("/v1/check", json={"text": "好的", "brand": "jianyi"}) for _ in range(8)]
    assert responses[0].status_code == 200
    limited = [r for r in responses if r.status_code == 429]
    assert len(limited) >= 5  # two a minute, shared between two workers
    for r in limited:
        _error(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60  # one request a minute per worker
