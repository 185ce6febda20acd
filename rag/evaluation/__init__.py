"""The offline eval runner: read eval sets, run them through Huashu, score, report, compare."""

from .cases import EvalSet, Skipped, parse_lines, read_eval_files
from .cli import add_eval_commands
from .compare import compare, load_results
from .metrics import CaseResult, summarize
from .report import render_html, render_markdown
from .run import EvalRun, EvalRunner, results_json

__all__ = [
    "CaseResult",
    "EvalRun",
    "EvalRunner",
    "EvalSet",
    "Skipped",
    "add_eval_commands",
    "compare",
    "load_results",
    "parse_lines",
    "read_eval_files",
    "render_html",
    "render_markdown",
    "results_json",
    "summarize",
]
