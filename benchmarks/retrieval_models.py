"""Compare retrieval models in one run: fused (hybrid + scenario classifier), hybrid, classifier alone, dense, keyword.

Run: .venv/bin/python benchmarks/retrieval_models.py [--sets retrieval_dev retrieval_test] [--json OUT]
The starter knowledge base is indexed fresh in a temp dir (the classifier is trained by that index). Every set
runs through the eval runner with every mode, so each model sees the same cases; hit@1/hit@3/MRR overall and
per expected scenario. Failures are printed for the tuning split (dev) only: report-only sets are scored,
never studied. The fusion weight is checked on dev alone with 5-fold cross-validation: the weight chosen on
four folds is scored on the fifth, so an overfit weight shows as a drop on the held-out folds.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

MODES = ("fused", "hybrid", "classifier", "dense", "keyword")
LABELS = {
    "fused": "fused: hybrid + classifier (default)",
    "hybrid": "hybrid: dense + keyword (before)",
    "classifier": "classifier alone",
    "dense": "dense only",
    "keyword": "keyword only",
}
WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
TUNING = "retrieval_dev"


def _summary(ranks: list[int | None]) -> dict:
    n = len(ranks) or 1
    return {
        "cases": len(ranks),
        "hit_at_1": round(sum(r == 1 for r in ranks) / n, 4),
        "hit_at_3": round(sum(r is not None and r <= 3 for r in ranks) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def run_set(app, path: Path) -> dict:
    """Run one eval set in every mode; return per-mode ranks, summaries and per-scenario summaries."""
    from rag.evaluation import EvalRunner, read_eval_files

    evalset = read_eval_files([path])
    run = EvalRunner(app, modes=MODES[1:]).run(evalset)
    cases = [r for r in run.results if r.kind == "retrieval"]
    ranks = {"fused": [r.rank for r in cases]}
    for mode in MODES[1:]:
        ranks[mode] = [r.detail["rank_by_mode"][mode] for r in cases]
    scenarios = sorted({r.group for r in cases})
    per_scenario = {
        mode: {
            s: _summary([rk for rk, r in zip(ranks[mode], cases, strict=True) if r.group == s])
            for s in scenarios
        }
        for mode in MODES
    }
    failures = [(r.id, r.detail["query"], r.reason) for r in cases if not r.passed]
    return {
        "summary": {m: _summary(ranks[m]) for m in MODES},
        "per_scenario": per_scenario,
        "failures": failures,
        "cases": [(r.id, r.detail["query"], r.detail["brand"], r.group) for r in cases],
    }


def weight_ranks(app, path: Path) -> dict[float, list[int | None]]:
    """Return the first-correct rank of every case of `path` at every fusion weight in WEIGHTS."""
    from rag.evaluation import read_eval_files
    from rag.evaluation.metrics import Ranked, first_correct_rank
    from rag.pipeline import clean_message
    from rag.retrieve import Retriever

    class Weighted(Retriever):
        def __init__(self, reader, config):
            super().__init__(reader)
            self._config = config

        @property
        def config(self):
            return self._config

    reader = app.reader
    cases = [c for c in read_eval_files([path]).cases if c.kind == "retrieval"]
    out: dict[float, list[int | None]] = {}
    vectors = {}
    for w in WEIGHTS:
        retriever = Weighted(reader, replace(reader.config, scenario_weight=w))
        ranks = []
        for case in cases:
            query, _ = clean_message(case.query, app.settings.max_message_chars)
            if query not in vectors:
                vectors[query] = app.embeddings.embed_query(query)
            found = retriever.search(query, brand=case.brand, vector=vectors[query])
            ranked = [Ranked(s.hit.id, s.hit.scenario, s.hit.score) for s in found.scripts]
            ranks.append(first_correct_rank(ranked, case, matched=found.matched))
        out[w] = ranks
    return out


def cross_validate(ranks: dict[float, list[int | None]], folds: int = 5, seed: int = 0) -> dict:
    """Choose the weight on k-1 folds (MRR, then hit@1), score it on the held-out fold; return both."""
    n = len(next(iter(ranks.values())))
    order = list(range(n))
    random.Random(seed).shuffle(order)
    parts = [order[i::folds] for i in range(folds)]
    held: list[int | None] = []
    chosen = []
    for k, part in enumerate(parts):
        train = [i for j, p in enumerate(parts) if j != k for i in p]

        def key(w, idx=train):
            s = _summary([ranks[w][i] for i in idx])
            return (s["mrr"], s["hit_at_1"], -abs(w - 0.25))

        best = max(ranks, key=key)
        chosen.append(best)
        held += [ranks[best][i] for i in part]
    return {"chosen_per_fold": chosen, "held_out": _summary(held)}


def print_table(results: dict, sets: list[str]) -> None:
    head = "  " + f"{'model':<38}" + "".join(f"{s + ' h@1 / h@3 / MRR':>36}" for s in sets)
    print(head)
    for mode in MODES:
        row = "".join(
            "{:>36}".format(
                f"{results[s]['summary'][mode]['hit_at_1']:.3f} / {results[s]['summary'][mode]['hit_at_3']:.3f}"
                f" / {results[s]['summary'][mode]['mrr']:.3f}"
            )
            for s in sets
        )
        print(f"  {LABELS[mode]:<38}{row}")


def print_per_scenario(result: dict, name: str) -> None:
    print(f"\nper scenario, {name}: hit@1 (hit@3) of each model, cases in brackets")
    print("  " + f"{'scenario':<24}" + "".join(f"{m:>15}" for m in MODES))
    for scenario, s in result["per_scenario"]["fused"].items():
        cells = "".join(
            f"{result['per_scenario'][m][scenario]['hit_at_1']:>9.2f} ({result['per_scenario'][m][scenario]['hit_at_3']:.2f})"
            for m in MODES
        )
        label = f"{scenario} [{s['cases']}]"
        print(f"  {label:<24}{cells}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", nargs="+", default=["retrieval_dev", "retrieval_test"], help="eval sets by name"
    )
    parser.add_argument("--kb", default=None, help="knowledge base (default: the starter one)")
    parser.add_argument("--per-scenario", action="store_true", help="print the per-scenario tables")
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    if any("holdout" in s for s in args.sets):
        raise SystemExit("holdout sets are blind: they are run for the final report only, not from here")

    import _common as c

    from rag import Huashu, Settings

    kb = Path(args.kb) if args.kb else c.STARTER_KB
    info = c.machine()
    c.print_machine(info)
    out: dict = {"benchmark": "retrieval_models", "machine": info, "kb": str(kb), "sets": {}}
    with tempfile.TemporaryDirectory(prefix="huashu-bench-models-") as tmp:
        app = Huashu(Settings(data_dir=Path(tmp) / "data", kb_path=kb, reload_poll_s=0))
        t = time.perf_counter()
        report = app.index()
        entry = report.scenario_model
        out["index_s"] = round(time.perf_counter() - t, 2)
        out["scenario_model"] = entry
        print(
            f"fresh index {out['index_s']:.1f} s; classifier {entry.get('status')}: {entry.get('examples')} examples, "
            f"{entry.get('scenarios')} scenarios, trained in {entry.get('train_s')} s, out-of-fold accuracy on the "
            f"examples {entry.get('oof_accuracy')}"
        )
        for name in args.sets:
            out["sets"][name] = run_set(app, c.EVAL_SETS / f"{name}.jsonl")
        print(f"\nretrieval, {', '.join(args.sets)} (scenario weight {app.retrieval_config.scenario_weight})")
        print_table(out["sets"], args.sets)
        if TUNING in args.sets:
            ranks = weight_ranks(app, c.EVAL_SETS / f"{TUNING}.jsonl")
            out["weights_dev"] = {str(w): _summary(r) for w, r in ranks.items()}
            out["cv_dev"] = cross_validate(ranks)
            print(f"\nfusion weight on {TUNING} (w = 0 is hybrid):")
            for w, s in out["weights_dev"].items():
                print(f"  w={w:<5} hit@1 {s['hit_at_1']:.3f}  hit@3 {s['hit_at_3']:.3f}  MRR {s['mrr']:.3f}")
            cv = out["cv_dev"]
            print(
                f"  5-fold CV on {TUNING}: weights chosen {cv['chosen_per_fold']}; held-out hit@1 "
                f"{cv['held_out']['hit_at_1']:.3f}, hit@3 {cv['held_out']['hit_at_3']:.3f}, MRR {cv['held_out']['mrr']:.3f}"
            )
            print(f"\nfailures of fused on {TUNING} (the tuning split; report-only sets are not listed):")
            for fid, query, reason in out["sets"][TUNING]["failures"]:
                print(f"  {fid} {query!r}: {reason}")
        if args.per_scenario:
            for name in args.sets:
                print_per_scenario(out["sets"][name], name)
        app.close()
    for name in args.sets:  # report-only sets keep their scores, not their failures
        if name != TUNING:
            out["sets"][name].pop("failures")
    c.write_json(args.json, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
