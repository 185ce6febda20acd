"""Past eval runs kept as results files, and what a shell shows of them: the run list, the confusion pairs,
one metric across runs, and the comparison `huashu eval compare` prints.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from .compare import compare, load_results, render_comparison

NO_MATCH = "(no match)"


def runs_dir(settings) -> Path:
    """Return where the workspace keeps its eval runs."""
    return Path(settings.data_dir) / "evals" / "runs"


def save_run(results: dict, folder: Path, label: str = "") -> Path:
    """Write a results document as a new run file; return its path (named by time, then label)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40].strip("_")
    path = folder / f"{stamp}{'-' + slug if slug else ''}.json"
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def list_runs(folder: Path) -> list[dict]:
    """Return the saved runs, newest first: name, path, when, files and headline metrics."""
    runs = []
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            data = load_results(path)
        except Exception:  # a file someone dropped here that is not a results document: leave it out
            continue
        run = data.get("run", {})
        runs.append(
            {
                "name": path.stem,
                "path": str(path),
                "started_at": run.get("started_at", ""),
                "files": [Path(f).name for f in run.get("files", [])],
                "cases": run.get("cases_run"),
                "results": data,
            }
        )
    return runs


def run_metric(results: dict, key: str):
    """Return `section.metric` of a results document (None when it was not measured)."""
    section, _, name = key.partition(".")
    return (results.get(section) or {}).get(name)


def retrieval_confusion(results: dict) -> Counter:
    """Count retrieval cases by (expected scenario, scenario of the first script retrieved)."""
    failed = {
        (f.get("file"), f["id"]): f for f in results.get("failures", []) if f.get("kind") == "retrieval"
    }
    pairs: Counter = Counter()
    for case in results.get("cases", []):
        if case.get("kind") != "retrieval":
            continue
        expected = case.get("group", "")
        failure = failed.get((case.get("file"), case["id"]))
        if failure is None:
            pairs[(expected, expected)] += 1
            continue
        detail = failure.get("detail") or {}
        top = detail.get("top") or []
        first = top[0]["scenario"] if top and detail.get("matched", True) else NO_MATCH
        pairs[(expected, first)] += 1
    return pairs


def compare_runs(a: Path, b: Path) -> tuple[dict, str]:
    """Return the comparison of run A with run B, as data and as the text `huashu eval compare` prints."""
    result = compare(load_results(a), load_results(b))
    return result, render_comparison(result, Path(a).name, Path(b).name)
