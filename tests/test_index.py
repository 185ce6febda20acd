"""Incremental re-indexing into a real Chroma: add, edit, delete, broken file, kill -9, provider mismatch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import DAMAGE_A, KB, make_settings, script, write_script

from rag import Huashu
from rag.errors import IndexMismatchError, IndexNotBuiltError
from rag.index import Indexer, NoopStamp
from rag.kb import load_kb
from rag.retrieve import IndexReader, Retriever
from rag.store import Store


def _indexer(settings, embeddings):
    return Indexer(Store(settings), embeddings, settings.data_dir / "index.lock")


def _top(settings, embeddings, query, brand=None):
    reader = IndexReader(Store(settings), embeddings)
    return [s.item.id for s in Retriever(reader).search(query, brand=brand).scripts]


def _consistent(store: Store) -> None:
    """Every record in Chroma is named by the manifest or retired by it, and every named record exists."""
    manifest = store.read_manifest()
    named = manifest.record_ids()
    stored = set()
    for name in store.collection_names():
        if not name.endswith("-manifest"):
            stored |= set(store.collection(name).get(include=[])["ids"])
    assert named <= stored
    assert stored - named <= set(manifest.retired)


def test_first_index_then_noop(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    ix = _indexer(settings, embeddings)
    first = ix.run(load_kb(mini_kb))
    assert sorted(first.added) == sorted(
        [
            "script:ship_a",
            "script:damage_a",
            "script:usage_lanxu",
            "policy:shipping_dispatch",
            "policy:damage_missing_wrong",
            "reference:references/faq.md#0",
        ]
    )
    assert first.gen == 1 and first.embedded > 6
    again = ix.run(load_kb(mini_kb))
    assert (again.added, again.updated, again.removed, again.embedded, again.gen) == ([], [], [], 0, 1)
    assert len(again.unchanged) == 6
    _consistent(Store(settings))


def test_edit_add_delete_embed_only_what_changed(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    ix = _indexer(settings, embeddings)
    ix.run(load_kb(mini_kb))
    write_script(
        mini_kb / "scripts" / "order.yaml",
        [
            script("ship_a", reply="我们会在付款后24小时内发货，发货后订单页会显示运单号。"),  # edited
            DAMAGE_A,  # unchanged
            script(
                "invoice_a",
                "invoice",
                examples=["开发票", "要发票", "发票抬头怎么填", "能开专票吗", "电子发票在哪"],
                reply="您可以在订单页申请电子发票。",
                policy_refs=[],
            ),  # added
        ],
    )
    (mini_kb / "scripts" / "brand.yaml").unlink()  # deleted file: the last product_usage script, on purpose
    report = ix.run(load_kb(mini_kb), allow_mass_delete=True)
    assert report.added == ["script:invoice_a"]
    assert report.updated == ["script:ship_a"]
    assert report.removed == ["script:usage_lanxu"]
    assert "script:damage_a" in report.unchanged
    two_scripts_texts = 2 * (2 + 5)  # title + reply + 5 examples, for the edited and the added script
    assert report.embedded == two_scripts_texts
    assert _top(settings, embeddings, "发票怎么开")[0] == "invoice_a"
    assert "usage_lanxu" not in _top(settings, embeddings, "精华怎么用", brand="lanxu")
    _consistent(Store(settings))


def test_broken_file_is_reported_and_keeps_what_it_had(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    ix = _indexer(settings, embeddings)
    ix.run(load_kb(mini_kb))
    (mini_kb / "scripts" / "brand.yaml").write_text(
        "- id: usage_lanxu\n  scenario: [没闭合\n", encoding="utf-8"
    )
    report = ix.run(load_kb(mini_kb))
    assert report.failed and report.failed[0]["file"] == "scripts/brand.yaml"
    assert "YAML" in report.failed[0]["reason"]
    assert report.kept_from_broken_files == ["script:usage_lanxu"]
    assert report.removed == []
    assert _top(settings, embeddings, "精华先用还是面霜先用", brand="lanxu")[0] == "usage_lanxu"


def _lists(report) -> dict:
    return {
        k: sorted(map(str, v)) if isinstance(v, list) else v
        for k, v in vars(report).items()
        if k != "seconds"
    }


def test_a_noop_reindex_read_from_the_stamp_says_what_the_store_would(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    Huashu(settings, embeddings=embeddings, watch=False).index()
    (mini_kb / "scripts" / "brand.yaml").write_text(
        "- id: usage_lanxu\n  scenario: [没闭合\n", encoding="utf-8"
    )
    changed = Huashu(settings, embeddings=embeddings, watch=False).index()
    assert changed.gen == 2 and changed.kept_from_broken_files == ["script:usage_lanxu"]
    for _ in range(2):  # from the stamp, then the same again from the store
        stamped = Huashu(settings, embeddings=embeddings, watch=False).index()
        from_store = _indexer(settings, embeddings).run(load_kb(mini_kb))
        assert _lists(stamped) == _lists(from_store)
        assert stamped.gen == 2 and stamped.kept_from_broken_files == ["script:usage_lanxu"]
        assert stamped.failed and not stamped.changed
    # an edit makes the stamp stale: the next run goes to the store and builds a generation
    write_script(mini_kb / "scripts" / "brand.yaml", [script("usage_lanxu", "product_usage", brand="lanxu")])
    assert Huashu(settings, embeddings=embeddings, watch=False).index().gen == 3
    # so does another embedding provider or another collection prefix
    other = make_settings(tmp_path, mini_kb, collection_prefix="other")
    assert NoopStamp(other, embeddings.name).report(load_kb(mini_kb)) is None
    assert NoopStamp(settings, "openai:x").report(load_kb(mini_kb)) is None
    assert NoopStamp(settings, embeddings.name).report(load_kb(mini_kb)) is not None


def test_index_records_provider_and_mismatch_says_reindex(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    _indexer(settings, embeddings).run(load_kb(mini_kb))
    manifest = Store(settings).read_manifest()
    assert (manifest.provider, manifest.dim) == ("use-m3", 512)

    class Other(type(embeddings)):
        pass

    other = Other(threads=1)
    other.name = "sentence-transformers:some-model"
    with pytest.raises(IndexMismatchError, match="huashu index --full"):
        IndexReader(Store(settings), other)


def test_no_index_says_how_to_build_one(tmp_path, mini_kb, embeddings):
    with pytest.raises(IndexNotBuiltError, match="huashu index"):
        IndexReader(Store(make_settings(tmp_path, mini_kb)), embeddings)


def test_expired_policy_not_served(tmp_path, mini_kb, embeddings):
    (mini_kb / "policies" / "old.md").write_text(
        textwrap.dedent("""\
        ---
        id: old_campaign
        title: 往年发货活动
        brands: all
        scenarios: [shipping_delay]
        valid_from: 2025-01-01
        valid_to: 2025-02-01
        ---
        活动期间发货安排以活动页为准。
        """),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, mini_kb)
    _indexer(settings, embeddings).run(load_kb(mini_kb))
    reader = IndexReader(Store(settings), embeddings)
    res = Retriever(reader).search("往年发货活动", brand="lanxu")
    assert "old_campaign" not in [p.item.id for p in res.policies]
    assert "old_campaign" not in [
        p.id for p in reader.policies("lanxu", __import__("datetime").date(2026, 11, 22))
    ]


KILL_SCRIPT = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from rag.settings import Settings
    from rag.store import Store
    from rag.embeddings import UseM3Embeddings
    from rag.index import Indexer, NoopStamp
    from rag.kb import load_kb
    settings = Settings(_env_file=None, data_dir=Path(sys.argv[1]), kb_path=Path(sys.argv[2]))
    ix = Indexer(Store(settings), UseM3Embeddings(threads=1), settings.data_dir / "index.lock")
    def progress(done, total):
        if done > 0:
            print("WROTE", done, total, flush=True)
            time.sleep(60)  # the test kills us here, with records half written
    ix.run(load_kb(settings.kb_path), progress=progress)
    """)


