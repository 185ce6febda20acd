"""The serving core as a long-running, many-thread process holds it: live reload, one generation per draft."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import copy_starter, make_settings, script, write_script

from rag import DraftResult, Huashu

SHIP_REPLY = "我们会在付款后24小时内发货，请您留意订单页的运单号。"


def _ship_script(version: int) -> dict:
    return script("ship_a", reply=f"第{version}版：" + SHIP_REPLY)


def _set_version(kb: Path, version: int) -> None:
    """Write generation-marked content: the shipping reply and the warm tone's sign-off both carry `version`."""
    write_script(kb / "scripts" / "order.yaml", [_ship_script(version)])
    tone_path = kb / "tone" / "warm_family.yaml"
    tone = yaml.safe_load(tone_path.read_text(encoding="utf-8"))
    tone["signoff"] = f"签名{version}号，还有什么需要我帮忙的吗？"
    tone_path.write_text(yaml.safe_dump(tone, allow_unicode=True), encoding="utf-8")


def _versions(result: DraftResult) -> tuple[int, int]:
    """Return the script version and the tone version a draft was made with."""
    text = result.draft
    script_v = int(text.split("第", 1)[1].split("版", 1)[0])
    tone_v = int(text.split("签名", 1)[1].split("号", 1)[0])
    return script_v, tone_v


def _add_rule(kb: Path) -> None:
    path = kb / "compliance" / "rules.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").rstrip()
        + """

  - id: test_new_rule
    category: forbidden_service_phrase
    action: rewrite
    reason: 测试用的新规则：换一个说法。
    terms: [留意订单页]
    replacement: 查看订单页
""",
        encoding="utf-8",
    )


def test_long_lived_object_serves_new_rule_tone_and_script_right_after_reindex(tmp_path, mini_kb, embeddings):
    _set_version(mini_kb, 1)
    app = Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings)
    app.index()
    first = app.draft("付款了什么时候发货", brand="nuanbei")
    assert _versions(first) == (1, 1) and "留意订单页" in first.draft
    _set_version(mini_kb, 2)
    _add_rule(mini_kb)
    report = app.index()
    assert (
        "tone/warm_family.yaml" in report.config_changed and "compliance/rules.yaml" in report.config_changed
    )
    second = app.draft("付款了什么时候发货", brand="nuanbei")
    assert _versions(second) == (2, 2)
    assert "查看订单页" in second.draft and "留意订单页" not in second.draft
    assert [v.rule_id for v in second.violations] == ["test_new_rule"]
    assert second.index_gen == first.index_gen + 1 and second.kb_fingerprint != first.kb_fingerprint


def _cli(settings, *args, timeout=120):
    env = os.environ | {"HUASHU_DATA_DIR": str(settings.data_dir), "HUASHU_KB_PATH": str(settings.kb_path)}
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.mark.slow
def test_reindex_in_another_process_is_picked_up_in_the_background(tmp_path, mini_kb, embeddings):
    _set_version(mini_kb, 1)
    settings = make_settings(tmp_path, mini_kb, reload_poll_s=0.2)
    proc = _cli(settings, "index", "--quiet")
    assert proc.returncode == 0, proc.stderr
    with Huashu(settings, embeddings=embeddings) as app:
        assert _versions(app.draft("付款了什么时候发货", brand="nuanbei")) == (1, 1)
        _set_version(mini_kb, 2)
        _add_rule(mini_kb)
        proc = _cli(settings, "index", "--quiet")
        assert proc.returncode == 0, proc.stderr
        deadline = time.monotonic() + 10
        while app.status()["index_gen"] == 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        result = app.draft("付款了什么时候发货", brand="nuanbei")
        assert result.index_gen == 2 and _versions(result) == (2, 2)
        assert "查看订单页" in result.draft  # the other process's new rule, without a restart
        assert result.scenario == "shipping_delay" and result.script_id == "ship_a"


