"""The filter's second stage: a clause classifier per wording category, learned from labelled examples.

Features are the character 1-3-grams of a clause's compact form (with start and end marks); one logistic
regression per category (scikit-learn) is trained on every clause of the examples. Scoring a clause is a sum of
weight rows, a few microseconds, so the model is exported to a vocabulary and a weight matrix and scikit-learn is
only needed to train. A trained model is cached by the fingerprint of its examples and the model version.
How the filter uses the scores on a reply (what it flags, what excuses a clause) is rag/compliance/clauseflags.py.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.compliance.examples import SOFT_CATEGORIES, Example, fingerprint, labelled_clauses

if TYPE_CHECKING:  # numpy is imported where a model is trained or used: `huashu --help` stays light
    import numpy as np

log = logging.getLogger(__name__)

MODEL_VERSION = "clause-ngram-lr-3"
NGRAMS = (1, 2, 3)
C = 16.0  # inverse regularisation of each regression: chosen by 5-fold CV on the tune examples (1, 4, 16, 48 tried)
# The lowest threshold with precision >= 0.98 and FPR <= 0.01 (the targets 0.97 / 0.02 with a margin) under
# 5-fold cross-validation on the tune examples: benchmarks/compliance_cv.py. Used for a category with none below.
DEFAULT_THRESHOLD = 0.85
# One threshold per category, chosen by benchmarks/compliance_cv.py --by-author (each tune author held out in turn;
# every combination searched): the classifier on its own finds the most violations while staying as precise as at
# DEFAULT_THRESHOLD for all, and the whole filter keeps precision >= 0.98 and FPR <= 0.01 (18 authors, 3,276 cases).
# The disparagement classifier is the least precise on unread authors, so it flags only when surer. Unnamed:
# DEFAULT_THRESHOLD.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "forbidden_service_phrase": 0.85,
    "absolute_claim": 0.8,
    "unconditional_promise": 0.85,
    "competitor_disparagement": 0.9,
    "medical_claim": 0.8,
    "false_authority": 0.75,
}
Thresholds = float | Mapping[str, float]


def threshold_of(thresholds: Thresholds | None, category: str) -> float:
    """Return the probability at which `category` is flagged: one number for all, or a category's own."""
    if thresholds is None:
        thresholds = DEFAULT_THRESHOLDS
    if isinstance(thresholds, Mapping):
        return thresholds.get(category, DEFAULT_THRESHOLD)
    return float(thresholds)


_MIN_DF = 2  # an n-gram seen in one clause only teaches nothing about new wording


def features(compact: str) -> set[str]:
    """Return the character n-grams of a clause's compact form, start and end marked."""
    marked = f"^{compact}$"
    return {marked[i : i + n] for n in NGRAMS for i in range(len(marked) - n + 1)}


_CODE_BITS = 21  # every code point fits in 21 bits, so an n-gram of up to three is one 63-bit number
assert max(NGRAMS) * _CODE_BITS < 64


def _gram_number(gram: str) -> int:
    """Return an n-gram (n <= 3) as one number: its code points side by side (no two n-grams share one, as no
    compact text holds a NUL)."""
    number = 0
    for ch in gram:
        number = number << _CODE_BITS | ord(ch)
    return number


