"""Alembic environment: runs on the connection the store hands over (see rag/feedback/engine.py)."""

from __future__ import annotations

from alembic import context

from rag.feedback.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    version_table="feedback_schema_version",
)
with context.begin_transaction():
    context.run_migrations()
