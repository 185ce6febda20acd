"""Benchmark retrieval at scale: p95 as the script count grows, partitions against a `where` filter.

Run: .venv/bin/python benchmarks/retrieval_scale.py [--sizes 10000 100000] [--json OUT]
Embedding 100k scripts with USE takes too long for a benchmark, so the index is written
directly through Store with SYNTHETIC vectors: real USE embeddings of a few hundred distinct
customer messages (grouped by scenario), each record's vector one of its scenario's, perturbed
by Gaussian noise and re-normalised. Queries are real eval-set messages with real embeddings.
Records use the library's own layout (build_records, one collection per brand scope, the
manifest); by default each script contributes one record (its reply, which carries the payload),
so N scripts = N vectors; --vectors-per-script 8 comes close to the real shape at ~8x the cost.
Baseline in the same run: the same records in ONE collection, brand-scoped with a Chroma
`where` metadata filter.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import _common as c
import numpy as np

# Which of a script's records to keep, in order; the reply carries the payload the reader needs.
VARIANT_ORDER = ("reply", "example0", "centroid", "title", "example1", "example2", "example3", "example4")
SQLITE_PAGE = 10_000
BASELINE = "bench-where-baseline"


class _PagedCollection:
    """A Chroma collection whose full `get()` is fetched in pages (works past 32,766 records)."""

    def __init__(self, col):
        self._col = col

    def __getattr__(self, name):
        return getattr(self._col, name)

    def get(self, ids=None, include=("documents", "metadatas"), **kw):
        if ids is not None or "limit" in kw:
            return self._col.get(ids=ids, include=list(include), **kw)
        out: dict = {"ids": [], "documents": [], "metadatas": []}
        offset = 0
        while True:
            page = self._col.get(include=list(include), limit=SQLITE_PAGE, offset=offset, **kw)
            for key in out:
                out[key] += page.get(key) or []
            if len(page["ids"]) < SQLITE_PAGE:
                return out
            offset += SQLITE_PAGE


class PagedStore:
    """Our Store, but full reads page through Chroma: the benchmark's workaround, not the library's."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def collection(self, name: str, *, create: bool = True):
        col = self._store.collection(name, create=create)
        return _PagedCollection(col) if col is not None else None


def _script(data: dict, i: int):
    from rag.types import ALL_BRANDS, Script

    brands = (ALL_BRANDS,) if data["brands"] == "all" else tuple(data["brands"])
    return Script(
        id=data["id"],
        scenario=data["scenario"],
        brands=brands,
        title=data["title"],
        customer_examples=tuple(data["customer_examples"]),
        reply=data["reply"],
        notes=data["notes"],
        policy_refs=tuple(data["policy_refs"]),
        source=f"scripts/syn/part_{i // 100:04d}.yaml",
        line=1 + 12 * (i % 100),
    )


