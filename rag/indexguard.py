"""Checks a re-index makes before it writes: would it delete too much, and does the store still hold the index?

A directory moved away or not mounted looks like "every script in it was deleted"; a run that would remove a
large share of the index stops and says what would go. A store file deleted or damaged behind our back looks
like "nothing changed"; each partition the manifest names is probed, and what it lost is embedded again.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from .errors import MassDeleteError, StoreCorruptError
from .store import Manifest, Store, item_record_ids
from .storeerrors import explain

log = logging.getLogger(__name__)
MASS_DELETE_SHARE = 0.2  # default of the setting mass_delete_share
MASS_DELETE_MIN = 5  # removing fewer items than this is never a mass delete, whatever the share
GUARDED_KINDS = ("script", "policy")  # losing every one of these is refused even below the minimum
_KIND_NAMES = {"script": "话术", "policy": "政策", "reference": "参考文档片段"}


def guard_deletions(old: Manifest, new_items: dict, removed: list[str], share: float) -> None:
    """Raise `MassDeleteError` if removing `removed` from `old` is more than `share` of it, a whole kind or scenario."""
    if not removed:
        return
    total = len(old.items)
    left = Counter(key.split(":", 1)[0] for key in new_items)
    had = Counter(key.split(":", 1)[0] for key in old.items)
    emptied = [k for k in GUARDED_KINDS if had[k] and not left[k]]
    gone = sorted(_scenarios(old.items) - _scenarios(new_items)) if "script" not in emptied else []
    if not emptied and not gone and (len(removed) < MASS_DELETE_MIN or len(removed) <= share * total):
        return
    kinds = Counter(key.split(":", 1)[0] for key in removed)
    what = "，".join(f"{_KIND_NAMES.get(k, k)} {n} 条" for k, n in kinds.most_common())
    places = Counter(_folder(old.items[key]["s"]) for key in removed)
    where = "，".join(f"{p}（{n}）" for p, n in places.most_common(5)) + ("…" if len(places) > 5 else "")
    whole = f"，知识库里将不再有任何{'、'.join(_KIND_NAMES[k] for k in emptied)}" if emptied else ""
    if gone:
        whole += f"，场景 {'、'.join(gone)} 将一条话术也没有（这些场景的顾客只会收到“稍后回复”）"
    raise MassDeleteError(
        f"这次重新索引会从索引里删除 {len(removed)} 条（现有 {total} 条的 {len(removed) * 100 // total}%）：{what}{whole}；"
        f"来自 {where}。如果是目录被移走、改名或没有挂载，请先恢复它；如果确实要删，运行 "
        "`huashu index --allow-mass-delete`。现有索引没有改动，照常服务。"
    )


def _scenarios(items: dict) -> set[str]:
    """Return the scenarios the scripts among `items` answer (entries written before scenarios were kept: none)."""
    return {e["sc"] for k, e in items.items() if k.startswith("script:") and e.get("sc")}


def _folder(source: str) -> str:
    return source.rsplit("/", 1)[0] + "/" if "/" in source else source


@dataclass(frozen=True)
class Damage:
    """What the store lost: item keys to embed again, and collections to rebuild from scratch."""

    keys: frozenset[str] = frozenset()
    collections: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # collections the manifest names that are gone
    details: tuple[str, ...] = field(default=())

    def notice(self, repaired: list[str]) -> str:
        """Return what the report says about the repair."""
        parts = [f"{len(self.collections)} 个分区损坏"] if self.collections else []
        parts += [f"{len(self.missing)} 个分区缺失"] if self.missing else []
        lost = len(self.keys) - len(repaired)
        text = (
            f"向量库不完整（{'，'.join(parts) or '缺少部分记录'}）：已从知识库重新写入 {len(repaired)} 条。"
        )
        if lost:
            text += f"另有 {lost} 条出自有错误的文件，修好文件后重新索引才能补上。"
        return text


def check_store(store: Store, space: str, manifest: Manifest, *, deep: bool = False) -> Damage:
    """Probe every partition `manifest` names; with `deep`, also check it holds every record named.

    A partition whose vector files are missing or damaged fails the probe: it is to be dropped and rebuilt.
    Any other error (a full disk, no permission) is raised as it is, explained.
    """
    if not manifest.items:
        return Damage()
    ids: dict[str, set[str]] = {}
    keys: dict[str, set[str]] = {}
    for key, entry in manifest.items.items():
        kind = key.split(":", 1)[0]
        for rid in item_record_ids(key, entry):
            name = store.name(space, kind, rid.rsplit("|", 3)[2])
            ids.setdefault(name, set()).add(rid)
            keys.setdefault(name, set()).add(key)
    damaged: set[str] = set()
    broken, missing, details = [], [], []
    for name in sorted(ids):
        col = store.collection(name, create=False)
        if col is None:
            missing.append(name)
            damaged |= keys[name]
            continue
        try:
            col.get(limit=1, include=[])
            if deep:
                held = set(store.get_all(col, [])["ids"])
                lost = ids[name] - held
                damaged |= {rid.rsplit("|", 3)[0] for rid in lost}
        except Exception as exc:
            err = explain(exc, store.location, server=store.server)
            if not isinstance(err, StoreCorruptError):
                raise err from exc
            log.info("partition %s is damaged: %s", name, exc)
            broken.append(name)
            details.append(f"{name}: {exc}")
            damaged |= keys[name]
    return Damage(frozenset(damaged), tuple(broken), tuple(missing), tuple(details))
