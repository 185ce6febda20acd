"""Compliance post-filter: rules from knowledge_base/compliance/rules.yaml applied to every draft, then a clause
classifier learned from knowledge_base/compliance/examples/ that flags what the rules miss."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rag.compliance.examples import SOFT_CATEGORIES, Example, examples_from_texts
from rag.compliance.filter import ComplianceFilter
from rag.compliance.learned import ClauseModel, Thresholds, load_or_train, train
from rag.compliance.rules import CATEGORIES, Rule, RuleSet, load_rules, parse_rules


def build_filter(
    rules: RuleSet,
    examples: Sequence[Example] = (),
    *,
    cache_dir: Path | None = None,
    threshold: Thresholds | None = None,
) -> ComplianceFilter:
    """Return a filter of `rules` plus, when there are `examples`, the clause classifier learned from them."""
    model = load_or_train(examples, cache_dir) if examples else None
    return ComplianceFilter(rules, model, threshold)


def load_examples(directory: str | Path) -> list[Example]:
    """Read every examples file (*.jsonl) in `directory`; lines that do not parse are skipped."""
    directory = Path(directory)
    texts = {
        f"compliance/examples/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(directory.glob("*.jsonl"))
    }
    return examples_from_texts(texts)[0]


__all__ = [
    "CATEGORIES",
    "SOFT_CATEGORIES",
    "ClauseModel",
    "ComplianceFilter",
    "Example",
    "Rule",
    "RuleSet",
    "build_filter",
    "load_examples",
    "load_rules",
    "parse_rules",
    "train",
]
