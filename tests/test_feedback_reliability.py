"""The feedback store under real processes: four writers at once, and a writer killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import base_env
from feedback_worker import final_text

from rag import open_feedback_store

WORKER = Path(__file__).with_name("feedback_worker.py")


def _start(settings, prefix: str, count: int, chars: int = 0) -> subprocess.Popen:
    env = base_env()
    env["HUASHU_DATA_DIR"] = str(settings.data_dir)
    if settings.feedback_url:
        env["HUASHU_FEEDBACK_URL"] = settings.feedback_url
    return subprocess.Popen(
        [sys.executable, str(WORKER), prefix, str(count), str(chars)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_ready(procs) -> None:
    for p in procs:
        line = p.stdout.readline()
        assert line.strip() == "ready", p.stderr.read()


def test_four_processes_write_2000_decisions_with_no_lock_error(feedback_settings):
    # The store is opened (and migrated) by all four at once, on an empty database.
    procs = [_start(feedback_settings, f"w{n}", 500) for n in range(4)]
    _wait_ready(procs)
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outcomes = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outcomes, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and len(out.split()) == 500
    with open_feedback_store(feedback_settings) as store:
        assert store.count() == {"drafts": 2000, "decisions": 2000}
        assert sum(r["decisions"] for r in store.stats(by="script")) == 2000


def test_a_writer_killed_mid_write_leaves_whole_decisions_or_none(feedback_settings):
    chars = 200_000  # each decision spans many database pages, so the kill lands inside a write
    proc = _start(feedback_settings, "k", 10_000, chars)
    _wait_ready([proc])
    proc.stdin.write("go\n")
    proc.stdin.flush()
    acked = [proc.stdout.readline().strip() for _ in range(5)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with open_feedback_store(feedback_settings) as store:
        if store.engine.dialect.name == "sqlite":
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        counts = store.count()
        decided = [f"k-{i}" for i in range(counts["decisions"])]
        assert set(acked) <= set(decided) and counts["decisions"] <= len(acked) + 2
        for draft_id in decided:  # every decision there is whole
            assert store.get_decision(draft_id).final_text == final_text(draft_id, chars), draft_id
        assert store.get_decision(f"k-{counts['decisions']}") is None


def test_a_killed_writer_leaves_no_lock_behind(feedback_settings):
    proc = _start(feedback_settings, "h", 10_000)
    _wait_ready([proc])
    proc.stdin.write("go\n")
    proc.stdin.flush()
    proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    writer = _start(feedback_settings, "after", 20)
    _wait_ready([writer])
    out, err = writer.communicate("go\n", timeout=60)
    assert writer.returncode == 0 and len(out.split()) == 20, err
