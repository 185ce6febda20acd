"""Time the scenario classifier's training at the starter knowledge base and at 10,000 synthetic scripts.

Run: .venv/bin/python benchmarks/scenario_training.py [--sizes 10000] [--rounds 2] [--json OUT]
Training is what `huashu index` adds when customer examples changed: fit the linear SVM over USE vectors and
character n-grams, and three more fits on folds to calibrate it. The examples are embedded first (real USE
vectors; not timed as training: the index has them already). Synthetic scripts come from `_common` (3-6
examples each, built from phrase parts, 29 scenarios). Baselines in the same run: the fingerprint that decides
"unchanged, reuse the model" (what an index run pays when examples did not change), and one classifier query.
"""

from __future__ import annotations

import argparse
import time


def examples_of(scripts) -> tuple[list[str], list[str], list[tuple]]:
    """Return example texts, their scenarios and the fingerprint rows of (id, scenario, examples) scripts."""
    from rag.normalize import normalize

    texts, labels, rows = [], [], []
    for sid, scenario, examples in scripts:
        norm = [normalize(e) for e in examples]
        texts += norm
        labels += [scenario] * len(norm)
        rows.append((f"script:{sid}", scenario, norm))
    return texts, labels, rows


def measure(name: str, scripts, embeddings, rounds: int) -> dict:
    import _common as c

    from rag.normalize import normalize_query
    from rag.scenario_model import examples_fingerprint, train

    texts, labels, rows = examples_of(scripts)
    t = time.perf_counter()
    vectors = embeddings.embed_array(texts)
    embed_s = time.perf_counter() - t
    fit_s, model = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        model = train(texts, vectors, labels)
        fit_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    examples_fingerprint(rows, embeddings.name)
    fp_ms = c.ms_since(t)
    queries = [normalize_query(q) for q, _ in c.eval_queries()]
    qv = embeddings.embed_array(queries)
    for q, v in zip(queries, qv, strict=True):  # untimed pass
        model.probabilities(q, v)
    lat = []
    for q, v in zip(queries, qv, strict=True):
        t = time.perf_counter()
        model.probabilities(q, v)
        lat.append(c.ms_since(t))
    out = {
        "scripts": len(scripts),
        "examples": len(texts),
        "scenarios": len(set(labels)),
        "embed_examples_s": round(embed_s, 2),
        "train_s": [round(s, 2) for s in fit_s],
        "train_s_best": round(min(fit_s), 2),
        "model_bytes": len(model.to_bytes()),
        "text_features": model.info["text_features"],
        "oof_accuracy": model.info["oof_accuracy"],
        "fingerprint_ms": round(fp_ms, 2),
        "query_ms": c.stats(lat),
    }
    print(
        f"  {name:<16} {out['scripts']:>6} scripts {out['examples']:>6} examples: train "
        f"{' / '.join(f'{s:.2f}' for s in out['train_s'])} s (embedding them first: {out['embed_examples_s']:.1f} s); "
        f"model {out['model_bytes'] / 1e6:.1f} MB, {out['text_features']} n-grams, out-of-fold accuracy "
        f"{out['oof_accuracy']}; unchanged-data check {out['fingerprint_ms']:.1f} ms; one query p50 "
        f"{out['query_ms']['p50']:.3f} / p95 {out['query_ms']['p95']:.3f} ms"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10000], help="synthetic knowledge-base sizes"
    )
    parser.add_argument("--rounds", type=int, default=2, help="trainings timed per size")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    import _common as c

    from rag.embeddings import UseM3Embeddings
    from rag.kb import load_kb

    info = c.machine()
    c.print_machine(info)
    embeddings = UseM3Embeddings(threads=1)
    embeddings.warm_up()
    results: dict = {"benchmark": "scenario_training", "machine": info, "sizes": {}}
    print("scenario classifier training (what `huashu index` adds when examples changed)")
    starter = [(s.id, s.scenario, s.customer_examples) for s in load_kb(c.STARTER_KB).scripts]
    results["sizes"]["starter"] = measure("starter KB", starter, embeddings, args.rounds)
    for n in args.sizes:
        synthetic = [
            (d["id"], d["scenario"], d["customer_examples"]) for d in map(c.synthetic_script, range(n))
        ]
        results["sizes"][str(n)] = measure(f"synthetic {n}", synthetic, embeddings, args.rounds)
    c.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
