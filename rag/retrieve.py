"""Hybrid retrieval: dense search in Chroma plus BM25, fused, scoped by brand.

The reader loads the serving index (named by the manifest) into memory once: record
metadata, item payloads and a keyword index per partition. A brand's query searches
only that brand's partition and the generic one, so no metadata `where` filter is paid.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .embeddings import ProviderEmbeddings
from .errors import IndexMismatchError, IndexNotBuiltError
from .index import CENTROID, partitions
from .keyword import KeywordIndex, tokenizer
from .store import Store, space_id
from .types import ALL_BRANDS, Hit, Policy, Script

log = logging.getLogger(__name__)
MODES = ("fused", "dense", "keyword")


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs of hybrid retrieval; defaults chosen by measuring on the dev eval split."""

    tokenizer: str = "char"
    fusion: str = "weighted"  # weighted: w_d*cos + w_k*bm25/(bm25+s); rrf: reciprocal-rank fusion
    rrf_k: int = 20
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    keyword_saturation: float = 8.0  # bm25 -> bm25 / (bm25 + s): an absolute 0..1 scale
    brand_bonus: float = 0.01
    centroid_weight: float = 0.5  # dense = (1-w) * best matching text + w * centroid of the examples
    no_match_threshold: float = 0.40
    dense_candidates: int = 80
    policy_min_score: float = 0.35


@dataclass
class _Partition:
    name: str
    kind: str
    scope: str
    ids: list[str]
    keys: list[str]
    variants: list[str]
    docs: list[str]
    id_pos: dict[str, int] = field(default_factory=dict)
    centroid_id: dict[str, str] = field(default_factory=dict)  # key -> id of its centroid record
    centroids: dict[str, np.ndarray] = field(
        default_factory=dict
    )  # key -> centroid vector, fetched on first use


@dataclass
class _KeywordScope:
    index: KeywordIndex
    rows: list[tuple[str, str, str, str]]  # (key, variant, scope, doc) per indexed text


@dataclass(frozen=True)
class ScoredItem:
    """A retrieved script or policy with its score and why."""

    hit: Hit
    item: Script | Policy
    scope: str


@dataclass(frozen=True)
class Retrieval:
    """Ranked scripts, the policies that ground them, and whether anything fit."""

    query: str
    scripts: tuple[ScoredItem, ...]
    policies: tuple[ScoredItem, ...]
    matched: bool
    timings_ms: dict[str, float]

    @property
    def best(self) -> ScoredItem | None:
        return self.scripts[0] if self.scripts else None


