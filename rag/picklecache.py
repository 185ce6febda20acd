"""A pickled object kept in a cache directory: made once, read back by every later process.

The clause classifier (rag/compliance/learned.py) and the use-m3 tokenizer (rag/embeddings.py) are kept this way.
A cache that cannot be read or written only costs the time to make the object again.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def cached_pickle(
    path: Path,
    make: Callable[[], T],
    valid: Callable[[object], bool],
    stale: str,
    level: int = logging.WARNING,
) -> T:
    """Return the object pickled at `path` when `valid` accepts it; otherwise `make()` it, pickle it there (written
    aside, then renamed) and remove the files matching the glob `stale` beside it, older versions of the same thing.
    Problems with the cache are logged at `level` and never raised."""
    try:
        found = pickle.loads(path.read_bytes())
        if valid(found):
            return found
    except FileNotFoundError:
        pass
    except Exception as exc:  # a damaged, outdated or foreign file is made again and replaced, never fatal
        log.log(level, "ignoring the cached %s: %s", path, exc)
    made = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(made, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
        for old in path.parent.glob(stale):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.log(level, "cannot cache %s: %s", path, exc)
    return made
