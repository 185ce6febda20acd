"""The feedback store: every draft an agent saw and the one decision on it, masked before writing.

`record_draft` is idempotent on the draft's id; `decide` commits one row in one transaction (a crash
leaves all of it or none), returns the stored decision when the same one comes again and refuses a
different one. Both work the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from rapidfuzz.distance import Levenshtein
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from rag.errors import BadInputError, BusyError, DecisionConflictError, NotFoundError
from rag.feedback.engine import WRITE
from rag.feedback.masking import mask_text, mask_tree
from rag.feedback.models import DecisionRow, DraftRow
from rag.feedback.names import DECISIONS, REJECT_REASONS
from rag.serialize import draft_result_dict, violation_dict
from rag.types import DraftResult, Violation

log = logging.getLogger(__name__)

_DRAFT_FOR_DECISION = select(
    DraftRow.draft, DraftRow.brand, DraftRow.scenario, DraftRow.script_id, DraftRow.mode
).where(DraftRow.id == bindparam("id"))
_RETRY_S = 60.0  # a write still locked out after the busy timeout is retried until this much time passed


@dataclass(frozen=True)
class Decision:
    """An agent's decision on a draft, as stored (texts masked)."""

    draft_id: str
    decision: str
    final_text: str | None
    edit_distance: int | None
    similarity: float | None
    reason: str | None
    note: str | None
    agent: str | None
    chosen_script: str | None
    recheck: list | None
    decided_at: str  # ISO 8601, UTC

    def to_dict(self) -> dict:
        """Return the decision as a JSON-ready dict."""
        return asdict(self)


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (how the store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_time(value: str | datetime | None) -> datetime:
    """Return a naive UTC datetime from an ISO string or datetime (now when empty)."""
    if not value:
        return utcnow()
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def iso(when: datetime) -> str:
    """Return a stored (naive UTC) time as ISO 8601 with its zone."""
    return when.replace(tzinfo=UTC).isoformat()


class FeedbackStore:
    """Drafts and decisions in one database; safe to share between threads and processes."""

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = location  # for messages: the path or the URL without its password

    # ---- writing ----
    def record_draft(self, result: DraftResult) -> None:
        """Store a draft (masked); recording the same id again changes nothing."""
        if not result.id:
            raise BadInputError("这条草稿没有 id，无法记录；请用 Huashu.draft 生成的结果。")
        row = _draft_row(result)

        self._write(lambda conn: _insert_new(conn, DraftRow, row))

    def decide(
        self,
        draft_id: str,
        decision: str,
        *,
        final_text: str | None = None,
        reason: str | None = None,
        note: str | None = None,
        agent: str | None = None,
        chosen_script: str | None = None,
        recheck: Sequence | None = None,
        decided_at: datetime | str | None = None,
    ) -> Decision:
        """Record the agent's decision; the same one again is a no-op, a different one is refused.

        `decided_at` (default now) is for importing decisions made elsewhere.
        """
        _check_decision(decision, final_text, reason)
        recheck_list = [_violation(v) for v in recheck] if recheck is not None else None

        def write(conn):
            draft = conn.execute(_DRAFT_FOR_DECISION, {"id": draft_id}).first()
            if draft is None:
                raise NotFoundError(f"没有找到草稿 {draft_id}：先记录草稿（record_draft），再记录决定。")
            new = _decision_row(
                draft, draft_id, decision, final_text, reason, note, agent, chosen_script, recheck_list
            ) | _when(parse_time(decided_at))
            if _insert_new(conn, DecisionRow, new):
                return _decision(new)
            old = conn.execute(select(DecisionRow).where(DecisionRow.draft_id == draft_id)).one()
            stored = _decision(old._mapping)
            if not _same(stored, new):
                raise DecisionConflictError(
                    f"草稿 {draft_id} 已经记录为「{stored.decision}」（{stored.decided_at}），"
                    f"不能再改成「{decision}」；一条草稿只记一个决定。"
                )
            return stored

        return self._write(write)

    def _write(self, work):
        """Run `work(conn)` in one write transaction; retry while another writer holds the lock."""
        deadline = time.monotonic() + _RETRY_S
        while True:
            try:
                with self.engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
                    return work(conn)
            except OperationalError as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    if _locked(exc):
                        raise BusyError(
                            f"反馈库（{self.location}）一直被其他进程占用，这次没有记下来，请稍后重试。"
                        ) from exc
                    raise
                log.warning("feedback store busy, retrying: %s", exc.orig)
                time.sleep(0.05)

    # ---- reading ----
    def get_draft(self, draft_id: str) -> dict | None:
        """Return the stored (masked) draft as `draft_result_dict` shapes it, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(DraftRow.result).where(DraftRow.id == draft_id)).first()
        return dict(row.result) if row else None

    def get_decision(self, draft_id: str) -> Decision | None:
        """Return the decision on a draft, or None when there is none yet."""
        with self.engine.connect() as conn:
            row = conn.execute(select(DecisionRow).where(DecisionRow.draft_id == draft_id)).first()
        return _decision(row._mapping) if row else None

    def count(self) -> dict:
        """Return how many drafts and decisions are stored."""
        with self.engine.connect() as conn:
            drafts = conn.execute(select(func.count()).select_from(DraftRow)).scalar_one()
            decisions = conn.execute(select(func.count()).select_from(DecisionRow)).scalar_one()
        return {"drafts": drafts, "decisions": decisions}

    # ---- analytics, export, retention ----
    def stats(self, since=None, until=None, by: str = "scenario", brand: str | None = None) -> list[dict]:
        """Return decision counts, rates and median similarity per group over a period."""
        from rag.feedback.analytics import stats

        return stats(self.engine, since=since, until=until, by=by, brand=brand)

    def scripts_needing_work(self, since=None, min_decisions: int = 5, limit: int = 20) -> list[dict]:
        """Return scripts ranked by how often agents rewrite or reject them, with common edits and reasons."""
        from rag.feedback.analytics import scripts_needing_work

        return scripts_needing_work(self.engine, since=since, min_decisions=min_decisions, limit=limit)

    def export(self, since=None, until=None) -> Iterator[dict]:
        """Yield one flat dict per draft (with its decision, if any), oldest first."""
        from rag.feedback.export import export_rows

        return export_rows(self.engine, since=since, until=until)

    def purge(self, older_than: timedelta) -> dict:
        """Delete drafts (and their decisions) created more than `older_than` ago; return the counts."""
        cutoff = utcnow() - older_than

        def work(conn):
            old = select(DraftRow.id).where(DraftRow.created_at < cutoff)
            decisions = conn.execute(delete(DecisionRow).where(DecisionRow.draft_id.in_(old))).rowcount
            drafts = conn.execute(delete(DraftRow).where(DraftRow.created_at < cutoff)).rowcount
            return {"drafts": drafts, "decisions": decisions, "before": iso(cutoff)}

        return self._write(work)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@lru_cache(maxsize=8)
def _insert_ignoring(dialect: str, model):
    """Return INSERT … ON CONFLICT DO NOTHING for a table, values bound per call (one cached statement)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model).on_conflict_do_nothing()


