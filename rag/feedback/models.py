"""The feedback tables: one row per draft shown to an agent, one row per decision on it.

A decision carries copies of its draft's brand, scenario, script and mode and its own day and week, so
the analytics group one table by plain columns on SQLite and PostgreSQL alike, with no join and no
date functions that differ between them. Every text is masked before it reaches these rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names fixed by convention, so a migration written by hand names them as the models do.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base holding the feedback schema's metadata."""

    metadata = MetaData(naming_convention=NAMING)


class DraftRow(Base):
    """A draft as the agent saw it, masked; `result` is the masked `draft_result_dict`."""

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    brand: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    script_id: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    drafter: Mapped[str] = mapped_column(String(32))
    drafter_version: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    matched: Mapped[bool] = mapped_column(Boolean)
    blocked: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    draft: Mapped[str] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    index_gen: Mapped[int] = mapped_column(Integer)
    kb_fingerprint: Mapped[str] = mapped_column(String(128))
    result: Mapped[dict] = mapped_column(JSON)


class DecisionRow(Base):
    """The agent's one decision on a draft: accepted, edited or rejected."""

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_decided_at", "decided_at"),
        # Covering indexes, one per grouping of the analytics (migration 0002): a stats query walks one in
        # group order and counts, never reading the table.
        *(
            Index(
                f"ix_decisions_by_{col}",
                col,
                "decision",
                "sim_pct",
                *(["brand"] if col != "brand" else []),
                "decided_at",
            )
            for col in ("scenario", "script_id", "brand", "mode", "day", "week")
        ),
        # A script's latest edits and its rejection reasons (migration 0003).
        Index("ix_decisions_script_recent", "script_id", "decision", "decided_at", "reason"),
    )

    draft_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True
    )
    decision: Mapped[str] = mapped_column(String(16))
    final_text: Mapped[str | None] = mapped_column(Text)
    edit_distance: Mapped[int | None] = mapped_column(Integer)
    similarity: Mapped[float | None] = mapped_column(Float)
    sim_pct: Mapped[int | None] = mapped_column(SmallInteger)  # similarity in hundredths: medians, by index
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(128))
    chosen_script: Mapped[str | None] = mapped_column(String(200))
    recheck: Mapped[list | None] = mapped_column(JSON)
    decided_at: Mapped[datetime] = mapped_column(DateTime)
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD (UTC) of decided_at
    week: Mapped[str] = mapped_column(String(10))  # the Monday of decided_at's ISO week
    brand: Mapped[str] = mapped_column(String(64))
    scenario: Mapped[str] = mapped_column(String(64))
    script_id: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