def _gram_ids(compacts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Return the numbers of every clause's distinct marked n-grams (features()) and the clause each belongs to,
    sorted by clause."""
    import numpy as np

    marked = [f"^{c}$" for c in compacts]
    codes = np.frombuffer("".join(marked).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    clause = np.repeat(np.arange(len(marked)), [len(m) for m in marked])
    ids, owners = [codes], [clause]
    for n in NGRAMS[1:]:
        same = clause[: len(clause) - n + 1] == clause[n - 1 :]  # an n-gram never spans two clauses
        number = codes[: len(codes) - n + 1].copy()
        for k in range(1, n):
            number = number << _CODE_BITS | codes[k : len(codes) - n + 1 + k]
        ids.append(number[same])
        owners.append(clause[: len(clause) - n + 1][same])
    ids_all, owner = np.concatenate(ids), np.concatenate(owners)
    order = np.lexsort((ids_all, owner))
    ids_all, owner = ids_all[order], owner[order]
    first = np.ones(len(ids_all), dtype=bool)
    first[1:] = (ids_all[1:] != ids_all[:-1]) | (owner[1:] != owner[:-1])
    return ids_all[first], owner[first]


@dataclass(frozen=True)
class ClauseModel:
    """A trained clause classifier: vocabulary, weights per category, and the positive clauses it learned from."""

    version: str
    fingerprint: str
    categories: tuple[str, ...]
    vocab: dict[str, int]
    weights: np.ndarray  # (len(vocab) + 1, len(categories)); the last row, all zeros, is any unknown n-gram
    bias: np.ndarray  # (len(categories),)
    positives: dict[str, tuple[str, ...]] = field(default_factory=dict)  # category -> compact clauses
    examples: int = 0
    clauses: int = 0
    trained_ms: float = 0.0
    memo_size: int = field(default=20_000, compare=False)  # clauses remembered: drafts repeat their scripts

    def scores(self, compact: str) -> np.ndarray:
        """Return the probability of each category for one clause."""
        return self.scores_many([compact])[0]

    def scores_many(self, compacts: Sequence[str]) -> np.ndarray:
        """Return the probability of each category for each clause, one row a clause, in one numpy pass."""
        import numpy as np

        if not self.memo_size:
            return self._score(compacts)
        memo = self._memo
        rows = [memo.get(c) for c in compacts]
        if any(r is None for r in rows):
            missing = list(dict.fromkeys(c for c, r in zip(compacts, rows, strict=True) if r is None))
            scored = dict(zip(missing, self._score(missing), strict=True))
            if len(memo) + len(missing) > self.memo_size:
                memo.clear()  # crude but bounded; a dict's get and set are safe across threads
            memo.update(scored)
            rows = [r if r is not None else scored[c] for r, c in zip(rows, compacts, strict=True)]
        return np.asarray(rows)

    @cached_property
    def _memo(self) -> dict[str, np.ndarray]:
        return {}

    def __getstate__(self) -> dict:
        """Pickle the model, not what this process remembered of it."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_memo", "_bigram_index", "_gram_index")}

    def _score(self, compacts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not compacts:
            return np.empty((0, len(self.categories)))
        # Every clause's distinct n-grams as numbers (rag.compliance.learned._gram_ids), looked up in the sorted
        # numbers of the vocabulary: the same sums as features() and a dict lookup per n-gram, in a few numpy calls.
        ids, clause = _gram_ids(compacts)
        known, rows = self._gram_index
        at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
        row = np.where(known[at] == ids, rows[at], len(self.vocab))  # the last weight row is zeros: unknown
        counts = np.bincount(clause, minlength=len(compacts))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        z = np.add.reduceat(self.weights[row], starts, axis=0) / np.sqrt(counts)[:, None]
        return 1 / (1 + np.exp(-(z + self.bias)))

    @cached_property
    def _gram_index(self) -> tuple[np.ndarray, np.ndarray]:
        """The vocabulary's n-grams as sorted numbers, and the weight row of each."""
        import numpy as np

        grams = list(self.vocab)
        ids = np.asarray([_gram_number(g) for g in grams], dtype=np.int64)
        order = np.argsort(ids)
        rows = np.asarray([self.vocab[g] for g in grams], dtype=np.int64)
        return ids[order], rows[order]

    def nearest(self, category: str, compact: str) -> str:
        """Return the labelled clause of `category` closest to `compact`: the most character bigrams shared for the
        bigrams the two hold between them (Jaccard), the first such clause on a tie; "" when there is none."""
        import numpy as np

        vocab, pointers, owners, sizes = self._bigram_index[category]
        if not len(sizes):
            return ""
        grams = _bigrams(compact)
        ids = [vocab[g] for g in grams if g in vocab]
        shared = np.bincount(
            np.concatenate([owners[pointers[i] : pointers[i + 1]] for i in ids] or [np.empty(0, np.int64)]),
            minlength=len(sizes),
        )
        return self.positives[category][int((shared / (len(grams) + sizes - shared)).argmax())]

    @cached_property
    def _bigram_index(self) -> dict[str, tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]]:
        """Per category, an inverted index of its positive clauses' bigrams: each bigram's id, where its clauses
        start in `owners`, the clauses holding each bigram, and each clause's number of bigrams."""
        import numpy as np

        out = {}
        for category in self.categories:
            vocab: dict[str, int] = {}
            ids: list[int] = []
            owners: list[int] = []
            sizes: list[int] = []
            for k, text in enumerate(self.positives.get(category, ())):
                grams = _bigrams(text)
                sizes.append(len(grams))
                ids += [vocab.setdefault(g, len(vocab)) for g in grams]
                owners += [k] * len(grams)
            order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
            pointers = np.searchsorted(np.asarray(ids, dtype=np.int64)[order], np.arange(len(vocab) + 1))
            out[category] = (vocab, pointers, np.asarray(owners, dtype=np.int64)[order], np.asarray(sizes))
        return out

    @property
    def info(self) -> dict:
        """Return what identifies this model: version, training-data fingerprint, sizes and training time."""
        return {
            "version": self.version,
            "fingerprint": self.fingerprint,
            "examples": self.examples,
            "clauses": self.clauses,
            "trained_ms": round(self.trained_ms, 1),
        }


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def training_rows(examples: Sequence[Example]) -> tuple[list[str], np.ndarray]:
    """Return the compact clauses of `examples` and their 0/1 labels, one column per soft category."""
    import numpy as np

    texts: list[str] = []
    labels: list[list[int]] = []
    seen: dict[str, int] = {}
    for ex in examples:
        for clause, cats in labelled_clauses(ex):
            row = [int(c in cats) for c in SOFT_CATEGORIES]
            if clause.compact in seen:  # the same clause twice: positive if any copy is
                labels[seen[clause.compact]] = [
                    max(a, b) for a, b in zip(labels[seen[clause.compact]], row, strict=True)
                ]
                continue
            seen[clause.compact] = len(texts)
            texts.append(clause.compact)
            labels.append(row)
    return texts, np.asarray(labels, dtype=np.int8).reshape(-1, len(SOFT_CATEGORIES))


