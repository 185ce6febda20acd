"""The matcher skips a pattern when a reply lacks the characters its match needs: the sets are read right from
the pattern, and no pattern of the starter rules is ever skipped on a text it matches."""

from __future__ import annotations

import json
import re

import pytest
from compliance_support import RULES

from rag.compliance import load_rules
from rag.compliance.prefilter import first_chars, needs
from rag.compliance.text import TextView

CASES = [
    # (pattern, the sets it needs)
    ("您(?:换|找)(?:个|别的)客服", [{"您"}, {"换", "找"}, {"个", "别"}, {"客"}, {"服"}]),
    ("(?<!不)怪谁(?=[,，。]|$)", [{"怪"}, {"谁"}]),
    ("(?:史上|全网)?最(?:好|佳)", [{"最"}, {"好", "佳"}, {"史", "全", "最"}]),
    ("[\u4e00-\u9fff]{1,3}之王", [{"之"}, {"王"}]),
    ("[0-3]天(?:内)?必达", [{"0", "1", "2", "3"}, {"天"}, {"必"}, {"达"}]),
    ("(说|讲)了.就是\\1", [{"说", "讲"}, {"了"}, {"就"}, {"是"}]),
]


@pytest.mark.parametrize(("pattern", "expected"), CASES)
def test_the_sets_a_pattern_needs_are_read_from_the_pattern(pattern, expected):
    assert sorted(map(sorted, needs(re.compile(pattern)))) == sorted(map(sorted, expected))


@pytest.mark.parametrize("pattern", ["[^，。]{2}退", ".退", "\\w+退", "(?i)abc"])
def test_a_pattern_that_can_start_with_anything_has_no_first_characters(pattern):
    assert first_chars(re.compile(pattern)) is None


def _texts() -> list[str]:
    out = []
    for path in sorted((RULES.parent / "examples").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def test_no_pattern_of_the_starter_rules_is_skipped_on_a_text_it_matches():
    patterns = [p for rule in load_rules(RULES).rules for p in rule.patterns]
    texts = [TextView.of(t).compact for t in _texts()]
    assert len(patterns) > 300 and len(texts) > 3000
    matched = 0
    for pattern in patterns:
        sets = needs(pattern)
        for text in texts:
            if any(m.end() > m.start() for m in pattern.finditer(text)):
                matched += 1
                present = set(text)
                assert all(not chars.isdisjoint(present) for chars in sets), (pattern.pattern, text)
    assert matched > 1000  # the check ran on real matches, not on an empty sample