@pytest.mark.slow
def test_threads_drafting_through_generation_swaps_each_see_one_generation(tmp_path, mini_kb, embeddings):
    _set_version(mini_kb, 1)
    app = Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings)
    app.index()
    version_of_gen = {app.generation.gen: 1}
    results: list[DraftResult] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def agent():
        while not stop.is_set():
            try:
                results.append(app.draft("付款两天了怎么还没发货", brand="nuanbei"))
            except BaseException as exc:  # noqa: BLE001 - any error fails the test below
                errors.append(exc)
                return

    threads = [threading.Thread(target=agent) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for version in (2, 3, 4):
            _set_version(mini_kb, version)
            report = app.index()
            version_of_gen[report.gen] = version
            time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert errors == []
    seen = {r.index_gen for r in results}
    assert len(seen) >= 3, seen  # drafts really ran while generations changed
    for r in results:  # script and tone come from the generation the result names, never a mix
        assert _versions(r) == (version_of_gen[r.index_gen],) * 2, (r.index_gen, r.draft)


@pytest.mark.slow
@pytest.mark.serial  # it times drafts: with another test running beside it, the other test's load would decide
def test_reload_blocks_no_draft_for_more_than_50_ms_over_quiet_drafts(tmp_path, embeddings, starter_index):
    """At the starter knowledge base: another process re-indexes an edited script; drafts keep flowing here
    while this process builds the next generation aside and swaps it in."""
    kb = tmp_path / "kb"
    settings = copy_starter(starter_index, tmp_path, kb)
    app = Huashu(settings, embeddings=embeddings)
    app.index()
    app.warm_up()
    quiet = [app.draft("付款两天了怎么还没发货", brand="jianyi").timings_ms["total"] for _ in range(30)]
    target = kb / "scripts" / "order" / "invoice.yaml"
    windows: list[tuple[float, float, bool]] = []
    done = threading.Event()

    def knowledge_manager():
        try:
            for round_ in range(3):
                text = target.read_text(encoding="utf-8")
                target.write_text(
                    text.replace("reply: |\n", f"reply: |\n    第{round_}次修订。\n", 1), encoding="utf-8"
                )
                proc = _cli(settings, "index", "--quiet")
                assert proc.returncode == 0, proc.stderr
                start = (
                    time.perf_counter()
                )  # what the background watcher does when it sees the new generation
                swapped = app.reload()
                windows.append((start, time.perf_counter(), swapped))
        finally:
            done.set()

    thread = threading.Thread(target=knowledge_manager)
    thread.start()
    drafts = []
    while not done.is_set():
        t = time.perf_counter()
        app.draft("付款两天了怎么还没发货", brand="jianyi")
        drafts.append((t, time.perf_counter()))
    thread.join(timeout=60)
    assert [w[2] for w in windows] == [True] * 3, windows  # each re-index was picked up and swapped in
    during = [
        (end - start) * 1000 for start, end in drafts if any(start < b and end > a for a, b, _ in windows)
    ]
    assert len(during) >= 3, (windows, len(drafts))  # drafts really overlapped the reloads
    # Against this run's own quiet drafts, so a busy machine moves both sides: a reload that starves drafts
    # (the bug this guards: every overlapping draft 60-100 ms slower) lifts the median and the worst case alike.
    typical, worst = statistics.median(quiet), max(quiet)
    said = f"quiet p50 {typical:.1f} ms, max {worst:.1f} ms; drafts during reloads {sorted(during)}"
    assert statistics.median(during) - typical < 25, said
    assert max(during) - worst < 50, said


def test_reference_document_is_served_as_a_reference_source(tmp_path, mini_kb, embeddings):
    (mini_kb / "references" / "care.md").write_text(
        "# 羊毛衫洗护说明\n羊毛衫请用三十度以下的冷水轻柔手洗，不要拧干，平铺在阴凉处晾干，不能暴晒也不能烘干。\n",
        encoding="utf-8",
    )
    app = Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings)
    app.index()
    result = app.draft("羊毛衫应该怎么洗，能烘干吗", brand="jianyi")
    refs = [h for h in result.sources if h.kind == "reference"]
    assert refs and refs[0].id.startswith("references/care.md#") and refs[0].score > 0
    assert all(h.id != refs[0].id for h in result.sources if h.kind == "script")  # context, never a script
    unrelated = app.draft("付款两天了怎么还没发货", brand="jianyi")
    assert not [h for h in unrelated.sources if h.id.startswith("references/care.md")]


