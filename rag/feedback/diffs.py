"""What agents change in a draft: character-level edits merged into readable fragments, and inline diffs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

_JOIN_GAP = 2  # changes this close together are one edit (一个词改了两个字 is one change)
_CONTEXT = 8  # characters of unchanged text shown around a change


@dataclass(frozen=True)
class Change:
    """One edit: `removed` from the draft replaced by `added` (either may be empty) at draft[start:end]."""

    removed: str
    added: str
    start: int
    end: int


def changes(draft: str, final: str) -> list[Change]:
    """Return the edits that turn `draft` into `final`, nearby character edits merged."""
    blocks = [op for op in Levenshtein.opcodes(draft, final) if op.tag != "equal"]
    merged: list[list[int]] = []
    for op in blocks:
        if (
            merged
            and op.src_start - merged[-1][1] <= _JOIN_GAP
            and op.dest_start - merged[-1][3] <= _JOIN_GAP
        ):
            merged[-1][1], merged[-1][3] = op.src_end, op.dest_end
        else:
            merged.append([op.src_start, op.src_end, op.dest_start, op.dest_end])
    return [Change(draft[a:b], final[c:d], a, b) for a, b, c, d in merged]


def inline(draft: str, change: Change) -> str:
    """Return the change in its context: …前文[-删掉的-]{+加上的+}后文…"""
    left = draft[max(0, change.start - _CONTEXT) : change.start]
    right = draft[change.end : change.end + _CONTEXT]
    mark = (f"[-{change.removed}-]" if change.removed else "") + (
        f"{{+{change.added}+}}" if change.added else ""
    )
    return (
        ("…" if change.start > _CONTEXT else "")
        + left
        + mark
        + right
        + ("…" if change.end + _CONTEXT < len(draft) else "")
    )


def common_edits(pairs: list[tuple[str, str]], top: int = 3) -> list[dict]:
    """Return the edits made most often over (draft, final) pairs, each with a count and an example diff."""
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for draft, final in pairs:
        for ch in {(c.removed, c.added): c for c in changes(draft, final)}.values():
            key = (ch.removed, ch.added)
            counts[key] += 1
            examples.setdefault(key, inline(draft, ch))
    return [
        {"removed": r, "added": a, "count": n, "share": round(n / len(pairs), 3), "diff": examples[(r, a)]}
        for (r, a), n in counts.most_common(top)
    ]
