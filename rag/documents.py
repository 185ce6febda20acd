"""Reference documents as knowledge managers drop them in: read, clean and chunk.

Supported: .md .txt .docx .pdf .html/.htm. Text is cleaned of web boilerplate and OCR
noise, then split on headings and sentence boundaries into overlapping chunks.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import KnowledgeBaseError
from .types import ReferenceChunk

REFERENCE_SUFFIXES = (".md", ".txt", ".docx", ".pdf", ".html", ".htm")
CHUNK_CHARS = 300
OVERLAP_SENTENCES = 1


@dataclass(frozen=True)
class ReferenceLimits:
    """How big a reference document may be (settings `max_reference_mb`, `max_reference_chars`)."""

    max_bytes: int = 20 * 1024 * 1024
    max_chars: int = 300_000

    @classmethod
    def from_settings(cls, settings) -> ReferenceLimits:
        """Return the limits the settings give."""
        return cls(int(settings.max_reference_mb * 1024 * 1024), settings.max_reference_chars)

    def check_bytes(self, rel: str, size: int) -> None:
        """Refuse a file too large to read, before reading it."""
        if size > self.max_bytes:
            raise KnowledgeBaseError(
                rel,
                f"文件太大（{size / 1048576:.1f} MB，上限 {self.max_bytes / 1048576:.0f} MB），没有读取："
                "请拆成几个小文件，或调高 HUASHU_MAX_REFERENCE_MB。",
            )

    def check_text(self, rel: str, text: str) -> None:
        """Refuse a document whose text is too long to index in reasonable time."""
        if len(text) > self.max_chars:
            raise KnowledgeBaseError(
                rel,
                f"正文太长（{len(text)} 字，上限 {self.max_chars} 字），没有索引：请拆成几个文件，"
                "或调高 HUASHU_MAX_REFERENCE_CHARS。",
            )


_BOILERPLATE = re.compile(
    r"(版权(所有|说明|声明)|copyright|©|all rights reserved|下载本文档|免费下载|立即下载|已阅读\s*\d+\s*页|"
    r"剩余\s*\d+\s*页|阅读全文|展开全文|点击(查看|下载|展开|关注)|扫码关注|关注公众号|分享到|上一篇|下一篇|相关推荐|"
    r"猜你喜欢|登录|注册|返回顶部|本文(档)?由.{0,20}(上传|提供)|第\s*\d+\s*页\s*(/|共)\s*\d+\s*页|^\s*\d+\s*/\s*\d+\s*$)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^(#{1,6}\s+.+|[一二三四五六七八九十]+、.+|第[一二三四五六七八九十\d]+[章节条].*)$")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=\n)")
_OCR_NOISE = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]|(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])"
)


def load_reference(
    path: Path, rel: str, data: bytes, limits: ReferenceLimits | None = None
) -> list[ReferenceChunk]:
    """Read one reference file into cleaned, overlapping chunks; refuse one beyond `limits`."""
    limits = limits or ReferenceLimits()
    limits.check_bytes(rel, len(data))
    text = extract_text(path.suffix.lower(), data, rel)
    limits.check_text(rel, text)
    lines = clean_lines(text)
    return [
        ReferenceChunk(id=f"{rel}#{i}", source=rel, text=chunk, heading=heading)
        for i, (heading, chunk) in enumerate(chunk_text(lines))
    ]


def extract_text(suffix: str, data: bytes, rel: str) -> str:
    """Return the plain text of a document's bytes."""
    try:
        if suffix in (".md", ".txt"):
            return _decode(data, rel)
        if suffix in (".html", ".htm"):
            return _html_text(_decode(data, rel))
        if suffix == ".docx":
            return _docx_text(data)
        if suffix == ".pdf":
            return _pdf_text(data)
    except KnowledgeBaseError:
        raise
    except Exception as exc:  # third-party parsers raise anything on a broken file
        raise KnowledgeBaseError(
            rel, f"文件损坏或格式不对，读不出文字（{type(exc).__name__}: {exc}）。"
        ) from exc
    raise KnowledgeBaseError(rel, f"不支持的文件类型 {suffix}。")


def _decode(data: bytes, rel: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise KnowledgeBaseError(rel, "无法识别文字编码；请另存为 UTF-8。")


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "aside", "form", "noscript"]):
        tag.decompose()
    for tag in soup.find_all(["h1", "h2", "h3", "h4"]):
        tag.insert_before("\n# ")
        tag.insert_after("\n")
    for tag in soup.find_all(["p", "li", "br", "div", "tr"]):
        tag.insert_after("\n")
    return soup.get_text()


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    lines = []
    for para in document.paragraphs:
        style = (para.style.name or "").lower() if para.style is not None else ""
        lines.append(("# " if style.startswith("heading") or style.startswith("title") else "") + para.text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(lines)


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def clean_lines(text: str) -> list[str]:
    """Normalise width (NFKC), drop boilerplate and OCR noise, keep one line per paragraph."""
    text = unicodedata.normalize("NFKC", text)
    lines = []
    for raw in text.splitlines():
        line = _OCR_NOISE.sub("", raw).strip()
        if not line or (len(line) <= 60 and _BOILERPLATE.search(line)):
            continue
        lines.append(line)
    return lines


def _sentences(line: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(line) if s.strip()]


def chunk_text(
    lines: list[str], size: int = CHUNK_CHARS, overlap: int = OVERLAP_SENTENCES
) -> list[tuple[str, str]]:
    """Split lines into (heading, chunk) pairs on heading and sentence boundaries, with overlap."""
    chunks: list[tuple[str, str]] = []
    heading, current = "", []

    def flush() -> None:
        if current:
            chunks.append((heading, "".join(current).strip()))

    for line in lines:
        if _HEADING.match(line):
            flush()
            heading, current = line.lstrip("# ").strip(), []
            continue
        for sentence in _sentences(line):
            if current and sum(map(len, current)) + len(sentence) > size:
                flush()
                current = current[-overlap:] if overlap else []
            current.append(sentence)
        if current and not current[-1].endswith("\n"):
            current[-1] += "\n"
    flush()
    return [(h, c) for h, c in chunks if c]
