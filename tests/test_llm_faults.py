"""Every endpoint fault falls back to the script-mode draft with the reason said; retries only where they help.

Real HTTP to the fake OpenAI-compatible server, the real openai client and LangChain chain; nothing of ours
is patched. Each fault is streamed, so the shown text is checked against the final draft too.
"""

from __future__ import annotations

import socket
import time

import pytest
from conftest import collect_stream
from fake_openai import LLM_TIMEOUT_S as TIMEOUT_S
from fake_openai import Answer

from rag import DraftRequest, Huashu, ScriptDrafter
from rag.llm import LLMConfig, LLMDrafter
from rag.pipeline import Pipeline

MESSAGE = "衣服小了想换大一号，运费谁出，我没买运费险"


def drafter_for(fake, **config) -> LLMDrafter:
    """Return an LLM drafter pointed at the fake server, with `config` changed (a wrong key, model or URL)."""
    values = dict(base_url=fake.base_url, model="fake-chat-1", api_key=fake.api_key, timeout_s=TIMEOUT_S)
    return LLMDrafter(LLMConfig(**(values | config)))


def stream(app: Huashu, drafter: LLMDrafter | None = None, message: str = MESSAGE, brand: str = "jianyi"):
    """Stream a draft in llm mode; return (shown text, deltas, result, seconds)."""
    started = time.perf_counter()
    if drafter is None:
        events = app.stream_draft(message, brand=brand, mode="llm")
    else:  # the same pipeline and generation with another LLM drafter
        pipeline = Pipeline({"script": ScriptDrafter(), "llm": drafter}, max_message_chars=2000)
        events = pipeline.stream(app.generation, DraftRequest(message, brand, mode="llm"))
    shown, deltas, result = collect_stream(events)
    return shown, deltas, result, time.perf_counter() - started


def assert_fell_back(app, result, shown, seconds, words):
    assert result.mode == "script" and result.drafter == "script", result.fallback_reason
    assert words in result.fallback_reason, result.fallback_reason
    assert result.draft == app.draft(MESSAGE, brand="jianyi", mode="script").draft
    assert shown == result.draft  # whatever was shown before the fault, the agent ends up seeing the draft
    assert (
        seconds < TIMEOUT_S + 3.0
    )  # it never waited out the stalled server (speed: benchmarks/llm_overhead.py)


SCRIPTED = [
    pytest.param(Answer(fault="delay", delay_s=30), "超时", id="timeout"),
    pytest.param(Answer(fault="status", status=500), "500", id="http-500"),
    pytest.param(
        Answer(fault="status", status=429, retry_after="30"), "429", id="http-429-wait-past-timeout"
    ),
    pytest.param(Answer(fault="status", status=503), "503", id="http-503-every-time"),
    pytest.param(Answer(fault="empty"), "空回复", id="empty"),
    pytest.param(Answer(fault="english"), "不是中文", id="not-chinese"),
    pytest.param(Answer(fault="cut"), "句子中间断了", id="cut-mid-sentence"),
    pytest.param(Answer(fault="stop_midway"), "断了", id="stream-stops-halfway"),
    pytest.param(Answer(fault="stall"), "超时", id="stream-stalls-halfway"),
    pytest.param(Answer(fault="too_long"), "长度", id="ten-times-too-long"),
]


@pytest.mark.parametrize("answer,words", SCRIPTED)
def test_a_fault_falls_back_to_the_script_draft(llm_app, fake_openai, answer, words):
    fake_openai.default = answer  # every attempt, retries included, meets the fault
    shown, _, result, seconds = stream(llm_app)
    assert_fell_back(llm_app, result, shown, seconds, words)
    assert fake_openai.chat_requests(), "the endpoint was really asked"


@pytest.mark.parametrize(
    "config,words",
    [
        pytest.param({"api_key": "sk-wrong"}, "401", id="http-401-wrong-key"),
        pytest.param({"model": "no-such-model"}, "404", id="http-404-unknown-model"),
        pytest.param({"base_url": "http://huashu-no-such-host.invalid/v1"}, "找不到", id="dns-failure"),
    ],
)
def test_an_endpoint_misconfigured_falls_back_and_says_what_to_fix(llm_app, fake_openai, config, words):
    shown, _, result, seconds = stream(llm_app, drafter_for(fake_openai, **config))
    assert_fell_back(llm_app, result, shown, seconds, words)
    assert "HUASHU_LLM_" in result.fallback_reason  # names the setting to check


def test_connection_refused_falls_back(llm_app, fake_openai):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    shown, _, result, seconds = stream(
        llm_app, drafter_for(fake_openai, base_url=f"http://127.0.0.1:{port}/v1")
    )
    assert_fell_back(llm_app, result, shown, seconds, "连不上")


def test_429_is_retried_after_the_wait_the_server_asked_for(llm_app, fake_openai):
    fake_openai.answer(Answer(fault="status", status=429, retry_after="0.2"))
    _, _, result, _ = stream(llm_app, drafter_for(fake_openai, timeout_s=10))
    first, second = fake_openai.chat_requests()
    assert result.mode == "llm" and not result.fallback_reason
    assert second.received_at - first.received_at >= 0.2
    assert any("限流" in n and "重试" in n for n in result.notices)


def test_503_is_retried_with_back_off_and_then_answers(llm_app, fake_openai):
    fake_openai.answer(Answer(fault="status", status=503), Answer(fault="status", status=503))
    _, _, result, _ = stream(llm_app, drafter_for(fake_openai, timeout_s=10))  # room for two back-offs
    assert result.mode == "llm" and len(fake_openai.chat_requests()) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_other_statuses_are_not_retried(llm_app, fake_openai, status):
    fake_openai.answer(Answer(fault="status", status=status))
    _, _, result, _ = stream(llm_app)
    assert result.mode == "script" and len(fake_openai.chat_requests()) == 1
