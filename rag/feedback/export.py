"""Export drafts with their decisions as flat rows (CSV or JSON lines), streamed so any size fits."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.engine import Engine

from rag.errors import BadInputError
from rag.feedback.models import DecisionRow, DraftRow
from rag.feedback.names import EXPORT_FORMATS as FORMATS
from rag.feedback.store import iso

_DRAFT = ("brand", "scenario", "script_id", "mode", "drafter", "drafter_version", "model", "matched", "blocked",
          "message", "draft", "latency_ms", "prompt_tokens", "completion_tokens", "index_gen", "kb_fingerprint")  # fmt: skip
_DECISION = (
    "decision",
    "final_text",
    "edit_distance",
    "similarity",
    "reason",
    "note",
    "agent",
    "chosen_script",
)
COLUMNS = ("draft_id", "created_at", *_DRAFT, "sources", "violations", *_DECISION, "recheck", "decided_at")


def export_rows(engine: Engine, since=None, until=None) -> Iterator[dict]:
    """Yield one dict per draft created in the period, oldest first, with its decision's fields (or None)."""
    from rag.feedback.analytics import parse_when

    query = (
        select(
            DraftRow.id,
            DraftRow.created_at,
            *(getattr(DraftRow, c) for c in _DRAFT),
            DraftRow.result,
            *(getattr(DecisionRow, c) for c in _DECISION),
            DecisionRow.recheck,
            DecisionRow.decided_at,
        )
        .outerjoin(DecisionRow, DecisionRow.draft_id == DraftRow.id)
        .order_by(DraftRow.created_at, DraftRow.id)
    )
    if (start := parse_when(since)) is not None:
        query = query.where(DraftRow.created_at >= start)
    if (end := parse_when(until)) is not None:
        query = query.where(DraftRow.created_at < end)
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=1000).execute(query):
            m = row._mapping
            yield {
                "draft_id": m["id"],
                "created_at": iso(m["created_at"]),
                **{c: m[c] for c in _DRAFT},
                "sources": m["result"].get("sources", []),
                "violations": m["result"].get("violations", []),
                **{c: m[c] for c in _DECISION},
                "recheck": m["recheck"],
                "decided_at": iso(m["decided_at"]) if m["decided_at"] else None,
            }


def write_export(rows: Iterator[dict], out: TextIO, fmt: str = "jsonl") -> int:
    """Write rows as CSV (nested fields as JSON text) or JSON lines; return how many were written."""
    if fmt not in FORMATS:
        raise BadInputError(f"不支持的导出格式「{fmt}」：可以用 {' / '.join(FORMATS)}。")
    n = 0
    writer = csv.DictWriter(out, fieldnames=COLUMNS) if fmt == "csv" else None
    if writer:
        writer.writeheader()
    for row in rows:
        if writer:
            writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v
                             for k, v in row.items()})  # fmt: skip
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n
