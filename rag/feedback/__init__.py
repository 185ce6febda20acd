"""The feedback store: drafts, agents' decisions on them, and the analytics a knowledge manager reads.

`open_feedback_store(settings)` opens SQLite under the data dir (or HUASHU_FEEDBACK_URL) and migrates it.
Names load on first use, so `huashu --help` does not pay for SQLAlchemy.
"""

from __future__ import annotations

import importlib
import logging

from rag.errors import DecisionConflictError, FeedbackUnavailableError
from rag.feedback.names import DECISIONS, REJECT_REASONS

log = logging.getLogger(__name__)

NOT_RECORDING = "反馈库不可用，草稿照常生成，但采纳/修改/拒绝暂时不会被记录。"

__all__ = [
    "DECISIONS",
    "ApiKey",
    "ApiKeys",
    "NOT_RECORDING",
    "REJECT_REASONS",
    "Decision",
    "DecisionConflictError",
    "FeedbackStore",
    "FeedbackUnavailableError",
    "open_feedback_store",
    "try_open_feedback_store",
]
_LAZY = {"Decision": "store", "FeedbackStore": "store", "ApiKey": "keys", "ApiKeys": "keys"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'rag.feedback' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def open_feedback_store(settings):
    """Open (and migrate) the feedback store the settings name; FeedbackUnavailableError when it cannot."""
    from alembic.util.exc import CommandError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from rag.feedback.engine import SQLITE_NAME, database_url, make_engine, upgrade
    from rag.feedback.store import FeedbackStore

    if settings.feedback_url:
        setting = "HUASHU_FEEDBACK_URL"
        try:
            where = make_url(settings.feedback_url).render_as_string(hide_password=True)
        except Exception:  # an unparseable URL: name the setting, not its (maybe secret) value
            where = "（无法解析的地址）"
    else:
        setting, where = "HUASHU_DATA_DIR", str(settings.data_dir / SQLITE_NAME)
    engine = None
    try:
        engine = make_engine(database_url(settings))
        upgrade(engine)
    except CommandError as exc:  # e.g. a database migrated by a newer Huashu than this one
        engine.dispose()
        raise FeedbackUnavailableError(
            f"反馈库（{where}）的结构版本这个版本的 Huashu 不认识：{exc}。请升级 Huashu，"
            f"或用设置 {setting} 换一个数据库。{NOT_RECORDING}"
        ) from exc
    except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:
        if engine is not None:
            engine.dispose()
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise FeedbackUnavailableError(
            f"反馈库打不开（{where}）：{detail}。请检查设置 {setting}"
            + ("（数据目录要存在且可写）" if setting == "HUASHU_DATA_DIR" else "（地址、账号和数据库服务）")
            + f"。{NOT_RECORDING}"
        ) from exc
    return FeedbackStore(engine, where)


def try_open_feedback_store(settings):
    """Return (store, "") or (None, the message to show) so drafting goes on without the store."""
    try:
        return open_feedback_store(settings), ""
    except FeedbackUnavailableError as exc:
        log.warning("%s", exc)
        return None, str(exc)
