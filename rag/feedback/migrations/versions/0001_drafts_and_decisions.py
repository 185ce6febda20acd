"""Drafts and the agents' decisions on them."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("script_id", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("drafter", sa.String(32), nullable=False),
        sa.Column("drafter_version", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("index_gen", sa.Integer(), nullable=False),
        sa.Column("kb_fingerprint", sa.String(128), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
    )
    op.create_index("ix_drafts_created_at", "drafts", ["created_at"])
    op.create_table(
        "decisions",
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("edit_distance", sa.Integer(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("agent", sa.String(128), nullable=True),
        sa.Column("chosen_script", sa.String(200), nullable=True),
        sa.Column("recheck", sa.JSON(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("script_id", sa.String(200), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name="fk_decisions_draft_id_drafts", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("draft_id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_period", "decisions", ["decided_at", "decision", "similarity"])
    op.create_index("ix_decisions_script", "decisions", ["script_id", "decided_at", "decision", "similarity"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("drafts")
