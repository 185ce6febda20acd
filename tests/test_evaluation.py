"""The offline eval runner: metric arithmetic, eval-file parsing, exit codes, compare, and an end-to-end run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rag.cli import main as huashu_main
from rag.errors import EvalFileError
from rag.evaluation import add_eval_commands, compare, render_html, render_markdown, results_json
from rag.evaluation.cases import (
    ComplianceCase,
    DraftCase,
    ExpectedViolation,
    RetrievalCase,
    parse_lines,
    read_eval_file,
    read_eval_files,
)
from rag.evaluation.cli import missed_thresholds, parse_thresholds
from rag.evaluation.compare import render_comparison
from rag.evaluation.metrics import (
    CaseResult,
    Ranked,
    Reported,
    compliance_summary,
    draft_failures,
    first_correct_rank,
    hit_at_k,
    mean_reciprocal_rank,
    per_category,
    percentile,
    score_compliance,
    score_retrieval,
    spans_overlap,
    summarize,
)
from rag.evaluation.run import EvalRun

EVAL_SETS = Path(__file__).resolve().parent.parent / "evals" / "sets"


def rcase(scenario="address_change", script=None, cid="r1") -> RetrievalCase:
    return RetrievalCase(
        cid, "t.jsonl", 1, "我地址写错了", expected_scenario=scenario, expected_script=script
    )


def ranked(*pairs: tuple[str, str]) -> list[Ranked]:
    return [Ranked(sid, scen, round(0.9 - i * 0.1, 3)) for i, (sid, scen) in enumerate(pairs)]


def ccase(text: str, *expected: tuple[str, str]) -> ComplianceCase:
    from rag.evaluation.cases import find_occurrences

    return ComplianceCase(
        "c",
        "t.jsonl",
        1,
        text,
        tuple(ExpectedViolation(c, m, find_occurrences(text, m)) for c, m in expected),
    )


def rep(category: str, text: str, whole: str, nth: int = 0) -> Reported:
    start = -1
    for _ in range(nth + 1):
        start = whole.index(text, start + 1)
    return Reported(category, (start, start + len(text)), text)


# ---- retrieval arithmetic ----
RANKS = [1, 3, None, 2]  # hand-computed: hit@1 1/4, hit@3 3/4, MRR (1 + 1/3 + 0 + 1/2) / 4


def test_hit_at_k_and_mrr_on_hand_computed_ranks():
    assert hit_at_k(RANKS, 1) == 0.25
    assert hit_at_k(RANKS, 3) == 0.75
    assert hit_at_k(RANKS, 5) == 0.75
    assert mean_reciprocal_rank(RANKS) == pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4)
    assert hit_at_k([], 1) is None and mean_reciprocal_rank([]) is None


@pytest.mark.parametrize(
    ("case", "got", "matched", "rank"),
    [
        (rcase(), ranked(("a1", "address_change"), ("c1", "order_cancel")), True, 1),
        (
            rcase(),
            ranked(("c1", "order_cancel"), ("s1", "shipping_delay"), ("a1", "address_change")),
            True,
            3,
        ),
        (rcase(), ranked(("c1", "order_cancel")), True, None),
        (
            rcase(),
            ranked(*[(f"x{i}", "order_cancel") for i in range(10)], ("a1", "address_change")),
            True,
            None,
        ),
        (rcase(script="a2"), ranked(("a1", "address_change"), ("a2", "address_change")), True, 2),
        (rcase(scenario=None, script="a2"), ranked(("a2", "address_change")), True, 1),
        (rcase("out_of_scope"), ranked(("g1", "greeting")), False, 1),  # nothing fits: the right answer
        (rcase("out_of_scope"), ranked(("g1", "greeting"), ("o1", "out_of_scope")), True, 2),
        (rcase(), ranked(("a1", "address_change")), False, 1),  # ranking counts, as the contract says
    ],
)
def test_first_correct_rank(case, got, matched, rank):
    assert first_correct_rank(got, case, matched=matched) == rank


def test_retrieval_failure_reason_names_what_came_back():
    result = score_retrieval(rcase(), ranked(("c1", "order_cancel"), ("a1", "address_change")), matched=True)
    assert not result.passed and result.rank == 2
    assert result.reason.startswith("expected address_change, got order_cancel (c1, score 0.900)")
    assert "rank 2" in result.reason
    assert score_retrieval(rcase(), ranked(("a1", "address_change")), matched=True).passed


# ---- compliance arithmetic ----
def test_span_overlap_is_half_open():
    assert spans_overlap((0, 3), (2, 5))
    assert spans_overlap((2, 3), (0, 10))
    assert not spans_overlap((0, 3), (3, 5))
    assert not spans_overlap((5, 6), (0, 5))


def test_recall_precision_and_false_positive_rate_by_hand():
    t1 = "这款精华100%有效，不满意随便退！"
    a = score_compliance(
        ccase(t1, ("absolute_claim", "100%有效"), ("unconditional_promise", "随便退")),
        [rep("absolute_claim", "100%", t1), rep("medical_claim", "精华", t1)],
    )
    t2 = "我们会第一时间为您处理。"
    b = score_compliance(ccase(t2), [rep("absolute_claim", "第一", t2)])
    c = score_compliance(ccase("好的，马上为您查询。"), [])
    t4 = "退款会在12小时内到账，最好的服务。"
    d = score_compliance(
        ccase(t4, ("ungrounded_commitment", "12小时")), [rep("ungrounded_commitment", "最好的", t4)]
    )
    # expected 3, found 1 (a's absolute_claim); reported 4, correct 1; compliant cases b and c, b flagged
    summary = compliance_summary([a, b, c, d])
    assert summary["recall"] == pytest.approx(1 / 3)
    assert summary["precision"] == pytest.approx(1 / 4)
    assert summary["false_positive_rate"] == pytest.approx(1 / 2)
    assert (summary["expected_violations"], summary["reported_violations"], summary["compliant_cases"]) == (
        3,
        4,
        2,
    )
    assert [r.passed for r in (a, b, c, d)] == [False, False, True, False]
    assert "missed unconditional_promise “随便退”" in a.reasons
    assert any(r.startswith("unexpected medical_claim “精华”") for r in a.reasons)
    cats = per_category([a, b, c, d])
    assert (
        cats["absolute_claim"]["expected"],
        cats["absolute_claim"]["found"],
        cats["absolute_claim"]["reported"],
        cats["absolute_claim"]["correct"],
        cats["absolute_claim"]["false_positive_cases"],
    ) == (1, 1, 2, 1, 1)
    assert cats["absolute_claim"]["false_positive_rate"] == 0.5
    assert (
        cats["ungrounded_commitment"]["recall"] == 0.0 and cats["ungrounded_commitment"]["precision"] == 0.0
    )
    assert cats["medical_claim"]["recall"] is None  # nothing expected: not measurable


def test_any_occurrence_of_match_counts_and_category_must_agree():
    text = "随便退，真的随便退"
    second = rep("unconditional_promise", "随便退", text, nth=1)
    assert score_compliance(ccase(text, ("unconditional_promise", "随便退")), [second]).passed
    wrong_category = Reported("absolute_claim", second.span, second.text)
    result = score_compliance(ccase(text, ("unconditional_promise", "随便退")), [wrong_category])
    assert not result.passed and len(result.reasons) == 2


def test_precision_is_none_when_nothing_was_reported():
    summary = compliance_summary([score_compliance(ccase("好的"), [])])
    assert (
        summary["precision"] is None and summary["recall"] is None and summary["false_positive_rate"] == 0.0
    )


# ---- draft pass rules ----
DCASE = DraftCase(
    "d1", "t.jsonl", 1, "快递盒子破了", "nuanbei", "damaged_or_missing", ("照片", "拍"), ("100%",)
)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"draft": "请您拍一张照片", "scenario": "damaged_or_missing"}, []),
        (
            {"draft": "请您拍照", "scenario": "quality_issue"},
            ["expected damaged_or_missing, got quality_issue"],
        ),
        ({"draft": "我们马上处理", "scenario": "damaged_or_missing"}, ["contains none of “照片”, “拍”"]),
        (
            {"draft": "拍照后100%补发", "scenario": "damaged_or_missing"},
            ["contains “100%”, which it must not"],
        ),
        (
            {
                "draft": "拍照",
                "scenario": "damaged_or_missing",
                "leftover": [Reported("absolute_claim", (0, 2), "最好")],
            },
            ["post-filter still finds absolute_claim “最好”"],
        ),
        (
            {"draft": "拍照~", "scenario": "damaged_or_missing", "tone": ["语气 luxury 不允许“~”"]},
            ["tone: 语气 luxury 不允许“~”"],
        ),
        (
            {
                "draft": "拍照",
                "scenario": "damaged_or_missing",
                "blocked": True,
                "block_reason": "含有完整身份证号",
            },
            ["draft blocked by the filter: 含有完整身份证号"],
        ),
    ],
)
def test_draft_failure_reasons(kwargs, expected):
    assert draft_failures(DCASE, **kwargs) == expected


def test_draft_without_expectations_passes_on_a_clean_draft():
    assert draft_failures(DraftCase("d", "f", 1, "q", "lanxu"), draft="您好", scenario="greeting") == []


# ---- latency ----
def test_percentiles_interpolate_between_ranks():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_summary_has_contract_keys_and_empty_sections():
    results = [
        score_retrieval(rcase(cid=f"r{i}"), ranked(("a1", "address_change")), matched=True, latency_ms=i)
        for i in range(1, 5)
    ]
    summary = summarize(results)
    assert summary["retrieval"] == {"cases": 4, "hit_at_1": 1.0, "hit_at_3": 1.0, "hit_at_5": 1.0, "mrr": 1.0}
    assert summary["compliance"] == {"cases": 0} and summary["draft"] == {"cases": 0}
    assert summary["latency_ms"]["retrieval_p50"] == 2.5
    assert summary["per_scenario"]["retrieval"]["address_change"]["cases"] == 4


# ---- parsing eval files ----
MESSY = """\
{"id": "r1", "kind": "retrieval", "query": "我地址写错了还能改吗", "brand": "jianyi", "expected_scenario": "address_change"}
this is not json

