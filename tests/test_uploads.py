"""Uploads into the knowledge base: safe names, per-file verdicts with reasons, nothing half-written."""

from __future__ import annotations

import pytest

from rag import safe_file_name, save_upload
from rag.settings import Settings

TYPES = Settings.model_fields["upload_types"].default.split(",")
POLICY = "---\nid: test_policy\ntitle: 测试政策\nbrands: all\n---\n付款后24小时内发货。\n"


@pytest.mark.parametrize(
    "name,expected",
    [
        ("退换货说明.md", "退换货说明.md"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        (".hidden.md", "hidden.md"),
        ("大促 说明(最终版).MD", "大促_说明_最终版.md"),
        ("<script>.html", "script.html"),
        ("", "upload"),
    ],
)
def test_safe_file_name(name, expected):
    assert safe_file_name(name) == expected


@pytest.mark.parametrize(
    "kind,name,data,reason",
    [
        ("reference", "a.exe", b"x", "只收"),
        ("script", "a.md", b"- id: x", "只收"),
        ("reference", "big.txt", b"x" * 2001, "超过上限"),
        ("reference", "empty.txt", b"   ", "读不出任何文字"),
        ("reference", "broken.pdf", b"%PDF-1.4 nothing", "读不出文字"),
        ("script", "gbk.yaml", "- id: 退货".encode("gbk"), "不是 UTF-8"),
        ("script", "bad.yaml", b"- id: [unclosed", "YAML 格式不对"),
        ("script", "map.yaml", b"id: x", "应该是一个列表"),
        ("policy", "nofront.md", "付款后24小时内发货。".encode(), "front matter"),
    ],
)
def test_a_bad_upload_is_refused_with_its_reason_and_nothing_is_written(tmp_path, kind, name, data, reason):
    up = save_upload(tmp_path, kind, name, data, max_bytes=2000, types=TYPES)
    assert not up.saved and reason in up.reason
    assert not any(tmp_path.rglob("*"))


@pytest.mark.parametrize(
    "kind,name,data,path",
    [
        ("reference", "../指南.md", "# 指南\n付款后24小时内发货。".encode(), "references/指南.md"),
        ("script", "new.yml", b"- id: x\n  scenario: greeting\n", "scripts/uploaded/new.yml"),
        ("policy", "p.md", POLICY.encode(), "policies/p.md"),
    ],
)
def test_a_good_upload_lands_where_the_knowledge_base_reads_it(tmp_path, kind, name, data, path):
    up = save_upload(tmp_path, kind, name, data, max_bytes=2000, types=TYPES)
    assert (up.saved, up.path, up.replaced) == (True, path, False)
    assert (tmp_path / path).read_bytes() == data
    again = save_upload(tmp_path, kind, name, data, max_bytes=2000, types=TYPES)
    assert again.replaced and [p.name for p in (tmp_path / path).parent.iterdir()] == [(tmp_path / path).name]


def test_types_not_allowed_by_the_settings_are_refused(tmp_path):
    up = save_upload(tmp_path, "reference", "a.pdf", b"%PDF", max_bytes=2000, types=["md"])
    assert not up.saved and ".md" in up.reason and ".pdf" not in up.reason
