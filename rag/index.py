"""Incremental, crash-safe re-indexing of the knowledge base into Chroma.

Only items whose content hash changed are embedded again; items of deleted files are
removed; a broken file keeps what it contributed before. New records are written first,
then the manifest is replaced in one write, then records no longer needed are deleted:
readers see either the old index or the new one, never a half-built state.
"""

from __future__ import annotations

import fcntl
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import IndexBusyError
from .indexguard import MASS_DELETE_SHARE, Damage, check_store, guard_deletions
from .kb import KB_PARSE_VERSION, KnowledgeBase
from .kbconfig import RULES_FILE, ServingConfig, parse_config
from .normalize import normalize
from .records import (
    CENTROID,
    TEXT_VERSION,
    Record,
    build_records,
    centroid_vector,
    item_batches,
    item_hash,
    item_key,
    scopes,
)
from .scenario_index import scenario_entry
from .scenario_model import MODEL_VERSION, examples_fingerprint
from .store import KINDS, Manifest, Store, space_id, store_files
from .storeerrors import explain as store_explain
from .storelock import io_lock
from .types import ALL_BRANDS

if TYPE_CHECKING:
    from .embeddings import ProviderEmbeddings

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
WRITE_BATCH = 512


@dataclass
class IndexReport:
    """What a re-index did: added / updated / removed / unchanged / failed, with reasons."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    kept_from_broken_files: list[str] = field(default_factory=list)
    config_changed: list[str] = field(default_factory=list)  # brands / tone / rules files now served anew
    repaired: list[str] = field(
        default_factory=list
    )  # items re-embedded because the store lost their records
    notices: list[str] = field(default_factory=list)
    scenario_model: dict = field(
        default_factory=dict
    )  # the classifier this generation serves (manifest entry)
    embedded: int = 0
    gen: int = 0
    provider: str = ""
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.config_changed or self.repaired)

    @property
    def failed_files(self) -> list[str]:
        """Return the files that failed to load, each once."""
        return sorted({f["file"] for f in self.failed})

    def summary(self) -> dict:
        """Return counts only."""
        return {k: len(v) for k, v in asdict(self).items() if isinstance(v, list)} | {
            "embedded": self.embedded,
            "gen": self.gen,
            "seconds": round(self.seconds, 3),
        }

    def to_json(self) -> str:
        from .serialize import index_report_dict

        return json.dumps(index_report_dict(self), ensure_ascii=False, indent=2)


class _Lock:
    """An exclusive lock on the store so two re-indexes never interleave, whichever data directory they use."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "a")  # noqa: SIM115

    def __enter__(self):
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._file.close()
            raise IndexBusyError("另一个重新索引正在进行；等它结束后再试。") from exc
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


@dataclass(frozen=True)
class _Plan:
    items: dict[str, dict]
    to_embed: list[Record]
    sources: dict[str, str]
    config: ServingConfig
    examples: list[tuple]  # (key, scenario, examples) per script: what the scenario classifier learns from


