"""Analytics over real stored decisions (both back ends), the CLI on top, export and purge."""

from __future__ import annotations

import csv
import io
import json
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from conftest import base_env, make_settings
from test_feedback import draft

from rag import BadInputError, open_feedback_store

SHIP = "亲，您好，付款后24小时内发货，请留意订单页的运单号。"
SHIP_EDIT = SHIP.replace("亲，您好", "您好")  # what agents keep doing to ship_a
RETURN = "支持7天无理由退换，商品不影响二次销售即可。"
# (script, scenario, brand, mode, draft text, decision, final text or reason, day in Nov 2026)
SEED = [
    ("ship_a", "shipping_delay", "lanxu", "script", SHIP, "accepted", None, 15),
    ("ship_a", "shipping_delay", "lanxu", "script", SHIP, "accepted", None, 16),
    ("ship_a", "shipping_delay", "lanxu", "script", SHIP, "edited", SHIP_EDIT, 16),
    ("ship_a", "shipping_delay", "jianyi", "script", SHIP, "edited", SHIP_EDIT, 16),
    ("ship_a", "shipping_delay", "jianyi", "script", SHIP, "edited", SHIP_EDIT.replace("24", "48"), 17),
    ("ship_a", "shipping_delay", "lanxu", "script", SHIP, "rejected", "wrong_facts", 17),
    ("ret_b", "return_exchange", "nuanbei", "llm", RETURN, "accepted", None, 15),
    ("ret_b", "return_exchange", "nuanbei", "llm", RETURN, "accepted", None, 15),
    ("ret_b", "return_exchange", "nuanbei", "llm", RETURN, "accepted", None, 16),
    ("ret_b", "return_exchange", "nuanbei", "llm", RETURN, "edited", RETURN + "运费险会承担退货运费。", 17),
    ("ret_b", "return_exchange", "nuanbei", "llm", RETURN, "rejected", "tone", 17),
    ("tone_c", "greeting", "lanxu", "script", "在的呢亲~", "rejected", "tone", 17),
    ("tone_c", "greeting", "lanxu", "script", "在的呢亲~", "rejected", "tone", 17),
]
FIELDS = {"scenario": 1, "script": 0, "brand": 2, "mode": 3}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """A store holding SEED's decisions; returns (store, {draft id: (seed row, stored Decision)})."""
    tmp = tmp_path_factory.mktemp("fb")
    url = request.getfixturevalue("pg_cluster").create_database() if request.param == "postgresql" else None
    store = open_feedback_store(make_settings(tmp, feedback_url=url))
    stored = {}
    for i, row in enumerate(SEED):
        sid, scenario, brand, mode, text, decision, extra, day = row
        store.record_draft(draft(i, text=text, script_id=sid, scenario=scenario, brand=brand, mode=mode))
        kw = {"reason": extra} if decision == "rejected" else {"final_text": extra}
        stored[f"d{i}"] = (row, store.decide(f"d{i}", decision, decided_at=datetime(2026, 11, day, 9), **kw))
    yield store, stored
    store.close()


def _expected(stored, key_of) -> dict:
    groups: dict = {}
    for row, dec in stored.values():
        g = groups.setdefault(key_of(row), {"n": Counter(), "sims": []})
        g["n"][dec.decision] += 1
        if dec.similarity is not None:
            g["sims"].append(dec.similarity)
    return groups


@pytest.mark.parametrize("by", ["scenario", "script", "brand", "mode", "day", "week"])
def test_rates_and_median_similarity_per_group(seeded, by):
    store, stored = seeded
    if by in FIELDS:
        key_of = lambda row: row[FIELDS[by]]  # noqa: E731
    elif by == "day":
        key_of = lambda row: f"2026-11-{row[7]}"  # noqa: E731
    else:  # 15 Nov 2026 is a Sunday: it belongs to the week of Monday 9 Nov
        key_of = lambda row: "2026-11-09" if row[7] == 15 else "2026-11-16"  # noqa: E731
    expected = _expected(stored, key_of)
    rows = store.stats(by=by)
    assert {r["key"] for r in rows} == set(expected)
    for r in rows:
        want = expected[r["key"]]
        n = sum(want["n"].values())
        assert (r["decisions"], r["accepted"], r["edited"], r["rejected"]) == (
            n, want["n"]["accepted"], want["n"]["edited"], want["n"]["rejected"]
        )  # fmt: skip
        assert r["acceptance_rate"] == pytest.approx(want["n"]["accepted"] / n, abs=1e-4)
        assert r["rejection_rate"] == pytest.approx(want["n"]["rejected"] / n, abs=1e-4)
        if want["sims"]:
            assert r["median_similarity"] == pytest.approx(statistics.median(want["sims"]), abs=0.006)
        else:
            assert r["median_similarity"] is None


