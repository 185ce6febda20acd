"""An index for "scripts that need work": a script's latest edits and its rejection reasons without a sort.

Walking (script_id, decision, decided_at) backwards gives the most recent edits and stops at the sample
size; `reason` in the index counts rejection reasons without reading the table.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_decisions_script_recent", "decisions", ["script_id", "decision", "decided_at", "reason"]
    )


def downgrade() -> None:
    op.drop_index("ix_decisions_script_recent", table_name="decisions")
