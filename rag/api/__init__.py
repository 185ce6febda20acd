"""The HTTP API for chat desks (FastAPI on uvicorn): `huashu serve`, keys with `huashu keys`.

It calls only `rag`'s public API: drafting, checking and search go through `Huashu`, decisions and keys
through the feedback store, and every result leaves in the shape rag/serialize.py gives it. FastAPI loads
only when an app is made, so `huashu --help` does not pay for it.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name != "create_app":
        raise AttributeError(f"module 'rag.api' has no attribute {name!r}")
    from rag.api.app import create_app

    return create_app
