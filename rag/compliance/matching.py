"""Find rule terms and patterns in a draft, whatever its disguise, and drop the excepted ones."""

from __future__ import annotations

import functools
import re
from bisect import bisect_left
from dataclasses import dataclass

from rag.compliance.prefilter import needs
from rag.compliance.rules import Rule, RuleSet
from rag.compliance.text import BOUNDARIES, SENTENCE_ENDS, TextView, within_our_range

_END = ""  # trie key holding the payloads of a term ending here
_EXCEPTION = object()  # trie payload marking a global exception
_NEG_WINDOW = 16  # compact characters looked at before a claim for a negation
# A negation before a list covers its items: 不能宣称消炎、祛痘 negates both, so 、 does not end its reach.
_NEG_BOUNDARIES = BOUNDARIES - {"、"}
_META_WINDOW = 10  # compact characters looked at after a claim for "这种说法" and the like
_NOT_REPORTED = "的得什啥了过吧呢吗"  # after 您说: a reference or a retort, not a restatement
# After 您问: the agent answering back (您问我我问谁, 您问我干嘛), not a restatement of the question.
_RETORT = re.compile(r"我(?:我|干嘛|干什么|做什么|有什么用|有啥用|也没用|没用)")
_CONTEXT_WINDOW = 30  # compact characters looked at before a hit for a rule's context
_OPEN_QUOTES = "“‘「『\"'《"
_CLOSE_QUOTES = "”’」』\"'》"
# Characters found in most replies: a pattern woken by them would run its checks for nearly every reply.
_COMMON = frozenset("的了您你是不我们这个有在就也都吗呢吧啊哦亲一上能会可以要说还没到给帮好请")


def _wakes(words: frozenset[str]) -> tuple[int, int]:
    """How often a reply is likely to hold one of `words`: a common character counts as many rare ones, and a
    longer word is rarer than any character."""
    return len([w for w in words if len(w) == 1]) + 10 * len(words & _COMMON), len(words)


@dataclass(frozen=True)
class _Met:
    """What finding a word (or character) in a reply does: meets these word sets, wakes these patterns."""

    bits: int
    wakes: tuple[int, ...]


@dataclass(frozen=True)
class Hit:
    """A rule match: compact-text span and original-text span."""

    rule: Rule
    start: int  # compact index
    end: int
    span: tuple[int, int]  # original text
    keep: str = ""  # text of a pattern's (?P<keep>...) group, for replacements such as "很{keep}"


def _trie_of(terms) -> _Trie:
    """Return a trie holding `terms` with no payload: for presence checks only."""
    trie = _Trie()
    for term in terms:
        trie.add(term, None)
    return trie


class _Trie:
    """A character trie over compact-form terms; payloads are whatever the caller stores."""

    def __init__(self) -> None:
        self.root: dict = {}

    def add(self, term: str, payload: object) -> None:
        node = self.root
        for ch in term:
            node = node.setdefault(ch, {})
        node.setdefault(_END, []).append(payload)

    def scan(self, text: str) -> list[tuple[int, int, object]]:
        """Return every (start, end, payload) of every stored term found in `text`."""
        out: list[tuple[int, int, object]] = []
        root = self.root
        n = len(text)
        for i in range(n):
            node = root.get(text[i])
            j = i + 1
            while node is not None:
                payloads = node.get(_END)
                if payloads:
                    out.extend((i, j, p) for p in payloads)
                if j >= n:
                    break
                node = node.get(text[j])
                j += 1
        return out


