"""Text normalisation for matching: NFKC, traditional→simplified, noise stripped.

The original text is always kept for display; these functions produce the form
used for embedding, keyword search and rule matching. `normalize_with_offsets`
also returns, for every output character, the index of the original character it
came from, so that spans found in normalised text map back to the original.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0000fe0f\U0000200d\U0001f1e6-\U0001f1ff]")
_REPEATED_PUNCT = re.compile(r"([!?。！？~～,，.…])\1+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


_SURROGATE = re.compile("([\ud800-\udfff]+)")


def scrub(text: str) -> str:
    """Return `text` with every lone surrogate replaced by U+FFFD.

    A broken client (JSON's "\\ud800", a bad paste) can hand over half of a UTF-16 pair; no encoder, database
    or tokenizer accepts one, so input is scrubbed where it enters the library and is stored as it shows.
    """
    return _SURROGATE.sub(lambda m: "\ufffd" * len(m.group(0)), text) if _SURROGATE.search(text) else text


def to_simplified(text: str) -> str:
    """Convert traditional Chinese characters to simplified ones.

    A lone surrogate (from a broken paste or a bad decoder) cannot go through OpenCC, which speaks UTF-8: it
    is kept as it is and the text around it is converted.
    """
    if not text:
        return text
    if _SURROGATE.search(text) is None:
        return _t2s().convert(text)
    return "".join(p if _SURROGATE.fullmatch(p) else _t2s().convert(p) for p in _SURROGATE.split(text) if p)


def nfkc(text: str) -> str:
    """Apply Unicode NFKC: full-width letters, digits and punctuation become half-width."""
    return unicodedata.normalize("NFKC", text)


def normalize(text: str) -> str:
    """Return the matching form of `text` (NFKC, simplified, lower case, tidy spaces)."""
    text = to_simplified(nfkc(text)).lower()
    return _SPACES.sub(" ", text).strip()


def normalize_query(text: str) -> str:
    """Return the matching form of a customer message: also strips emoji, repeated punctuation and lone
    surrogates (the embedding model's tokenizer speaks UTF-8, which cannot hold them)."""
    text = _EMOJI.sub(" ", _SURROGATE.sub(" ", normalize(text)))
    text = _REPEATED_PUNCT.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Normalise `text` (NFKC, simplified, lower) keeping a map back to original indices.

    Returns (normalised, origin) where origin[i] is the index in `text` of the
    character that produced normalised[i]. Whitespace is kept as is so that
    callers decide how to treat it.
    """
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        piece = unicodedata.normalize("NFKC", ch) if ord(ch) > 0x7F else ch
        for p in piece:
            out.append(p)
            origin.append(i)
    folded = "".join(out)
    simplified = to_simplified(folded)
    if len(simplified) != len(folded):  # a phrase conversion changed length: go char by char
        simplified = "".join(to_simplified(c) if len(to_simplified(c)) == 1 else c for c in folded)
    return simplified.lower() if simplified.isascii() else _lower_keep_len(simplified), origin


def _lower_keep_len(text: str) -> str:
    # str.lower() can change length for a few code points (İ); keep the mapping aligned.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
