"""The characters and words a pattern's match needs, read from the pattern itself.

A reply that lacks them cannot match, so the matcher skips the pattern without running it: most of the
rules' 600-odd patterns open with words (您、别家、保证…) that a given reply lacks, and a pattern that opens with
an optional group makes the regex engine try every position of the reply. Words rule out far more than characters
do: (?:别家|其他家|同行…) wakes for every reply with a 其 or a 同, but runs only where one of its words stands.
What any pattern finds is unchanged.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre  # the parser's own opcodes: the parse tree is the pattern, nothing guessed
from re import _parser

_MAX_RANGE = 512  # a wider class ([\u4e00-\u9fff]) can start with almost anything: not worth a set
_WORD_CHARS = 3  # words are cut to their first characters: as telling, and a shallower trie to find them in
_MAX_WORDS = 256  # a part spelling more words than this (a long list of alternatives) is not spelt out
_MAX_JOINED = 64  # a stretch of parts spelling more words than this together is cut into shorter stretches

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
    """Return sets of words a reply must each contain one of before `pattern` can match non-empty text.

    The first characters of the whole match and of every part of it that cannot be skipped (one-character words),
    and the words spelt by every stretch of the pattern made of literals, small classes and optional groups:
    您(?:换|找)客服 needs 您, one of 换 and 找, 客, 服, and one of 您换客服 and 您找客服. () = no test.
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
    stretches = _stretches(items)
    # A set of characters every one of a stretch's words holds one of tells nothing more: 客 beside 您换客服.
    found = {chars for chars in found if not any(all(chars & set(w) for w in words) for words in stretches)}
    found.update(stretches)
    return tuple(sorted(found, key=lambda words: (len(words), sorted(words))))


def _stretches(items: list) -> list[frozenset[str]]:
    """Return the word sets spelt by the pattern's runs of finitely-spelt parts: every match holds one of each."""
    out: list[frozenset[str]] = []
    run: set[str] = {""}

    def close() -> None:
        if "" not in run:
            out.append(frozenset(word[:_WORD_CHARS] for word in run))

    for op, value in items:
        words = _words(op, value)
        longer = None if words is None else _join(run, words)
        if longer is None:
            close()
            run = {""} if words is None or len(words) > _MAX_WORDS else set(words)
        else:
            run = longer
    close()
    return out


def _join(heads: set[str], tails: set[str]) -> set[str] | None:
    if heads == {""}:
        return tails
    if len(heads) * len(tails) > _MAX_JOINED:
        return None
    return {h + t for h in heads for t in tails}


def _spelt(items: list) -> set[str] | None:
    out: set[str] | None = {""}
    for op, value in items:
        words = _words(op, value)
        out = None if words is None else _join(out, words)  # type: ignore[arg-type]
        if out is None:
            return None
    return out


def _words(op, value) -> set[str] | None:
    """Return every text this part can match when there are few ("" when it can match nothing), else None."""
    if op is sre.LITERAL:
        return {chr(value)}
    if op is sre.IN:
        chars = _charset(value)
        return chars if chars is not None and len(chars) <= _MAX_WORDS else None
    if op is sre.BRANCH:
        out: set[str] = set()
        for branch in value[1]:
            words = _spelt(list(branch))
            if words is None:
                return None
            out |= words
        return out if len(out) <= _MAX_WORDS else None
    if op is sre.SUBPATTERN:
        return _spelt(list(value[-1]))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, sub = value
        words = _spelt(list(sub))
        if words is None or high > 1:
            return None
        return words | {""} if low == 0 else words
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return {""}  # anchors and lookarounds consume nothing
    return None


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