def train(examples: Sequence[Example], *, c: float = C) -> ClauseModel:
    """Train one logistic regression per soft category on the clauses of `examples`."""
    import numpy as np

    started = time.perf_counter()
    texts, y = training_rows(examples)
    grams = [features(t) for t in texts]
    df = Counter(g for row in grams for g in row)
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for r, row in enumerate(grams):
        scale = 1 / math.sqrt(len(row))  # as in scoring: every n-gram counts in the norm, known or not
        for gram in row:
            if df[gram] >= _MIN_DF:
                rows.append(r)
                cols.append(vocab.setdefault(gram, len(vocab)))
                vals.append(scale)
    weights, bias = _fit(rows, cols, vals, len(texts), len(vocab), y, c)
    weights = np.vstack([weights, np.zeros((1, weights.shape[1]))])
    positives = {
        cat: tuple(t for t, row in zip(texts, y, strict=True) if row[j])
        for j, cat in enumerate(SOFT_CATEGORIES)
    }
    model = ClauseModel(
        version=MODEL_VERSION,
        fingerprint=model_key(examples, c),
        categories=SOFT_CATEGORIES,
        vocab=vocab,
        weights=weights,
        bias=bias,
        positives=positives,
        examples=len(examples),
        clauses=len(texts),
        trained_ms=(time.perf_counter() - started) * 1000,
    )
    log.info("trained the clause classifier on %d clauses in %.0f ms", len(texts), model.trained_ms)
    return model