{"id": "r2", "kind": "retrieval", "query": "改地址", "expected_scenario": "adress_change"}
{"id": "r1", "kind": "retrieval", "query": "又一个", "expected_scenario": "address_change"}
{"id": "x1", "kind": "summarise", "query": "?"}
["id", "kind"]
{"kind": "retrieval", "query": "没有 id", "expected_scenario": "greeting"}
{"id": "r3", "kind": "retrieval", "query": "没有期望"}
{"id": "c1", "kind": "compliance", "text": "100%有效", "expected": [{"category": "absolute_claim", "match": "绝对"}]}
{"id": "c2", "kind": "compliance", "text": "100%有效", "expected": [{"category": "absolutely", "match": "100%"}]}
{"id": "c3", "kind": "compliance", "text": "我们会第一时间为您处理。"}
{"id": "c4", "kind": "compliance", "text": "我们会第一时间为您处理。", "expected": [], "note": "unknown fields are fine"}
{"id": "c5", "kind": "compliance", "text": "退款12小时到账", "sources": ["24小时内退款"], "expected": [{"category": "ungrounded_commitment", "match": "12小时"}]}
{"id": "d1", "kind": "draft", "query": "盒子破了", "brand": "nuanbei", "must_include_any": "照片"}
{"id": "d2", "kind": "draft", "query": 42}
{"id": 7, "kind": "draft", "query": "在吗"}
"""


def test_malformed_lines_are_skipped_with_line_numbers_and_reasons(tmp_path):
    path = tmp_path / "messy.jsonl"
    path.write_text("\ufeff" + MESSY, encoding="utf-8")  # a BOM, as Windows editors write it
    cases, skipped = read_eval_file(path)
    assert [(c.kind, c.id, c.line) for c in cases] == [
        ("retrieval", "r1", 1),
        ("compliance", "c4", 13),
        ("compliance", "c5", 14),
        ("draft", "d1", 15),
        ("draft", "7", 17),
    ]
    reasons = {s.line: s.reason for s in skipped}
    assert sorted(reasons) == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16]  # line 3 is blank: not a case
    assert all(s.file == str(path) for s in skipped)
    assert "not valid JSON" in reasons[2]
    assert "unknown scenario 'adress_change'" in reasons[4] and "address_change" in reasons[4]
    assert "duplicate id 'r1' (first used on line 1)" in reasons[5]
    assert "unknown kind 'summarise'" in reasons[6]
    assert "JSON object" in reasons[7]
    assert 'missing "id"' in reasons[8]
    assert "expected_scenario" in reasons[9]
    assert "does not occur in the text" in reasons[10]
    assert "unknown category 'absolutely'" in reasons[11]
    assert 'missing "expected"' in reasons[12]
    assert '"query" should be a string' in reasons[16]
    c5 = next(c for c in cases if c.id == "c5")
    assert c5.sources == ("24小时内退款",) and c5.expected[0].spans == ((2, 6),)
    assert next(c for c in cases if c.id == "d1").must_include_any == ("照片",)


def test_line_numbers_survive_unicode_line_separators():
    lines = ['{"id": "a", "kind": "draft", "query": "第一行\u2028还是第一行"}', "oops"]
    cases, skipped = parse_lines(lines, "f.jsonl")
    assert cases[0].query == "第一行\u2028还是第一行" and skipped[0].line == 2


@pytest.mark.parametrize("content", [None, "dir", b"\xff\xfe\x00bad"])
def test_unreadable_eval_file_raises(tmp_path, content):
    path = tmp_path / "set.jsonl"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(EvalFileError):
        read_eval_file(path)


# ---- exit codes that need no index ----
def test_unreadable_file_and_bad_threshold_exit_2(tmp_path, capsys):
    assert huashu_main(["eval", "run", str(tmp_path / "missing.jsonl"), "--quiet"]) == 2
    assert "no such eval file" in capsys.readouterr().err
    good = tmp_path / "ok.jsonl"
    good.write_text('{"id": "a", "kind": "draft", "query": "在吗"}\n', encoding="utf-8")
    assert huashu_main(["eval", "run", str(good), "--fail-under", "retrieval.hit_at_7=0.9"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert huashu_main(["eval", "run", str(good), "--fail-under", "retrieval.hit_at_1"]) == 2
    assert huashu_main(["eval", "run", str(good), "--fail-under", "retrieval.hit_at_1=nan"]) == 2
    with pytest.raises(SystemExit) as exc:
        huashu_main(["eval", "run"])  # no files: argparse's usage error
    assert exc.value.code == 2


def test_thresholds_respect_metric_direction():
    results = {
        "retrieval": {"cases": 3, "hit_at_1": 0.8},
        "compliance": {"cases": 2, "false_positive_rate": 0.1},
        "draft": {"cases": 0},
        "latency_ms": {"draft_p95": 12.0},
    }
    thresholds = parse_thresholds(
        [
            "retrieval.hit_at_1=0.9",
            "compliance.false_positive_rate=0.05",
            "latency_ms.draft_p95=20",
            "draft.pass_rate=0.5",
        ]
    )
    missed = missed_thresholds(results, thresholds)
    assert len(missed) == 3
    assert missed[0].startswith("retrieval.hit_at_1 = 0.8, under")
    assert missed[1].startswith("compliance.false_positive_rate = 0.1, above")
    assert "not measured" in missed[2]
    assert missed_thresholds(results, parse_thresholds(["retrieval.hit_at_1=0.8"])) == []


# ---- compare ----
def _run(*results: CaseResult) -> dict:
    return results_json(
        EvalRun(
            tuple(results),
            (),
            {"embedding": "use-m3", "llm": "script", "kb_fingerprint": "x"},
            ("sets/r.jsonl",),
            "2026-01-01T00:00:00+00:00",
            1.0,
        )
    )


def _r(cid: str, rank: int | None) -> CaseResult:
    return CaseResult(
        cid,
        "retrieval",
        "sets/r.jsonl",
        1,
        rank == 1,
        () if rank == 1 else ("expected x, got y",),
        "address_change",
        3.0,
        rank,
    )


def test_compare_reports_deltas_and_flips_both_ways(tmp_path, capsys):
    a = _run(_r("r1", 1), _r("r2", 2), _r("r3", 1), _r("gone", 1))
    b = _run(_r("r1", 3), _r("r2", 1), _r("r3", 1), _r("new", None))
    result = compare(a, b)
    flipped = result["flipped"]
    assert [c["id"] for c in flipped["to_failed"]] == ["r1"] and flipped["to_failed"][0][
        "reason"
    ] == "expected x, got y"
    assert [c["id"] for c in flipped["to_passed"]] == ["r2"]
    assert (flipped["only_in_a"], flipped["only_in_b"]) == (1, 1)
    rows = {r["metric"]: r for r in result["metrics"]}
    assert rows["retrieval.hit_at_1"]["a"] == 0.75 and rows["retrieval.hit_at_1"]["b"] == 0.5
    assert rows["retrieval.hit_at_1"]["delta"] == -0.25 and rows["retrieval.hit_at_1"]["verdict"] == "worse"
    assert rows["latency_ms.retrieval_p50"]["verdict"] == "same"

    (tmp_path / "a.json").write_text(json.dumps(a), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(b), encoding="utf-8")
    assert (
        huashu_main(
            [
                "eval",
                "compare",
                str(tmp_path / "a.json"),
                str(tmp_path / "b.json"),
                "--json",
                str(tmp_path / "cmp.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "passed -> failed: 1" in out and "failed -> passed: 1" in out and "retrieval.hit_at_1" in out
    assert (
        json.loads((tmp_path / "cmp.json").read_text(encoding="utf-8"))["flipped"]["to_failed"][0]["id"]
        == "r1"
    )
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    assert huashu_main(["eval", "compare", str(tmp_path / "a.json"), str(tmp_path / "bad.json")]) == 2


def test_compare_falls_back_to_failures_when_cases_are_missing():
    a = {
        "retrieval": {"cases": 2, "hit_at_1": 0.5},
        "failures": [{"id": "r2", "kind": "retrieval", "reason": "x"}],
    }
    b = {
        "retrieval": {"cases": 2, "hit_at_1": 0.5},
        "failures": [{"id": "r1", "kind": "retrieval", "reason": "y"}],
    }
    result = compare(a, b)
    assert not result["flipped"]["exact"]
    assert [c["id"] for c in result["flipped"]["to_failed"]] == ["r1"]
    assert [c["id"] for c in result["flipped"]["to_passed"]] == ["r2"]
    assert "failures lists alone" in render_comparison(result)


# ---- reports ----
def test_reports_are_self_contained_and_escape_what_came_back():
    failure = score_retrieval(
        RetrievalCase(
            "r<1>", "t.jsonl", 3, "<script>alert(1)</script>改地址", expected_scenario="address_change"
        ),
        ranked(("c1", "order_cancel")),
        matched=True,
        detail={
            "query": "<script>alert(1)</script>改地址",
            "brand": "jianyi",
            "expected": {"scenario": "address_change", "script": None},
            "top": [{"id": "c1", "scenario": "order_cancel", "score": 0.9}],
        },
    )
    results = _run(failure)
    html = render_html(results)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html
    assert "order_cancel" in html and "0.900" in html
    md = render_markdown(results)
    assert "## Failures (1)" in md and "| 1 | c1 | order_cancel | 0.900 |" in md


# ---- end to end over the project's own eval sets (needs a built index) ----
def _cli(app) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huashu")
    add_eval_commands(parser.add_subparsers(dest="command"), app_factory=lambda: app)
    return parser


def _eval(app, *argv: str) -> int:
    args = _cli(app).parse_args(["eval", *argv])
    return args.func(args)


_SAMPLE_EVERY = 10  # the end-to-end run takes every 10th case of a set: each file runs, the suite stays short


@pytest.mark.slow
def test_project_eval_sets_end_to_end(huashu_app, tmp_path):
    files = sorted(EVAL_SETS.glob("*.jsonl"))
    assert files, "evals/sets/ has no eval files"
    # Every line of every file parses...
    everything = read_eval_files(files)
    assert not everything.skipped, everything.skipped[:3]
    # ...and every file runs end to end: the *_test sets whole (the determinism check below reruns them), the
    # others a sample of their cases (all 40-odd sets, 14,000 cases, would be the suite's longest test by far).
    run_files = []
    for path in files:
        lines = [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
        if not path.stem.endswith("_test"):
            lines = lines[::_SAMPLE_EVERY]
        (tmp_path / "sets").mkdir(exist_ok=True)
        copy = tmp_path / "sets" / path.name
        copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run_files.append(str(copy))
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert (
        _eval(
            huashu_app,
            "run",
            *run_files,
            "--json",
            str(first),
            "--report",
            str(tmp_path / "r.html"),
            "--report",
            str(tmp_path / "r.md"),
            "--quiet",
            "--today",
            "2026-03-01",
        )
        == 0
    )
    a = json.loads(first.read_text(encoding="utf-8"))
    for key in ("retrieval", "compliance", "draft", "latency_ms", "config", "failures", "skipped"):
        assert key in a
    lines = sum(
        1 for f in run_files for line in Path(f).read_text(encoding="utf-8").splitlines() if line.strip()
    )
    assert {Path(c["file"]).name for c in a["cases"]} == {p.name for p in files}
    assert (
        a["retrieval"]["cases"] + a["compliance"]["cases"] + a["draft"]["cases"] + len(a["skipped"]) == lines
    )
    for section, keys in {
        "retrieval": ("hit_at_1", "hit_at_3", "mrr"),
        "compliance": ("recall", "precision"),
        "draft": ("pass_rate",),
    }.items():
        if a[section]["cases"]:
            assert all(0.0 <= a[section][k] <= 1.0 for k in keys)
    assert {"draft_p50", "draft_p95"} <= set(a["latency_ms"]) or not a["draft"]["cases"]
    assert a["config"]["kb_fingerprint"] and a["config"]["embedding"]
    # determinism: a second run on the same index gives the same verdict for every case it shares with the first
    # (one set of each kind: running all of them again would double the suite's longest test as the sets grow)
    some = [str(EVAL_SETS / f"{kind}_test.jsonl") for kind in ("retrieval", "compliance", "draft")]
    assert _eval(huashu_app, "run", *some, "--json", str(second), "--quiet", "--today", "2026-03-01") == 0
    b = json.loads(second.read_text(encoding="utf-8"))
    verdicts = {c["id"]: c["passed"] for c in a["cases"]}
    assert len(b["cases"]) > 250
    assert [(c["id"], c["passed"]) for c in b["cases"]] == [(c["id"], verdicts[c["id"]]) for c in b["cases"]]
    assert compare(a, b)["flipped"]["to_failed"] == [] and compare(b, a)["flipped"]["to_failed"] == []
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Huashu eval report" in html and " src=" not in html and "<link" not in html


@pytest.mark.slow
def test_run_checks_brands_scripts_and_thresholds(huashu_app, tmp_path):
    script = huashu_app.reader.scripts()[0]
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(c, ensure_ascii=False)
            for c in [
                {
                    "id": "r1",
                    "kind": "retrieval",
                    "query": script.customer_examples[0],
                    "expected_script": script.id,
                },
                {"id": "r2", "kind": "retrieval", "query": "在吗", "expected_script": "no_such_script"},
                {
                    "id": "r3",
                    "kind": "retrieval",
                    "query": "在吗",
                    "brand": "acme",
                    "expected_scenario": "greeting",
                },
                {
                    "id": "d1",
                    "kind": "draft",
                    "query": "快递盒子破了，里面的瓶子也碎了",
                    "expected_scenario": "damaged_or_missing",
                },
                {"id": "c1", "kind": "compliance", "text": "我们会第一时间为您处理。", "expected": []},
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.json"
    assert _eval(huashu_app, "run", str(path), "--json", str(out), "--quiet") == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    skipped = {s["id"]: s for s in results["skipped"]}
    assert set(skipped) == {"r2", "r3", "d1"}
    assert skipped["r2"]["line"] == 2 and "not a script in the index" in skipped["r2"]["reason"]
    assert "unknown brand 'acme'" in skipped["r3"]["reason"] and "needs a brand" in skipped["d1"]["reason"]
    assert results["retrieval"]["cases"] == 1 and results["compliance"]["cases"] == 1

    assert (
        _eval(
            huashu_app,
            "run",
            str(path),
            "--json",
            str(out),
            "--quiet",
            "--brand",
            "nuanbei",
            "--fail-under",
            "retrieval.hit_at_1=1.01",
        )
        == 1
    )  # a bar no score can reach
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["draft"]["cases"] == 1 and {s["id"] for s in results["skipped"]} == {"r2", "r3"}
    assert _eval(huashu_app, "run", str(path), "--quiet", "--brand", "acme") == 2
    assert _eval(huashu_app, "run", str(path), "--quiet", "--fail-under", "retrieval.hit_at_1=0") == 0


@pytest.mark.slow
def test_compare_modes_scores_every_retrieval_mode_side_by_side(huashu_app, tmp_path):
    out = tmp_path / "modes.json"
    files = [str(EVAL_SETS / "retrieval_dev.jsonl")]
    assert _eval(huashu_app, "run", *files, "--compare-modes", "--json", str(out), "--quiet") == 0
    results = json.loads(out.read_text(encoding="utf-8"))
    by_mode = results["retrieval_by_mode"]
    assert set(by_mode) == {"fused", "hybrid", "classifier", "dense", "keyword"}
    assert by_mode["fused"] == results["retrieval"]
    for mode in by_mode.values():
        assert mode["cases"] == results["retrieval"]["cases"]
        assert 0 <= mode["hit_at_1"] <= mode["hit_at_3"] <= mode["hit_at_5"] <= 1
