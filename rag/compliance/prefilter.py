"""The characters a pattern's match needs, read from the pattern itself.

A reply that lacks them cannot match, so the matcher skips the pattern without running it: most of the
rules' 500-odd patterns open with words (您、别家、保证…) that a given reply lacks, and a pattern that opens with
an optional group makes the regex engine try every position of the reply. What any pattern finds is unchanged.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre  # the parser's own opcodes: the parse tree is the pattern, nothing guessed
from re import _parser

_MAX_RANGE = 512  # a wider class ([\u4e00-\u9fff]) can start with almost anything: not worth a set

# the possible first characters (None: unknown) and whether the part can match empty text
First = tuple[set[str] | None, bool]


def first_chars(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Return every character a non-empty match of `pattern` can start with, or None when that is not known."""
    items = _parse(pattern)
    if items is None:
        return None
    chars, _ = _sequence(items)
    return frozenset(chars) if chars is not None else None


def needs(pattern: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Return character sets a reply must each share a character with before `pattern` can match non-empty text.

    The first characters of the whole match, and of every part of it that cannot be skipped: 您(?:换|找)…客服
    needs 您, one of 换 and 找, and 客. Smallest sets first, as they rule a reply out soonest; () = no test.
    """
    if not isinstance(pattern, re.Pattern):
        return ()  # something else that finds matches: always run it
    return _needs(pattern.pattern, pattern.flags)


@functools.lru_cache(maxsize=4096)  # every filter a process builds shares the rules' patterns
def _needs(source: str, flags: int) -> tuple[frozenset[str], ...]:
    items = _parse_source(source, flags)
    if items is None:
        return ()
    found: set[frozenset[str]] = set()
    whole, _ = _sequence(items)
    if whole:
        found.add(frozenset(whole))
    for op, value in items:
        chars, nullable = _item(op, value)
        if chars and not nullable:
            found.add(frozenset(chars))
    return tuple(sorted(found, key=len))


def _parse(pattern: re.Pattern[str]) -> list | None:
    if not isinstance(pattern, re.Pattern):
        return None  # something else that finds matches: always run it
    return _parse_source(pattern.pattern, pattern.flags)


def _parse_source(source: str, flags: int) -> list | None:
    if flags & re.IGNORECASE:
        return None
    try:
        return list(_parser.parse(source, flags))
    except (re.error, TypeError, ValueError):
        return None


def _sequence(items: list) -> First:
    out: set[str] = set()
    for op, value in items:
        chars, nullable = _item(op, value)
        if chars is None:
            return None, False
        out |= chars
        if not nullable:
            return out, False
    return out, True


def _item(op, value) -> First:
    if op is sre.LITERAL:
        return {chr(value)}, False
    if op is sre.IN:
        return _charset(value), False
    if op is sre.BRANCH:
        out: set[str] = set()
        nullable = False
        for branch in value[1]:
            chars, empty = _sequence(list(branch))
            if chars is None:
                return None, False
            out |= chars
            nullable = nullable or empty
        return out, nullable
    if op is sre.SUBPATTERN:
        return _sequence(list(value[-1]))
    if op is sre.ATOMIC_GROUP:
        return _sequence(list(value))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _, sub = value
        chars, empty = _sequence(list(sub))
        return chars, empty or low == 0
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return set(), True  # anchors and lookarounds consume nothing
    return None, False  # any character, a negated literal, a back-reference: could start with anything


def _charset(members: list) -> set[str] | None:
    out: set[str] = set()
    for op, value in members:
        if op is sre.LITERAL:
            out.add(chr(value))
        elif op is sre.RANGE and value[1] - value[0] < _MAX_RANGE:
            out.update(chr(c) for c in range(value[0], value[1] + 1))
        else:
            return None  # a negated class, a category (\d, \w) or a wide range
    return out