def _fit(
    rows: list[int], cols: list[int], vals: list[float], n: int, v: int, y: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fit L2-regularised, class-balanced logistic regressions, one per column of `y`, with Newton-CG.

    The objective is scikit-learn's (0.5 |w|^2 + C * weighted log loss, bias not penalised), fitted for all
    categories at once: each is independent, so one optimiser run over the stacked weights solves them all.
    Newton steps with Hessian-vector products need a few dozen sparse products where L-BFGS needs hundreds
    of iterations, each costly at tens of thousands of weights.
    """
    import numpy as np
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    k = y.shape[1]
    if not rows or n == 0:
        return np.zeros((v, k)), np.full(k, -10.0)
    x = csr_matrix((vals, (rows, cols)), shape=(n, v))
    xt = x.T.tocsr()
    pos = y.sum(axis=0).astype(float)
    usable = (pos > 0) & (pos < n)
    sw = np.where(y == 1, n / (2 * np.maximum(pos, 1)), n / (2 * np.maximum(n - pos, 1))) * c
    yf = y.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: v * k].reshape(v, k), theta[v * k :]
        z = x @ w + b
        # log(1 + e^z) - y z, computed stably
        value = (sw * (np.logaddexp(0, z) - yf * z)).sum() + 0.5 * (w * w).sum()
        g = sw * (1 / (1 + np.exp(-z)) - yf)
        return value, np.concatenate([(xt @ g + w).ravel(), g.sum(axis=0)])

    def hessp(theta: np.ndarray, p: np.ndarray) -> np.ndarray:
        w, b = theta[: v * k].reshape(v, k), theta[v * k :]
        pw, pb = p[: v * k].reshape(v, k), p[v * k :]
        s = 1 / (1 + np.exp(-(x @ w + b)))
        d = sw * s * (1 - s) * (x @ pw + pb)
        return np.concatenate([(xt @ d + pw).ravel(), d.sum(axis=0)])

    result = minimize(
        loss,
        np.zeros(v * k + k),
        jac=True,
        hessp=hessp,
        method="Newton-CG",
        options={"maxiter": 100, "xtol": 1e-6},
    )
    weights, bias = result.x[: v * k].reshape(v, k), result.x[v * k :]
    weights[:, ~usable] = 0.0
    bias[~usable] = -10.0  # a category with no positive (or no negative) clause never fires
    return weights, bias


def model_key(examples: Sequence[Example], c: float = C) -> str:
    """Return the cache key of a model: the examples' fingerprint, the model version and its settings."""
    return f"{fingerprint(examples)}-{MODEL_VERSION}-c{c:g}"


_RECENT: dict[str, ClauseModel] = {}  # models trained or read in this process, by key (a few, immutable)


def load_or_train(examples: Sequence[Example], cache_dir: Path | None) -> ClauseModel:
    """Return the model for `examples` from the cache, training (and caching) it when it is not there.

    Models are kept in this process too: a reload, or another knowledge base with the same examples, reuses one,
    and leaves it in that one's `cache_dir` for the processes that open it next (a CLI run, the API's workers).
    """
    key = model_key(examples)
    if key in _RECENT:
        if cache_dir is not None and not (cache_dir / f"{key}.pickle").exists():
            _load_or_train(examples, key, cache_dir, made=_RECENT[key])
        return _RECENT[key]
    model = _load_or_train(examples, key, cache_dir)
    if len(_RECENT) >= 4:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[key] = model
    return model


def _load_or_train(
    examples: Sequence[Example], key: str, cache_dir: Path | None, made: ClauseModel | None = None
) -> ClauseModel:
    if cache_dir is None:
        return made or train(examples)
    from rag.picklecache import cached_pickle

    return cached_pickle(
        cache_dir / f"{key}.pickle",
        lambda: made or train(examples),
        lambda found: isinstance(found, ClauseModel) and found.fingerprint == key,
        "*.pickle",
    )