class SyntheticWriter:
    """Write synthetic scripts into the partitioned store and the one-collection baseline."""

    def __init__(self, store, embeddings, args, refs):
        from rag.store import space_id

        self.store, self.args, self.refs = store, args, refs
        self.space, self.provider = space_id(embeddings.name), embeddings.name
        self.rng = np.random.default_rng(args.seed)
        self.items: dict[str, dict] = {}
        self.written = 0
        rnd = random.Random(args.seed)
        self.pool: dict[str, np.ndarray] = {}
        texts, owners = [], []
        for scenario in c.CUSTOMER:
            seen: set[str] = set()
            while len(seen) < args.pool_per_scenario:
                brand = rnd.choice((*c.BRANDS, "all"))
                seen.add(c.customer_example(rnd, scenario, rnd.choice(c.PRODUCTS[brand])))
            texts += sorted(seen)
            owners += [scenario] * len(seen)
        vectors = embeddings.embed_array(texts)
        for scenario in c.CUSTOMER:
            self.pool[scenario] = vectors[[i for i, o in enumerate(owners) if o == scenario]]
        self.pool_texts = len(texts)
        self.baseline = (
            None
            if args.no_baseline
            else store.client.get_or_create_collection(
                BASELINE, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        )

    def _vectors(self, scenarios: list[str]) -> np.ndarray:
        base = np.stack([self.pool[s][self.rng.integers(len(self.pool[s]))] for s in scenarios])
        noise = self.rng.standard_normal(base.shape).astype(np.float32) * (
            self.args.noise / np.sqrt(base.shape[1])
        )
        v = base + noise
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def write_policies(self, policies, embeddings) -> None:
        """Index the starter policies with real vectors (they ground drafts; they are few)."""
        from rag.records import build_records, item_hash, item_key

        records = []
        for p in policies:
            key, h = item_key(p), item_hash(p)
            recs = build_records(p, key, h, self.store, self.space)
            self.items[key] = {"h": h, "s": p.source, "r": [r.id for r in recs]}
            records += recs
        vectors = embeddings.embed_array([r.text for r in records])
        self._upsert(records, vectors, baseline=False)

    def _upsert(self, records, vectors, *, baseline: bool) -> tuple[float, float]:
        by_col: dict[str, list[int]] = {}
        for i, r in enumerate(records):
            by_col.setdefault(r.collection, []).append(i)
        t = time.perf_counter()
        for name, idx in by_col.items():
            col = self.store.collection(name)
            for s in range(0, len(idx), self.args.batch):
                chunk = idx[s : s + self.args.batch]
                col.upsert(
                    ids=[records[i].id for i in chunk],
                    embeddings=vectors[chunk],
                    documents=[records[i].text for i in chunk],
                    metadatas=[records[i].metadata for i in chunk],
                )
        part_s = time.perf_counter() - t
        t = time.perf_counter()
        if baseline and self.baseline is not None:
            for s in range(0, len(records), self.args.batch):
                chunk = list(range(s, min(len(records), s + self.args.batch)))
                self.baseline.add(
                    ids=[records[i].id for i in chunk],
                    embeddings=vectors[chunk],
                    documents=[records[i].text for i in chunk],
                    metadatas=[records[i].metadata for i in chunk],
                )
        return part_s, time.perf_counter() - t

    def grow_to(self, n: int) -> dict:
        """Add scripts until there are `n`; flip the manifest; return write timings."""
        from rag.records import build_records, item_hash, item_key

        vps = self.args.vectors_per_script
        part_s = base_s = 0.0
        vectors_written = 0
        for start in range(self.written, n, self.args.batch):
            records, scenarios = [], []
            for i in range(start, min(n, start + self.args.batch)):
                script = _script(c.synthetic_script(i, self.args.seed, 0, self.refs), i)
                key, h = item_key(script), item_hash(script)
                keep = set(VARIANT_ORDER[:vps])
                recs = [
                    r
                    for r in build_records(script, key, h, self.store, self.space)
                    if r.metadata["variant"] in keep
                ]
                self.items[key] = {"h": h, "s": script.source, "r": [r.id for r in recs]}
                records += recs
                scenarios += [script.scenario] * len(recs)
            vectors = self._vectors(scenarios)
            p, b = self._upsert(records, vectors, baseline=True)
            part_s, base_s, vectors_written = part_s + p, base_s + b, vectors_written + len(records)
        self.written = n
        t = time.perf_counter()
        manifest_bytes = self._flip()
        flip_ms = c.ms_since(t)
        return {
            "new_vectors": vectors_written,
            "partitions_write_s": round(part_s, 2),
            "partitions_vectors_per_s": round(vectors_written / part_s, 1) if part_s else None,
            "baseline_write_s": round(base_s, 2),
            "baseline_vectors_per_s": round(vectors_written / base_s, 1) if base_s else None,
            "manifest_write_ms": round(flip_ms, 1),
            "manifest_bytes": manifest_bytes,
        }

    def _flip(self) -> int:
        """Write the manifest naming every record so far (the switch readers see); return its size."""
        from rag.store import Manifest

        old = self.store.read_manifest()
        manifest = Manifest(
            gen=(old.gen if old else 0) + 1,
            provider=self.provider,
            dim=512,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            kb_path="(synthetic, benchmarks/retrieval_scale.py)",
            kb_fingerprint=f"synthetic-{self.written}",
            items=self.items,
        )
        self.store.write_manifest(manifest)
        return len(manifest.encode())


def _load_reader(store, embeddings) -> tuple[object, dict]:
    """Load the serving index with the stock reader; on failure report why and page instead."""
    from rag.retrieve import IndexReader

    t = time.perf_counter()
    try:
        reader = IndexReader(store, embeddings)
        return reader, {"stock_reader": "ok", "load_ms": round(c.ms_since(t), 1)}
    except Exception as exc:  # the finding is the point: report it, then measure with paging
        failed_ms = c.ms_since(t)
        error = f"{type(exc).__name__}: {exc}"
    t = time.perf_counter()
    reader = IndexReader(PagedStore(store), embeddings)
    return reader, {
        "stock_reader": "FAILED",
        "stock_error": error[:300],
        "stock_failed_after_ms": round(failed_ms, 1),
        "load_ms": round(c.ms_since(t), 1),
        "paged_workaround": True,
    }


def measure(reader, baseline, queries, vectors, dense_candidates: int, baseline_queries: int) -> dict:
    """Time each way of searching, query by query, in rotating order."""
    from rag.retrieve import Retriever

    retriever = Retriever(reader)
    samples: dict[str, list[float]] = {}

    def add(name: str, ms: float) -> None:
        samples.setdefault(name, []).append(ms)

    def fused(q, b, v):
        t = time.perf_counter()
        got = retriever.search(q, brand=b)
        add("fused_scoped_total", c.ms_since(t))
        for k, ms in got.timings_ms.items():
            add(f"fused_scoped.{k}", ms)

    def dense(q, b, v):
        got = retriever.search(q, brand=b, mode="dense", vector=v)
        add("dense_scoped_partitions", got.timings_ms["dense"])
        got = retriever.search(q, brand=None, mode="dense", vector=v)
        add("dense_unscoped_partitions", got.timings_ms["dense"])

    def where(q, b, v):
        if baseline is None or len(samples.get("dense_unscoped_one_collection", ())) >= baseline_queries:
            return
        for name, filt in (
            ("dense_scoped_where_baseline", {"scope": {"$in": ["all", b]}}),
            ("dense_unscoped_one_collection", None),
        ):
            t = time.perf_counter()
            res = baseline.query(
                query_embeddings=[v], n_results=dense_candidates, where=filt, include=["distances"]
            )
            best: dict[str, float] = {}
            for rid, dist in zip(res["ids"][0], res["distances"][0], strict=True):
                key = rid.split("|", 1)[0]
                best[key] = max(best.get(key, -1.0), 1.0 - dist)
            add(name, c.ms_since(t))

    def keyword(q, b, v):
        got = retriever.search(q, brand=b, mode="keyword")
        add("keyword_scoped.keyword", got.timings_ms["keyword"])

    steps = (fused, dense, where, keyword)
    first_use = {}
    for brand in (
        None,
        *c.BRANDS,
    ):  # the first query of a brand scope may build its BM25 index: time it apart
        t = time.perf_counter()
        retriever.search(queries[0][0], brand=brand, mode="keyword")
        first_use[str(brand)] = round(c.ms_since(t), 1)
    for step in steps:  # warm-up, then drop those samples
        step(*queries[0], vectors[0])
    samples.clear()
    for i, ((q, b), v) in enumerate(zip(queries, vectors, strict=True)):
        for step in steps[i % 4 :] + steps[: i % 4]:
            step(q, b, v)
    return {k: c.stats(v) for k, v in samples.items()} | {"first_keyword_query_per_scope_ms": first_use}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[10000, 100000], help="scripts (add 30000 for a middle point)"
    )
    parser.add_argument("--vectors-per-script", type=int, default=1, choices=range(1, 9), metavar="1..8")
    parser.add_argument("--queries", type=int, default=150, help="eval-set queries timed at each size")
    parser.add_argument(
        "--baseline-queries",
        type=int,
        default=60,
        help="of those, how many also run the slow `where` baseline",
    )
    parser.add_argument("--pool-per-scenario", type=int, default=14, help="real embeddings per scenario")
    parser.add_argument("--noise", type=float, default=0.5, help="noise norm added to a pool vector")
    parser.add_argument("--batch", type=int, default=5000, help="records per Chroma write")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-collection `where` baseline")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    sizes = sorted(args.sizes)

    from rag.embeddings import make_embeddings
    from rag.kb import load_kb
    from rag.normalize import normalize_query
    from rag.retrieve import RetrievalConfig
    from rag.settings import Settings
    from rag.store import Store

    info = c.machine()
    c.print_machine(info)
    print(
        "NOTE: script vectors are SYNTHETIC (real USE embeddings of a few hundred texts, perturbed); "
        "queries and their embeddings are real."
    )
    results: dict = {"benchmark": "retrieval_scale", "machine": info, "synthetic_vectors": True}
    results["params"] = {k: v for k, v in vars(args).items() if k != "json"}
    with tempfile.TemporaryDirectory(prefix="huashu-bench-scale-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", kb_path=c.STARTER_KB)
        embeddings = make_embeddings(settings)
        embeddings.warm_up()
        store = Store(settings)
        starter = load_kb(c.STARTER_KB)
        refs = {}
        for p in starter.policies:
            for s in p.scenarios:
                refs.setdefault(s, []).append(p.id)
        writer = SyntheticWriter(store, embeddings, args, refs)
        writer.write_policies(starter.policies, embeddings)
        print(
            f"pool: {writer.pool_texts} real embeddings over {len(c.CUSTOMER)} scenarios; noise {args.noise}; "
            f"{args.vectors_per_script} vector(s) a script"
        )
        queries = c.with_brands(c.eval_queries())[: args.queries]
        queries = [(normalize_query(q), b) for q, b in queries]
        qvec = embeddings.embed_array([q for q, _ in queries])
        candidates = RetrievalConfig().dense_candidates
        results["sizes"] = {}
        for n in sizes:
            print(f"\n== {n:,} scripts ==")
            build = writer.grow_to(n)
            parts = {
                name.split("-", 2)[-1]: store.collection(name).count() for name in store.collection_names()
            }
            print(
                f"write: partitions {build['partitions_write_s']:.1f} s ({build['partitions_vectors_per_s'] or 0:,.0f} vec/s), "
                f"baseline {build['baseline_write_s']:.1f} s; manifest flip {build['manifest_write_ms']:.0f} ms "
                f"({build['manifest_bytes'] / 1e6:.1f} MB)"
            )
            print("partitions: " + ", ".join(f"{k}={v:,}" for k, v in sorted(parts.items())))
            reader, load = _load_reader(store, embeddings)
            if load["stock_reader"] == "ok":
                print(f"reader load: {load['load_ms']:.0f} ms (stock IndexReader)")
            else:
                print(
                    f"reader load: stock IndexReader FAILED after {load['stock_failed_after_ms']:.0f} ms: {load['stock_error'][:140]}"
                )
                print(
                    f"             measuring with a paged Chroma get (benchmark workaround): {load['load_ms']:.0f} ms"
                )
            timed = measure(
                reader,
                writer.baseline,
                queries,
                [v.tolist() for v in qvec],
                candidates,
                args.baseline_queries,
            )
            first = timed.pop("first_keyword_query_per_scope_ms")
            load["first_keyword_query_per_scope_ms"] = first
            print(
                "first keyword query per brand scope (BM25 built on first use): "
                + ", ".join(f"{k} {v:.0f}" for k, v in first.items())
                + " ms"
            )
            results["sizes"][str(n)] = {
                "build": build,
                "partitions": parts,
                "reader": load,
                "latency_ms": timed,
            }
            for name in (
                "fused_scoped_total",
                "fused_scoped.embed",
                "fused_scoped.dense",
                "fused_scoped.keyword",
                "fused_scoped.policies",
                "dense_scoped_partitions",
                "dense_scoped_where_baseline",
                "dense_unscoped_partitions",
                "dense_unscoped_one_collection",
                "keyword_scoped.keyword",
            ):
                if name in timed:
                    print(c.stats_row(name, timed[name], 32))
            del reader
    print("\nhow it grows (p95 ms; fused target < 50 ms)")
    print(
        f"  {'scripts':>8} {'vectors':>8} {'fused':>8} {'dense:partitions':>17} {'dense:where':>12} {'keyword':>8}"
    )
    for n, r in results["sizes"].items():
        t = r["latency_ms"]
        vectors = sum(v for k, v in r["partitions"].items() if k.startswith("script"))
        where = t.get("dense_scoped_where_baseline", {}).get("p95", float("nan"))
        print(
            f"  {int(n):>8,} {vectors:>8,} {t['fused_scoped_total']['p95']:>8.1f} "
            f"{t['dense_scoped_partitions']['p95']:>17.1f} {where:>12.1f} {t['keyword_scoped.keyword']['p95']:>8.1f}"
        )
    results["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    c.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
