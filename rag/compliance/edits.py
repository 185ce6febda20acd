"""Apply the filter's decisions to the original text: rewrite, mask, drop sentences, tidy what is left."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from rag.compliance.text import sentence_spans
from rag.types import Violation

# Words that tie a sentence to the one before it; left dangling once that one is dropped.
_CONNECTIVES = (
    "而且", "并且", "另外", "此外", "同时", "所以", "因此", "因而", "不过", "但是", "可是", "然而", "再者", "况且",
    "更何况", "也就是说", "总之", "总而言之", "这样一来", "那么", "但",
)  # fmt: skip
_LEADING_JUNK = re.compile(r"^[\s,，、;；:：.。!！?？~～…]+")
_REPEATED_COMMA = re.compile(r"([，,、])\s*[，,、]+")
_COMMA_BEFORE_END = re.compile(r"[，,、]+\s*([。！？!?；;…])")
_EMPTY_BRACKETS = re.compile(r"[（(]\s*[）)]")
_CONTENT = re.compile(r"[\u4e00-\u9fff0-9A-Za-z]")


@dataclass(frozen=True)
class Outcome:
    """The edited text, the violations with the action actually taken, and how much content was dropped."""

    text: str
    violations: tuple[Violation, ...]
    dropped_share: float


def content_len(text: str) -> int:
    """Count characters that carry content (Han, letters, digits)."""
    return len(_CONTENT.findall(text))


def apply(text: str, violations: list[Violation], sentences: list[tuple[int, int]] | None = None) -> Outcome:
    """Apply every violation's action to `text` and return the tidied result."""
    if sentences is None:
        sentences = sentence_spans(text)
    sentences = _join_crossed(sentences, [v.span for v in violations if v.action in ("rewrite", "mask")])
    dropped: set[int] = set()
    for v in violations:
        if v.action == "drop":
            dropped.update(_sentences_of(sentences, v.span))
    final: list[Violation] = []
    edits: list[tuple[int, int, str]] = []
    for v in sorted(violations, key=lambda v: (v.span[0], -(v.span[1] - v.span[0]))):
        in_dropped = _sentences_of(sentences, v.span) <= dropped and v.span[1] > v.span[0]
        if v.action in ("rewrite", "mask") and in_dropped:
            final.append(replace(v, action="drop", replacement=None))
            continue
        if v.action in ("rewrite", "mask") and not in_dropped:
            if any(s < v.span[1] and v.span[0] < e for s, e, _ in edits):
                final.append(v)  # covered by an overlapping edit already applied
                continue
            edits.append((v.span[0], v.span[1], v.replacement or ""))
        final.append(v)
    out: list[str] = []
    prev_dropped = False
    for idx, (s, e) in enumerate(sentences):
        if idx in dropped:
            prev_dropped = True
            continue
        piece = _apply_edits(text, s, e, edits)
        if prev_dropped:
            piece = _strip_connective(piece)
        out.append(piece)
        prev_dropped = False
    result = _tidy("".join(out))
    total = content_len(text)
    dropped_chars = sum(content_len(text[s:e]) for i, (s, e) in enumerate(sentences) if i in dropped)
    return Outcome(result, tuple(final), dropped_chars / total if total else 0.0)


def _join_crossed(sentences: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join sentences that one edit runs across, so the edit is applied in one piece."""
    out: list[tuple[int, int]] = []
    for s, e in sentences:
        if out and any(a < out[-1][1] < b for a, b in spans):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _sentences_of(sentences: list[tuple[int, int]], span: tuple[int, int]) -> set[int]:
    start, end = span
    end = max(end, start + 1)
    return {i for i, (s, e) in enumerate(sentences) if s < end and start < e}


def _apply_edits(text: str, s: int, e: int, edits: list[tuple[int, int, str]]) -> str:
    inside = sorted((a, b, r) for a, b, r in edits if s <= a and b <= e)
    if not inside:
        return text[s:e]
    parts, pos = [], s
    for a, b, r in inside:
        before = text[pos:a]
        parts.append(before)
        parts.append(_skip_repeat(text[s:a], r))
        pos = b
    parts.append(text[pos:e])
    return "".join(parts)


def _skip_repeat(before: str, replacement: str) -> str:
    """Drop the start of a replacement that repeats the words just before it (支持 + 支持7天… → 支持7天…)."""
    for k in range(min(4, len(replacement)), 1, -1):
        if before.endswith(replacement[:k]):
            return replacement[k:]
    return replacement


def _strip_connective(piece: str) -> str:
    lead = len(piece) - len(piece.lstrip())
    body = piece[lead:]
    for word in _CONNECTIVES:
        if body.startswith(word) and len(body) > len(word) + 1:
            rest = body[len(word) :]
            return _LEADING_JUNK.sub("", rest)
    return body


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub("", text)
    text = _REPEATED_COMMA.sub(r"\1", text)
    text = _COMMA_BEFORE_END.sub(r"\1", text)
    text = _LEADING_JUNK.sub("", text)
    text = (
        re.sub(r"[，,、：:]+\s*$", "。", text.rstrip())
        if re.search(r"[，,、：:]\s*$", text)
        else text.rstrip()
    )
    return re.sub(r"[ \t]{2,}", " ", text).strip()
