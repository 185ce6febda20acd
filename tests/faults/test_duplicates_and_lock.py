"""A duplicate id blames the newcomer; two data directories on one store share one writer lock."""

from __future__ import annotations

import fcntl
import shutil

import pytest
from conftest import make_settings, script, write_script
from fault_helpers import serve

from rag import Huashu, IndexBusyError
from rag.store import Store, lock_path

NEW_REPLY = "这是新文件里抢占 id 的回复，不该被送出去。"


@pytest.fixture
def indexed(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    app = Huashu(settings, embeddings=embeddings)
    app.index()
    return app


def test_a_new_file_that_sorts_first_cannot_take_over_an_established_script(indexed, embeddings):
    before = serve(indexed.settings, embeddings)
    write_script(indexed.settings.kb_path / "scripts" / "aaa_new.yaml", [script("ship_a", reply=NEW_REPLY)])
    report = indexed.index()
    assert report.failed_files == ["scripts/aaa_new.yaml"]  # the newcomer is blamed, not scripts/order.yaml
    [failed] = report.failed
    assert failed["field"] == "id" and "scripts/order.yaml:1" in failed["reason"]
    assert "script:ship_a" in report.unchanged
    after = serve(indexed.settings, embeddings)
    assert after.script_id == "ship_a" and after.draft == before.draft and NEW_REPLY not in after.draft
    # once the established file lets go of the id, the newcomer is the only one and loads
    write_script(
        indexed.settings.kb_path / "scripts" / "order.yaml", [script("damage_b", "damaged_or_missing")]
    )
    report = indexed.index(allow_mass_delete=True)
    assert not report.failed and "script:ship_a" in report.updated


def test_a_new_policy_file_reusing_an_id_is_the_one_that_fails(indexed):
    policies = indexed.settings.kb_path / "policies"
    shutil.copy(policies / "damage_missing_wrong.md", policies / "0_copy.md")
    report = indexed.index()
    assert report.failed_files == ["policies/0_copy.md"]
    assert "policies/damage_missing_wrong.md" in report.failed[0]["reason"]
    assert "policy:damage_missing_wrong" in report.unchanged


def test_two_data_directories_on_one_store_share_its_lock(tmp_path, mini_kb, embeddings):
    store_dir = tmp_path / "shared-chroma"
    first = make_settings(tmp_path / "a", mini_kb, chroma_path=store_dir)
    second = make_settings(tmp_path / "b", mini_kb, chroma_path=store_dir)
    assert Store(first).lock_path == Store(second).lock_path
    Huashu(first, embeddings=embeddings).index()
    with open(Store(first).lock_path, "a") as held:  # a re-index from data directory a is running
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(IndexBusyError, match="另一个重新索引正在进行"):
            Huashu(second, embeddings=embeddings).index(full=True)
    assert Store(second).read_manifest().gen == 1  # nothing claimed the next generation
    assert Huashu(second, embeddings=embeddings).index(full=True).gen == 2


def test_each_chroma_server_address_and_prefix_has_its_own_lock(tmp_path):
    one = make_settings(tmp_path / "a", chroma_url="http://127.0.0.1:1")
    same = make_settings(tmp_path / "b", chroma_url="http://127.0.0.1:1")
    other = make_settings(tmp_path / "a", chroma_url="http://127.0.0.1:1", collection_prefix="other")
    assert lock_path(one) == lock_path(same) != lock_path(other)
