"""What serves drafts is what the last good re-index accepted: broken brand or tone files stop nothing."""

from __future__ import annotations

import pytest
from fault_helpers import (
    cli,
    fresh,
    indexed_fixture,  # noqa: F401 (the fixture `indexed`)
    serve,
)


def _break_brands(kb):
    (kb / "brands.yaml").write_text("- id: jianyi\n  name: [半截", encoding="utf-8")


def _delete_tone(kb):
    (kb / "tone" / "friendly.yaml").unlink()  # brands.yaml still names it for jianyi


def _empty_brands(kb):
    (kb / "brands.yaml").write_text("", encoding="utf-8")


@pytest.mark.parametrize(
    "break_it", [_break_brands, _delete_tone, _empty_brands], ids=lambda f: f.__name__[1:]
)
def test_drafting_goes_on_with_the_last_accepted_brands_and_tones(indexed, embeddings, break_it):
    before = serve(indexed, embeddings)
    break_it(indexed.kb_path)
    assert serve(indexed, embeddings).draft == before.draft  # before anyone re-indexes
    report = fresh(indexed, embeddings).index()
    assert any(f["file"] == "brands.yaml" for f in report.failed)
    assert any("上一次通过校验" in n for n in report.notices)
    assert serve(indexed, embeddings).draft == before.draft  # and after
    assert serve(indexed, embeddings, brand="lanxu").script_id  # every brand still drafts


def test_a_broken_pdf_is_reported_by_the_index_not_by_every_draft(indexed):
    (indexed.kb_path / "references" / "manual.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200)
    index = cli(indexed, "index", "--quiet").clean()
    assert index.code == 1 and "references/manual.pdf" in index.out
    draft = cli(indexed, "draft", "付款了什么时候发货", "--brand", "jianyi").clean()
    assert draft.code == 0 and "manual.pdf" not in draft.err and "pdf" not in draft.err.lower()
