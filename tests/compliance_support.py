"""What the compliance tests share: the starter rules file and a span check (the `cf` fixture is in conftest)."""

from __future__ import annotations

from pathlib import Path

RULES = Path(__file__).resolve().parents[1] / "knowledge_base" / "compliance" / "rules.yaml"


def found(result, category: str, match: str, text: str) -> bool:
    """Return whether `result` reports `category` on a span overlapping `match` in `text`."""
    start = text.find(match)
    assert start >= 0, f"{match!r} not in {text!r}"
    end = start + len(match)
    return any(v.category == category and v.span[0] < end and start < v.span[1] for v in result.violations)
