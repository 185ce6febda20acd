"""A scenario classifier learned from the scripts' customer examples, fused with hybrid retrieval.

Trained when the index is built (`train`, scikit-learn), served with numpy alone (`ScenarioModel`): a linear
SVM over the USE vector of a message and the TF-IDF of its character 1-3 grams, whose decision values become
probabilities through a softmax whose temperature is fitted on out-of-fold decisions (calibration). Retrieval
adds `scenario_weight * P(script's scenario)` to each script's hybrid score (see `retrieve`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import HuashuError
from .normalize import normalize_query

log = logging.getLogger(__name__)
# Bump when features, learner or calibration change: the next `huashu index` then trains again.
MODEL_VERSION = "svm-char13-use-4"
NGRAMS = (1, 3)
MAX_TEXT_FEATURES = 30_000  # caps the model's size at 10,000 scripts (~3.5 MB of weights)
VECTOR_WEIGHT = 1.0  # the USE block's scale against the unit-norm TF-IDF block: 5-fold accuracy on the examples, 1 > 2 > 3
SVM_C = 1.0
MIN_EXAMPLES = 3  # per scenario: three folds of out-of-fold calibration need one each
# Examples per scenario the learner sees at most. A scenario-level decision needs no more, and the learner's
# time grows with every example (at 10,000 scripts, 45,000 examples: minutes instead of seconds). Beyond it a
# stable sample is taken: the examples whose text hashes lowest, so one added example changes little else.
MAX_PER_SCENARIO = 300
__all__ = ["MODEL_VERSION", "ScenarioModel", "TrainingError", "examples_fingerprint", "train"]


class TrainingError(HuashuError):
    """The examples cannot train a classifier (too few, one scenario): retrieval stays plain hybrid."""


def char_ngrams(text: str) -> list[str]:
    """Return the character 1-3 grams of a text already in matching form (spaces dropped)."""
    text = text.replace(" ", "")
    lo, hi = NGRAMS
    return [text[i : i + n] for n in range(lo, hi + 1) for i in range(len(text) - n + 1)]


def examples_fingerprint(entries: Iterable[tuple], provider: str) -> str:
    """Return a hash of the training data: (key, scenario, examples...) rows, the model version, the vectors' space."""
    h = hashlib.sha256(f"{MODEL_VERSION}|{provider}".encode())
    for row in sorted(entries, key=lambda r: r[0]):
        h.update(json.dumps(row, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class ScenarioModel:
    """Calibrated P(scenario | message), computed from the message text and its embedding."""

    classes: tuple[str, ...]
    vocab: dict[str, int]  # character n-gram -> row of text_coef
    idf: np.ndarray  # (n_text,)
    text_coef: np.ndarray  # (n_text, n_classes)
    vector_coef: np.ndarray  # (dim, n_classes), already scaled by VECTOR_WEIGHT
    intercept: np.ndarray  # (n_classes,)
    temperature: float
    info: dict  # version, examples, per-class counts, training seconds, out-of-fold accuracy

    def decision(self, text: str, vector: Sequence[float]) -> np.ndarray:
        """Return the linear decision value of every class for one message."""
        counts = Counter(g for g in char_ngrams(normalize_query(text)) if g in self.vocab)
        out = self.intercept + np.asarray(vector, dtype=np.float32) @ self.vector_coef
        if counts:
            rows = np.fromiter((self.vocab[g] for g in counts), dtype=np.int64, count=len(counts))
            tf = np.fromiter(
                (1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts)
            )
            w = tf * self.idf[rows]
            out = out + (w / (np.linalg.norm(w) or 1.0)) @ self.text_coef[rows]
        return out

    def probabilities(self, text: str, vector: Sequence[float]) -> dict[str, float]:
        """Return P(scenario) for every scenario the model knows."""
        z = self.decision(text, vector) * self.temperature
        p = np.exp(z - z.max())
        return dict(zip(self.classes, (p / p.sum()).tolist(), strict=True))

    # ---- storage: plain arrays, no pickle ----
    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"classes": list(self.classes), "temperature": self.temperature, "info": self.info}
        np.savez_compressed(
            buf,
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
            vocab=np.frombuffer("\n".join(self.vocab).encode(), dtype=np.uint8),
            idf=self.idf,
            text_coef=self.text_coef,
            vector_coef=self.vector_coef,
            intercept=self.intercept,
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ScenarioModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            words = z["vocab"].tobytes().decode()
            vocab = {g: i for i, g in enumerate(words.split("\n"))} if words else {}
            return cls(
                tuple(meta["classes"]),
                vocab,
                z["idf"],
                z["text_coef"],
                z["vector_coef"],
                z["intercept"],
                float(meta["temperature"]),
                meta["info"],
            )


def _check(labels: Sequence[str]) -> Counter:
    counts = Counter(labels)
    if len(counts) < 2:
        raise TrainingError(
            f"只有 {len(counts)} 个场景有顾客例句，分类器至少要两个场景：检索按原来的混合排序。"
        )
    few = sorted(s for s, n in counts.items() if n < MIN_EXAMPLES)
    if few:
        raise TrainingError(
            f"场景 {', '.join(few)} 的顾客例句少于 {MIN_EXAMPLES} 条，分类器没有训练：检索按原来的混合排序。"
            "给这些场景的话术补上顾客例句后重新索引。"
        )
    return counts


def _fit(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray):
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(
        analyzer=char_ngrams, sublinear_tf=True, max_features=MAX_TEXT_FEATURES, dtype=np.float32
    )
    features = sparse.hstack([vec.fit_transform(texts), sparse.csr_matrix(vectors * VECTOR_WEIGHT)]).tocsr()
    svm = LinearSVC(C=SVM_C, random_state=0).fit(features, labels)
    return vec, svm


def _decisions(vec, svm, texts, vectors) -> np.ndarray:
    from scipy import sparse

    d = svm.decision_function(
        sparse.hstack([vec.transform(texts), sparse.csr_matrix(vectors * VECTOR_WEIGHT)]).tocsr()
    )
    return np.column_stack([-d, d]) if d.ndim == 1 else d  # two classes: one decision value


def _temperature(texts, vectors, labels, classes) -> tuple[float, float]:
    """Fit the softmax temperature on out-of-fold decisions; return it and the out-of-fold accuracy."""
    from scipy.optimize import minimize_scalar
    from sklearn.model_selection import StratifiedKFold

    idx = np.arange(len(labels))
    decisions = np.zeros((len(idx), len(classes)), dtype=np.float64)
    y = np.searchsorted(classes, labels[idx])
    folds = StratifiedKFold(n_splits=MIN_EXAMPLES, shuffle=True, random_state=0)
    for tr, te in folds.split(idx, y):
        tr_i, te_i = idx[tr], idx[te]
        vec, svm = _fit([texts[i] for i in tr_i], vectors[tr_i], labels[tr_i])
        d = _decisions(vec, svm, [texts[i] for i in te_i], vectors[te_i])
        decisions[np.ix_(te, np.searchsorted(classes, svm.classes_))] = d  # a fold may lack a class

    def nll(t: float) -> float:
        z = decisions * t
        z = z - z.max(1, keepdims=True)
        return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())

    t = float(minimize_scalar(nll, bounds=(0.05, 50.0), method="bounded").x)
    return t, float((decisions.argmax(1) == y).mean())


def _sample(texts: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Return the positions of at most MAX_PER_SCENARIO examples of each scenario (a stable choice)."""
    by_scenario: dict[str, list[int]] = {}
    for i, s in enumerate(labels):
        by_scenario.setdefault(s, []).append(i)
    keep: list[int] = []
    for positions in by_scenario.values():
        if len(positions) > MAX_PER_SCENARIO:
            positions = sorted(positions, key=lambda i: hashlib.sha1(texts[i].encode()).digest())
        keep += positions[:MAX_PER_SCENARIO]
    return sorted(keep)


def train(texts: Sequence[str], vectors: np.ndarray, labels: Sequence[str]) -> ScenarioModel:
    """Train the classifier on customer examples (texts, their embeddings, their scenarios)."""
    started = time.perf_counter()
    counts = _check(labels)
    keep = _sample(texts, labels)
    texts = [normalize_query(texts[i]) for i in keep]
    y = np.asarray(labels)[keep]
    vectors = np.asarray(vectors, dtype=np.float32)[keep]
    vec, svm = _fit(texts, vectors, y)
    classes = svm.classes_
    temperature, oof_accuracy = _temperature(texts, vectors, y, classes)
    coef = svm.coef_ if len(classes) > 2 else np.vstack([-svm.coef_, svm.coef_])
    intercept = svm.intercept_ if len(classes) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])
    n_text = len(vec.vocabulary_)
    info = {
        "version": MODEL_VERSION,
        "examples": len(labels),
        "examples_used": len(y),
        "scenarios": len(classes),
        "per_scenario": dict(sorted(counts.items())),
        "text_features": n_text,
        "oof_accuracy": round(oof_accuracy, 4),
        "temperature": round(temperature, 4),
        "train_s": round(time.perf_counter() - started, 3),
    }
    grams = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
    model = ScenarioModel(
        tuple(str(c) for c in classes),
        {g: i for i, g in enumerate(grams)},
        vec.idf_.astype(np.float32),
        np.ascontiguousarray(coef[:, :n_text].T, dtype=np.float32),
        np.ascontiguousarray(coef[:, n_text:].T * VECTOR_WEIGHT, dtype=np.float32),
        intercept.astype(np.float32),
        temperature,
        info,
    )
    log.info("scenario model trained: %s", info)
    return model
