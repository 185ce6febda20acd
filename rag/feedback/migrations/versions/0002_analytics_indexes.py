"""Covering indexes for the analytics: one per grouping, each holding the similarity in hundredths.

With them a stats query walks one index in group order and counts, never reading the table or sorting:
at a million decisions that is the difference between ~1.5 s and ~0.15 s on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GROUPINGS = ("scenario", "script_id", "brand", "mode", "day", "week")


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("sim_pct", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE decisions SET sim_pct = CAST(ROUND(similarity * 100) AS INTEGER) WHERE similarity IS NOT NULL"
    )
    op.drop_index("ix_decisions_period", table_name="decisions")
    op.drop_index("ix_decisions_script", table_name="decisions")
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    for col in GROUPINGS:
        rest = ["decision", "sim_pct"] + (["brand"] if col != "brand" else []) + ["decided_at"]
        op.create_index(f"ix_decisions_by_{col}", "decisions", [col, *rest])


def downgrade() -> None:
    for col in GROUPINGS:
        op.drop_index(f"ix_decisions_by_{col}", table_name="decisions")
    op.drop_index("ix_decisions_decided_at", table_name="decisions")
    op.create_index("ix_decisions_period", "decisions", ["decided_at", "decision", "similarity"])
    op.create_index("ix_decisions_script", "decisions", ["script_id", "decided_at", "decision", "similarity"])
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("sim_pct")
