"""Open the feedback database: SQLite under the data dir by default, or HUASHU_FEEDBACK_URL; migrate on open.

SQLite runs in WAL mode with foreign keys on and a busy timeout, and every write transaction starts with
BEGIN IMMEDIATE: a writer queues for the lock up front (the busy timeout applies) instead of failing when a
read turns into a write after another process committed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_NAME = "feedback.sqlite3"
BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 5
WRITE = "huashu_write"  # execution option: this connection's transaction writes
_PG_LOCK = 0x68756173  # pg_advisory_xact_lock key: one migrating process at a time


def database_url(settings) -> str:
    """Return the SQLAlchemy URL of the store the settings name."""
    if settings.feedback_url:
        url = make_url(settings.feedback_url)
        if url.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we install
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(settings.data_dir) / SQLITE_NAME}"


def make_engine(url: str) -> Engine:
    """Create the engine with each back end's connection settings."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: atomic and consistent, fsync at checkpoints
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA cache_size = -32000")  # 32 MB: analytics scan indexes of a million entries
    cur.execute("PRAGMA mmap_size = 268435456")  # read through the OS page cache without copying
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def alembic_config(connection=None) -> Config:
    """Return the Alembic configuration of the package's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """Return the newest migration's revision."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at (None when empty)."""
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": "feedback_schema_version"}
        ).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision`, one process at a time."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        log.info("migrating the feedback store to %s", revision)
        command.upgrade(alembic_config(conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` ("base" empties the database)."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        command.downgrade(alembic_config(conn), revision)