class Matcher:
    """Match every term and pattern rule of a RuleSet against a TextView."""

    def __init__(self, ruleset: RuleSet, *, prefilter: bool = True):
        """`prefilter=False` tries every pattern on every reply: the same hits, the baseline of benchmarks/filter.py."""
        self.ruleset = ruleset
        self.term_rules = [r for r in ruleset.rules if r.terms]
        self.pattern_rules = [r for r in ruleset.rules if r.patterns and r.detector is None]
        # Each pattern with the words its match needs (rag/compliance/prefilter.py), as one bit per distinct word
        # set. A reply meets the sets of its characters and of the longer words found in the same pass over it as
        # the rule terms; each pattern is woken by the words of its most telling set, and runs only when the reply
        # meets all of its sets. A pattern with no usable set is always tried.
        self._plan = [(rule, p, "keep" in p.groupindex) for rule in self.pattern_rules for p in rule.patterns]
        bits: dict[frozenset[str], int] = {}
        self._needs: list[int] = []  # per pattern, the bits of the word sets it needs
        self._always: list[int] = []
        wakes: dict[str, list[int]] = {}
        for i, (_, pattern, _) in enumerate(self._plan):
            sets = needs(pattern) if prefilter else ()
            mask = 0
            for words in sets:
                mask |= 1 << bits.setdefault(words, len(bits))
            self._needs.append(mask)
            if not sets:
                self._always.append(i)
            for word in min(sets, key=_wakes, default=()):
                wakes.setdefault(word, []).append(i)
        masks: dict[str, int] = {}
        for words, bit in bits.items():
            for word in words:
                masks[word] = masks.get(word, 0) | 1 << bit
        met_by = {word: _Met(mask, tuple(wakes.get(word, ()))) for word, mask in masks.items()}
        self._by_char = {word: met for word, met in met_by.items() if len(word) == 1}
        self._terms = _Trie()  # rule terms and the global exceptions, found in one pass
        for rule in self.term_rules:
            for term in rule.terms:
                self._terms.add(term, rule)
        for term in ruleset.exceptions:
            self._terms.add(term, _EXCEPTION)
        for word, met in met_by.items():
            if len(word) > 1:
                self._terms.add(word, met)
        self._rule_exceptions = {r.id: _trie_of(r.exceptions) for r in ruleset.rules if r.exceptions}
        self._nearby = {r.id: _trie_of(r.unless_nearby) for r in ruleset.rules if r.unless_nearby}
        self._context = {r.id: _trie_of(r.context) for r in ruleset.rules if r.context or r.context_patterns}
        self._reported = _trie_of(ruleset.reported_speech_cues)
        self._negations = _trie_of(ruleset.negation_cues)
        self._meta = _Trie()
        for cue in ruleset.meta_cues:
            self._meta.add(cue, None)

    def find(self, view: TextView, *, brand: str | None) -> list[Hit]:
        """Return the hits of all term and pattern rules in force for `brand`, exceptions removed."""
        return self.scan(view, brand=brand)[0]

    def scan(self, view: TextView, *, brand: str | None) -> tuple[list[Hit], list[tuple[int, int]]]:
        """Return the hits (exceptions removed) and the original-text spans of the global exceptions."""
        compact = view.compact
        if not compact:
            return [], []
        raw: list[tuple[int, int, Rule, str]] = []
        global_exc: list[tuple[int, int]] = []
        met = 0  # the bits of the word sets this reply meets
        woken = set(self._always)
        by_char = self._by_char
        for ch in set(compact):
            found = by_char.get(ch)
            if found is not None:
                met |= found.bits
                woken.update(found.wakes)
        for start, end, payload in self._terms.scan(compact):
            if payload is _EXCEPTION:
                global_exc.append((start, end))
            elif type(payload) is _Met:
                met |= payload.bits  # type: ignore[union-attr]
                woken.update(payload.wakes)  # type: ignore[union-attr]
            elif payload.applies_to(brand):  # type: ignore[union-attr]
                raw.append((start, end, payload, ""))  # type: ignore[arg-type]
        needed = self._needs
        for i in sorted(woken):  # the rules file's order, as before
            rule, pattern, has_keep = self._plan[i]
            if needed[i] & met == needed[i] and rule.applies_to(brand):
                raw.extend(self._pattern_hits(pattern, compact, rule, has_keep))
        exc_spans = [view.compact_span(s, e) for s, e in global_exc]
        if not raw:
            return [], exc_spans
        hits: list[Hit] = []
        for start, end, rule, keep in raw:
            if self._excepted(compact, start, end, rule, global_exc) or self._excused(
                compact, start, end, rule
            ):
                continue
            if rule.id in self._context and not self._in_context(compact, start, rule):
                continue
            if rule.negatable and self._negated(compact, start):
                continue
            if rule.category == "absolute_claim" and within_our_range(compact, start, end):
                continue
            if self._quoted(view, start, end) or self._reported_at(compact, start):
                continue
            hits.append(Hit(rule, start, end, view.compact_span(start, end), keep))
        return _drop_put_down_superlatives(_drop_nested(hits), compact), exc_spans

    @staticmethod
    def _pattern_hits(pattern: re.Pattern[str], compact: str, rule: Rule, has_keep: bool) -> list:
        return [
            (m.start(), m.end(), rule, (m.group("keep") or "") if has_keep else "")
            for m in pattern.finditer(compact)
            if m.end() > m.start()
        ]

    def _excepted(
        self, compact: str, start: int, end: int, rule: Rule, global_exc: list[tuple[int, int]]
    ) -> bool:
        # A harmless phrase excuses the hits it overlaps, but not a longer claim built around it (全网发货最快).
        if any(
            s < end and start < e and not (start <= s and e <= end and end - start > e - s)
            for s, e in global_exc
        ):
            return True
        trie = self._rule_exceptions.get(rule.id)
        if trie is None:
            return False
        lo, hi = max(0, start - 12), min(len(compact), end + 12)
        return any(lo + s < end and start < lo + e for s, e, _ in trie.scan(compact[lo:hi]))

    def _excused(self, compact: str, start: int, end: int, rule: Rule) -> bool:
        """Return whether the hit's sentence or the next one states what excuses it (a condition, a next step)."""
        trie = self._nearby.get(rule.id)
        if trie is None:
            return False
        lo = start
        while lo > 0 and compact[lo - 1] not in SENTENCE_ENDS:
            lo -= 1
        hi, ends = end, 0
        while hi < len(compact) and ends < 2:
            if compact[hi] in SENTENCE_ENDS and (
                hi + 1 == len(compact) or compact[hi + 1] not in SENTENCE_ENDS
            ):
                ends += 1
            hi += 1
        return bool(trie.scan(compact[lo:hi]))

    def _in_context(self, compact: str, start: int, rule: Rule) -> bool:
        """Return whether one of the rule's context terms or patterns stands before the hit in its sentence."""
        lo = start
        while lo > 0 and start - lo < _CONTEXT_WINDOW and compact[lo - 1] not in SENTENCE_ENDS:
            lo -= 1
        before = compact[lo:start]
        if not before:
            return False
        return bool(self._context[rule.id].scan(before)) or any(
            p.search(before) for p in rule.context_patterns
        )

    def reported_at(self, view: TextView, norm_index: int) -> bool:
        """Return whether the text at `norm_index` restates what the customer said (您说宝宝用了三天……)."""
        return self._reported_at(view.compact, bisect_left(view.compact_norm, norm_index))

    def _reported_at(self, compact: str, start: int) -> bool:
        lo = start
        while lo > 0 and compact[lo - 1] not in BOUNDARIES:
            lo -= 1
        clause = compact[lo:start]
        return any(
            (e >= len(clause) or clause[e] not in _NOT_REPORTED)  # 您说的那个大牌, 您说什么都没用
            and not _RETORT.match(compact, lo + e)
            for _, e, _ in self._reported.scan(clause)
        )

    def negated_at(self, view: TextView, norm_index: int) -> bool:
        """Return whether a negation cue stands just before `norm_index` of the normalised text, in its clause."""
        return self._negated(view.compact, bisect_left(view.compact_norm, norm_index))

    def _negated(self, compact: str, start: int) -> bool:
        lo = start
        while lo > 0 and start - lo < _NEG_WINDOW and compact[lo - 1] not in _NEG_BOUNDARIES:
            lo -= 1
        return bool(lo < start and self._negations.scan(compact[lo:start]))

    def _quoted(self, view: TextView, start: int, end: int) -> bool:
        compact = view.compact
        hi = end
        while hi < len(compact) and hi - end < _META_WINDOW and compact[hi] not in BOUNDARIES:
            hi += 1
        if hi > end and self._meta.scan(compact[end:hi]):
            return True
        norm = view.norm
        ns, ne = view.compact_norm[start], view.compact_norm[end - 1] + 1
        before = norm[max(0, ns - 6) : ns]
        after = norm[ne : ne + 6]
        opened = max(before.rfind(q) for q in _OPEN_QUOTES)
        if opened < 0 or any(c in BOUNDARIES for c in before[opened + 1 :]):
            return False
        closes = [after.find(q) for q in _CLOSE_QUOTES if q in after]
        return bool(closes) and not any(c in BOUNDARIES for c in after[: min(closes)])


