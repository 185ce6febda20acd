"""Benchmark re-indexing: full, no-op, edit one file, edit one script, delete one file.

Run: .venv/bin/python benchmarks/reindex.py [--sizes 1000 10000] [--json OUT]
A synthetic knowledge base of N scripts (100 a file, 3-6 customer examples each, the starter
brands/tone/compliance/policies) is written to a temp dir and indexed into a temp Chroma store.
Baselines in the same run: embedding the same texts alone (the floor of a full index), and a
naive full rebuild (`huashu index --full`) against the incremental re-index of one edited file.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import _common as c


class _TimedEmbeddings:
    """The real provider behind our seam, counting the seconds the indexer spends embedding."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        t = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - t

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _load_kb(root: Path, cache: Path | None):
    """Load the knowledge base as `huashu index` does: with the parse cache when the library has one."""
    import inspect

    from rag.kb import load_kb

    if cache is not None and "cache" in inspect.signature(load_kb).parameters:
        return load_kb(root, cache=cache)
    return load_kb(root)


def _timed_run(indexer, root: Path, *, full: bool = False, cache: Path | None = None) -> tuple[dict, object]:
    """Load the knowledge base and re-index it; return timings (ms) and the report."""
    t0 = time.perf_counter()
    kb = _load_kb(root, cache)
    t1 = time.perf_counter()
    report = indexer.run(kb, full=full)
    t2 = time.perf_counter()
    return {"load_kb": (t1 - t0) * 1000, "index": (t2 - t1) * 1000, "total": (t2 - t0) * 1000}, report


def _phase(runs: list[tuple[dict, object]]) -> dict:
    """Return p50/p95 stats of each timed part (load_kb, index, total) over a list of `_timed_run` results."""
    return {k: c.stats([t[k] for t, _ in runs]) for k in ("load_kb", "index", "total")}


def _edit_one_script(path: Path, revision: int) -> None:
    """Change the reply of the first script in a file (a knowledge manager's one-line fix)."""
    import yaml

    scripts = yaml.safe_load(path.read_text(encoding="utf-8"))
    scripts[0]["reply"] = scripts[0]["reply"].rstrip() + f"（第 {revision} 次修订）"
    path.write_text(yaml.safe_dump(scripts, allow_unicode=True, sort_keys=False, width=1000), "utf-8")


def _record_texts(kb, store, space: str) -> list[str]:
    """Return the distinct texts the indexer embeds for `kb` (a centroid is computed, not embedded)."""
    from rag.records import build_records, item_hash, item_key

    texts: dict[str, None] = {}
    for item in [*kb.scripts, *kb.policies]:
        for r in build_records(item, item_key(item), item_hash(item), store, space):
            if r.metadata.get("variant") != "centroid":
                texts[r.text] = None
    return list(texts)


def _embed_floor(embeddings, texts: list[str], sample: int, seed: int) -> dict:
    """Embed (a sample of) the index texts alone; return the rate and the projected total."""
    chosen = texts if len(texts) <= sample else random.Random(seed).sample(texts, sample)
    t = time.perf_counter()
    embeddings.embed_array(chosen)
    seconds = time.perf_counter() - t
    rate = len(chosen) / seconds
    return {
        "texts_embedded": len(chosen),
        "seconds": round(seconds, 3),
        "vectors_per_s": round(rate, 1),
        "projected_seconds_all": round(len(texts) / rate, 2),
    }


