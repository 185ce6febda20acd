"""Find the files of one part of the knowledge base (scripts/, policies/, references/), refusing what is unsafe.

A directory that cannot be listed stops the load: taking its files as deleted would remove their scripts from
the index. A file whose name is not UTF-8, or a link that leads outside the knowledge base or nowhere, is
reported and not read.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import KnowledgeBaseError
from .kbfields import Problem


@dataclass(frozen=True)
class Found:
    """The files to load, and the ones refused with the reason (as problems of their own)."""

    paths: list[Path]
    refused: list[Problem]


def shown_name(path: str) -> str:
    """Return a path as it can be printed, even when its name is not valid UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        raw = os.fsencode(path)
        try:
            return raw.decode("gb18030")  # names copied from a Chinese Windows machine
        except UnicodeDecodeError:
            return raw.decode("utf-8", "backslashreplace")


def _unreadable(root: Path, path: Path, exc: OSError | str) -> KnowledgeBaseError:
    rel = shown_name(path.relative_to(root).as_posix()) if path != root else str(root)
    reason = exc if isinstance(exc, str) else (exc.strerror or str(exc))
    return KnowledgeBaseError(
        rel,
        f"读不了这个目录（{reason}）。为免把里面的文件当成已删除，这次不重新索引，现有索引照常服务；"
        "请检查权限或挂载，修好后再运行 `huashu index`。",
    )


def find_files(root: Path, sub: str, pattern: str, *, skip_hidden: bool, outside: str) -> Found:
    """Return the files under `root/sub` whose name matches `pattern`, sorted; raise if a directory is unreadable.

    `outside` is the severity ("error" or "warning") of a link that leads outside the knowledge base.
    """
    top = root / sub
    if not os.path.lexists(top):
        return Found([], [])
    if not top.is_dir():
        raise _unreadable(root, top, "它不是目录，或者是指向不存在位置的链接")
    real_root = root.resolve()
    paths: list[Path] = []
    refused: list[Problem] = []
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=errors.append):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            shown = shown_name(rel)
            if path.is_symlink() and not path.exists():
                if not fnmatch.fnmatch(name, pattern):  # most likely a linked directory that is gone
                    raise _unreadable(root, path, "链接指向的位置不存在")
                refused.append(Problem(shown, "这个链接指向的文件不存在；请恢复它或删掉链接。"))
                continue
            if (skip_hidden and name.startswith(".")) or not fnmatch.fnmatch(name, pattern):
                continue
            if shown != rel:
                refused.append(
                    Problem(
                        shown,
                        "文件名不是 UTF-8 编码，已跳过；请用 UTF-8 文件名重新保存（例如在终端里改名）。",
                        severity=outside,
                    )
                )
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(real_root):
                refused.append(
                    Problem(
                        rel,
                        f"这是指向知识库以外（{path.resolve()}）的链接，已拒绝读取；请把文件本身放进知识库。",
                        severity=outside,
                    )
                )
                continue
            paths.append(path)
    if errors:
        err = errors[0]
        raise _unreadable(root, Path(err.filename) if err.filename else top, err)
    return Found(paths, refused)