def test_a_period_and_a_brand_narrow_the_stats(seeded):
    store, stored = seeded
    rows = store.stats(since=datetime(2026, 11, 16), until="2026-11-17", by="brand", brand="lanxu")
    want = [dec for row, dec in stored.values() if row[2] == "lanxu" and row[7] == 16]
    assert [(r["key"], r["decisions"]) for r in rows] == [("lanxu", len(want))]
    assert store.stats(since="1h") == []  # all seeded decisions are from November


def test_scripts_that_need_work_are_ranked_with_their_common_edits_and_reasons(seeded):
    store, stored = seeded
    work = store.scripts_needing_work(min_decisions=5)
    assert [w["script_id"] for w in work] == ["ship_a", "ret_b"]  # tone_c has too few decisions to count
    ship = work[0]
    assert ship["scenario"] == "shipping_delay" and ship["rework_rate"] == pytest.approx(4 / 6, abs=1e-4)
    top = ship["common_edits"][0]
    assert (top["removed"], top["added"], top["count"]) == ("亲，", "", 3)
    assert "[-亲，-]" in top["diff"]
    assert ship["rejection_reasons"] == [{"reason": "wrong_facts", "count": 1, "share": 1.0}]
    assert [w["script_id"] for w in store.scripts_needing_work(min_decisions=2)][0] == "tone_c"
    assert store.scripts_needing_work(min_decisions=2, limit=1)[0]["rejection_reasons"][0]["reason"] == "tone"


def test_unknown_grouping_and_unreadable_periods_are_refused(seeded):
    store, _ = seeded
    with pytest.raises(BadInputError, match="scenario"):
        store.stats(by="colour")
    with pytest.raises(BadInputError, match="7d"):
        store.stats(since="last tuesday")


# ---- the CLI, export and purge (SQLite: the commands are the same code on either back end) ----
def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = base_env()
    env |= {"HUASHU_DATA_DIR": str(settings.data_dir), "HUASHU_KB_PATH": str(settings.kb_path)}
    if settings.feedback_url:
        env["HUASHU_FEEDBACK_URL"] = settings.feedback_url
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", "feedback", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def cli_store(tmp_path):
    """A SQLite store with one draft from last year, one recent decided draft and one undecided draft."""
    settings = make_settings(tmp_path)
    now = datetime.now().astimezone()
    with open_feedback_store(settings) as store:
        store.record_draft(replace(draft("old", text=SHIP), created_at="2025-01-01T00:00:00+00:00"))
        store.decide("dold", "accepted", decided_at="2025-01-01T00:05:00+00:00")
        store.record_draft(replace(draft("new", text=SHIP), created_at=now.isoformat()))
        store.decide("dnew", "edited", final_text=SHIP_EDIT)
        store.record_draft(
            replace(draft("open", text=RETURN), created_at=(now - timedelta(hours=1)).isoformat())
        )
    return settings


def test_cli_stats_prints_rates_and_json(cli_store):
    text = _cli(cli_store, "stats", "--since", "7d", "--min-decisions", "1")
    assert text.returncode == 0, text.stderr
    assert "shipping_delay" in text.stdout and "ship_a" in text.stdout and "[-亲，-]" in text.stdout
    data = json.loads(_cli(cli_store, "stats", "--since", "all", "--by", "mode", "--json").stdout)
    assert data["groups"][0]["key"] == "script" and data["groups"][0]["decisions"] == 2


def test_cli_export_jsonl_and_csv(cli_store, tmp_path):
    lines = _cli(cli_store, "export").stdout.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["draft_id"] for r in rows] == ["dold", "dopen", "dnew"]  # oldest first, undecided included
    assert rows[2]["decision"] == "edited" and rows[1]["decision"] is None
    out = tmp_path / "fb.csv"
    done = _cli(cli_store, "export", "--since", "30d", "--format", "csv", "--out", str(out))
    assert done.returncode == 0 and "2" in done.stderr
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["draft_id"] for r in table] == ["dopen", "dnew"] and table[1]["final_text"] == SHIP_EDIT


def test_cli_purge_deletes_what_is_older_than_the_age(cli_store):
    done = _cli(cli_store, "purge", "--older-than", "180d")
    assert done.returncode == 0 and "1 条草稿" in done.stdout and "1 个决定" in done.stdout
    with open_feedback_store(cli_store) as store:
        assert store.count() == {"drafts": 2, "decisions": 1} and store.get_draft("dold") is None
    bad = _cli(cli_store, "purge", "--older-than", "half a year")
    assert bad.returncode == 2 and "180d" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_names_the_setting_when_the_store_cannot_be_opened(tmp_path):
    settings = make_settings(tmp_path, feedback_url="postgresql://huashu@127.0.0.1:9/none")
    done = _cli(settings, "stats")
    assert done.returncode == 1 and "HUASHU_FEEDBACK_URL" in done.stderr and "Traceback" not in done.stderr