def test_reindex_killed_halfway_leaves_previous_index_serving(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    ix = _indexer(settings, embeddings)
    ix.run(load_kb(mini_kb))
    before = _top(settings, embeddings, "发货太慢")
    many = [
        script(
            f"bulk_{i:03d}",
            "invoice",
            examples=[f"第{i}个发票问题", f"发票{i}号", f"开票{i}", f"税号{i}", f"抬头{i}"],
            reply=f"发票问题{i}：请在订单页申请。",
            policy_refs=[],
        )
        for i in range(120)
    ]
    write_script(mini_kb / "scripts" / "bulk.yaml", many)  # > one batch of records
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(settings.data_dir), str(mini_kb)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    try:
        line = child.stdout.readline()
        assert line.startswith("WROTE"), line
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    store = Store(settings)
    assert store.read_manifest().gen == 1 and store.read_manifest().pending == 2
    assert not (settings.chroma_dir / NoopStamp.NAME).exists()  # nobody may skip the store now
    # readers see exactly the previous index
    reader = IndexReader(store, embeddings)
    assert not any(k.startswith("script:bulk_") for k in reader.payloads)
    assert _top(settings, embeddings, "发货太慢") == before
    # the next run cleans up what the killed run wrote, then finishes the job
    report = _indexer(settings, embeddings).run(load_kb(mini_kb))
    assert report.notices and "没有完成" in report.notices[0]
    assert report.gen == 2 and len(report.added) == 120
    _consistent(Store(settings))


@pytest.mark.slow
def test_large_partition_loads_past_chromas_sql_variable_limit(tmp_path):
    """One get of more than 32,766 records fails inside Chroma; the store pages it."""
    import numpy as np

    store = Store(make_settings(tmp_path, tmp_path))
    col = store.collection("huashu-test-big")
    n = 33_000
    for i in range(0, n, 5000):
        ids = range(i, min(i + 5000, n))
        col.add(
            ids=[f"r{j}" for j in ids],
            embeddings=np.random.default_rng(i).random((len(ids), 4)).tolist(),
            documents=[f"d{j}" for j in ids],
            metadatas=[{"k": j} for j in ids],
        )
    got = store.get_all(col, ["documents", "metadatas"])
    assert len(got["ids"]) == len(set(got["ids"])) == len(got["metadatas"]) == n
    assert {m["k"] for m in got["metadatas"]} == set(range(n))


def test_manifest_derives_exactly_the_records_that_were_built(tmp_path):
    """The manifest keeps no record ids; the ids it derives must be the ones build_records wrote."""
    from rag.records import build_records, item_hash, item_key, scopes
    from rag.store import item_record_ids

    store = Store(make_settings(tmp_path, tmp_path))
    kb = load_kb(KB)
    for item in kb.scripts + kb.policies + kb.items("reference"):
        key, h = item_key(item), item_hash(item)
        built = {r.id for r in build_records(item, key, h, store, "space")}
        entry = {
            "h": h,
            "s": item.source,
            "n": len(getattr(item, "customer_examples", ())),
            "c": list(scopes(item)),
        }
        assert set(item_record_ids(key, entry)) == built, key


def test_reverting_an_edit_keeps_the_restored_records(tmp_path, mini_kb, embeddings):
    """Records retired by the last run are deleted by the next one, except those the next run brings back."""
    settings = make_settings(tmp_path, mini_kb)
    ix = _indexer(settings, embeddings)
    original = (mini_kb / "scripts" / "order.yaml").read_text(encoding="utf-8")
    ix.run(load_kb(mini_kb))
    write_script(
        mini_kb / "scripts" / "order.yaml", [script("ship_a", reply="付款后24小时内发货。"), DAMAGE_A]
    )
    ix.run(load_kb(mini_kb))
    (mini_kb / "scripts" / "order.yaml").write_text(original, encoding="utf-8")  # back to the first version
    report = ix.run(load_kb(mini_kb))
    assert report.updated == ["script:ship_a"]
    _consistent(Store(settings))
    assert _top(settings, embeddings, "发货太慢")[0] == "ship_a"
