"""Normalisation and reference documents: width, traditional characters, boilerplate, chunks, file formats."""

from __future__ import annotations

import io

import pytest
from conftest import KB

from rag.documents import chunk_text, clean_lines, extract_text
from rag.kb import load_kb
from rag.normalize import normalize, normalize_query, normalize_with_offsets


@pytest.mark.parametrize(
    "text,expected",
    [
        ("ＡＢＣ１２３％", "abc123%"),
        ("盒子壓扁了，裡面也壞了", "盒子压扁了,里面也坏了"),
        ("  多个   空格\n换行 ", "多个 空格 换行"),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_normalize_query_strips_emoji_and_repeated_punctuation():
    assert normalize_query("发货了吗？？？😡😡 快点！！！") == "发货了吗? 快点!"


def test_offsets_map_back_to_the_original():
    text = "這款１００％有效"
    norm, origin = normalize_with_offsets(text)
    start = norm.index("100%有效")
    assert text[origin[start] : origin[start + len("100%有效") - 1] + 1] == "１００％有效"
    assert norm.startswith("这款")


def test_boilerplate_and_ocr_noise_are_stripped():
    lines = clean_lines(
        "退货须知\n版权所有 © 2026 某某网\n下载本文档\n已阅读5页，剩余10页\n签收后7天内可申请退货。\n\ufffd\x07"
    )
    assert lines == ["退货须知", "签收后7天内可申请退货。"]


def test_chunks_follow_headings_and_sentences_with_overlap():
    sentences = [f"第{i}句话讲的是一条规定，内容比较长一些，便于切块。" for i in range(30)]
    chunks = chunk_text(["# 退货", *sentences[:15], "# 发货", *sentences[15:]], size=120)
    headings = [h for h, _ in chunks]
    assert headings[0] == "退货" and "发货" in headings
    assert all(len(c) <= 120 + 40 for _, c in chunks)
    # neighbouring chunks under one heading share a sentence
    same = [(a, b) for (ha, a), (hb, b) in zip(chunks, chunks[1:], strict=False) if ha == hb]
    assert same and all(a.strip().splitlines()[-1] in b for a, b in same)
    # no chunk mixes two headings
    assert not any("第14句" in c and "第15句" in c for _, c in chunks)


def _docx_bytes() -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("发货说明", level=1)
    d.add_paragraph("付款后24小时内发货，法定节假日顺延。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def _pdf_bytes(text: str) -> bytes:
    """A minimal one-page PDF with one line of ASCII text (Helvetica)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET".encode()
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize(
    "suffix,data,words",
    [
        (".md", "# 标题\n正文内容。".encode(), "正文内容"),
        (".txt", "老文件是 GBK 编码的发货说明".encode("gb18030"), "发货说明"),
        (
            ".html",
            "<html><nav>首页 登录</nav><h1>退货</h1><p>七天无理由</p><script>x()</script></html>".encode(),
            "七天无理由",
        ),
        (".docx", _docx_bytes(), "24小时内发货"),
        (".pdf", _pdf_bytes("Ships within 24 hours"), "Ships within 24 hours"),
    ],
)
def test_reference_formats_are_read(suffix, data, words):
    text = extract_text(suffix, data, f"x{suffix}")
    assert words in text
    assert "x()" not in text


def test_broken_and_unsupported_references_are_reported_not_fatal(tmp_path):
    import shutil

    root = tmp_path / "kb"
    shutil.copytree(KB, root)
    refs = root / "references"
    refs.mkdir(exist_ok=True)
    (refs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (refs / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (refs / "sheet.xlsx").write_bytes(b"whatever")
    (refs / "good.md").write_text("# 售后\n版权所有\n签收后七天内可退货，商品需完好。", encoding="utf-8")
    kb = load_kb(root)
    problems = {p.file: p.message for p in kb.problems}
    assert "读不出文字" in problems["references/broken.pdf"]
    assert "读不出文字" in problems["references/broken.docx"]
    assert "不支持的文件类型 .xlsx" in problems["references/sheet.xlsx"]
    chunks = [c for c in kb.items("reference") if c.source == "references/good.md"]
    assert chunks and "版权" not in chunks[0].text and chunks[0].heading == "售后"
    assert len(kb.scripts) == len(load_kb(KB).scripts)  # the rest still loads
