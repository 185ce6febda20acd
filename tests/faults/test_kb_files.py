"""Hostile knowledge-base files: odd names, links out of the knowledge base, huge documents, failures."""

from __future__ import annotations

import os

import pytest
from conftest import make_settings
from fault_helpers import cli

from rag import Huashu

GBK_NAME = "退货须知.md".encode("gbk")  # copied from a Chinese Windows machine: not a UTF-8 name


@pytest.fixture
def app(tmp_path, mini_kb, embeddings):
    return Huashu(make_settings(tmp_path, mini_kb), embeddings=embeddings)


def _write_bytes_name(folder, name: bytes, text: str) -> None:
    fd = os.open(os.path.join(os.fsencode(folder), name), os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def test_a_reference_with_a_non_utf8_name_is_skipped_with_a_warning_and_the_run_goes_on(app):
    refs = app.settings.kb_path / "references"
    _write_bytes_name(refs, GBK_NAME, "# 退货\n七天无理由退货，商品需完好。\n")
    (refs / "more.md").write_text("# 开票\n电子发票在确认收货后开具。\n", encoding="utf-8")
    run = cli(app.settings, "index", "--quiet").clean()
    assert run.code == 0, run.err
    assert "提醒：references/退货须知.md: 文件名不是 UTF-8" in run.out  # named as the user sees it
    assert "reference:references/more.md#0" in app.store.read_manifest().items


def test_a_script_file_with_a_non_utf8_name_fails_and_index_exits_non_zero(app):
    app.index()
    _write_bytes_name(app.settings.kb_path / "scripts", "新话术.yaml".encode("gbk"), "[]\n")
    run = cli(app.settings, "index", "--quiet").clean()
    assert run.code == 1 and "失败：scripts/新话术.yaml: 文件名不是 UTF-8" in run.out
    assert "有 1 个文件没有载入" in run.err


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.md"], ids=["system-file", "relative"])
def test_a_link_out_of_the_knowledge_base_is_refused(app, target):
    outside = app.settings.kb_path.parent / "outside.md"
    outside.write_text("# 机密\n不该被索引的内容。\n", encoding="utf-8")
    (app.settings.kb_path / "references" / "link.md").symlink_to(target)
    (app.settings.kb_path / "references" / "inside.md").symlink_to("faq.md")  # within: fine
    report = app.index()
    [warning] = [w for w in report.warnings if w["file"] == "references/link.md"]
    assert "知识库以外" in warning["reason"] and not report.failed
    keys = app.store.read_manifest().items
    assert "reference:references/inside.md#0" in keys
    assert not any(k.startswith("reference:references/link.md") for k in keys)


def test_a_link_to_a_missing_file_fails_that_file_only(app):
    (app.settings.kb_path / "scripts" / "gone.yaml").symlink_to("/nonexistent/gone.yaml")
    report = app.index()
    assert report.failed_files == ["scripts/gone.yaml"] and "script:ship_a" in report.added


def test_a_50_mb_reference_is_refused_unread_and_the_rest_indexed(app):
    with (app.settings.kb_path / "references" / "dump.txt").open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them
    report = app.index()
    [failed] = report.failed
    assert failed["file"] == "references/dump.txt" and "文件太大（50.0 MB，上限 20 MB）" in failed["reason"]
    assert "HUASHU_MAX_REFERENCE_MB" in failed["reason"] and "script:ship_a" in report.added


def test_a_reference_with_too_much_text_is_refused_with_the_setting_named(tmp_path, mini_kb, embeddings):
    (mini_kb / "references" / "long.md").write_text("# 长文\n" + "退货政策说明。" * 400, encoding="utf-8")
    app = Huashu(make_settings(tmp_path, mini_kb, max_reference_chars=2000), embeddings=embeddings)
    report = app.index()
    assert report.failed_files == ["references/long.md"]
    assert (
        "上限 2000 字" in report.failed[0]["reason"]
        and "HUASHU_MAX_REFERENCE_CHARS" in report.failed[0]["reason"]
    )


def test_index_exits_non_zero_when_a_file_failed_and_zero_when_all_loaded(app):
    (app.settings.kb_path / "scripts" / "broken.yaml").write_text("- id: [半截\n", encoding="utf-8")
    failed = cli(app.settings, "index", "--quiet").clean()
    assert failed.code == 1 and "失败：scripts/broken.yaml" in failed.out
    (app.settings.kb_path / "scripts" / "broken.yaml").unlink()
    assert cli(app.settings, "index", "--quiet").clean().code == 0
