"""The matcher skips a pattern when a reply lacks the characters and words its match needs: the sets are read
right from the pattern, no pattern of the starter rules is ever skipped on a text it matches, and the matcher
finds exactly what it finds when it tries every pattern on every text."""

from __future__ import annotations

import json
import re

import pytest
from compliance_support import RULES

from rag.compliance import load_rules
from rag.compliance.matching import Matcher
from rag.compliance.prefilter import first_chars, needs
from rag.compliance.text import TextView

CASES = [
    # (pattern, the sets of words it needs: a match holds one word of each; words are cut to three characters)
    ("您(?:换|找)(?:个|别的)客服", [{"您换个", "您换别", "您找个", "您找别"}, {"客"}, {"服"}]),
    ("(?<!不)怪谁(?=[,，。]|$)", [{"怪谁"}]),
    ("(?:史上|全网)?最(?:好|佳)", [{"好", "佳"}, {"史上最", "全网最", "最好", "最佳"}]),
    ("[\u4e00-\u9fff]{1,3}之王", [{"之王"}]),
    (
        "[0-3]天(?:内)?必达",
        [{"0天内", "0天必", "1天内", "1天必", "2天内", "2天必", "3天内", "3天必"}, {"必"}, {"达"}],
    ),
    ("(说|讲)了.就是\\1", [{"说了", "讲了"}, {"就是"}]),
    # a long list of alternatives is spelt out (it rules out far more replies than its first characters would)
    ("(?:别家|友商|同行)[^，。]{0,8}(?:假货|垃圾|差)", [{"别家", "友商", "同行"}, {"假货", "垃圾", "差"}]),
    # a wide class and an optional opening spell nothing; what follows them still does
    ("(?:亲)?[\u4e00-\u9fff]{2}保证到", [{"保证到"}]),
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
                assert all(any(w in text for w in words) for words in sets), (pattern.pattern, text)
    assert matched > 1000  # the check ran on real matches, not on an empty sample


def test_the_matcher_finds_what_it_finds_when_it_tries_every_pattern():
    rules = load_rules(RULES)
    quick, every = Matcher(rules), Matcher(rules, prefilter=False)
    texts = _texts()
    found = 0
    for i, text in enumerate(texts):
        brand = (None, "jianyi")[i % 2]  # every rule, and a brand that one rule is not in force for
        view = TextView.of(text)
        hits = quick.scan(view, brand=brand)
        assert hits == every.scan(view, brand=brand), (brand, text)
        found += len(hits[0])
    assert found > 1500  # real hits were compared, not empty lists
