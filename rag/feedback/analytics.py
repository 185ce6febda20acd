"""Analytics over decisions: rates and median similarity per group, and the scripts that need work.

Medians come from a histogram of similarity in hundredths (`sim_pct`) counted by the database: a query walks
one covering index in group order (migration 0002) and returns at most ~100 rows per group however many
decisions there are; the median is exact to 0.01.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, literal_column, select
from sqlalchemy.engine import Engine

from rag.errors import BadInputError
from rag.feedback.diffs import common_edits
from rag.feedback.models import DecisionRow, DraftRow
from rag.feedback.names import DECISIONS, GROUP_BY
from rag.feedback.store import parse_time, utcnow

GROUPS = dict(zip(GROUP_BY, (DecisionRow.scenario, DecisionRow.script_id, DecisionRow.brand,
                             DecisionRow.mode, DecisionRow.day, DecisionRow.week), strict=True))  # fmt: skip
_AGO = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
EDIT_SAMPLE = 50  # the most recent edits of a script that its common edits are counted over


def parse_when(value) -> datetime | None:
    """Return a naive UTC datetime from None, a datetime or date, an ISO string, or an age like 7d / 12h / 4w."""
    if value is None or value in ("", "all"):
        return None
    if isinstance(value, datetime):
        return parse_time(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    m = _AGO.match(str(value))
    if m:
        return utcnow() - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        return parse_time(str(value))
    except ValueError:
        raise BadInputError(
            f"看不懂时间「{value}」：写成 7d（7 天）、12h、4w，或日期 2026-11-01 / 2026-11-01T08:00。"
        ) from None


def parse_age(value: str) -> timedelta:
    """Return the timedelta of an age like 180d, 12h or 4w."""
    m = _AGO.match(value or "")
    if not m:
        raise BadInputError(f"看不懂时长「{value}」：写成 180d（天）、12h（小时）或 4w（周）。")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _period(since, until, brand: str | None = None, by: str | None = None) -> list:
    conds = []
    if (start := parse_when(since)) is not None:
        conds.append(DecisionRow.decided_at >= start)
        if by in (
            "day",
            "week",
        ):  # the same bound on the grouping column: its index is then searched by range
            first = start.date() - timedelta(days=start.weekday() if by == "week" else 0)
            conds.append(GROUPS[by] >= first.isoformat())
    if (end := parse_when(until)) is not None:
        conds.append(DecisionRow.decided_at < end)
        if by in ("day", "week"):
            conds.append(GROUPS[by] <= end.date().isoformat())
    if brand:
        conds.append(DecisionRow.brand == brand)
    return conds


def median_of_histogram(hist: Counter) -> float | None:
    """Return the median of values given as {hundredths: count}."""
    total = sum(hist.values())
    if not total:
        return None
    lo_rank, hi_rank = (total - 1) // 2, total // 2
    seen, lo = 0, None
    for value in sorted(hist):
        seen += hist[value]
        if lo is None and seen > lo_rank:
            lo = value
        if seen > hi_rank:
            return round((lo + value) / 200, 3)
    return None


def _rates(counts: Counter, hist: Counter) -> dict:
    n = sum(counts.values())
    return {
        "decisions": n,
        **{d: counts[d] for d in DECISIONS},
        "acceptance_rate": round(counts["accepted"] / n, 4) if n else 0.0,
        "edit_rate": round(counts["edited"] / n, 4) if n else 0.0,
        "rejection_rate": round(counts["rejected"] / n, 4) if n else 0.0,
        "median_similarity": median_of_histogram(hist),
    }


def _counts(conn, group_col, conds, histogram: bool = True) -> tuple[dict, dict]:
    """Return {group: Counter(decision)} and {group: Counter(similarity hundredths)} (empty unless asked)."""
    pct = DecisionRow.sim_pct if histogram else literal_column("NULL")
    query = (
        select(group_col.label("grp"), DecisionRow.decision, pct, func.count())
        .where(and_(True, *conds))
        .group_by(group_col, DecisionRow.decision, *([pct] if histogram else []))
    )
    counts: dict = defaultdict(Counter)
    hists: dict = defaultdict(Counter)
    for grp, decision, b, n in conn.execute(query):
        counts[grp][decision] += n
        if b is not None:
            hists[grp][b] += n
    return counts, hists


def stats(
    engine: Engine, since=None, until=None, by: str = "scenario", brand: str | None = None
) -> list[dict]:
    """Return one row per group: counts, acceptance / edit / rejection rates, median similarity."""
    if by not in GROUPS:
        raise BadInputError(f"不能按「{by}」分组：可以用 {' / '.join(GROUPS)}。")
    with engine.connect() as conn:
        counts, hists = _counts(conn, GROUPS[by], _period(since, until, brand, by))
    rows = [{"by": by, "key": k} | _rates(c, hists[k]) for k, c in counts.items()]
    if by in ("day", "week"):
        return sorted(rows, key=lambda r: r["key"])
    return sorted(rows, key=lambda r: (-r["decisions"], r["key"]))


def scripts_needing_work(engine: Engine, since=None, min_decisions: int = 5, limit: int = 20) -> list[dict]:
    """Return scripts ranked by how often agents edit or reject them, with their common edits and reasons."""
    conds = _period(since, None)
    with engine.connect() as conn:
        # Rank on counts alone; similarity histograms only for the scripts that make the list.
        counts, _ = _counts(
            conn, DecisionRow.script_id, [*conds, DecisionRow.script_id != ""], histogram=False
        )
        ranked = []
        for sid, c in counts.items():
            n = sum(c.values())
            if n >= min_decisions and c["edited"] + c["rejected"]:
                ranked.append((-(c["edited"] + c["rejected"]) / n, -n, sid))
        ids = [sid for *_, sid in sorted(ranked)[:limit]]
        _, hists = (
            _counts(conn, DecisionRow.script_id, [*conds, DecisionRow.script_id.in_(ids)])
            if ids
            else ({}, {})
        )
        reasons = _reasons(conn, ids, conds)
        out = []
        for sid in ids:
            c = counts[sid]
            row = {"script_id": sid} | _rates(c, hists.get(sid, Counter()))
            row["rework_rate"] = round((c["edited"] + c["rejected"]) / row["decisions"], 4)
            out.append(row | _script_detail(conn, sid, conds, reasons.get(sid, [])))
    return out


def _reasons(conn, script_ids: list[str], conds) -> dict[str, list[tuple[str, int]]]:
    """Return each script's rejection reasons, most common first (one query for all of them)."""
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if not script_ids:
        return out
    rows = conn.execute(
        select(DecisionRow.script_id, DecisionRow.reason, func.count())
        .where(*conds, DecisionRow.script_id.in_(script_ids), DecisionRow.decision == "rejected")
        .group_by(DecisionRow.script_id, DecisionRow.reason)
    )
    for sid, reason, n in sorted(rows, key=lambda r: (r[0], -r[2], r[1] or "")):
        out[sid].append((reason, n))
    return out


def _script_detail(conn, script_id: str, conds, reasons: list[tuple[str, int]]) -> dict:
    edits = conn.execute(
        select(DraftRow.draft, DecisionRow.final_text, DecisionRow.scenario)
        .join(DraftRow, DraftRow.id == DecisionRow.draft_id)
        .where(*conds, DecisionRow.script_id == script_id, DecisionRow.decision == "edited")
        .order_by(DecisionRow.decided_at.desc())
        .limit(EDIT_SAMPLE)
    ).all()
    rejected = sum(n for _, n in reasons)
    return {
        "scenario": edits[0].scenario if edits else _scenario(conn, script_id),
        "common_edits": common_edits([(e.draft, e.final_text) for e in edits]),
        "edits_sampled": len(edits),
        "rejection_reasons": [{"reason": r, "count": n, "share": round(n / rejected, 3)} for r, n in reasons],
        "example_draft": edits[0].draft if edits else None,
    }


def _scenario(conn, script_id: str) -> str:
    return (
        conn.execute(
            select(DecisionRow.scenario).where(DecisionRow.script_id == script_id).limit(1)
        ).scalar_one_or_none()
        or ""
    )
