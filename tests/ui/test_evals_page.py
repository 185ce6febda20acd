"""The evals page under AppTest: run an uploaded eval file, read its metrics, compare two runs."""

from __future__ import annotations

import json
import time

import pytest
from conftest import open_workspace
from streamlit.testing.v1 import AppTest

import rag

CASES = [
    {"id": "r1", "kind": "retrieval", "query": "我昨天付款的，怎么还没发货", "brand": "jianyi",
     "expected_scenario": "shipping_delay"},
    {"id": "r2", "kind": "retrieval", "query": "发票抬头开错了", "brand": "jianyi", "expected_scenario": "invoice"},
    {"id": "r3", "kind": "retrieval", "query": "快递盒子压扁了奶瓶也裂了", "brand": "nuanbei",
     "expected_scenario": "price_protection"},
    {"id": "c1", "kind": "compliance", "text": "这款100%有效，不满意随便退！",
     "expected": [{"category": "absolute_claim", "match": "100%有效"},
                  {"category": "unconditional_promise", "match": "随便退"}]},
]  # fmt: skip
EVAL_FILE = (
    "mini_eval.jsonl",
    ("\n".join(json.dumps(c, ensure_ascii=False) for c in CASES) + "\n{broken\n").encode(),
)


@pytest.fixture
def evals(ui_settings, monkeypatch):
    return open_workspace(ui_settings, monkeypatch, "evals")


def _run_eval(at: AppTest) -> None:
    at.multiselect(key="eval-files").set_value([])
    at.file_uploader(key="eval-upload").set_value((EVAL_FILE[0], EVAL_FILE[1], "application/jsonl")).run()
    at.button(key="eval-start").click().run()
    deadline = time.monotonic() + 60
    while not any("评测完成" in s.value for s in at.success):
        assert not at.error, [e.value for e in at.error]
        assert time.monotonic() < deadline, "the eval run did not finish in time"
        time.sleep(0.2)
        at.run()


def test_an_uploaded_eval_file_runs_and_its_metrics_confusion_and_failures_show(evals, ui_settings):
    _run_eval(evals)
    runs = rag.list_runs(rag.runs_dir(ui_settings))  # other tests' runs share the folder: take this one's
    results = next(r for r in runs if r["files"] == ["mini_eval.jsonl"])["results"]
    assert results["retrieval"]["cases"] == 3 and len(results["skipped"]) == 1
    shown = {m.label: m.value for m in evals.metric}
    assert shown["检索 hit@1"] == f"{results['retrieval']['hit_at_1']:.3f}" and "合规召回" in shown
    assert rag.retrieval_confusion(results)[("price_protection", "damaged_or_missing")] == 1
    failures = next(df.value for df in evals.dataframe if "原因" in df.value.columns)
    assert list(failures["id"]) == ["r3"]


def test_two_runs_compare_as_huashu_eval_compare_prints_them(evals, ui_settings):
    _run_eval(evals)
    _run_eval(evals)
    runs = rag.list_runs(rag.runs_dir(ui_settings))
    expected = rag.compare_runs(runs[1]["path"], runs[0]["path"])[1]
    assert expected in [c.value for c in evals.code]
    assert evals.selectbox(key="eval-metric").options
