"""What every page shares: the one Huashu and feedback store per server process, and safe ways to show text."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import streamlit as st

import rag

log = logging.getLogger(__name__)


def settings() -> rag.Settings:
    """Return the settings (from HUASHU_* and .env), or stop the page with what to fix."""
    try:
        return rag.load_settings()
    except rag.HuashuError as exc:
        st.error(f"设置有误：{exc}")
        st.stop()


# settings a Huashu does not read: changing them must not load a second model and index
_NOT_HUASHU = {"feedback_url", "upload_max_mb", "upload_types"}


def _key(s: rag.Settings, only: set[str] | None = None) -> str:
    fields = only if only is not None else set(type(s).model_fields) - _NOT_HUASHU
    return s.model_dump_json(include=fields)


@st.cache_resource(show_spinner="正在加载索引和向量模型…")
def _huashu(key: str) -> rag.Huashu:
    app = rag.Huashu(rag.Settings(_env_file=None, **json.loads(key)))
    app.warm_up()
    import pandas  # noqa: F401  (the first table a page draws imports it: not during an agent's first draft)

    for brand in app.brands:  # the first query of each brand's partition pays for opening it: pay it now
        app.retrieve("你好", brand=brand)
    return app


@st.cache_resource(show_spinner=False)
def _store(key: str):
    return rag.try_open_feedback_store(rag.Settings(_env_file=None, **json.loads(key)))


def huashu(*, required: bool = True) -> rag.Huashu | None:
    """Return this server's Huashu (made and warmed once); without it, say why and stop the page (or
    return None when the page has work to offer without an index)."""
    try:
        return _huashu(_key(settings()))
    except rag.HuashuError as exc:
        st.error(message(exc))
        if required:
            st.stop()
    return None


@st.cache_resource
def jobs():
    """Return the server's background jobs (one re-index and one eval run at a time)."""
    from ui.jobs import Jobs

    return Jobs()


def feedback_store():
    """Return (store, "") or (None, why it is not recording)."""
    return _store(_key(settings(), only={"data_dir", "feedback_url"}))


def message(exc: Exception) -> str:
    """Return what to tell the person about an error, in plain words."""
    if isinstance(exc, rag.IndexNotBuiltError):
        return f"还没有索引：{exc}（运行 `make run` 或 `huashu index` 建好索引后刷新本页。）"
    if isinstance(exc, rag.HuashuError):
        return str(exc)
    return f"出了意外的错误（{type(exc).__name__}），已记录在服务日志里；请重试，或联系技术同事。"


def attempt(work: Callable, *args, **kwargs):
    """Run `work`; on an error show it in the page (never a traceback) and return None."""
    try:
        return work(*args, **kwargs)
    except rag.HuashuError as exc:
        st.error(message(exc))
    except Exception as exc:  # a bug: logged with its traceback, shown as a plain sentence
        log.exception("workspace action failed")
        st.error(message(exc))
    return None


def plain(text: str) -> None:
    """Show customer or agent text exactly as written: never Markdown, never HTML."""
    st.text(text)
