"""The same re-index and retrieval against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from conftest import make_settings, script, write_script
from pgcluster import free_port

from rag.index import Indexer
from rag.kb import load_kb
from rag.retrieve import IndexReader, Retriever
from rag.store import Store

pytestmark = pytest.mark.slow


def test_reindex_cycle_against_server(tmp_path, mini_kb, embeddings, chroma_server):
    settings = make_settings(
        tmp_path, mini_kb, chroma_url=chroma_server, collection_prefix=f"t{int(time.time() * 1000) % 10**8}"
    )
    store = Store(settings)
    assert store.location == chroma_server
    ix = Indexer(store, embeddings, settings.data_dir / "index.lock")
    first = ix.run(load_kb(mini_kb))
    assert first.gen == 1 and len(first.added) == 6
    assert ix.run(load_kb(mini_kb)).embedded == 0  # no-op

    write_script(
        mini_kb / "scripts" / "order.yaml",
        [script("ship_a", reply="付款后24小时内发货，请留意订单页的运单号。")],
    )
    report = ix.run(load_kb(mini_kb), allow_mass_delete=True)  # damage_a, its scenario's only script, goes
    assert report.updated == ["script:ship_a"] and report.removed == ["script:damage_a"]

    reader = IndexReader(Store(settings), embeddings)
    ids = [s.item.id for s in Retriever(reader).search("什么时候发货", brand="jianyi").scripts]
    assert (
        ids[0] == "ship_a" and "damage_a" not in ids and "usage_lanxu" not in ids
    )  # lanxu-only script stays out
    assert reader.manifest.provider == "use-m3"


def test_unreachable_server_is_a_clear_error(tmp_path, mini_kb):
    from rag.errors import HuashuError

    settings = make_settings(tmp_path, mini_kb, chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(HuashuError, match="Chroma"):
        Store(settings).read_manifest()
