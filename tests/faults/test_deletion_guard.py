"""Data loss by deletion: a directory that is gone or unreadable is not "every script in it was deleted"."""

from __future__ import annotations

import os

import pytest
from conftest import script, write_script
from fault_helpers import (
    cli,
    fresh,
    indexed_fixture,  # noqa: F401 (the fixture `indexed`)
    serve,
    without_override,
)

from rag import ConfigError, Huashu, KnowledgeBaseError, load_settings
from rag.errors import MassDeleteError


def test_moved_away_scripts_directory_stops_the_run_and_the_index_keeps_serving(
    indexed, embeddings, tmp_path
):
    before = serve(indexed, embeddings)
    (indexed.kb_path / "scripts").rename(tmp_path / "scripts.away")
    run = cli(indexed, "index", "--quiet").clean()
    assert run.code == 2
    assert "删除 3 条" in run.err and "不再有任何话术" in run.err and "--allow-mass-delete" in run.err
    assert "scripts/" in run.err  # says where they came from
    after = serve(indexed, embeddings)
    assert (after.index_gen, after.script_id, after.draft) == (before.index_gen, "ship_a", before.draft)
    (tmp_path / "scripts.away").rename(indexed.kb_path / "scripts")  # mounted again: nothing to do
    report = fresh(indexed, embeddings).index()
    assert (report.removed, report.gen) == ([], before.index_gen)


def test_a_deliberate_mass_delete_goes_through_when_allowed(indexed, embeddings):
    for f in (indexed.kb_path / "scripts").glob("*.yaml"):
        f.unlink()
    app = fresh(indexed, embeddings)
    with pytest.raises(MassDeleteError):
        app.index()
    report = app.index(allow_mass_delete=True)
    assert sorted(report.removed) == ["script:damage_a", "script:ship_a", "script:usage_lanxu"]


def test_removing_a_large_share_stops_but_a_small_edit_does_not(indexed, embeddings):
    extra = [script(f"extra_{i}") for i in range(6)]
    write_script(indexed.kb_path / "scripts" / "extra.yaml", extra)
    write_script(indexed.kb_path / "scripts" / "one.yaml", [script("one_more")])
    app = fresh(indexed, embeddings)
    assert len(app.index().added) == 7  # 13 items now
    (indexed.kb_path / "scripts" / "one.yaml").unlink()  # 1 of 13, its scenario still answered: ordinary
    assert app.index().removed == ["script:one_more"]
    (indexed.kb_path / "scripts" / "extra.yaml").unlink()  # 6 of 12: more than the 20 % share
    with pytest.raises(MassDeleteError, match="删除 6 条"):
        app.index()
    raised = Huashu(indexed.model_copy(update={"mass_delete_share": 0.6}), embeddings=embeddings)
    assert len(raised.index().removed) == 6  # the share is a setting


def test_removing_the_last_script_of_a_scenario_stops_and_names_it(indexed, embeddings):
    before = serve(indexed, embeddings)
    (indexed.kb_path / "scripts" / "brand.yaml").unlink()  # 1 item, but the only product_usage script
    run = cli(indexed, "index", "--quiet").clean()
    assert run.code == 2
    assert "product_usage" in run.err and "--allow-mass-delete" in run.err
    assert serve(indexed, embeddings).index_gen == before.index_gen  # nothing written
    report = fresh(indexed, embeddings).index(allow_mass_delete=True)
    assert report.removed == ["script:usage_lanxu"]


@pytest.mark.parametrize("share", ["0", "-1", "1.5", "many"])
def test_mass_delete_share_outside_0_to_1_is_a_config_error(share, monkeypatch):
    monkeypatch.setenv("HUASHU_MASS_DELETE_SHARE", share)
    with pytest.raises(ConfigError, match="mass_delete_share"):
        load_settings(_env_file=None)


def _dangling_subdir(kb, tmp_path):
    (kb / "scripts" / "order.yaml").rename(tmp_path / "order.yaml")
    (kb / "scripts" / "shared").symlink_to(tmp_path / "unmounted-share")  # a network share that is not there


def _dangling_scripts(kb, tmp_path):
    (kb / "scripts").rename(tmp_path / "scripts.real")
    (kb / "scripts").symlink_to(tmp_path / "unmounted-share")


@pytest.mark.parametrize("break_it", [_dangling_subdir, _dangling_scripts], ids=["subdirectory", "scripts"])
def test_a_linked_directory_that_leads_nowhere_stops_the_run(indexed, embeddings, tmp_path, break_it):
    break_it(indexed.kb_path, tmp_path)
    app = fresh(indexed, embeddings)
    with pytest.raises(KnowledgeBaseError, match="读不了这个目录"):
        app.index()
    assert app.store.read_manifest().gen == 1
    assert serve(indexed, embeddings).script_id == "ship_a"


def test_an_unreadable_scripts_directory_stops_the_run_with_a_plain_message(indexed, embeddings):
    order = indexed.kb_path / "scripts" / "private"
    order.mkdir()
    (indexed.kb_path / "scripts" / "order.yaml").rename(order / "order.yaml")
    app = fresh(indexed, embeddings)
    assert app.index().gen == 2  # moved within the knowledge base: same scripts, new source file
    os.chmod(order, 0)
    try:
        run = cli(indexed, "index", "--quiet", preexec=without_override).clean()
    finally:
        os.chmod(order, 0o755)
    assert run.code == 2, run.err
    assert "scripts/private" in run.err and "读不了这个目录" in run.err and "Permission denied" in run.err
    assert app.store.read_manifest().gen == 2 and serve(indexed, embeddings).script_id == "ship_a"