def run_size(n: int, args, embeddings, threads2) -> dict:
    """Run every re-index scenario on a fresh synthetic knowledge base of `n` scripts."""
    from rag.index import Indexer
    from rag.kb import load_kb
    from rag.retrieve import IndexReader, Retriever
    from rag.settings import Settings
    from rag.store import Store, space_id

    print(f"\n== N = {n:,} scripts ({args.per_file} a file) ==")
    out: dict = {"scripts": n, "per_file": args.per_file}
    with tempfile.TemporaryDirectory(prefix=f"huashu-bench-reindex-{n}-") as tmp:
        root, data = Path(tmp) / "kb", Path(tmp) / "data"
        t = time.perf_counter()
        files = c.write_synthetic_kb(root, n, args.per_file, seed=args.seed)
        out["generate_s"] = round(time.perf_counter() - t, 2)
        refs = c.policy_refs_by_scenario(root)
        settings = Settings(data_dir=data, kb_path=root)
        store = Store(settings)
        cache = data / "kb-cache"  # where Huashu.index keeps parsed script files
        timed = _TimedEmbeddings(embeddings)
        indexer = Indexer(store, timed, data / "index.lock")

        # -- full index into an empty store
        timing, report = _timed_run(indexer, root, cache=cache)
        items, texts_embedded, secs = len(report.added), report.embedded, timing["total"] / 1000
        vectors = len(store.read_manifest().record_ids())  # records written: one per text variant and scope
        embed_s = timed.seconds
        writes_s = secs - embed_s - timing["load_kb"] / 1000
        out["full"] = {
            "seconds": round(secs, 2),
            "load_kb_ms": round(timing["load_kb"], 1),
            "embed_s": round(embed_s, 2),
            "chroma_and_rest_s": round(writes_s, 2),
            "items": items,
            "vectors": vectors,
            "texts_embedded": texts_embedded,
            "items_per_s": round(items / secs, 1),
            "vectors_per_s": round(vectors / secs, 1),
            "failed": len(report.failed),
        }
        print(
            f"full index        {secs:8.2f} s   {items:,} items, {vectors:,} vectors ({texts_embedded:,} texts embedded)   "
            f"{items / secs:,.0f} items/s  {vectors / secs:,.0f} vectors/s"
        )
        print(
            f"  of which: load_kb {timing['load_kb'] / 1000:.1f} s, embedding {embed_s:.1f} s "
            f"({texts_embedded / embed_s:,.0f} texts/s), Chroma writes + hashing + manifest {writes_s:.1f} s "
            f"({vectors / writes_s:,.0f} vectors/s)"
        )
        if report.failed:
            print(f"  warning: {len(report.failed)} knowledge-base problems, first: {report.failed[0]}")
        parts = {name: store.collection(name).count() for name in sorted(store.collection_names())}
        out["partitions"] = parts
        print("partitions        " + ", ".join(f"{k.split('-', 2)[-1]}={v:,}" for k, v in parts.items()))
        t = time.perf_counter()
        manifest = store.read_manifest()
        out["manifest"] = {
            "read_ms": round(c.ms_since(t), 1),
            "encoded_bytes": len(manifest.encode()),
            "items": len(manifest.items),
        }
        t = time.perf_counter()
        try:
            reader = IndexReader(store, embeddings)
            out["reader_load_ms"] = round(c.ms_since(t), 1)
            t = time.perf_counter()
            for brand in (None, *c.BRANDS):  # BM25 for a brand scope may be built on first use
                Retriever(reader).search("在吗", brand=brand, mode="keyword")
            out["reader_first_keyword_ms"] = round(c.ms_since(t), 1)
            t = time.perf_counter()
            for name in parts:
                if "-script-" in name or "-policy-" in name:
                    col, offset = store.collection(name), 0
                    while len(
                        col.get(include=["documents", "metadatas"], limit=10_000, offset=offset)["ids"]
                    ):
                        offset += 10_000  # one get of over 32,766 records fails in Chroma 1.5
            out["reader_chroma_get_ms"] = round(c.ms_since(t), 1)
            print(
                f"serving reload    {out['reader_load_ms']:8.1f} ms IndexReader.load (Chroma get alone "
                f"{out['reader_chroma_get_ms']:.0f} ms) + {out['reader_first_keyword_ms']:.0f} ms first keyword "
                "query of every brand scope (BM25 build)"
            )
        except Exception as exc:  # a finding to report, not a reason to stop the benchmark
            out["reader_load_error"] = f"{type(exc).__name__}: {exc}"
            print(f"serving reload    FAILED: {out['reader_load_error'][:160]}")
        print(
            f"manifest          {out['manifest']['encoded_bytes'] / 1e6:8.2f} MB encoded, "
            f"read+decode {out['manifest']['read_ms']:.1f} ms"
        )

        # -- no-op: nothing changed
        noop = [_timed_run(indexer, root, cache=cache) for _ in range(args.noop_repeats)]
        assert not any(r.changed for _, r in noop), "a no-op re-index changed something"
        out["noop"] = _phase(noop)
        print(c.stats_row("no-op re-index (load_kb+index)", out["noop"]["total"]))
        print(c.stats_row("  of which load_kb", out["noop"]["load_kb"]))
        cold = [_timed_run(indexer, root) for _ in range(max(1, args.noop_repeats // 2))]
        out["noop_without_parse_cache"] = _phase(cold)
        print(c.stats_row("baseline: no-op, every file parsed", out["noop_without_parse_cache"]["total"]))

        # -- edit one file: every script in it changes
        edits = []
        for r in range(args.edit_repeats):
            k = (r * 7 + 1) % files
            c.write_script_file(root, k, args.per_file, refs, n=n, revision=r + 1, seed=args.seed)
            edits.append(_timed_run(indexer, root, cache=cache))
        out["edit_file"] = _phase(edits) | {
            "updated": [len(rep.updated) for _, rep in edits],
            "embedded": [rep.embedded for _, rep in edits],
        }
        print(
            c.stats_row("edit 1 file (100 scripts)", out["edit_file"]["total"])
            + f"  updated {out['edit_file']['updated'][0]}, embedded {out['edit_file']['embedded'][0]}"
        )

        # -- edit one script in one file
        one = []
        for r in range(args.edit_repeats):
            _edit_one_script(c.script_file(root, (r * 11 + 2) % files), r + 1)
            one.append(_timed_run(indexer, root, cache=cache))
        out["edit_script"] = _phase(one) | {
            "updated": [len(rep.updated) for _, rep in one],
            "embedded": [rep.embedded for _, rep in one],
        }
        print(
            c.stats_row("edit 1 script", out["edit_script"]["total"])
            + f"  updated {out['edit_script']['updated'][0]}, embedded {out['edit_script']['embedded'][0]}"
        )

        # -- delete one file
        deletes = []
        for r in range(args.delete_repeats):
            c.script_file(root, files - 1 - r).unlink()
            deletes.append(_timed_run(indexer, root, cache=cache))
        out["delete_file"] = _phase(deletes) | {"removed": [len(rep.removed) for _, rep in deletes]}
        print(
            c.stats_row("delete 1 file", out["delete_file"]["total"])
            + f"  removed {out['delete_file']['removed'][0]}"
        )

        # -- baselines: the embedding floor and a naive full rebuild
        kb = load_kb(root)
        texts = _record_texts(kb, store, space_id(embeddings.name))
        out["embed_floor"] = _embed_floor(embeddings, texts, args.embed_sample, args.seed)
        floor = out["embed_floor"]
        print(
            f"baseline: embed alone (1 BLAS thread, as indexed)  {floor['vectors_per_s']:,.0f} vectors/s "
            f"on {floor['texts_embedded']:,} texts -> {floor['projected_seconds_all']:.1f} s for all {len(texts):,}"
        )
        if threads2 is not None:
            out["embed_floor_2_threads"] = _embed_floor(threads2, texts, args.embed_sample, args.seed)
            f2 = out["embed_floor_2_threads"]
            print(
                f"baseline: embed alone (2 BLAS threads)             {f2['vectors_per_s']:,.0f} vectors/s "
                f"-> {f2['projected_seconds_all']:.1f} s for all"
            )
        share = out["full"]["embed_s"] / out["full"]["seconds"]
        out["full"]["embed_share"] = round(share, 3)
        print(
            f"  inside the full index, embedding took {share:.0%}; the rest is load_kb, Chroma writes, manifest"
        )
        if n <= args.full_rebuild_max:
            timing, report = _timed_run(indexer, root, full=True, cache=cache)
            out["full_rebuild"] = {"seconds": round(timing["total"] / 1000, 2), "embedded": report.embedded}
            rebuild_s = out["full_rebuild"]["seconds"]
            print(f"baseline: full rebuild (index --full)  {rebuild_s:8.2f} s, embedded {report.embedded:,}")
        else:
            rebuild_s = out["full"]["seconds"]
            out["full_rebuild"] = {"skipped": f"N > --full-rebuild-max {args.full_rebuild_max}"}
            print(
                f"baseline: full rebuild skipped above N={args.full_rebuild_max}; the fresh full index stands in"
            )
        speedup = rebuild_s * 1000 / out["edit_file"]["total"]["p50"]
        out["incremental_speedup_vs_rebuild"] = round(speedup, 1)
        print(f"  incremental (1 edited file) is {speedup:,.1f}x faster than rebuilding everything")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10000], help="scripts in the knowledge base"
    )
    parser.add_argument("--per-file", type=int, default=100, help="scripts a file")
    parser.add_argument("--noop-repeats", type=int, default=3)
    parser.add_argument("--edit-repeats", type=int, default=3)
    parser.add_argument("--delete-repeats", type=int, default=2)
    parser.add_argument(
        "--full-rebuild-max",
        type=int,
        default=1000,
        help="run `index --full` only up to this N (it re-embeds all)",
    )
    parser.add_argument(
        "--embed-sample", type=int, default=4000, help="texts embedded for the floor baseline"
    )
    parser.add_argument(
        "--threads-compare",
        action="store_true",
        help="also time the floor with 2 BLAS threads (noisy on a busy box)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    from rag.embeddings import UseM3Embeddings, make_embeddings
    from rag.settings import Settings

    info = c.machine()
    c.print_machine(info)
    settings = Settings(data_dir=Path(tempfile.gettempdir()) / "unused", kb_path=c.STARTER_KB)
    embeddings = make_embeddings(settings)
    t = time.perf_counter()
    embeddings.warm_up()
    model_load_s = time.perf_counter() - t
    print(
        f"embedding: {embeddings.name}, {settings.embedding_threads} BLAS thread(s); model load {model_load_s:.2f} s"
    )
    threads2 = None
    if args.threads_compare and embeddings.name == "use-m3" and (info["usable_cores"] or 1) >= 2:
        threads2 = UseM3Embeddings(threads=2)
        threads2.warm_up()
    results = {"benchmark": "reindex", "machine": info, "embedding": embeddings.name, "sizes": {}}
    results["model_load_s"] = round(model_load_s, 2)
    for n in args.sizes:
        results["sizes"][str(n)] = run_size(n, args, embeddings, threads2)
    print("\nsummary (ms unless said)")
    print(
        f"  {'N':>7} {'full s':>8} {'items/s':>8} {'vec/s':>7} {'no-op p50':>10} {'edit file':>10} {'edit 1':>8} {'delete':>8}"
    )
    for n, r in results["sizes"].items():
        print(
            f"  {int(n):>7,} {r['full']['seconds']:>8.1f} {r['full']['items_per_s']:>8.0f} {r['full']['vectors_per_s']:>7.0f} "
            f"{r['noop']['total']['p50']:>10.0f} {r['edit_file']['total']['p50']:>10.0f} "
            f"{r['edit_script']['total']['p50']:>8.0f} {r['delete_file']['total']['p50']:>8.0f}"
        )
    results["load_avg_1m_end"] = round(__import__("os").getloadavg()[0], 2)
    c.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
