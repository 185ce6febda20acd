"""The LLM path from the shells: `huashu draft --mode llm --stream`, `huashu doctor`, `huashu eval run --mode llm`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
from conftest import EVAL_SETS
from fake_openai import Answer

from rag.doctor import run_checks
from rag.evaluation import add_eval_commands

EXCHANGE = "衣服小了想换大一号，运费谁出，我没买运费险"


def llm_cli(app, fake, *args: str, **settings) -> subprocess.CompletedProcess:
    """Run `huashu ARGS` in a fresh process over `app`'s index, drafting through the fake server."""
    env = os.environ | {
        "HUASHU_DATA_DIR": str(app.settings.data_dir),
        "HUASHU_KB_PATH": str(app.settings.kb_path),
    }
    env |= {f"HUASHU_{k.upper()}": str(v) for k, v in fake.settings(**settings).items()}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_draft_streams_json_lines_then_the_result(huashu_app, fake_openai):
    proc = llm_cli(
        huashu_app, fake_openai, "draft", EXCHANGE, "--brand", "jianyi", "--mode", "llm", "--stream", "--json"
    )
    assert proc.returncode == 0, proc.stderr
    *deltas, final = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(deltas) >= 2 and "".join(d["delta"] for d in deltas) == final["draft"]
    assert final["mode"] == "llm" and final["fallback_reason"] == "" and final["citations"]
    assert final["usage"]["total_tokens"] > 0 and final["drafter_version"] and final["model"] == "fake-chat-1"


def test_draft_says_why_it_fell_back(huashu_app, fake_openai):
    fake_openai.default = Answer(fault="status", status=500)
    proc = llm_cli(huashu_app, fake_openai, "draft", EXCHANGE, "--brand", "jianyi", "--stream", "--json")
    assert proc.returncode == 0, proc.stderr
    *deltas, final = [json.loads(line) for line in proc.stdout.splitlines()]
    assert final["mode"] == "script" and "500" in final["fallback_reason"]
    shown = ""
    for d in deltas:
        shown = d["delta"] if d["reset"] else shown + d["delta"]
    assert shown == final["draft"]


def test_doctor_passes_against_a_working_endpoint(huashu_app, fake_openai):
    proc = llm_cli(huashu_app, fake_openai, "doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for words in ("✓ 设置", "✓ 索引", "✓ 接口连通", "✓ 密钥", "✓ 模型", "✓ 试答", "全部正常"):
        assert words in proc.stdout
    assert any(r.path.endswith("/chat/completions") for r in fake_openai.seen)  # it really asked


@pytest.mark.parametrize(
    "overrides,failed,words",
    [
        ({"llm_api_key": "sk-wrong"}, "key", "HUASHU_LLM_API_KEY"),
        ({"llm_model": "no-such-model"}, "model", "fake-chat-1"),  # names the models there are
        ({"llm_base_url": "http://127.0.0.1:9/v1"}, "endpoint", "连不上"),
    ],
)
def test_doctor_names_what_is_wrong_with_the_endpoint(huashu_app, fake_openai, overrides, failed, words):
    settings = {"data_dir": huashu_app.settings.data_dir, "kb_path": huashu_app.settings.kb_path}
    checks = run_checks(**settings, **fake_openai.settings(**overrides))
    (bad,) = [c for c in checks if not c.ok]
    assert bad.name == failed and words in bad.detail
    assert checks[-1] is bad  # the checks after a failed one are not run


def test_doctor_fails_without_an_index_and_says_to_build_one(tmp_path):
    checks = run_checks(data_dir=tmp_path / "data")
    index = next(c for c in checks if c.name == "index")
    assert not index.ok and "huashu index" in index.detail
    assert next(
        c for c in checks if c.name == "llm"
    ).skipped  # no LLM configured: nothing to check, not a failure


def _eval(app, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="huashu")
    add_eval_commands(parser.add_subparsers(dest="command"), app_factory=lambda: app)
    args = parser.parse_args(["eval", "run", *argv, "--quiet"])
    return args.func(args)


def test_eval_runs_the_project_draft_and_retrieval_dev_sets_through_the_llm(llm_app, fake_openai, tmp_path):
    files = [str(EVAL_SETS / "draft_dev.jsonl"), str(EVAL_SETS / "retrieval_dev.jsonl")]
    assert _eval(llm_app, *files, "--mode", "script", "--json", str(tmp_path / "script.json")) == 0
    assert _eval(llm_app, *files, "--mode", "llm", "--json", str(tmp_path / "llm.json")) == 0
    script, llm = (json.loads((tmp_path / f"{m}.json").read_text()) for m in ("script", "llm"))
    assert llm["config"]["draft_mode"] == "llm" and llm["config"]["prompt_version"]
    assert llm["draft"]["cases"] == script["draft"]["cases"] > 0
    assert not any("fell back" in r for f in llm["failures"] for r in f["reasons"])
    passed_script = {c["id"] for c in script["cases"] if c["passed"] and c["kind"] == "draft"}
    passed_llm = {c["id"] for c in llm["cases"] if c["passed"] and c["kind"] == "draft"}
    assert passed_script <= passed_llm  # adapting the script loses no case the script itself passes
    assert llm["retrieval"]["hit_at_1"] == script["retrieval"]["hit_at_1"]  # the LLM path retrieves the same
    asked = len(fake_openai.chat_requests())
    assert asked >= llm["draft"]["cases"]  # every matched draft and retrieval case really asked the model


def test_eval_mode_llm_without_an_llm_is_a_usage_error(huashu_app, capsys):
    assert _eval(huashu_app, str(EVAL_SETS / "draft_dev.jsonl"), "--mode", "llm") == 2
    assert "HUASHU_LLM_BASE_URL" in capsys.readouterr().err
