"""Whether a source (policy, script, order fact) states the number a draft commits to."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.compliance.numbers import Quantity, extract, unit_factor
from rag.compliance.text import TextView, sentence_spans

_TITLE = re.compile(r"^#\s*([^\n#]+)$", re.M)
_BARE = re.compile(r"(?<![0-9.])\d+(?:\.\d+)?(?![0-9.])")


@dataclass(frozen=True)
class Ground:
    """A quantity stated in a source, with the sentence it came from."""

    quantity: Quantity
    sentence: str
    contextual: bool = True  # False for order facts: a bare value grounds the number wherever it stands
    topic: str = ""  # the source's title (# 破损、漏发、错发处理): what its bullet points are about


@lru_cache(maxsize=512)
def grounds_of(source: str) -> tuple[Ground, ...]:
    """Return every quantity a source text states (cached: policies repeat across calls)."""
    norm = TextView.of(source).norm
    spans = sentence_spans(norm)
    title = _TITLE.search(norm)
    topic = title.group(1).strip() if title else ""
    out: list[Ground] = []
    for q in extract(norm, commitments_only=False):
        sentence = next((norm[s:e] for s, e in spans if s <= q.start < e), norm)
        out.append(Ground(q, sentence.strip(), topic=topic))
    return tuple(out)


@lru_cache(maxsize=512)
def fact_grounds(value: str) -> tuple[Ground, ...]:
    """Return the quantities an order fact states; they ground a number without context.

    A fact without units ("59") grounds that number in any unit.
    """
    out = [Ground(g.quantity, g.sentence, contextual=False) for g in grounds_of(value)]
    if not out:
        norm = TextView.of(value).norm
        for m in _BARE.finditer(norm):
            number = float(m.group(0))
            quantity = Quantity("any", number, number, m.start(), m.end(), m.group(0))
            out.append(Ground(quantity, norm.strip(), contextual=False))
    return tuple(out)


def supported(q: Quantity, context: str, grounds: list[Ground], sentence: str = "") -> bool:
    """Return whether a source states the same quantity (or a range holding it) about the same thing.

    `context` is the draft's clause around the number; a source sentence must share at least one
    content character with it, so that 20元 from the complaint policy does not ground 补偿20元 for
    a broken parcel. When the draft's `sentence` names a case with its own compensation (a broken parcel,
    a complaint), the source must be about that case too, in its sentence or its title.
    """
    words: frozenset[str] | None = None
    outcomes: list[tuple[str, ...]] = []
    for g in grounds:
        gq = g.quantity
        if gq.kind == "any":
            if q.low / unit_factor(q) == gq.low or q.low == gq.low:
                return True
            continue
        if gq.kind != q.kind or not (gq.low <= q.low and q.high <= gq.high):
            continue
        if q.kind == "piece" and gq.text[-1:] != q.text[-1:]:
            continue  # 2包 of wipes is not 2件 of clothes: a count is grounded by the same measure word
        if not g.contextual:
            return True
        if words is None:
            words = content_chars(context.replace(q.text, " "))
            # 收到货七天内 counts from receipt: a deadline word just before the number is its anchor, not its outcome
            anchor = context.split(q.text, 1)[0].rstrip("后起以之的")
            outcomes = [g for g in _OUTCOMES if any(w in context for w in g) and not anchor.endswith(g)]
            cases = [group for group in _CASES if any(w in (sentence or context) for w in group)]
            validity = _validity(context, q.text)
        if (
            (
                words & content_chars(g.sentence.replace(gq.text, " "))
                or validity
                and _validity(g.sentence, gq.text)
            )
            and all(any(w in g.sentence for w in group) for group in outcomes)
            and all(any(w in g.sentence or w in g.topic for w in group) for group in cases)
        ):
            return True
    return False


# 30天内都能用 and 30天内有效 say the same of a coupon in other words.
_VALID_FOR = re.compile(r"(?:之内|以内|内)?(?:都|均)?(?:能|可以|可)?(?:用|使用|有效)")


def _validity(text: str, number: str) -> bool:
    """Return whether `number` in `text` is how long something stays valid or usable (30天内都能用)."""
    at = text.find(number)
    return at >= 0 and _VALID_FOR.match(text, at + len(number)) is not None


# A deadline is about one outcome: 24 hours to dispatch is not 24 hours to arrive or to be credited.
_OUTCOMES = (
    ("到账",),
    ("送达", "到货", "送到", "收到货"),
    ("回复", "答复", "回电"),
    ("无理由",),
    ("差价", "价保", "保价"),
)

# Each case has its own compensation: the 5元 coupon is for a broken or wrong parcel, the 20元 one for a
# confirmed complaint; one does not ground the other.
_CASES = (
    ("破损", "漏发", "错发", "发错", "少发", "漏寄", "摔", "裂", "碎", "压坏", "压扁", "漏液"),
    ("投诉",),
)


_STOP = frozenset("的了您你我们是在有和与及或也都就会可以为把将被这那个吗呢吧啊哦给请后内前起时间")
_NUMERALS = frozenset("零〇一二两三四五六七八九十百千万半双")


@lru_cache(maxsize=4096)
def content_chars(text: str) -> frozenset[str]:
    """Return the Han characters of `text` that carry meaning (no numerals, units or function words)."""
    return frozenset(c for c in text if "\u4e00" <= c <= "\u9fff" and c not in _STOP and c not in _NUMERALS)


def closest(q: Quantity, context: str, grounds: list[Ground]) -> tuple[Ground | None, bool]:
    """Return the source statement of the same kind that best fits `context`, and whether it clearly wins.

    It clearly wins when it shares at least two content characters with the context and beats every
    statement of another value by two; only then may the filter put its number in the draft.
    """
    words = content_chars(context)
    scored = []
    for g in grounds:
        if g.quantity.kind == q.kind:
            scored.append((len(words & content_chars(g.sentence)), g))
    if not scored:
        return None, False
    scored.sort(key=lambda pair: -pair[0])
    best_score, best = scored[0]
    rivals = [
        score
        for score, g in scored[1:]
        if (g.quantity.low, g.quantity.high) != (best.quantity.low, best.quantity.high)
    ]
    clear = best_score >= 2 and all(score <= best_score - 2 for score in rivals)
    return best, clear
