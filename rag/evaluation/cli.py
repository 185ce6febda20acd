"""`huashu eval run` and `huashu eval compare`: argparse commands the main CLI mounts.

Exit status of `run`: 0 when it ran (whatever the scores), 1 when a --fail-under threshold is missed,
2 for a usage error, an unreadable eval file, or a Huashu that cannot start (no index, say).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

from rag.errors import HuashuError

from .cases import read_eval_files
from .compare import QUALITY, compare, direction, load_results, render_comparison
from .metrics import CaseResult
from .report import fmt, render_html, render_markdown
from .run import EvalRunner, results_json

OK, MISSED, USAGE = 0, 1, 2
LATENCY_KEYS = tuple(
    f"latency_ms.{k}_{p}" for k in ("retrieval", "compliance", "draft") for p in ("p50", "p95", "p99", "max")
)
THRESHOLD_KEYS = tuple(f"{s}.{m}" for s, ms in QUALITY.items() for m in ms) + LATENCY_KEYS


def parse_thresholds(items: list[str]) -> list[tuple[str, float]]:
    """Parse KEY=VALUE thresholds; raise ValueError saying which item is wrong and what keys exist."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(
                f"--fail-under {item!r}: write KEY=VALUE, for example retrieval.hit_at_1=0.9 "
                "(if it is an eval file, put --fail-under after the files)"
            )
        if key not in THRESHOLD_KEYS:
            raise ValueError(f"--fail-under: unknown metric {key!r}; use one of: {', '.join(THRESHOLD_KEYS)}")
        try:
            bar = float(value)
        except ValueError:
            bar = math.nan
        if not math.isfinite(bar):
            raise ValueError(f"--fail-under {item!r}: {value!r} is not a number")
        out.append((key, bar))
    return out


def missed_thresholds(results: dict, thresholds: list[tuple[str, float]]) -> list[str]:
    """Return a line per missed threshold; a lower-is-better metric (FPR, latency) misses when it is above."""
    missed = []
    for key, bar in thresholds:
        section, _, metric = key.partition(".")
        value = (results.get(section) or {}).get(metric)
        if value is None:
            missed.append(f"{key}: not measured (no cases of that kind), required {bar:g}")
        elif direction(key) < 0 and value > bar:
            missed.append(f"{key} = {value:g}, above the allowed {bar:g}")
        elif direction(key) > 0 and value < bar:
            missed.append(f"{key} = {value:g}, under the required {bar:g}")
    return missed


def summary_lines(results: dict) -> list[str]:
    """Return a few lines with the headline metrics, for the terminal and CI logs."""
    lines = []
    r, c, d = results["retrieval"], results["compliance"], results["draft"]
    if r.get("cases"):
        lines.append(
            f"retrieval   {r['cases']:>4} cases  hit@1 {fmt(r['hit_at_1'])}  hit@3 {fmt(r['hit_at_3'])}  "
            f"hit@5 {fmt(r['hit_at_5'])}  MRR {fmt(r['mrr'])}"
        )
    if c.get("cases"):
        lines.append(
            f"compliance  {c['cases']:>4} cases  recall {fmt(c['recall'])}  precision {fmt(c['precision'])}  "
            f"false-positive rate {fmt(c['false_positive_rate'])}"
        )
    if d.get("cases"):
        lines.append(f"draft       {d['cases']:>4} cases  pass rate {fmt(d['pass_rate'])}")
    lat = results["latency_ms"]
    parts = [
        f"{k} p50 {lat[f'{k}_p50']:.1f} / p95 {lat[f'{k}_p95']:.1f}"
        for k in ("retrieval", "compliance", "draft")
        if f"{k}_p50" in lat
    ]
    if parts:
        lines.append("latency ms  " + "; ".join(parts))
    lines.append(
        f"{len(results['failures'])} failed, {len(results['skipped'])} lines skipped, "
        f"{results['run']['duration_s']:.1f} s"
    )
    return lines


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-01") from None


