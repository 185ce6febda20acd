"""Keep a process from loading an embedded store's files while a re-index in another process writes them.

Embedded Chroma persists its vector segments to plain files; a second process that loads a segment while the
writer rewrites it reads a half-written file, which native code does not survive (a rare segfault, seen once
in 36 drafts during a full re-index). So a re-index holds this lock exclusively whenever it touches Chroma
(not while it embeds, which is most of its time), and a process loading a generation holds it shared: each
waits for the other a little, never for a whole re-index. A Chroma server orders its own reads and writes.
"""

from __future__ import annotations

import fcntl
import logging
import time
from pathlib import Path

from .errors import BusyError

log = logging.getLogger(__name__)
IO_LOCK_NAME = "huashu-io.lock"
WANT_LOCK_NAME = "huashu-io-want.lock"
_POLL_S = 0.05


class StoreBusyError(BusyError):
    """A re-index in another process is writing the store's files right now."""


class IoLock:
    """The file lock on an embedded store's files: exclusive for a writer, shared for loaders.

    Writers go first: a writer waiting for loaders to finish holds a second lock ("want") that new loaders must
    pass, so back-to-back drafts in other processes cannot keep a re-index out for good. A writer waits as long
    as it takes (a load ends within seconds); a loader waits at most `wait_s` and is then told the store is busy.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self._files: dict[str, object] = {}
        self.held = False

    def _file(self, name: str):
        if name not in self._files:
            self._files[name] = _open(self.path.with_name(name))
        return self._files[name]

    def acquire(self, *, shared: bool, wait_s: float | None = None) -> None:
        """Take the lock (a loader waits up to `wait_s` seconds, a writer with None until it gets it)."""
        if self.path is None or self.held:
            return
        io, want = self._file(self.path.name), self._file(WANT_LOCK_NAME)
        if (
            io is None or want is None
        ):  # no lock file can be made (a read-only store): nothing writes it either
            return
        deadline = None if wait_s is None else time.monotonic() + wait_s
        if shared:
            _flock(want, fcntl.LOCK_SH, deadline)  # a writer is waiting: let it go first
            fcntl.flock(want, fcntl.LOCK_UN)
            _flock(io, fcntl.LOCK_SH, deadline)
        else:
            _flock(want, fcntl.LOCK_EX, deadline)
            try:
                _flock(io, fcntl.LOCK_EX, deadline)
            finally:
                fcntl.flock(want, fcntl.LOCK_UN)
        self.held = True

    def release(self) -> None:
        if self.held:
            fcntl.flock(self._files[self.path.name], fcntl.LOCK_UN)
            self.held = False

    def close(self) -> None:
        self.release()
        for f in self._files.values():
            if f is not None:
                f.close()
        self._files.clear()


def _flock(file, mode: int, deadline: float | None) -> None:
    """Lock `file`, polling until `deadline` (None: block); raise `StoreBusyError` when it passes."""
    if deadline is None:
        fcntl.flock(file, mode)
        return
    while True:
        try:
            fcntl.flock(file, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    "另一个进程正在重新索引、写入向量库文件；请稍后再试（已经在用的窗口会继续用上一代索引）。"
                ) from None
            time.sleep(_POLL_S)


def _open(path: Path):
    for mode in ("a", "r"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return open(path, mode)  # noqa: SIM115
        except OSError:
            continue
    log.debug("no store lock at %s", path)
    return None


def io_lock(store) -> IoLock:
    """Return the (unheld) lock on `store`'s files; a Chroma server needs none."""
    return IoLock(None if store.server else store.settings.chroma_dir / IO_LOCK_NAME)
