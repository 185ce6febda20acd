"""Hybrid retrieval: dense search in Chroma plus BM25, fused, scoped by brand.

A brand's query searches only that brand's partition and the generic one (see `reader`), so no metadata
`where` filter is paid. Scripts are ranked; policies and reference chunks come back beside them as context.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date

import numpy as np

from .reader import IndexReader, Partition, RetrievalConfig
from .records import CENTROID
from .types import ALL_BRANDS, Hit, Policy, ReferenceChunk, Script

log = logging.getLogger(__name__)
# fused: hybrid + the scenario classifier (when the generation has one); hybrid: dense + keyword only;
# classifier: scripts ranked by P(scenario) alone (hybrid breaks ties); dense, keyword: one side alone
MODES = ("fused", "dense", "keyword", "hybrid", "classifier")
SCENARIO_PICKS = 3  # scenarios whose scripts join the candidates even when neither search found them
__all__ = ["MODES", "IndexReader", "Retrieval", "RetrievalConfig", "Retriever", "ScoredItem"]


@dataclass(frozen=True)
class ScoredItem:
    """A retrieved script or policy with its score and why."""

    hit: Hit
    item: Script | Policy | ReferenceChunk
    scope: str


@dataclass(frozen=True)
class Retrieval:
    """Ranked scripts, the policies that ground them, reference chunks as context, and whether anything fit."""

    query: str
    scripts: tuple[ScoredItem, ...]
    policies: tuple[ScoredItem, ...]
    matched: bool
    timings_ms: dict[str, float]
    references: tuple[ScoredItem, ...] = ()

    @property
    def best(self) -> ScoredItem | None:
        return self.scripts[0] if self.scripts else None


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
        """Rank scripts for the normalised `query`; `mode` is one of MODES (fused by default)."""
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
        rows = self._fuse(dense, keyword, brand, mode)
        best_hybrid = rows[0][0] if rows else 0.0  # "nothing fits" is judged as before the classifier
        t5 = time.perf_counter()
        ranked = self._classify(rows, query, vector, brand, mode)
        ranked = (_diversify(ranked) if mode == "fused" else ranked)[:k]
        timings["classify"] = (time.perf_counter() - t5) * 1000
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
                    scenario_prob=p,
                ),
                it,
                scope,
            )
            for (score, d, kw, doc, variant, scope, it, p) in ranked
        )
        matched = bool(scripts) and best_hybrid >= cfg.no_match_threshold
        t3 = time.perf_counter()
        policies = self._policies(scripts[0].item if matched else None, vector, brand, today or date.today())
        timings["policies"] = (time.perf_counter() - t3) * 1000
        t4 = time.perf_counter()
        references = self._references(vector, brand) if vector is not None else ()
        timings["references"] = (time.perf_counter() - t4) * 1000
        return Retrieval(query, scripts, policies, matched, timings, references)

    # ---- dense ----
    def _dense(self, vector, kind: str, brand: str | None) -> dict[str, tuple[float, str, str, str]]:
        """Return each candidate's cosine score: its best-matching text, blended with its examples' centroid."""
        best: dict[str, tuple[float, str, str, str]] = {}
        alpha = self.config.centroid_weight
        for part in self.reader.parts(kind, brand):
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
            if alpha and part.centroids:
                centroid |= _centroid_sims(part, [k for k in found if k not in centroid], vector)
            for key, (sim, doc, variant, scope) in found.items():
                if key in centroid:
                    sim = (1 - alpha) * sim + alpha * centroid[key]
                if key not in best or sim > best[key][0]:
                    best[key] = (sim, doc, variant, scope)
        return best

    # ---- keyword ----
    def _keyword(self, query: str, kind: str, brand: str | None) -> dict[str, tuple[float, str, str, str]]:
        best: dict[str, tuple[float, str, str, str]] = {}
        scope = self.reader.keyword_index(brand)
        scores = scope.index.scores(query)
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
            rows.append((score, d[0], kw[0], doc, variant, scope, item, 0.0))
        rows.sort(key=lambda r: (-r[0], r[6].id))
        if mode in ("fused", "hybrid", "classifier") and cfg.fusion == "rrf":
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

    # ---- scenario classifier ----
    def _classify(self, rows, query: str, vector, brand: str | None, mode: str):
        """Add w * P(scenario) to each script's hybrid score (fused), or rank by P alone (classifier).

        The scripts of the likeliest scenarios join the candidates when neither search brought them back.
        Without a classifier in this generation, or in the other modes, the hybrid ranking stands."""
        model = self.reader.scenario_model
        if model is None or vector is None or mode not in ("fused", "classifier"):
            return rows
        probs = model.probabilities(query, vector)
        seen = {r[6].id for r in rows}
        for scenario in sorted(probs, key=lambda s: -probs[s])[:SCENARIO_PICKS]:
            for key in self.reader.by_scenario.get(scenario, ()):
                item = self.reader.item(key)
                if item.id in seen or not (
                    brand is None or ALL_BRANDS in item.brands or brand in item.brands
                ):
                    continue
                scope = brand if brand and brand in item.brands else ALL_BRANDS
                rows.append((0.0, 0.0, 0.0, "", "", scope, item, 0.0))
        w = self.config.scenario_weight
        out = []
        for r in rows:
            p = probs.get(r[6].scenario, 0.0)
            score = r[0] + w * p if mode == "fused" else p + 1e-3 * r[0]
            out.append((score, *r[1:7], p))
        out.sort(key=lambda r: (-r[0], r[6].id))
        return out

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

    # ---- references ----
    def _references(self, vector, brand) -> tuple[ScoredItem, ...]:
        """Return the reference chunks close enough to show as context: never a script to send."""
        cfg = self.config
        if not cfg.references_shown or not self.reader.parts("reference", brand):
            return ()
        ranked = sorted(self._dense(vector, "reference", brand).items(), key=lambda kv: (-kv[1][0], kv[0]))
        out = []
        for key, (sim, doc, variant, scope) in ranked[: cfg.references_shown]:
            chunk = self.reader.item(key)
            if chunk is None or sim < cfg.reference_min_score:
                continue
            out.append(ScoredItem(Hit(chunk.id, "reference", "", sim, doc[:80], variant, sim), chunk, scope))
        return tuple(out)


def _diversify(ranked: list) -> list:
    """Return `ranked` with a second scenario in the top three when its first three share one.

    The agent's next-best scripts are one click away: three scripts of one scenario offer one guess three
    times, while a near miss is most often a neighbouring scenario (not "no script fits"). The first two keep
    their places.
    """
    if len(ranked) < 4 or len({row[6].scenario for row in ranked[:3]}) > 1:
        return ranked
    first = ranked[0][6].scenario
    other = next(
        (i for i, row in enumerate(ranked[3:], 3) if row[6].scenario not in (first, "out_of_scope")), None
    )
    if other is None:
        return ranked
    return [*ranked[:2], ranked[other], *ranked[2:other], *ranked[other + 1 :]]


def _centroid_sims(part: Partition, keys: list[str], vector) -> dict[str, float]:
    """Return cosine similarities to the example centroids of `keys` (loaded with the reader)."""
    wanted = [k for k in keys if k in part.centroids]
    if not wanted:
        return {}
    q = np.asarray(vector, dtype=np.float32)
    sims = np.stack([part.centroids[k] for k in wanted]) @ q / (np.linalg.norm(q) or 1.0)
    return dict(zip(wanted, sims.tolist(), strict=True))
