"""Read eval-set files (JSON Lines, see shared/eval-format.md) into typed cases and a list of what was skipped.

A line that cannot be used is never a crash and never dropped in silence: it becomes a `Skipped`
with its file, line number and the reason, in words an evaluator who never read our code can act on.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.compliance.rules import CATEGORIES
from rag.errors import EvalFileError
from rag.scenarios import SCENARIOS

log = logging.getLogger(__name__)
KINDS = ("retrieval", "compliance", "draft")


@dataclass(frozen=True)
class Skipped:
    """A line of an eval file that was not run, and why."""

    file: str
    line: int
    reason: str
    id: str = ""


@dataclass(frozen=True)
class RetrievalCase:
    """Does the right script come back for `query`?"""

    id: str
    file: str
    line: int
    query: str
    brand: str | None = None
    expected_scenario: str | None = None
    expected_script: str | None = None
    kind: str = "retrieval"


@dataclass(frozen=True)
class ExpectedViolation:
    """A violation the filter must report: its category and where `match` sits in the text."""

    category: str
    match: str
    spans: tuple[tuple[int, int], ...]  # every occurrence of `match` in the case text; any one counts


@dataclass(frozen=True)
class ComplianceCase:
    """Does the post-filter catch what it must in `text`, and nothing else?"""

    id: str
    file: str
    line: int
    text: str
    expected: tuple[ExpectedViolation, ...]
    brand: str | None = None
    sources: tuple[str, ...] | None = None  # None: the brand's policies ground numbers
    kind: str = "compliance"


@dataclass(frozen=True)
class DraftCase:
    """Is the whole suggested reply to `query` usable?"""

    id: str
    file: str
    line: int
    query: str
    brand: str | None = None
    expected_scenario: str | None = None
    must_include_any: tuple[str, ...] = ()
    must_not_include: tuple[str, ...] = ()
    kind: str = "draft"


Case = RetrievalCase | ComplianceCase | DraftCase


@dataclass(frozen=True)
class EvalSet:
    """The cases of one or more eval files, in file and line order, and the lines skipped."""

    cases: tuple[Case, ...]
    skipped: tuple[Skipped, ...]
    files: tuple[str, ...]


class _Bad(Exception):
    """A case line that cannot be used; the message is the reason shown to the evaluator."""


def find_occurrences(text: str, match: str) -> tuple[tuple[int, int], ...]:
    """Return the (start, end) of every occurrence of `match` in `text`, overlapping ones included."""
    spans, start = [], text.find(match)
    while match and start != -1:
        spans.append((start, start + len(match)))
        start = text.find(match, start + 1)
    return tuple(spans)


def _suggest(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _string(data: dict, name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise _Bad(f'missing "{name}"')
        return None
    if not isinstance(value, str):
        raise _Bad(f'"{name}" should be a string, not {type(value).__name__}')
    if required and not value.strip():
        raise _Bad(f'"{name}" is empty')
    return value


def _strings(data: dict, name: str) -> tuple[str, ...] | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):  # a lone string is read as a list of one
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _Bad(f'"{name}" should be a list of non-empty strings')
    return tuple(value)


def _scenario(data: dict, name: str) -> str | None:
    value = _string(data, name)
    if value is not None and value not in SCENARIOS:
        raise _Bad(f'unknown scenario {value!r} in "{name}"{_suggest(value, SCENARIOS)} (ids: see domain.md)')
    return value


def _retrieval(data: dict, head: dict) -> RetrievalCase:
    scenario, script = _scenario(data, "expected_scenario"), _string(data, "expected_script")
    if not scenario and not script:
        raise _Bad('a retrieval case needs "expected_scenario" or "expected_script"')
    return RetrievalCase(
        **head,
        query=_string(data, "query", required=True),
        brand=_string(data, "brand"),
        expected_scenario=scenario,
        expected_script=script or None,
    )


def _compliance(data: dict, head: dict) -> ComplianceCase:
    text = _string(data, "text", required=True)
    if "expected" not in data:
        raise _Bad('missing "expected" (use [] for a compliant text)')
    raw = data["expected"]
    if not isinstance(raw, list):
        raise _Bad('"expected" should be a list of {"category": …, "match": …} (or [] for a compliant text)')
    expected = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise _Bad(f"expected #{n} should be an object with category and match")
        category, match = item.get("category"), item.get("match")
        if not isinstance(category, str) or category not in CATEGORIES:
            raise _Bad(f"expected #{n}: unknown category {category!r}{_suggest(str(category), CATEGORIES)}")
        if not isinstance(match, str) or not match:
            raise _Bad(f'expected #{n}: "match" should be a non-empty string')
        spans = find_occurrences(text, match)
        if not spans:
            raise _Bad(f"expected #{n}: match {match!r} does not occur in the text")
        expected.append(ExpectedViolation(category, match, spans))
    sources = data.get("sources")
    if sources is not None and (
        not isinstance(sources, list) or not all(isinstance(s, str) for s in sources)
    ):
        raise _Bad('"sources" should be a list of strings')
    return ComplianceCase(
        **head,
        text=text,
        expected=tuple(expected),
        brand=_string(data, "brand"),
        sources=None if sources is None else tuple(sources),
    )


def _draft(data: dict, head: dict) -> DraftCase:
    return DraftCase(
        **head,
        query=_string(data, "query", required=True),
        brand=_string(data, "brand"),
        expected_scenario=_scenario(data, "expected_scenario"),
        must_include_any=_strings(data, "must_include_any") or (),
        must_not_include=_strings(data, "must_not_include") or (),
    )


_PARSERS = {"retrieval": _retrieval, "compliance": _compliance, "draft": _draft}


def parse_lines(lines: Sequence[str], file: str) -> tuple[list[Case], list[Skipped]]:
    """Parse the lines of one eval file; blank lines are ignored, every other bad line is skipped with a reason."""
    cases: list[Case] = []
    skipped: list[Skipped] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        case_id = ""
        try:
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _Bad(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(data, dict):
                raise _Bad(f"a case should be a JSON object, not {type(data).__name__}")
            raw_id = data.get("id")
            if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
                raise _Bad('missing "id" (a non-empty string, unique in the file)')
            case_id = str(raw_id)
            if case_id in first_line:
                raise _Bad(f"duplicate id {case_id!r} (first used on line {first_line[case_id]})")
            first_line[case_id] = number
            kind = data.get("kind")
            if kind not in _PARSERS:
                shown = "missing" if kind is None else f"unknown kind {kind!r}"
                raise _Bad(f"{shown}; kind should be one of: {', '.join(KINDS)}")
            cases.append(_PARSERS[kind](data, {"id": case_id, "file": file, "line": number}))
        except _Bad as bad:
            skipped.append(Skipped(file, number, str(bad), case_id))
    return cases, skipped


def read_eval_file(path: str | Path) -> tuple[list[Case], list[Skipped]]:
    """Read one eval file; raise EvalFileError when it cannot be read at all."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise EvalFileError(f"{file}: no such eval file; check the path.") from None
    except IsADirectoryError:
        raise EvalFileError(
            f"{file} is a directory; pass the .jsonl files in it (for example {file}/*.jsonl)."
        ) from None
    except UnicodeDecodeError as exc:
        raise EvalFileError(
            f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise EvalFileError(f"{file}: cannot read it ({exc.strerror}).") from None
    # split on newlines only: str.splitlines() also breaks on U+2028 and friends, which JSON strings may hold
    return parse_lines(text.split("\n"), file)


def read_eval_files(paths: Sequence[str | Path]) -> EvalSet:
    """Read eval files in the order given; raise EvalFileError on the first that cannot be read."""
    cases: list[Case] = []
    skipped: list[Skipped] = []
    for path in paths:
        got, bad = read_eval_file(path)
        cases += got
        skipped += bad
        log.info("%s: %d cases, %d lines skipped", path, len(got), len(bad))
    return EvalSet(tuple(cases), tuple(skipped), tuple(str(p) for p in paths))