class IndexReader:
    """The serving index, loaded into memory, refreshed when a re-index flips the manifest."""

    def __init__(
        self,
        store: Store,
        embeddings: ProviderEmbeddings,
        config: RetrievalConfig | None = None,
        refresh_seconds: float = 2.0,
    ):
        self.store = store
        self.embeddings = embeddings
        self.config = config or RetrievalConfig()
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._checked = 0.0
        self.gen = -1
        self.manifest = None
        self.partitions: dict[str, _Partition] = {}
        self.payloads: dict[str, dict] = {}
        self.keyword: dict[str | None, _KeywordScope] = {}  # built on first use, per brand scope
        self.policy_keys: list[str] = []
        self._tokenize = tokenizer(self.config.tokenizer)
        self._objects: dict[str, Script | Policy] = {}
        self.load()

    def load(self) -> None:
        """Load the index the manifest names; raise a clear error when there is none or it does not fit."""
        manifest = self.store.read_manifest()
        if manifest is None or manifest.gen == 0:
            raise IndexNotBuiltError(
                "还没有索引。请先运行 `huashu index`（或 `make index`）从知识库建立索引。"
            )
        if manifest.provider != self.embeddings.name:
            raise IndexMismatchError(
                f"索引是用 {manifest.provider}（{manifest.dim} 维）建的，当前配置的向量模型是 {self.embeddings.name}。"
                "请运行 `huashu index --full` 用当前模型重建索引，或把 HUASHU_EMBEDDING 改回原来的值。"
            )
        active = manifest.record_ids()
        space = space_id(manifest.provider)
        tokenize = tokenizer(self.config.tokenizer)
        parts: dict[str, _Partition] = {}
        payloads: dict[str, dict] = {}
        for name in partitions(self.store, space, None, kinds=("script", "policy")):
            col = self.store.collection(name, create=False)
            if col is None:
                continue
            got = self.store.get_all(col, ["documents", "metadatas"])
            kind, scope = name.split("-")[-2:]
            part = _Partition(name, kind, scope, [], [], [], [])
            for rid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                if rid not in active:
                    continue
                part.ids.append(rid)
                part.keys.append(meta["key"])
                part.variants.append(meta["variant"])
                part.docs.append(doc)
                if "payload" in meta:
                    payloads[meta["key"]] = json.loads(meta["payload"])
            part.id_pos = {rid: i for i, rid in enumerate(part.ids)}
            part.centroid_id = {
                k: rid for k, v, rid in zip(part.keys, part.variants, part.ids, strict=True) if v == CENTROID
            }
            parts[name] = part
        with self._lock:
            self.manifest, self.gen = manifest, manifest.gen
            self.partitions, self.payloads, self._objects, self.keyword = parts, payloads, {}, {}
            self.policy_keys = [k for k in payloads if k.startswith("policy:")]
            self._tokenize = tokenize
            self._checked = time.monotonic()

    def keyword_index(self, brand: str | None) -> _KeywordScope | None:
        """Return the BM25 index a query for `brand` uses, building it on first use.

        One index per brand spans its own and the generic scripts, so their scores share one IDF; a brand with
        no scripts of its own uses the generic-only index, and no brand (None) searches everything.
        """
        scripts = [p for p in self.partitions.values() if p.kind == "script"]
        scope = brand if brand is None or any(p.scope == brand for p in scripts) else ALL_BRANDS
        index = self.keyword.get(scope)
        if index is None:
            with self._lock:
                rows = [
                    (p.keys[i], p.variants[i], p.scope, p.docs[i])
                    for p in scripts
                    if scope is None or p.scope in (ALL_BRANDS, scope)
                    for i in range(len(p.ids))
                    if p.variants[i] != CENTROID  # a centroid has a vector, not words
                ]
                index = self.keyword[scope] = _KeywordScope(
                    KeywordIndex([r[3] for r in rows], self._tokenize), rows
                )
        return index

    def refresh(self) -> bool:
        """Reload when a re-index has flipped the manifest since we loaded; return whether it did."""
        now = time.monotonic()
        if now - self._checked < self.refresh_seconds:
            return False
        self._checked = now
        state = self.store.manifest_gen()
        if state is None or state[0] == self.gen:
            return False
        log.info("index changed (gen %s -> %s): reloading", self.gen, state[0])
        self.load()
        return True

    def item(self, key: str) -> Script | Policy | None:
        """Return the script or policy stored under `key` (kind:id)."""
        obj = self._objects.get(key)
        if obj is None and key in self.payloads:
            data = dict(self.payloads[key])
            if key.startswith("script:"):
                for k in ("brands", "customer_examples", "policy_refs"):
                    data[k] = tuple(data.get(k) or ())
                obj = Script(**data)
            else:
                for k in ("brands", "scenarios"):
                    data[k] = tuple(data.get(k) or ())
                for k in ("valid_from", "valid_to"):
                    data[k] = date.fromisoformat(data[k]) if data.get(k) else None
                obj = Policy(**data)
            self._objects[key] = obj
        return obj

    def scripts(self) -> list[Script]:
        """Return every script in the serving index."""
        return [self.item(k) for k in self.payloads if k.startswith("script:")]

    def policies(self, brand: str | None, today: date) -> list[Policy]:
        """Return the policies in force today for `brand` (generic ones included)."""
        out = []
        for key in self.policy_keys:  # every draft asks: do not walk all scripts' payloads to find them
            p = self.item(key)
            if p.is_valid(today) and (brand is None or ALL_BRANDS in p.brands or brand in p.brands):
                out.append(p)
        return out

    def parts(self, kind: str, brand: str | None) -> list[_Partition]:
        return [
            p
            for p in self.partitions.values()
            if p.kind == kind and (brand is None or p.scope in (ALL_BRANDS, brand))
        ]


