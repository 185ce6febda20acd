"""Keyword search: BM25 (bm25s) over Chinese character n-grams or jieba words."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import numpy as np

_WORD = re.compile(r"[a-z0-9]+|[\u4e00-\u9fff]+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]")
# Characters that carry no intent on their own: they only add noise to unigram matches.
_STOP = frozenset("的了吗呢啊呀吧哦嘛么我你您他她它们是在有就都也还和与及或这那个一不")
TOKENIZERS = ("char", "jieba")


def char_tokens(text: str) -> list[str]:
    """Tokens as CJK unigrams (minus function characters) and bigrams, plus ascii words."""
    out: list[str] = []
    for run in _WORD.findall(text):
        if not _CJK_RUN.match(run):
            out.append(run)
            continue
        out += [c for c in run if c not in _STOP]
        out += [run[i : i + 2] for i in range(len(run) - 1)]
    return out


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def jieba_tokens(text: str) -> list[str]:
    """Tokens as jieba search-mode words, minus function characters."""
    return [w for w in _jieba().lcut_for_search(text) if w.strip() and w not in _STOP and _WORD.match(w)]


def tokenizer(name: str):
    """Return the tokenizer function called `name`."""
    if name == "char":
        return char_tokens
    if name == "jieba":
        return jieba_tokens
    raise ValueError(f"unknown tokenizer {name!r}; choose one of: {', '.join(TOKENIZERS)}")


class KeywordIndex:
    """BM25 over a fixed list of documents."""

    def __init__(self, docs: list[str], tokenize=char_tokens):
        self._build([tokenize(d) for d in docs], tokenize)

    @classmethod
    def from_tokens(cls, tokens: list[list[str]], tokenize=char_tokens) -> KeywordIndex:
        """Build the index from documents already tokenised with `tokenize` (queries use it too)."""
        index = cls.__new__(cls)
        index._build(tokens, tokenize)
        return index

    def _build(self, tokens: list[list[str]], tokenize) -> None:
        import bm25s

        # bm25s forces its logger to DEBUG on import; hand the decision back to our logging config
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
        self._tokenize = tokenize
        self.size = len(tokens)
        self._bm25 = bm25s.BM25()
        if tokens:
            self._bm25.index([t or ["\u2400"] for t in tokens], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """Return the BM25 score of every document for `query`."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        tokens = self._tokenize(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return self._bm25.get_scores(tokens)