def _insert_new(conn, model, values: dict) -> bool:
    """Insert a row unless its primary key is taken (by this or a concurrent writer); return if it was new."""
    return conn.execute(_insert_ignoring(conn.dialect.name, model), values).rowcount == 1


def _locked(exc: SQLAlchemyError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text


def _check_decision(decision: str, final_text: str | None, reason: str | None) -> None:
    if decision not in DECISIONS:
        raise BadInputError(f"不认识的决定「{decision}」：只能是 {' / '.join(DECISIONS)}。")
    if decision == "edited" and not (final_text and final_text.strip()):
        raise BadInputError("「edited」要带上修改后实际发出的文字（final_text）。")
    if decision == "rejected" and final_text:
        raise BadInputError("「rejected」表示没有采用草稿，不带 final_text；改过再发请用「edited」。")
    if reason is not None and decision != "rejected":
        raise BadInputError("拒绝原因（reason）只用于「rejected」。")
    if reason is not None and reason not in REJECT_REASONS:
        raise BadInputError(f"不认识的拒绝原因「{reason}」：只能是 {' / '.join(REJECT_REASONS)}。")


def _violation(v) -> dict:
    return mask_tree(violation_dict(v) if isinstance(v, Violation) else dict(v))


def _draft_row(result: DraftResult) -> dict:
    data = mask_tree(draft_result_dict(result))
    usage = result.usage or {}
    total = result.timings_ms.get("total") if result.timings_ms else None
    return {
        "id": result.id,
        "created_at": parse_time(result.created_at),
        "recorded_at": utcnow(),
        "brand": result.brand,
        "scenario": result.scenario,
        "script_id": result.script_id or "",
        "mode": result.mode,
        "drafter": result.drafter,
        "drafter_version": result.drafter_version,
        "model": result.model,
        "matched": result.matched,
        "blocked": result.blocked,
        "message": data["request"]["message"] if data.get("request") else "",
        "draft": data["draft"],
        "latency_ms": total,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "index_gen": result.index_gen,
        "kb_fingerprint": result.kb_fingerprint,
        "result": data,
    }


def _when(when: datetime) -> dict:
    """Return the decision's time columns: the moment, its UTC day and the Monday of its week."""
    day = when.date()
    return {
        "decided_at": when,
        "day": day.isoformat(),
        "week": (day - timedelta(days=day.weekday())).isoformat(),
    }


def _decision_row(draft, draft_id, decision, final_text, reason, note, agent, chosen_script, recheck) -> dict:
    final = None
    if decision != "rejected":
        final = mask_text(final_text) if final_text is not None else draft.draft
    distance = similarity = None
    if final is not None:
        distance = Levenshtein.distance(draft.draft, final)
        similarity = round(Levenshtein.normalized_similarity(draft.draft, final), 4)
    if decision == "rejected" and reason is None:
        reason = "other"
    return {
        "draft_id": draft_id,
        "decision": decision,
        "final_text": final,
        "edit_distance": distance,
        "similarity": similarity,
        "sim_pct": None if similarity is None else int(similarity * 100 + 0.5),
        "reason": reason,
        "note": mask_text(note),
        "agent": agent,
        "chosen_script": chosen_script,
        "recheck": recheck,
        "brand": draft.brand,
        "scenario": draft.scenario,
        "script_id": draft.script_id,
        "mode": draft.mode,
    }


def _same(stored: Decision, new: dict) -> bool:
    """Return whether a repeated submit says the same thing (decision, text, reason)."""
    return (stored.decision, stored.final_text, stored.reason) == (
        new["decision"],
        new["final_text"],
        new["reason"],
    )


def _decision(row) -> Decision:
    return Decision(
        draft_id=row["draft_id"],
        decision=row["decision"],
        final_text=row["final_text"],
        edit_distance=row["edit_distance"],
        similarity=row["similarity"],
        reason=row["reason"],
        note=row["note"],
        agent=row["agent"],
        chosen_script=row["chosen_script"],
        recheck=row["recheck"],
        decided_at=iso(row["decided_at"]),
    )
