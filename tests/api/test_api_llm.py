"""LLM drafts over the API, through the fake OpenAI server: streamed sentence by sentence, faults fall back."""

from __future__ import annotations

import pytest
from fake_openai import MODEL, Answer

from .conftest import shown_text, sse_events

pytestmark = pytest.mark.slow
DAMAGE = {"message": "收到的瓶子碎了，盒子也破了", "brand": "jianyi", "mode": "llm"}
STREAM = {"Accept": "text/event-stream"}


def test_an_llm_draft_streams_filter_passed_sentences_then_the_result(api_server, fake_openai):
    with api_server.client(headers=STREAM) as c:
        r = c.post("/v1/drafts", json=DAMAGE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text
    events = sse_events(r.text)
    deltas = [d for name, d in events if name == "delta"]
    assert [name for name, _ in events][-1] == "result" and len(deltas) >= 2  # sentence by sentence
    result = events[-1][1]
    assert result["mode"] == "llm" and result["model"] == MODEL and not result["fallback_reason"]
    assert shown_text(events) == result["draft"] and result["scenario"] == "damaged_or_missing"
    assert len(fake_openai.chat_requests()) == 1


def test_a_filtered_sentence_never_reaches_the_stream(api_server, fake_openai):
    fake_openai.answer(Answer("text", text="非常抱歉给您添麻烦了。这款产品100%有效，请拍照发给我。"))
    with api_server.client(headers=STREAM) as c:
        events = sse_events(c.post("/v1/drafts", json=DAMAGE).text)
    streamed = "".join(d["text"] for name, d in events if name == "delta")
    assert "100%" not in streamed and "100%" not in events[-1][1]["draft"]
    assert "absolute_claim" in {v["category"] for v in events[-1][1]["violations"]}


def test_a_stream_cut_halfway_falls_back_to_the_script_and_says_so(api_server, fake_openai):
    fake_openai.answer(Answer("stop_midway"))
    with api_server.client(headers=STREAM) as c:
        events = sse_events(c.post("/v1/drafts", json=DAMAGE).text)
    result = events[-1][1]
    assert events[-1][0] == "result" and result["mode"] == "script" and result["fallback_reason"]
    assert shown_text(events) == result["draft"]  # a reset, if any, leaves the desk showing the final text


def test_without_streaming_the_llm_draft_is_one_json_answer(api_server, fake_openai):
    with api_server.client() as c:
        r = c.post("/v1/drafts", json=DAMAGE)
    assert r.status_code == 200 and r.json()["mode"] == "llm" and r.json()["drafter_version"]
