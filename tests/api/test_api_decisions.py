"""Decisions over HTTP: stored through the feedback store, idempotent, conflicts refused, edits re-checked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def draft_id(api_server) -> str:
    """A fresh draft for jianyi, made through the API."""
    with api_server.client() as c:
        r = c.post("/v1/drafts", json={"message": "我的快递什么时候发", "brand": "jianyi"})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _decide(api_server, draft_id: str, body: dict, key: str = "both"):
    with api_server.client(key) as c:
        return c.post(f"/v1/drafts/{draft_id}/decision", json=body)


def test_the_same_decision_twice_is_one_decision_and_a_different_one_is_409(api_server, draft_id):
    first = _decide(api_server, draft_id, {"decision": "accepted", "agent": "小王"})
    again = _decide(api_server, draft_id, {"decision": "accepted", "agent": "小王"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    stored = first.json()["decision"]
    assert stored["draft_id"] == draft_id and stored["decision"] == "accepted" and stored["similarity"] == 1.0
    conflict = _decide(api_server, draft_id, {"decision": "rejected", "reason": "tone"})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    assert "accepted" in conflict.json()["error"]["message"]


def test_an_edited_text_is_rechecked_and_the_findings_stored(api_server, draft_id):
    edited = {"decision": "edited", "final_text": "亲，这款100%有效，退款12小时内到账。"}
    r = _decide(api_server, draft_id, edited)
    assert r.status_code == 200, r.text
    body = r.json()
    found = {v["category"] for v in body["check"]["violations"]}
    assert {"absolute_claim", "ungrounded_commitment"} <= found
    assert "100%有效" not in body["check"]["text"]
    assert {v["category"] for v in body["decision"]["recheck"]} == found
    assert body["decision"]["final_text"] == edited["final_text"]  # what the agent sent, as sent
    assert _decide(api_server, draft_id, edited).json()["decision"] == body["decision"]


def test_rejected_with_a_reason(api_server, draft_id):
    r = _decide(
        api_server, draft_id, {"decision": "rejected", "reason": "wrong_script", "note": "不是催发货"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["decision"]["reason"] == "wrong_script" and r.json()["check"] is None


@pytest.mark.parametrize(
    "body,status,field",
    [
        ({"decision": "maybe"}, 422, "decision"),
        ({"decision": "rejected", "reason": "lazy"}, 422, "reason"),
        ({"decision": "edited"}, 400, None),  # edited needs the text that was sent
        ({"decision": "accepted", "reason": "tone"}, 400, None),
    ],
)
def test_bad_decisions_say_what_to_fix(api_server, draft_id, body, status, field):
    r = _decide(api_server, draft_id, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field


def test_unknown_draft_is_404_and_another_brands_draft_is_403(api_server, draft_id):
    missing = _decide(api_server, "0" * 32, {"decision": "accepted"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    foreign = _decide(api_server, draft_id, {"decision": "accepted"}, key="nuanbei")
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "forbidden"
    assert _decide(api_server, draft_id, {"decision": "accepted"}, key="jianyi").status_code == 200