class NoopStamp:
    """What re-indexing the same files again would report, kept beside an embedded store by the last run.

    Deciding "nothing changed" otherwise means opening Chroma, which costs a shell command most of a second.
    The stamp is removed before a run writes anything and rewritten after it switched generations, so a run
    killed halfway leaves none, and it lives inside the store's directory, so a deleted store takes it along.
    A Chroma server may be written by other machines: there the store is always asked.
    """

    NAME = "huashu-noop.json"

    def __init__(self, settings, provider: str):
        self.path = None if settings.chroma_url else settings.chroma_dir / self.NAME
        self.dir = settings.chroma_dir
        self.key = {
            "version": f"{TEXT_VERSION}/{KB_PARSE_VERSION}",
            "scenario_model": "off" if settings.scenario_model == "off" else MODEL_VERSION,
            "provider": provider,
            "prefix": settings.collection_prefix,
        }

    def _key(self, kb: KnowledgeBase) -> dict:
        return self.key | {"kb_path": str(kb.root), "kb": kb.fingerprint()}

    def report(self, kb: KnowledgeBase) -> IndexReport | None:
        """Return the report for `kb` if the store is known to hold exactly it, else None."""
        if self.path is None:
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            # a store file deleted or replaced since: only the store can say what it still holds
            if data.get("key") == self._key(kb) and data.get("files") == store_files(self.dir):
                return IndexReport(**data["report"])
        except (OSError, ValueError, TypeError, KeyError):
            pass
        return None

    def write(self, kb: KnowledgeBase, report: IndexReport) -> None:
        if self.path is None or not self.path.parent.is_dir():
            return
        tmp = self.path.with_suffix(".tmp")
        data = {
            "key": self._key(kb),
            "report": asdict(report) | {"seconds": 0.0},
            "files": store_files(self.dir),
        }
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)

    def forget(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Indexer:
    """Bring the Chroma index in line with a loaded knowledge base."""

    def __init__(
        self,
        store: Store,
        embeddings: ProviderEmbeddings,
        lock_path: Path | None = None,
        *,
        mass_delete_share: float = MASS_DELETE_SHARE,
    ):
        self.store = store
        self.embeddings = embeddings
        self.lock_path = lock_path or store.lock_path  # the store's own: two data directories share it
        self.space = space_id(embeddings.name)
        self.mass_delete_share = mass_delete_share
        self._io = io_lock(store)  # held while this run touches Chroma's files (see storelock)
        self._stamp = NoopStamp(store.settings, embeddings.name)
        self.scenario_model = store.settings.scenario_model != "off"  # train the classifier at index time

    def run(
        self,
        kb: KnowledgeBase,
        *,
        full: bool = False,
        progress: Progress | None = None,
        allow_mass_delete: bool = False,
        repair: bool = False,
    ) -> IndexReport:
        """Re-index `kb`: embed what changed, flip the manifest, clean up; return the report.

        A run that would remove a large share of the index stops (`MassDeleteError`) unless `allow_mass_delete`;
        `repair` also checks every record the manifest names is in the store and re-embeds the ones that are not.
        """
        with self.store.errors():
            with _Lock(self.lock_path):
                try:
                    self._io.acquire(shared=False)  # loaders finish within seconds
                    return self._run(
                        kb, full=full, progress=progress, allow_mass_delete=allow_mass_delete, repair=repair
                    )
                finally:
                    self._io.close()

    def _run(
        self,
        kb: KnowledgeBase,
        *,
        full: bool,
        progress: Progress | None,
        allow_mass_delete: bool,
        repair: bool,
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport(provider=self.embeddings.name)
        old = self.store.read_manifest() or Manifest()
        kb = kb.with_established({key: entry["s"] for key, entry in old.items.items()})
        recovered = old.pending is not None
        if recovered:
            report.notices.append(
                f"上一次重新索引（第 {old.pending} 代）没有完成；它写了一半的内容已清理，之前的索引一直在正常服务。"
            )
            self._stamp.forget()
            self._clean_orphans(old)
        if old.provider and old.provider != self.embeddings.name:
            report.notices.append(f"向量模型从 {old.provider} 换成了 {self.embeddings.name}：全部重建。")
            full = True
        damage = Damage() if full else check_store(self.store, self.space, old, deep=repair)
        plan = self._plan(kb, old, full, report, damage.keys)
        if not allow_mass_delete:
            guard_deletions(old, plan.items, report.removed, self.mass_delete_share)
        if damage.keys:
            report.notices.append(damage.notice(report.repaired))
        fingerprint = kb.fingerprint()
        model_fp = examples_fingerprint(plan.examples, self.embeddings.name)
        old_model = old.scenario_model
        lost = old_model.get("status") == "ok" and not self.store.has_model(old_model["digest"])
        retrain = self.scenario_model and (full or lost or old_model.get("fingerprint") != model_fp)
        report.gen = old.gen
        report.scenario_model = old.scenario_model
        if not (report.changed or full or plan.to_embed or fingerprint != old.kb_fingerprint or retrain):
            if not recovered:  # the next run will not repeat the clean-up notice
                self._stamp.write(kb, report)
            report.seconds = time.perf_counter() - started
            return report
        self._stamp.forget()  # from the first write on, only the store can say what it holds
        new = Manifest(
            gen=old.gen + 1,
            provider=self.embeddings.name,
            dim=self.embeddings.dim,
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            kb_path=str(kb.root),
            kb_fingerprint=fingerprint,
            items=plan.items,
            files=plan.sources,
            config=plan.config.hash,
        )
        old.pending = new.gen
        self.store.write_manifest(old)  # marks the run: a crash from here on is cleaned up next time
        if plan.config.hash != old.config:
            self.store.write_config(plan.config.hash, plan.config.texts)
        for name in damage.collections:  # rebuilt from scratch: a damaged vector segment cannot take writes
            self.store.drop(name)
        report.embedded = self._write_records(plan.to_embed, progress)
        new.scenario_model = report.scenario_model = scenario_entry(
            self.store,
            self.space,
            self.embeddings.dim,
            old,
            new,
            model_fp,
            self.scenario_model,
            report.notices,
            reuse=not full,  # a rebuild trains again too
        )
        keep = new.record_ids()
        new.retired = sorted(old.record_ids() - keep)
        report.gen = new.gen
        report.seconds = time.perf_counter() - started
        new.last_report = report.summary()
        self.store.write_manifest(new)  # the switch: from now on readers see the new index
        try:
            # retired one generation ago, so no reader still uses them; unless this run brought one back (a revert)
            self._delete([rid for rid in old.retired if rid not in keep])
            self.store.prune_configs(
                {new.config, old.config}
            )  # a reader of the previous one may still load it
            self.store.prune_models({m.scenario_model.get("digest", "") for m in (new, old)})
            if full:
                self._drop_other_spaces()
        except Exception as exc:  # the new generation serves already; leftovers only take space
            log.warning("clean-up after generation %s failed: %s", new.gen, exc)
            report.notices.append(
                f"新索引已生效，但清理旧记录时出错（{store_explain(exc, self.store.location)}）。"
            )
        # what running again on the same files would report, so that run need not open the store
        after = IndexReport(provider=self.embeddings.name, gen=new.gen, scenario_model=new.scenario_model)
        self._plan(kb, new, False, after)
        self._stamp.write(kb, after)
        report.seconds = time.perf_counter() - started
        return report

    def _plan(
        self, kb: KnowledgeBase, old: Manifest, full: bool, report: IndexReport, damaged=frozenset()
    ) -> _Plan:
        """Work out what the index should hold against manifest `old`, filling in `report`'s lists.

        Items in `damaged` (keys whose records the store lost) are embedded again even when unchanged."""
        desired, sources = self._desired(kb, old, report)
        examples = [
            (key, item.scenario, [normalize(e) for e in item.customer_examples])
            if item is not None
            else (key, "", h)  # kept from a broken file: its examples are in the store, unchanged
            for key, (item, h) in desired.items()
            if key.startswith("script:")
        ]
        old_items = {} if full else old.items
        new_items: dict[str, dict] = {}
        to_embed: list[Record] = []
        for key, (item, h) in desired.items():
            prev = old.items.get(key) if item is None else old_items.get(key)
            if prev and prev["h"] == h and (item is None or prev["s"] == item.source):
                if key in damaged and item is not None:
                    to_embed += build_records(item, key, h, self.store, self.space)
                    report.repaired.append(key)
                new_items[key] = _with_scenario(prev, item)
                if key not in damaged or item is None:
                    report.unchanged.append(key)
                continue
            records = build_records(item, key, h, self.store, self.space)
            to_embed += records
            new_items[key] = {
                "h": h,
                "s": item.source,
                "n": len(getattr(item, "customer_examples", ())),
                "c": list(scopes(item)),
            }
            new_items[key] = _with_scenario(new_items[key], item)
            (report.updated if key in old.items else report.added).append(key)
        report.removed = sorted(set(old.items) - set(desired))
        config = self._config(kb, old, report)
        return _Plan(new_items, to_embed, sources, config, examples)

    def _config(self, kb: KnowledgeBase, old: Manifest, report: IndexReport) -> ServingConfig:
        """Return the serving config this run accepts: each file as loaded now, or as last accepted if broken.

        A file removed from the knowledge base leaves the config; one that fails to load keeps serving the
        text the previous generation accepted, as a broken script file keeps its scripts.
        """
        previous = (self.store.read_config(old.config) if old.config else None) or {}
        texts = dict(kb.config.texts)
        for f in kb.config.files:
            if not f.ok and f.path in previous:
                texts[f.path] = previous[f.path]
                report.notices.append(f"{f.path} 有错误：继续使用上一次通过校验的版本，直到文件修好。")
        config = parse_config(texts) if texts != kb.config.texts else kb.config
        if previous and (not config.brands or (config.rules is None and RULES_FILE in previous)):
            # e.g. a tone file deleted that brands.yaml still names: keep serving what was accepted last, whole
            texts = dict(previous)
            config = parse_config(texts)
            report.notices.append(
                "品牌、语气或合规规则文件有错误：继续使用上一次通过校验的全部设置，直到修好。"
            )
        report.config_changed = sorted(
            p for p in set(texts) | set(previous) if texts.get(p) != previous.get(p)
        )
        return config

    def _desired(self, kb: KnowledgeBase, old: Manifest, report: IndexReport):
        """Return {key: (item, hash)} the index should hold, and {source: file hash}."""
        desired: dict[str, tuple] = {}
        sources: dict[str, str] = {}
        broken = set()
        for f in kb.files:
            for p in f.problems:
                entry = {"file": p.file, "line": p.line, "field": p.field, "reason": p.message}
                (report.failed if p.severity == "error" else report.warnings).append(entry)
            if f.kind not in ("script", "policy", "reference"):
                continue
            if not f.ok:
                broken.add(f.path)
                sources[f.path] = old.files.get(f.path, "")
                continue
            sources[f.path] = f.hash
            for item in f.items:
                desired[item_key(item)] = (item, item_hash(item))
        for key, prev in old.items.items():  # a broken file keeps what it contributed before
            if prev["s"] in broken and key not in desired:
                desired[key] = (None, prev["h"])
                report.kept_from_broken_files.append(key)
        return desired, sources

    def _write_records(self, records: list[Record], progress: Progress | None) -> int:
        """Embed and write records in batches of whole items; return how many texts were embedded.

        A text is embedded once however many brand scopes hold it; a centroid is computed, not embedded.
        """
        embedded = 0
        total = len(records)
        if progress:
            progress(0, total)
        done = 0
        for chunk in item_batches(records, WRITE_BATCH):
            texts = list(dict.fromkeys(r.text for r in chunk if r.metadata["variant"] != CENTROID))
            embedded += len(texts)
            self._io.release()  # embedding touches no store file: let other processes load meanwhile
            try:
                embedded_texts = self.embeddings.embed_documents(texts)
            finally:
                self._io.acquire(shared=False)  # loaders finish within seconds
            vectors = dict(zip(texts, np.asarray(embedded_texts, dtype=np.float32), strict=True))
            by_collection: dict[str, list[tuple[Record, list[float]]]] = {}
            for r in chunk:
                vec = (
                    centroid_vector(chunk, r, vectors)
                    if r.metadata["variant"] == CENTROID
                    else vectors[r.text]
                )
                by_collection.setdefault(r.collection, []).append((r, vec.tolist()))
            for name, rows in by_collection.items():
                self.store.collection(name).upsert(
                    ids=[r.id for r, _ in rows],
                    embeddings=[v for _, v in rows],
                    documents=[r.text for r, _ in rows],
                    metadatas=[r.metadata for r, _ in rows],
                )
            done += len(chunk)
            if progress:
                progress(done, total)
        return embedded

    def _delete(self, record_ids: list[str]) -> None:
        by_collection: dict[str, list[str]] = {}
        for rid in record_ids:
            key, variant, scope, _ = rid.rsplit("|", 3)
            kind = key.split(":", 1)[0]
            by_collection.setdefault(self.store.name(self.space, kind, scope), []).append(rid)
        for name, ids in by_collection.items():
            col = self.store.collection(name, create=False)
            if col is not None:
                for i in range(0, len(ids), 5000):
                    col.delete(ids=ids[i : i + 5000])

    def _clean_orphans(self, manifest: Manifest) -> None:
        """Delete records a killed run wrote that no manifest names."""
        keep = manifest.record_ids() | set(manifest.retired)
        for name in self.store.collection_names():
            if name.endswith("-manifest"):
                continue
            col = self.store.collection(name, create=False)
            ids = self.store.get_all(col, [])["ids"] if col is not None else []
            stale = [i for i in ids if i not in keep]
            for i in range(0, len(stale), 5000):
                col.delete(ids=stale[i : i + 5000])
        manifest.pending = None
        self.store.write_manifest(manifest)

    def _drop_other_spaces(self) -> None:
        mine = f"{self.store.prefix}-{self.space}-"
        for name in self.store.collection_names():
            if not name.startswith(mine) and not name.endswith("-manifest"):
                self.store.drop(name)


def partitions(store: Store, space: str, brand: str | None, kinds=KINDS) -> list[str]:
    """Return the collection names a query for `brand` searches (all brands when None)."""
    names = store.collection_names()
    out = []
    for kind in kinds:
        prefix = store.name(space, kind, "")
        for name in names:
            scope = name[len(prefix) :] if name.startswith(prefix) else None
            if scope is not None and (brand is None or scope in (ALL_BRANDS, brand)):
                out.append(name)
    return sorted(out)


def _with_scenario(entry: dict, item) -> dict:
    """Return the manifest entry with its script's scenario ("sc"), which the deletion guard counts."""
    scenario = getattr(item, "scenario", None)
    if not scenario or entry.get("sc") == scenario:
        return entry
    return {**entry, "sc": scenario}
