"""Labelled compliance examples (knowledge_base/compliance/examples/*.jsonl), cut into labelled clauses.

A line is a case in the eval format: `text`, `expected` ([{category, match}], empty for a compliant text), optional
`id` and `brand`; other fields are ignored. Every clause of a text is a training clause: positive for a category
when one of that category's `match` spans overlaps it, negative otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from rag.compliance.text import TextView

# The categories a clause classifier learns: wording, not numbers or personal data (those have detectors).
SOFT_CATEGORIES = (
    "forbidden_service_phrase",
    "absolute_claim",
    "unconditional_promise",
    "competitor_disparagement",
    "medical_claim",
    "false_authority",
)
EXAMPLES_DIR = "compliance/examples/"
_CLAUSE = re.compile(
    r"[^。！？!?；;，,…\s](?:[^。！？!?；;，,\n\r…]*[^。！？!?；;，,…\s])?"
)  # spaces trimmed
_MIN_CONTENT = 2  # a clause with fewer content characters (ok、好的) carries nothing to learn from


@dataclass(frozen=True)
class Example:
    """One labelled text: the violations it holds as (category, match), none for a compliant text."""

    id: str
    text: str
    expected: tuple[tuple[str, str], ...]
    brand: str | None = None
    source: str = ""  # file:line


class Clause(NamedTuple):
    """A clause of a text: its span in the original text and its compact form, the classifier's input.

    A named tuple, not a dataclass: a draft has a dozen and the filter's time budget is two milliseconds."""

    start: int
    end: int
    compact: str


def is_examples_file(rel: str) -> bool:
    """Return whether a knowledge-base path (relative, forward slashes) holds labelled compliance examples."""
    return rel.startswith(EXAMPLES_DIR) and rel.count("/") == 2 and rel.endswith(".jsonl")


def parse_examples(text: str, file: str) -> tuple[list[Example], list[tuple[int, str]]]:
    """Parse one examples file; return the examples and (line, problem) for every line skipped."""
    from rag.compliance.rules import CATEGORIES

    out: list[Example] = []
    problems: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append((n, f"不是合法的 JSON（{exc.msg}），这一行跳过了"))
            continue
        body = data.get("text") if isinstance(data, dict) else None
        expected = data.get("expected", []) if isinstance(data, dict) else None
        if not isinstance(body, str) or not body.strip() or not isinstance(expected, list):
            problems.append((n, "每行要有 text（文字）和 expected（列表，合规的写 []），这一行跳过了"))
            continue
        pairs = []
        for item in expected:
            cat = item.get("category") if isinstance(item, dict) else None
            match = item.get("match") if isinstance(item, dict) else None
            if cat not in CATEGORIES or not isinstance(match, str) or not match or match not in body:
                problems.append((n, f"expected 里的 {item!r} 类别不对或 match 不在 text 里，这一行跳过了"))
                break
            pairs.append((cat, match))
        else:
            brand = data.get("brand") if isinstance(data.get("brand"), str) else None
            out.append(
                Example(str(data.get("id") or f"{file}:{n}"), body, tuple(pairs), brand, f"{file}:{n}")
            )
    return out, problems


def fingerprint(examples: Iterable[Example]) -> str:
    """Return a hash of the examples' texts and labels: equal hashes train the same model."""
    h = hashlib.sha256()
    for ex in sorted(examples, key=lambda e: (e.text, e.expected)):
        h.update(json.dumps([ex.text, ex.expected], ensure_ascii=False).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def clauses(view: TextView) -> list[Clause]:
    """Cut a text into clauses at sentence and comma ends; keep those with some content."""
    out: list[Clause] = []
    index, compact, origin = view.compact_norm, view.compact, view.norm_origin
    for m in _CLAUSE.finditer(view.norm):
        start, end = m.span()
        piece = compact[bisect_left(index, start) : bisect_left(index, end)]  # separators left out
        if len(piece) >= _MIN_CONTENT and (piece.isalnum() or sum(map(str.isalnum, piece)) >= _MIN_CONTENT):
            out.append(Clause(origin[start], origin[end - 1] + 1, piece))
    return out


def labelled_clauses(example: Example) -> list[tuple[Clause, frozenset[str]]]:
    """Return every clause of an example with the soft categories whose labelled span overlaps it."""
    spans: list[tuple[str, int, int]] = []
    for cat, match in example.expected:
        start = example.text.find(match)
        while start != -1:
            spans.append((cat, start, start + len(match)))
            start = example.text.find(match, start + 1)
    out = []
    for clause in clauses(TextView.of(example.text)):
        cats = frozenset(
            c for c, s, e in spans if c in SOFT_CATEGORIES and s < clause.end and clause.start < e
        )
        out.append((clause, cats))
    return out


def examples_from_texts(texts: Mapping[str, str]) -> tuple[list[Example], list[str]]:
    """Parse every examples file among `texts` ({path: text}); return the examples and readable problems."""
    examples: list[Example] = []
    problems: list[str] = []
    for rel in sorted(texts):
        if is_examples_file(rel):
            found, bad = parse_examples(texts[rel], rel)
            examples.extend(found)
            problems.extend(f"{rel} 第 {n} 行：{msg}" for n, msg in bad)
    return examples, problems