def _default_app():
    from rag.app import Huashu

    return Huashu()


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class _Progress:
    """A rich progress bar on stderr, or nothing at all in quiet mode."""

    def __init__(self, enabled: bool):
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("eval"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
        self.task = None
        self.failed = 0

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def start(self, total: int) -> None:
        if self.bar:
            self.task = self.bar.add_task("", total=total)

    def advance(self, result: CaseResult) -> None:
        self.failed += not result.passed
        if self.bar and self.task is not None:
            self.bar.update(self.task, advance=1, description=f"{self.failed} failed")


def run_command(args: argparse.Namespace, app_factory: Callable[[], object] | None = None) -> int:
    """Run eval files, write the results JSON and reports; return the exit status."""
    try:
        thresholds = parse_thresholds(args.fail_under)
        evalset = read_eval_files(args.files)
    except (ValueError, HuashuError) as exc:
        _err(f"error: {exc}")
        return USAGE
    outputs = [Path(p) for p in ([args.json_out] if args.json_out else []) + args.report]
    quiet = args.quiet or not sys.stderr.isatty()
    try:
        app = (app_factory or _default_app)()
        runner = EvalRunner(
            app,
            brand=args.brand,
            today=args.today,
            modes=args.modes,
            draft_mode=getattr(args, "mode", "auto"),
        )
        for path in outputs:  # fail before a long run, not after it
            path.parent.mkdir(parents=True, exist_ok=True)
        with _Progress(enabled=not quiet) as progress:
            run = runner.run(evalset, on_case=progress.advance, on_start=progress.start)
    except HuashuError as exc:
        _err(f"error: {exc}")
        return USAGE
    except OSError as exc:
        _err(f"error: cannot write {exc.filename}: {exc.strerror}")
        return USAGE
    results = results_json(run)
    for s in results["skipped"]:
        _err(f"{s['file']}:{s['line']}: skipped{' ' + s['id'] if s['id'] else ''}: {s['reason']}")
    try:
        if args.json_out:
            _write(Path(args.json_out), json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        for report in args.report:
            render = render_markdown if Path(report).suffix.lower() in (".md", ".markdown") else render_html
            _write(Path(report), render(results))
    except OSError as exc:
        _err(f"error: cannot write {exc.filename}: {exc.strerror}")
        return USAGE
    if not args.quiet:
        print("\n".join(summary_lines(results)))
    missed = missed_thresholds(results, thresholds)
    for line in missed:
        _err(f"threshold missed: {line}")
    return MISSED if missed else OK


def compare_command(args: argparse.Namespace) -> int:
    """Print metric deltas and flipped cases between two results files; return the exit status."""
    try:
        a, b = load_results(args.a), load_results(args.b)
    except HuashuError as exc:
        _err(f"error: {exc}")
        return USAGE
    result = compare(a, b)
    print(render_comparison(result, args.a, args.b))
    if args.json_out:
        try:
            _write(Path(args.json_out), json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            _err(f"error: cannot write {exc.filename}: {exc.strerror}")
            return USAGE
    return OK


def add_eval_commands(subparsers, app_factory: Callable[[], object] | None = None) -> None:
    """Add `eval run` and `eval compare` to the main parser's subparsers; `app_factory` builds the Huashu."""
    parser = subparsers.add_parser(
        "eval",
        help="run eval sets offline and compare runs",
        description="Run eval sets (JSON Lines, one case a line) and compare runs.",
    )
    sub = parser.add_subparsers(dest="eval_command", required=True, metavar="{run,compare}")
    run = sub.add_parser(
        "run",
        help="run eval files and write the results",
        description="Run retrieval, compliance and draft cases. Exit status: 0 ran, 1 a --fail-under threshold "
        "was missed, 2 usage error or unreadable file.",
    )
    run.add_argument("files", nargs="+", metavar="FILE", help="eval files (.jsonl), one case a line")
    run.add_argument("--json", dest="json_out", metavar="OUT.json", help="write the results JSON here")
    run.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="OUT.html",
        help="write a report: HTML, or Markdown when the name ends in .md (repeatable)",
    )
    run.add_argument(
        "--fail-under",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="exit 1 when a metric misses its bar, e.g. retrieval.hit_at_1=0.9; for "
        "false_positive_rate and latency_ms.* the value is a ceiling",
    )
    run.add_argument("--brand", help="brand for cases that name none")
    run.add_argument(
        "--compare-modes",
        dest="modes",
        action="store_const",
        const=("hybrid", "classifier", "dense", "keyword"),
        default=(),
        help="also score retrieval hybrid (dense + keyword, no scenario classifier), classifier alone, dense-only "
        "and keyword-only, beside fused (retrieval_by_mode in the JSON)",
    )
    run.add_argument(
        "--mode",
        choices=("auto", "script", "llm"),
        default="auto",
        help="drafting mode: llm runs draft and retrieval cases through the LLM path (HUASHU_LLM_BASE_URL must "
        "be set; a draft that fell back to script mode fails); auto = llm when configured",
    )
    run.add_argument(
        "--today",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="date that decides which policies are in force (default: today)",
    )
    run.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar and no summary (the progress bar is off anyway when stderr is not a terminal)",
    )
    run.set_defaults(func=partial(run_command, app_factory=app_factory))
    cmp = sub.add_parser(
        "compare",
        help="compare two results files",
        description="Show metric deltas from A to B and the cases that flipped.",
    )
    cmp.add_argument("a", metavar="A.json", help="the earlier results")
    cmp.add_argument("b", metavar="B.json", help="the later results")
    cmp.add_argument("--json", dest="json_out", metavar="OUT.json", help="also write the comparison as JSON")
    cmp.set_defaults(func=compare_command)
