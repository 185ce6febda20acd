"""Views of a draft used for matching: normalised, compact, with maps back to the original."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rag.normalize import to_simplified

# Clause and sentence ends: never skipped inside a term, so a term cannot run across them.
BOUNDARIES = frozenset("。！？!?；;，,、：:\n\r…")
SENTENCE_ENDS = frozenset("。！？!?；;\n\r…")
# Kept in the compact form although they are punctuation: they carry meaning in terms.
_KEEP = frozenset("%‰¥$#@")


_ENDS_RE = re.compile("[。！？!?；;\n\r…]+[”’」』)）\"' ]*")


@lru_cache(maxsize=65536)
def _fold(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch


@lru_cache(maxsize=65536)
def _lower(ch: str) -> str:
    low = ch.lower()
    return low if len(low) == 1 else ch


class _PerCharacter(dict):
    """A str.translate table filled on first sight of each character, so a whole text maps in C."""

    def __init__(self, convert) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, codepoint: int):
        value = self[codepoint] = self._convert(chr(codepoint))
        return value


_FOLDED = _PerCharacter(_fold)  # NFKC of each character on its own (never empty)


def normalize_offsets(text: str) -> tuple[str, list[int]]:
    """Same result as rag.normalize.normalize_with_offsets, with per-character caches for speed."""
    folded = text.translate(_FOLDED)
    if len(folded) == len(text):  # no character grew: each maps to itself
        origin = list(range(len(text)))
    else:
        origin = [i for i, ch in enumerate(text) for _ in _FOLDED[ord(ch)]]
    simplified = to_simplified(folded)
    if len(simplified) != len(folded):  # a phrase conversion changed length: go char by char
        simplified = "".join(to_simplified(c) if len(to_simplified(c)) == 1 else c for c in folded)
    lowered = simplified.lower()
    if len(lowered) != len(simplified) or "Σ" in simplified:  # İ grows, Σ depends on its neighbours
        lowered = "".join(map(_lower, simplified))
    return lowered, origin


@lru_cache(maxsize=4096)
def is_separator(ch: str) -> bool:
    """Return whether `ch` may be inserted inside a term as disguise (space, symbol, stray punctuation)."""
    if ch in BOUNDARIES or ch in _KEEP:
        return False
    if ch.isspace():
        return True
    cat = unicodedata.category(ch)
    return cat[0] in "PZ" or cat in ("Cc", "Cf", "So", "Sk", "Sm", "Mn")


# Drops every separator from a text (None), keeps every other character (itself).
_WITHOUT_SEPARATORS = _PerCharacter(lambda ch: None if is_separator(ch) else ch)


@dataclass(frozen=True)
class TextView:
    """The original text, its normalised form and its compact form, with index maps."""

    original: str
    norm: str
    norm_origin: tuple[int, ...]  # norm index -> original index
    compact: str
    compact_norm: tuple[int, ...]  # compact index -> norm index

    @classmethod
    def of(cls, text: str) -> TextView:
        """Build the views of `text`."""
        norm, origin = normalize_offsets(text)
        compact = norm.translate(_WITHOUT_SEPARATORS)
        if len(compact) == len(norm):
            kept = range(len(norm))
        else:
            kept = [i for i, ch in enumerate(norm) if not is_separator(ch)]  # type: ignore[assignment]
        return cls(text, norm, tuple(origin), compact, tuple(kept))

    def norm_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the original text."""
        if not self.norm_origin or end <= start:
            return (0, 0)
        return (self.norm_origin[start], self.norm_origin[end - 1] + 1)

    def compact_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the compact text to the original text."""
        if end <= start:
            return (0, 0)
        return self.norm_span(self.compact_norm[start], self.compact_norm[end - 1] + 1)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences: each span includes its end punctuation and trailing closers."""
    if "." in text or "．" in text:
        return _sentence_spans_slow(text)
    spans, start = [], 0
    for m in _ENDS_RE.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _sentence_spans_slow(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] in SENTENCE_ENDS or _is_period(text, i):
            j = i + 1
            while j < n and (text[j] in SENTENCE_ENDS or text[j] in "”’」』)）\"'" or text[j] == " "):
                j += 1
            spans.append((start, j))
            start = i = j
            continue
        i += 1
    if start < n:
        spans.append((start, n))
    return spans


def _is_period(text: str, i: int) -> bool:
    # A half-width full stop ends a sentence unless it sits inside a number (3.5) or a word (a.b).
    if text[i] not in ".．":
        return False
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    return not (before.isalnum() and after.isalnum() and (before.isascii() or after.isascii()))


# A measurable superlative inside our own range is a self-comparison, which the brand may make (我们家所有奶嘴里最软的
# 一款, 品牌目前浓度最高的一款); one that also names the market (全网, 同类), or praises (最好, 最具性价比), stays a claim.
_OUR_RANGE = (
    "我们家",
    "咱家",
    "咱们家",
    "我家",
    "店里",
    "本店",
    "店内",
    "全店",
    "我们店",
    "品牌",
    "系列",
    "全线",
)
_ONE_OF_OURS = (
    "的一款",
    "的款",
    "的一个",
    "的型号",
    "的规格",
    "的那款",
    "的一支",
    "的一瓶",
    "的一件",
    "的一条",
    "的一套",
)
_MEASURABLE = (
    "薄", "厚", "软", "硬", "轻", "重", "大", "小", "长", "短", "宽", "窄", "高", "低", "浓", "淡", "新", "早", "晚",
    "多", "少", "细", "粗", "深", "浅", "滋润", "保暖", "透气", "清爽", "温和", "便宜", "贵",
)  # fmt: skip
_A_LINE_OF_OURS = re.compile(r"的[\u4e00-\u9fff]{1,4}款")  # 店里价格最低的基础款, 我们家最薄的夏季款
_ALL_OF_OURS = re.compile(r"所有[\u4e00-\u9fff]{1,6}[里中]")  # 我们家所有奶嘴里质地最软的
_IN_OUR_LINE = re.compile(r"(?:系列|全线)(?:里|中|内)")  # 这款精华在抗老系列里价格最低, 澜序全线中浓度最高
_MARKET = (
    "全网",
    "全国",
    "全球",
    "世界",
    "市面",
    "行业",
    "业内",
    "同类",
    "同价位",
    "史上",
    "所有品牌",
    "其他品牌",
    "别家",
)


def within_our_range(compact: str, start: int = 0, end: int | None = None) -> bool:
    """Return whether the first superlative 最 in `compact[start:end]` ranks a product only within our own range."""
    at = compact.find("最", start, len(compact) if end is None else end)
    if at < 0:
        return False
    lo = at
    while lo > 0 and compact[lo - 1] not in BOUNDARIES:
        lo -= 1
    hi = at
    while hi < len(compact) and compact[hi] not in BOUNDARIES:
        hi += 1
    before, after = compact[lo:at], compact[at:hi]
    return (
        compact.startswith(_MEASURABLE, at + 1)
        and any(w in before for w in _OUR_RANGE)
        and not any(w in before or w in after for w in _MARKET)
        and (
            any(w in after[:8] for w in _ONE_OF_OURS)
            or _A_LINE_OF_OURS.search(after[:10]) is not None
            or _ALL_OF_OURS.search(before) is not None
            or _IN_OUR_LINE.search(before) is not None
        )
    )
