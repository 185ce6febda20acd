"""Storage faults: a full disk, a deleted or damaged store file, a read-only store. Clear words, no loss."""

from __future__ import annotations

import json

import pytest
from conftest import script, write_script
from fault_helpers import (
    cli,
    draft_json,
    file_size_limit,
    fresh,
    indexed_fixture,  # noqa: F401 (the fixture `indexed`)
    serve,
    tree_mode,
    without_override,
)

from rag import Huashu

MANY = [
    script(f"bulk_{i}", examples=[f"第{i}号问题的第{j}种问法，麻烦尽快处理一下好吗" * 3 for j in range(8)])
    for i in range(40)
]


def _reindex_on_a_full_disk(indexed):
    """Index the last index plus 40 scripts with no file allowed to grow; return the limit, a draft from before, and
    the run."""
    db = indexed.chroma_dir / "chroma.sqlite3"
    full = file_size_limit(db.stat().st_size)  # no file may grow: what a full disk does to SQLite
    before = draft_json(indexed)
    write_script(indexed.kb_path / "scripts" / "bulk.yaml", MANY)  # needs new pages in the database
    return full, before, cli(indexed, "index", "--quiet", preexec=full).clean()


def test_full_disk_during_reindex_is_a_clear_message_and_the_next_run_cleans_up_once_space_is_back(indexed):
    _, _, run = _reindex_on_a_full_disk(indexed)
    assert run.code == 1 and "写不进去" in run.err and "磁盘" in run.err, run.err
    assert "Chroma 服务" not in run.err

    again = cli(indexed, "index", "--quiet").clean()  # space is back: the next run cleans up and finishes
    assert again.code == 0 and "没有完成" in again.out and "新增 40" in again.out
    assert draft_json(indexed, "第3号问题的第1种问法")["index_gen"] == 2


@pytest.mark.xfail(
    strict=True,
    reason="known gap (7 Dec 2026): when the failed re-index's records still fit in Chroma's write log, the next "
    "query must fold that log into SQLite first, which the full disk refuses, so drafts and `kb stats` fail until space is back. "
    "With the starter knowledge base's grown compliance examples copied into the test KB, that is what happens here.",
)
def test_the_last_index_serves_drafts_while_the_disk_stays_full_after_a_failed_reindex(indexed):
    full, before, run = _reindex_on_a_full_disk(indexed)
    assert run.code == 1
    served = cli(indexed, "draft", "付款了什么时候发货", "--brand", "jianyi", "--json", preexec=full)
    assert served.code == 0, served.err
    during = json.loads(served.out)
    assert (during["index_gen"], during["script_id"], during["draft"]) == (1, "ship_a", before["draft"])
    stats = cli(indexed, "kb", "stats", "--json", preexec=full).clean()
    assert stats.code == 0 and json.loads(stats.out)["gen"] == 1


def _delete_vector_files(settings) -> int:
    gone = list(settings.chroma_dir.glob("*/data_level0.bin"))
    for f in gone:
        f.unlink()
    return len(gone)


def test_deleted_vector_files_are_reported_checked_and_repaired_by_the_next_index(indexed, embeddings):
    # past 1,000 records Chroma keeps the vectors only in these files (a smaller one rebuilds them from its log)
    bulk = [script(f"bulk_{i}", examples=[f"第{i}号问题的第{j}种问法" for j in range(8)]) for i in range(100)]
    write_script(indexed.kb_path / "scripts" / "bulk.yaml", bulk)
    Huashu(indexed, embeddings=embeddings).index()
    assert _delete_vector_files(indexed) >= 2

    run = cli(indexed, "draft", "付款了什么时候发货", "--brand", "jianyi").clean()
    assert run.code == 1 and "缺失或损坏" in run.err and "huashu index --repair" in run.err
    assert "Chroma 服务" not in run.err
    check = cli(indexed, "kb", "check").clean()
    assert check.code == 1 and "损坏的分区" in check.err

    report = fresh(indexed, embeddings).index()  # not "unchanged": it finds the damage and writes it back
    assert (
        len(report.repaired) >= 100 and report.gen == 3 and any("向量库不完整" in n for n in report.notices)
    )
    assert serve(indexed, embeddings).index_gen == 3  # drafts again, on the repaired generation
    # which script wins is not asserted: past 1,000 records per partition embedded Chroma's recall varies
    # between processes on the very same files (pre-existing, see the report), repaired or not
    assert cli(indexed, "kb", "check").clean().code == 0


def test_a_deleted_database_is_rebuilt_not_reported_unchanged(indexed, embeddings):
    (indexed.chroma_dir / "chroma.sqlite3").unlink()
    report = fresh(indexed, embeddings).index()  # the no-op stamp of the last run is not believed
    assert report.gen == 1 and len(report.added) == 6
    assert serve(indexed, embeddings).script_id == "ship_a"


def test_a_corrupt_database_gets_the_repair_hint_not_the_server_hint(indexed):
    db = indexed.chroma_dir / "chroma.sqlite3"
    with db.open("r+b") as f:
        f.write(b"this is not a database at all" * 10)
    for args in (("draft", "付款了什么时候发货", "--brand", "jianyi"), ("index", "--full", "--quiet")):
        run = cli(indexed, *args).clean()
        assert run.code == 1 and "缺失或损坏" in run.err and "--full" in run.err, run.err
        assert "Chroma 服务" not in run.err


def test_a_read_only_store_says_so(indexed):
    tree_mode(indexed.chroma_dir, 0o555, 0o444)
    try:
        draft = cli(
            indexed, "draft", "付款了什么时候发货", "--brand", "jianyi", preexec=without_override
        ).clean()
        index = cli(indexed, "index", "--full", "--quiet", preexec=without_override).clean()
    finally:
        tree_mode(indexed.chroma_dir, 0o755, 0o644)
    for run in (draft, index):
        assert run.code == 1 and "只读的或没有写权限" in run.err and "HUASHU_DATA_DIR" in run.err, run.err