class Retriever:
    """Find the scripts that fit a customer message, and the policies that ground them."""

    def __init__(self, reader: IndexReader):
        self.reader = reader

    @property
    def config(self) -> RetrievalConfig:
        return self.reader.config

    def search(
        self,
        query: str,
        *,
        brand: str | None = None,
        k: int = 10,
        mode: str = "fused",
        today: date | None = None,
        vector: list[float] | None = None,
    ) -> Retrieval:
        """Rank scripts for the normalised `query`; `mode` is fused, dense or keyword."""
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose one of: {', '.join(MODES)}")
        cfg = self.config
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if mode != "keyword" and vector is None:
            vector = self.reader.embeddings.embed_query(query)
        timings["embed"] = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        dense = self._dense(vector, "script", brand) if mode != "keyword" else {}
        timings["dense"] = (time.perf_counter() - t1) * 1000
        t2 = time.perf_counter()
        keyword = self._keyword(query, "script", brand) if mode != "dense" else {}
        timings["keyword"] = (time.perf_counter() - t2) * 1000
        ranked = self._fuse(dense, keyword, brand, mode)[:k]
        scripts = tuple(
            ScoredItem(
                Hit(
                    id=it.id,
                    kind="script",
                    scenario=it.scenario,
                    score=score,
                    matched_text=doc,
                    matched_via=variant,
                    dense_score=d,
                    keyword_score=kw,
                ),
                it,
                scope,
            )
            for (score, d, kw, doc, variant, scope, it) in ranked
        )
        matched = bool(scripts) and scripts[0].hit.score >= cfg.no_match_threshold
        t3 = time.perf_counter()
        policies = self._policies(scripts[0].item if matched else None, vector, brand, today or date.today())
        timings["policies"] = (time.perf_counter() - t3) * 1000
        return Retrieval(query, scripts, policies, matched, timings)

    # ---- dense ----
    def _dense(self, vector, kind: str, brand: str | None) -> dict[str, tuple[float, str, str, str]]:
        """Return each candidate's cosine score: its best-matching text, blended with its examples' centroid."""
        best: dict[str, tuple[float, str, str, str]] = {}
        alpha = self.config.centroid_weight
        for part in self.reader.parts(kind, brand):
            if not part.ids:
                continue
            col = self.reader.store.collection(part.name, create=False)
            n = min(self.config.dense_candidates, len(part.ids))
            res = col.query(query_embeddings=[vector], n_results=n, include=["distances"])
            centroid: dict[str, float] = {}
            found: dict[str, tuple[float, str, str, str]] = {}
            for rid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
                pos = part.id_pos.get(rid)
                if pos is None:  # a record of another generation: not part of the serving index
                    continue
                key, variant, sim = part.keys[pos], part.variants[pos], 1.0 - float(dist)
                if variant == CENTROID:
                    centroid[key] = sim
                elif key not in found or sim > found[key][0]:
                    found[key] = (sim, part.docs[pos], variant, part.scope)
            if alpha and part.centroid_id:
                centroid |= self._centroid_sims(col, part, [k for k in found if k not in centroid], vector)
            for key, (sim, doc, variant, scope) in found.items():
                if key in centroid:
                    sim = (1 - alpha) * sim + alpha * centroid[key]
                if key not in best or sim > best[key][0]:
                    best[key] = (sim, doc, variant, scope)
        return best

    @staticmethod
    def _centroid_sims(col, part: _Partition, keys: list[str], vector) -> dict[str, float]:
        """Return cosine similarities to the centroids of `keys` that the nearest-neighbour query did not return.

        Centroid vectors are fetched once and cached on the partition, so a warm query does no extra round trip.
        """
        missing = [part.centroid_id[k] for k in keys if k in part.centroid_id and k not in part.centroids]
        if missing:
            got = col.get(ids=missing, include=["embeddings"])
            for rid, emb in zip(got["ids"], got["embeddings"], strict=True):
                part.centroids[part.keys[part.id_pos[rid]]] = np.asarray(emb, dtype=np.float32)
        wanted = [k for k in keys if k in part.centroids]
        if not wanted:
            return {}
        q = np.asarray(vector, dtype=np.float32)
        sims = np.stack([part.centroids[k] for k in wanted]) @ q / (np.linalg.norm(q) or 1.0)
        return dict(zip(wanted, sims.tolist(), strict=True))

    # ---- keyword ----
    def _keyword(self, query: str, kind: str, brand: str | None) -> dict[str, tuple[float, str, str, str]]:
        best: dict[str, tuple[float, str, str, str]] = {}
        scope = self.reader.keyword_index(brand)
        scores = scope.index.scores(query) if scope else np.zeros(0)
        if not scores.size:
            return best
        n = min(len(scores), self.config.dense_candidates)
        for pos in np.argpartition(-scores, n - 1)[:n]:
            key, variant, part_scope, doc = scope.rows[pos]
            s = float(scores[pos])
            if s > 0 and (key not in best or s > best[key][0]):
                best[key] = (s, doc, variant, part_scope)
        return best

    def _fuse(self, dense, keyword, brand, mode):
        cfg = self.config
        rows = []
        for key in set(dense) | set(keyword):
            item = self.reader.item(key)
            if item is None:
                continue
            d = dense.get(key, (0.0, "", "", ""))
            kw = keyword.get(key, (0.0, "", "", ""))
            kw_norm = kw[0] / (kw[0] + cfg.keyword_saturation) if kw[0] > 0 else 0.0
            if mode == "dense":
                score = d[0]
            elif mode == "keyword":
                score = kw_norm
            else:
                score = (cfg.dense_weight * d[0] + cfg.keyword_weight * kw_norm) / (
                    cfg.dense_weight + cfg.keyword_weight
                )
            scope = d[3] or kw[3]
            if brand and scope == brand:
                score += cfg.brand_bonus
            doc, variant = (d[1], d[2]) if d[0] >= kw_norm and d[1] else (kw[1], kw[2])
            rows.append((score, d[0], kw[0], doc, variant, scope, item))
        rows.sort(key=lambda r: (-r[0], r[6].id))
        if mode == "fused" and cfg.fusion == "rrf":
            rows = self._rrf(rows)
        return rows

    def _rrf(self, rows):
        """Re-rank by reciprocal rank over the dense and the keyword lists; keep the weighted score for no-match."""
        k = self.config.rrf_k
        dense_rank = {id(r): i for i, r in enumerate(sorted(rows, key=lambda r: -r[1]))}
        kw_rank = {id(r): i for i, r in enumerate(sorted(rows, key=lambda r: -r[2]))}
        w_d, w_k = self.config.dense_weight, self.config.keyword_weight

        def rrf(r):
            return w_d / (k + dense_rank[id(r)]) + w_k / (k + kw_rank[id(r)])

        return sorted(rows, key=lambda r: (-rrf(r), r[6].id))

    # ---- policies ----
    def _policies(self, script: Script | None, vector, brand, today: date) -> tuple[ScoredItem, ...]:
        out: dict[str, ScoredItem] = {}
        if script is not None:
            for ref in script.policy_refs:
                p = self.reader.item(f"policy:{ref}")
                if (
                    p is not None
                    and p.is_valid(today)
                    and (ALL_BRANDS in p.brands or brand is None or brand in p.brands)
                ):
                    out[p.id] = ScoredItem(
                        Hit(p.id, "policy", script.scenario, 1.0, matched_via="policy_ref"), p, ""
                    )
        if vector is not None:
            for key, (sim, doc, variant, scope) in sorted(
                self._dense(vector, "policy", brand).items(), key=lambda kv: -kv[1][0]
            )[:3]:
                p = self.reader.item(key)
                if p is None or p.id in out or sim < self.config.policy_min_score or not p.is_valid(today):
                    continue
                out[p.id] = ScoredItem(
                    Hit(p.id, "policy", ",".join(p.scenarios), sim, doc[:80], variant, sim), p, scope
                )
        return tuple(out.values())
