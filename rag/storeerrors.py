"""Turn what Chroma (and SQLite and the file system under it) raise into errors that say what to do next.

Chroma reports a full disk, a read-only directory and a damaged file as the same few exception classes with
the SQLite or OS message inside; this module reads that message, so a full disk is not answered with "check
whether the Chroma server runs".
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import (
    BusyError,
    HuashuError,
    StoreCorruptError,
    StoreUnavailableError,
    StoreWriteError,
)

# lower-case fragments of the messages SQLite, the OS and Chroma's Rust core use, by cause
_FULL = ("disk is full", "no space left", "file too large", "disk i/o error", "(code: 13)", "(code: 778)")
_READ_ONLY = (
    "readonly",
    "read-only",
    "read only",
    "permission denied",
    "(code: 8)",
    "operation not permitted",
)
_CORRUPT = (
    "file is not a database",
    "malformed",
    "(code: 26)",
    "(code: 11)",
    "error loading hnsw",
    "hnsw segment reader",
    "no such table",
)
_LOCKED = ("database is locked", "(code: 5)")
# Chroma's Rust core folds its write log into SQLite now and then; when that write fails it says only this
_COMPACTION = ("error in compaction", "failed to apply logs")
_OS_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_OS_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def explain(exc: BaseException, location: str, *, server: bool = False) -> HuashuError:
    """Return the Huashu error that says what `exc`, raised by the store at `location`, means for the user."""
    if isinstance(exc, HuashuError):
        return exc
    detail = f"{type(exc).__name__}: {exc}"[:300]
    text = detail.lower()
    code = getattr(exc, "errno", None)
    if code in _OS_FULL or any(s in text for s in _FULL):
        return StoreWriteError(
            f"向量库 {location} 写不进去（{detail}）：多半是磁盘满了。请腾出空间后再运行 `huashu index`，"
            "它会清理这次写了一半的内容再接着做；在此之前，上一次建好的索引照常出草稿。"
        )
    if code in _OS_READ_ONLY or any(s in text for s in _READ_ONLY):
        return StoreWriteError(
            f"向量库 {location} 是只读的或没有写权限（{detail}）：请让运行 Huashu 的用户能写这个目录，"
            "或用 HUASHU_DATA_DIR / HUASHU_CHROMA_PATH 指到可写的位置。"
        )
    if any(s in text for s in _LOCKED):
        return BusyError(f"向量库 {location} 正被另一个进程写入（{detail}）：请稍后再试。")
    if any(s in text for s in _COMPACTION):
        return StoreWriteError(
            f"向量库 {location} 写不进去（{detail}）：Chroma 整理写入记录时没能写进 SQLite，多半是磁盘满了或目录"
            "不可写。请腾出空间、确认目录可写后再运行 `huashu index`，它会清理这次写了一半的内容再接着做；"
            "在此之前，上一次建好的索引照常出草稿。"
        )
    if any(s in text for s in _CORRUPT):
        return StoreCorruptError(
            f"向量库 {location} 的文件缺失或损坏（{detail}）：请运行 `huashu index --repair` 重建受损部分；"
            f"仍不行时，把 {location} 移到别处后运行 `huashu index --full` 从知识库重建（知识库文件不受影响）。"
        )
    if server:
        return StoreUnavailableError(
            f"连不上向量库 {location}：{detail}。请检查 Chroma 服务是否在运行、地址是否正确。"
        )
    return StoreUnavailableError(
        f"打不开向量库 {location}（{detail}）：请检查这个目录是否存在、可读写、磁盘是否有空间；"
        "必要时运行 `huashu index --repair`。"
    )


@contextmanager
def store_errors(location: str, *, server: bool = False) -> Iterator[None]:
    """Re-raise whatever the store raises inside the block as the Huashu error that explains it."""
    try:
        yield
    except HuashuError:
        raise
    except Exception as exc:
        raise explain(exc, location, server=server) from exc
