"""Keyword search: BM25 over Chinese character n-grams or jieba words."""

from __future__ import annotations

import math
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


class Vocabulary:
    """Token -> id, shared by the keyword indexes of one generation so each text is mapped once."""

    def __init__(self):
        self.ids: dict[str, int] = {}

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Return the ids of `tokens`, giving new tokens the next free ids."""
        ids = self.ids
        return np.fromiter((ids.setdefault(t, len(ids)) for t in tokens), dtype=np.int64, count=len(tokens))

    def lookup(self, tokens: list[str]) -> list[int]:
        """Return the ids of the known tokens among `tokens`, repeats kept, unknown ones left out."""
        return [self.ids[t] for t in tokens if t in self.ids]


class KeywordIndex:
    """BM25 (Lucene variant, k1 1.5, b 0.75) over a fixed list of documents.

    Scores are those of bm25s, computed the same way step for step, but the index is built with whole-array
    numpy operations instead of a Python loop per document: a background reload rebuilds every brand scope in
    milliseconds and leaves the interpreter to the drafting threads.
    """

    K1 = 1.5
    B = 0.75

    def __init__(self, docs: list[str], tokenize=char_tokens):
        vocab = Vocabulary()
        self._build([vocab.encode(tokenize(d) or ["\u2400"]) for d in docs], vocab, tokenize)

    @classmethod
    def from_ids(cls, ids: list[np.ndarray], vocab: Vocabulary, tokenize=char_tokens) -> KeywordIndex:
        """Build the index from documents already encoded with `vocab` (queries are encoded with it too)."""
        index = cls.__new__(cls)
        index._build(ids, vocab, tokenize)
        return index

    def _build(self, ids: list[np.ndarray], vocab: Vocabulary, tokenize) -> None:
        self._tokenize = tokenize
        self._vocab = vocab
        self.size = n = len(ids)
        n_vocab = len(vocab.ids)
        lengths = np.fromiter((len(a) for a in ids), dtype=np.int64, count=n)
        flat = np.concatenate(ids) if n else np.zeros(0, dtype=np.int64)
        # one entry per (document, token) pair with its term frequency, ordered by document then token
        pairs, tf = np.unique(
            (np.repeat(np.arange(n, dtype=np.int64), lengths) << 32) | flat, return_counts=True
        )
        doc, tok = pairs >> 32, pairs & 0xFFFFFFFF
        df = np.bincount(tok, minlength=n_vocab)
        idf = np.zeros(n_vocab, dtype=np.float32)
        for d in np.unique(df[df > 0]).tolist():  # math.log, as bm25s takes it, once per distinct frequency
            idf[df == d] = math.log(1 + (n - d + 0.5) / (d + 0.5))
        avg_len = lengths.mean() if n else 1.0
        denom = self.K1 * ((1 - self.B) + self.B * lengths / avg_len)
        tf = tf.astype(np.float64)
        score = (idf[tok] * (tf / (denom[doc] + tf))).astype(np.float32)
        order = np.argsort((tok << 32) | doc, kind="stable")  # column-major: each token's documents together
        self._data = score[order]
        self._docs = doc[order]
        self._indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=self._indptr[1:])

    def scores(self, query: str) -> np.ndarray:
        """Return the BM25 score of every document for `query`."""
        out = np.zeros(self.size, dtype=np.float32)
        for t in self._vocab.lookup(self._tokenize(query)):  # a repeated query token counts again
            start, end = self._indptr[t], self._indptr[t + 1]
            np.add.at(out, self._docs[start:end], self._data[start:end])
        return out