def _drop_put_down_superlatives(hits: list[Hit], compact: str) -> list[Hit]:
    """Drop a superlative that stands in a put-down's clause (原料都是最便宜的代工货): it describes the rival's goods,
    and the put-down is the violation."""
    downs = [h.start for h in hits if h.rule.category == "competitor_disparagement"]
    if not downs:
        return hits

    def same_clause(a: int, b: int) -> bool:
        lo, hi = min(a, b), max(a, b)
        return not any(c in BOUNDARIES for c in compact[lo:hi])

    return [
        h
        for h in hits
        if not (
            h.rule.category == "absolute_claim"
            and "最" in compact[h.start : h.end]
            and any(same_clause(h.start, d) for d in downs)
        )
    ]


def _drop_nested(hits: list[Hit]) -> list[Hit]:
    """Keep one hit per category where spans nest: the longest, then the earliest rule."""
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    for hit in hits:
        if any(
            k.rule.category == hit.rule.category and k.start <= hit.start and hit.end <= k.end for k in kept
        ):
            continue
        kept.append(hit)
    return kept


@functools.lru_cache(maxsize=2)
def matcher_of(ruleset: RuleSet) -> Matcher:
    """Return the Matcher of `ruleset`, built once per process: loading the rules builds one to check the
    replacements, and the filter of the same rules needs the same one (a quarter second of every start)."""
    return Matcher(ruleset)