def test_unknown_field_in_a_script_is_reported_with_line_and_suggestion(tmp_path, mini_kb, embeddings):
    path = mini_kb / "scripts" / "typo.yaml"
    path.write_text(
        "- id: typo_script\n  scenario: invoice\n  brands: all\n  title: 开发票\n"
        "  customer_examples: [开票, 要发票, 发票抬头, 税号, 电子发票]\n"
        "  reply: 您可以在订单页申请电子发票。\n  polcy_refs: [shipping_dispatch]\n",
        encoding="utf-8",
    )
    report = Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings).index()
    [failed] = [f for f in report.failed if f["file"] == "scripts/typo.yaml"]
    assert failed["line"] == 7 and failed["field"] == "polcy_refs"
    assert "policy_refs" in failed["reason"]  # did you mean
    assert "script:typo_script" not in report.added  # a typo does not load silently


def test_broken_tone_file_on_disk_does_not_change_what_is_served(tmp_path, mini_kb, embeddings):
    _set_version(mini_kb, 1)
    settings = make_settings(tmp_path, mini_kb)
    Huashu(settings, embeddings=embeddings).index()
    (mini_kb / "tone" / "warm_family.yaml").write_text("id: warm_family\nsignoff: [半截", encoding="utf-8")
    fresh = Huashu(settings, embeddings=embeddings)  # a new process reads the index, not the live files
    assert _versions(fresh.draft("付款了什么时候发货", brand="nuanbei")) == (1, 1)
    report = fresh.index()
    assert any(f["file"] == "tone/warm_family.yaml" for f in report.failed)
    assert any("上一次通过校验的版本" in n for n in report.notices)
    assert _versions(fresh.draft("付款了什么时候发货", brand="nuanbei")) == (1, 1)


def test_script_id_redrafts_from_the_agents_pick(huashu_app):
    first = huashu_app.draft("我想退货，运费谁出", brand="jianyi")
    other = next(h for h in first.sources if h.kind == "script" and h.id != first.script_id)
    again = huashu_app.draft("我想退货，运费谁出", brand="jianyi", script_id=other.id)
    assert again.script_id == other.id and again.request.script_id == other.id
    assert again.id != first.id


def test_script_id_of_another_brand_or_unknown_is_refused(huashu_app):
    from rag import BadInputError, NotFoundError

    lanxu_only = next(s for s in huashu_app.scripts() if s.brands == ("lanxu",))
    with pytest.raises(BadInputError, match="不属于品牌"):
        huashu_app.draft("在吗", brand="jianyi", script_id=lanxu_only.id)
    with pytest.raises(NotFoundError):
        huashu_app.draft("在吗", brand="jianyi", script_id="no_such_script")


def test_incremental_reload_equals_a_fresh_load(tmp_path, mini_kb, embeddings):
    from rag.reader import IndexReader
    from rag.retrieve import Retriever

    app = Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings)
    app.index()
    before = app.generation
    write_script(
        mini_kb / "scripts" / "extra.yaml",
        [
            script(
                "invoice_b",
                "invoice",
                reply="您可以在订单页申请电子发票。",
                examples=["开票", "发票", "要张发票", "发票抬头", "税号"],
                policy_refs=[],
            )
        ],
    )
    _set_version(mini_kb, 5)  # rewrites order.yaml without damage_a, its scenario's only script
    app.index(allow_mass_delete=True)
    incremental = app.generation.reader
    assert app.generation is not before and "script:invoice_b" in incremental.items
    fresh = IndexReader(app.store, embeddings, app.retrieval_config)
    assert {n: sorted(p.ids) for n, p in incremental.partitions.items()} == {
        n: sorted(p.ids) for n, p in fresh.partitions.items()
    }
    assert incremental.items == fresh.items
    for query in ("要开发票", "什么时候发货", "东西碎了"):
        a = Retriever(incremental).search(query, brand="jianyi")
        b = Retriever(fresh).search(query, brand="jianyi")
        assert [(s.item.id, round(s.hit.score, 6)) for s in a.scripts] == [
            (s.item.id, round(s.hit.score, 6)) for s in b.scripts
        ]
