"""Two processes on one embedded store: a draft never loads the store's files while a re-index writes them."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from conftest import script, write_script
from fault_helpers import (
    cli,
    env_of,
    fresh,
    indexed_fixture,  # noqa: F401 (the fixture `indexed`)
)

from rag import Huashu
from rag.storelock import IoLock, io_lock


def test_a_draft_waits_while_another_process_writes_the_store_and_says_so_when_it_takes_too_long(indexed):
    held = IoLock(indexed.chroma_dir / "huashu-io.lock")  # what a re-index holds while it writes
    held.acquire(shared=False, wait_s=0)
    try:
        busy = cli(
            indexed, "draft", "付款了什么时候发货", "--brand", "jianyi", HUASHU_STORE_WAIT_S="1"
        ).clean()
        assert busy.code == 1 and "另一个进程正在重新索引" in busy.err, busy.err
        threading.Timer(3.0, held.release).start()  # the writer pauses to embed the next batch
        waited = cli(indexed, "draft", "付款了什么时候发货", "--brand", "jianyi").clean()
        assert waited.code == 0 and "ship_a" in waited.out
    finally:
        held.close()


def test_a_running_process_keeps_its_generation_while_the_store_is_written(indexed, embeddings):
    app = fresh(indexed, embeddings)
    first = app.draft("付款了什么时候发货", brand="jianyi")
    write_script(indexed.kb_path / "scripts" / "extra.yaml", [script("extra_a")])
    Huashu(indexed, embeddings=embeddings).index()  # a new generation exists
    writer = io_lock(app.store)
    writer.acquire(shared=False, wait_s=0)
    try:
        assert app.reload() is False or app.generation.gen == first.index_gen  # pragma: no branch
    except Exception as exc:  # a reload that meets the writer is told so and changes nothing
        assert "另一个进程正在重新索引" in str(exc)
    finally:
        writer.close()
    assert app.draft("付款了什么时候发货", brand="jianyi").index_gen == first.index_gen
    assert app.reload() and app.generation.gen == first.index_gen + 1


def test_drafts_in_other_processes_during_a_full_reindex_all_finish(indexed, embeddings):
    bulk = [script(f"bulk_{i}", examples=[f"第{i}号问题的第{j}种问法" for j in range(8)]) for i in range(150)]
    write_script(indexed.kb_path / "scripts" / "bulk.yaml", bulk)
    Huashu(indexed, embeddings=embeddings).index()
    reindex = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "index", "--full", "--quiet"],
        env=env_of(indexed),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    runs = []
    started = time.monotonic()
    while reindex.poll() is None or not runs:
        runs.append(cli(indexed, "draft", "付款了什么时候发货", "--brand", "jianyi", "--json"))
        assert time.monotonic() - started < 300
    out, err = reindex.communicate()
    assert reindex.returncode == 0, err.decode()
    for run in runs:
        run.clean()
        assert run.code == 0, run.err
        # the old generation until the switch, the new one after; which script wins is not asserted here: past
        # 1,000 records per partition embedded Chroma's recall varies between processes (see the report)
        assert json.loads(run.out)["index_gen"] in (2, 3)
