"""One generation of the serving index, loaded whole into memory and never changed afterwards.

The reader loads everything a query needs when it is built: record metadata, item objects, the keyword index
of every brand scope and the example centroids. Nothing is filled in on first use, so any number of threads
can search one reader at once, and a new generation is a new reader built aside (see `serving`).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from .errors import IndexMismatchError, IndexNotBuiltError
from .index import partitions
from .keyword import KeywordIndex, Vocabulary, tokenizer
from .records import CENTROID
from .scenario_model import ScenarioModel
from .store import Manifest, Store, space_id
from .types import ALL_BRANDS, Policy, ReferenceChunk, Script

log = logging.getLogger(__name__)
SERVED_KINDS = ("script", "policy", "reference")
# Records per get. Chroma's SQL layer refuses one get of over 32,766 ids, and its bindings hold the GIL for
# a whole get (64 ms for 20,000 records here): small pages keep drafts on other threads flowing during a reload.
_GET_BATCH = 200
# Pause after each native call of a background build: Chroma's first get or query of a collection on a new
# client holds the GIL for 30-50 ms, and a drafting thread that got none of it in between would wait out several
# such calls back to back.
_YIELD_S = 0.003


def _yield_to_drafts() -> None:
    time.sleep(_YIELD_S)


@dataclass(frozen=True)
class RetrievalConfig:
    """Knobs of hybrid retrieval; defaults chosen by measuring on the dev eval split.

    Every field can be set from the environment (see `settings.RETRIEVAL_KNOBS` and .env.example).
    """

    tokenizer: str = "char"
    fusion: str = "weighted"  # weighted: w_d*cos + w_k*bm25/(bm25+s); rrf: reciprocal-rank fusion
    rrf_k: int = 20
    dense_weight: float = 1.0
    keyword_weight: float = 1.0
    keyword_saturation: float = 8.0  # bm25 -> bm25 / (bm25 + s): an absolute 0..1 scale
    brand_bonus: float = 0.01
    centroid_weight: float = 0.5  # dense = (1-w) * best matching text + w * centroid of the examples
    no_match_threshold: float = 0.40
    dense_candidates: int = 80
    policy_min_score: float = 0.35
    reference_min_score: float = 0.40
    references_shown: int = 2
    scenario_model: str = "on"  # off: plain hybrid, the stored classifier is not loaded
    scenario_weight: float = 0.25  # hybrid + w * P(scenario); chosen by 5-fold cross-validation on dev


@dataclass
class Partition:
    """The records of one collection that belong to the serving generation."""

    name: str
    kind: str
    scope: str
    ids: list[str]
    keys: list[str]
    variants: list[str]
    docs: list[str]
    id_pos: dict[str, int] = field(default_factory=dict)
    centroids: dict[str, np.ndarray] = field(default_factory=dict)  # key -> centroid of its examples


@dataclass(frozen=True)
class KeywordScope:
    """The BM25 index one brand's queries use, and what each of its rows points back to."""

    index: KeywordIndex
    rows: list[tuple[str, str, str, str]]  # (key, variant, scope, doc) per indexed text
    ids: list[str]  # the record id of each row


class IndexReader:
    """The serving index of one generation: built complete, then only read."""

    def __init__(
        self,
        store: Store,
        embeddings,
        config: RetrievalConfig | None = None,
        manifest: Manifest | None = None,
        previous: IndexReader | None = None,
    ):
        started = time.perf_counter()
        self.store = store
        self.embeddings = embeddings
        self.config = config or RetrievalConfig()
        manifest = manifest or store.read_manifest()
        if manifest is None or manifest.gen == 0:
            raise IndexNotBuiltError(
                "还没有索引。请先运行 `huashu index`（或 `make index`）从知识库建立索引。"
            )
        if manifest.provider != embeddings.name:
            raise IndexMismatchError(
                f"索引是用 {manifest.provider}（{manifest.dim} 维）建的，当前配置的向量模型是 {embeddings.name}。"
                "请运行 `huashu index --full` 用当前模型重建索引，或把 HUASHU_EMBEDDING 改回原来的值。"
            )
        self.manifest = manifest
        self.gen = manifest.gen
        self.model_digest = ""
        if previous is not None and (
            previous.config != self.config or previous.manifest.provider != manifest.provider
        ):
            previous = None  # other knobs or another embedding space: nothing carries over
        self.partitions: dict[str, Partition] = {}
        self.payloads: dict[str, dict] = {}
        self._load_partitions(manifest, previous)
        self.items: dict[str, Script | Policy | ReferenceChunk] = {
            key: _reuse(previous, key, data) or _item(key, data) for key, data in self.payloads.items()
        }
        self.policy_keys = [k for k in self.items if k.startswith("policy:")]
        self._tokenize = tokenizer(self.config.tokenizer)
        self.vocab = Vocabulary()
        self.token_ids: dict[str, np.ndarray] = {}  # record id -> its keyword tokens, encoded with self.vocab
        self.keyword: dict[str | None, KeywordScope] = self._keyword_scopes(previous)
        self.scenario_model, self.scenario_note = self._scenario_model(previous)
        self.by_scenario: dict[str, list[str]] = {}  # scenario -> its script keys, for the classifier's picks
        for key, item in self.items.items():
            if isinstance(item, Script):
                self.by_scenario.setdefault(item.scenario, []).append(key)
        self.load_ms = round((time.perf_counter() - started) * 1000, 1)

    def _load_partitions(self, manifest: Manifest, previous: IndexReader | None) -> None:
        """Load the records the manifest names: from the previous generation where unchanged, else from Chroma.

        Record ids carry the content hash, so a record id the previous reader holds has the same text,
        payload and vector: an incremental re-index costs the reload only what it changed.
        """
        active = manifest.record_ids()
        new_ids: dict[tuple[str, str], list[str]] = {}  # (kind, scope) -> ids the previous generation lacks
        if previous is not None:
            held = previous.partitions.values()
            for rid in active:
                if not any(rid in p.id_pos for p in held):
                    new_ids.setdefault(_partition_of(rid), []).append(rid)
        for name in partitions(self.store, space_id(manifest.provider), None, kinds=SERVED_KINDS):
            col = self.store.collection(name, create=False)
            if col is None:
                continue
            kind, scope = name.split("-")[-2:]
            part = Partition(name, kind, scope, [], [], [], [])
            old = previous.partitions.get(name) if previous is not None else None
            if old is None:
                got = self.store.get_all(
                    col, ["documents", "metadatas"], page=_GET_BATCH, pause=_yield_to_drafts
                )
                rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            else:
                rows = list(self._rows_from(old, previous, [rid for rid in old.ids if rid in active]))
                missing = sorted(new_ids.get((kind, scope), ()))
                for i in range(0, len(missing), _GET_BATCH):
                    got = col.get(ids=missing[i : i + _GET_BATCH], include=["documents", "metadatas"])
                    _yield_to_drafts()
                    rows += zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            centroid_ids = []
            for rid, doc, meta in rows:
                if rid not in active:
                    continue
                part.ids.append(rid)
                part.keys.append(meta["key"])
                part.variants.append(meta["variant"])
                part.docs.append(doc)
                if meta["variant"] == CENTROID:
                    if old is not None and rid in old.id_pos and meta["key"] in old.centroids:
                        part.centroids[meta["key"]] = old.centroids[meta["key"]]
                    else:
                        centroid_ids.append(rid)
                if "payload" in meta:
                    self.payloads[meta["key"]] = meta["payload"]
            part.id_pos = {rid: i for i, rid in enumerate(part.ids)}
            for i in range(0, len(centroid_ids), _GET_BATCH):
                got = col.get(ids=centroid_ids[i : i + _GET_BATCH], include=["embeddings"])
                _yield_to_drafts()
                for rid, emb in zip(got["ids"], got["embeddings"], strict=True):
                    part.centroids[part.keys[part.id_pos[rid]]] = np.asarray(emb, dtype=np.float32)
            self.partitions[name] = part
        self.payloads = {k: json.loads(v) if isinstance(v, str) else v for k, v in self.payloads.items()}

    @staticmethod
    def _rows_from(old: Partition, previous: IndexReader, ids: list[str]):
        """Yield (id, document, metadata) of records the previous generation already holds."""
        for rid in ids:
            pos = old.id_pos[rid]
            key, variant = old.keys[pos], old.variants[pos]
            meta = {"key": key, "variant": variant}
            if variant in ("reply", "body", "chunk") and key in previous.payloads:
                meta["payload"] = previous.payloads[key]
            yield rid, old.docs[pos], meta

    def _keyword_scopes(self, previous: IndexReader | None) -> dict[str | None, KeywordScope]:
        """Build the BM25 index of every scope a query can ask for: each brand's, generic-only, and all.

        One index per brand spans its own and the generic scripts, so their scores share one IDF; a brand with
        no scripts of its own uses the generic-only index, and no brand (None) searches everything. Each text
        is tokenised once, however many scopes hold it; a scope whose texts did not change is kept whole.
        """
        scripts = [p for p in self.partitions.values() if p.kind == "script"]
        rows = [
            (p.ids[i], (p.keys[i], p.variants[i], p.scope, p.docs[i]))
            for p in scripts
            for i in range(len(p.ids))
            if p.variants[i] != CENTROID  # a centroid has a vector, not words
        ]
        known: dict[str, np.ndarray] = {}
        if previous is not None:  # a copy: the previous generation may still be answering queries with it
            self.vocab.ids = dict(previous.vocab.ids)
            known = previous.token_ids
        encode = self.vocab.encode
        self.token_ids = {
            rid: known[rid] if rid in known else encode(self._tokenize(row[3]) or ["\u2400"])
            for rid, row in rows
        }
        scopes: dict[str | None, KeywordScope] = {}
        for scope in [None, ALL_BRANDS, *sorted({p.scope for p in scripts} - {ALL_BRANDS})]:
            keep = [(rid, row) for rid, row in rows if scope is None or row[2] in (ALL_BRANDS, scope)]
            old = previous.keyword.get(scope) if previous is not None else None
            if old is not None and old.ids == [rid for rid, _ in keep]:
                scopes[scope] = old
                continue
            scopes[scope] = KeywordScope(
                KeywordIndex.from_ids([self.token_ids[rid] for rid, _ in keep], self.vocab, self._tokenize),
                [row for _, row in keep],
                [rid for rid, _ in keep],
            )
        return scopes

    def _scenario_model(self, previous: IndexReader | None) -> tuple[ScenarioModel | None, str]:
        """Load the scenario classifier this generation was built with; None, and why, when there is none.

        Never raises: without a classifier retrieval is the plain hybrid ranking, and the reason is logged."""
        entry = self.manifest.scenario_model or {}
        if self.config.scenario_model == "off":
            return None, "HUASHU_SCENARIO_MODEL=off"
        if entry.get("status") != "ok":
            note = entry.get("reason") or "索引里没有场景分类器：请运行 `huashu index` 训练。"
            log.warning("generation %s serves without a scenario model: %s", self.gen, note)
            return None, note
        digest = entry["digest"]
        if previous is not None and previous.scenario_model is not None and previous.model_digest == digest:
            self.model_digest = digest
            return previous.scenario_model, ""
        try:
            data = self.store.read_model(digest)
            model = ScenarioModel.from_bytes(data) if data is not None else None
        except Exception as exc:  # a damaged record must not stop serving: hybrid retrieval still works
            log.warning("scenario model %s unreadable: %s", digest, exc)
            model = None
        if model is None:
            note = f"场景分类器 {digest} 不在存储里或已损坏：请运行 `huashu index --full` 重新训练。"
            log.warning("generation %s serves without a scenario model: %s", self.gen, note)
            return None, note
        self.model_digest = digest
        return model, ""

    def warm(self) -> None:
        """Query every partition once, so its vector index is in memory before a draft needs it.

        A client opened anew loads a collection's vector segment on the first query; this way that cost is
        paid while the generation is built aside, not by the first agent who drafts on it.
        """
        probe = [1.0] + [0.0] * (self.manifest.dim - 1)
        for part in self.partitions.values():
            if part.ids:
                self.store.collection(part.name, create=False).query(
                    query_embeddings=[probe], n_results=1, include=[]
                )
                _yield_to_drafts()

    def keyword_index(self, brand: str | None) -> KeywordScope:
        """Return the BM25 index a query for `brand` uses."""
        return self.keyword.get(brand) or self.keyword[ALL_BRANDS]

    def item(self, key: str) -> Script | Policy | ReferenceChunk | None:
        """Return the script, policy or reference chunk stored under `key` (kind:id)."""
        return self.items.get(key)

    def scripts(self) -> list[Script]:
        """Return every script in the serving index."""
        return [v for k, v in self.items.items() if k.startswith("script:")]

    def policies(self, brand: str | None, today: date) -> list[Policy]:
        """Return the policies in force today for `brand` (generic ones included)."""
        out = []
        for key in self.policy_keys:  # every draft asks: do not walk all scripts' payloads to find them
            p = self.items[key]
            if p.is_valid(today) and (brand is None or ALL_BRANDS in p.brands or brand in p.brands):
                out.append(p)
        return out

    def parts(self, kind: str, brand: str | None) -> list[Partition]:
        """Return the partitions of `kind` a query for `brand` searches."""
        return [
            p
            for p in self.partitions.values()
            if p.kind == kind and p.ids and (brand is None or p.scope in (ALL_BRANDS, brand))
        ]


def _partition_of(record_id: str) -> tuple[str, str]:
    """Return the (kind, scope) partition a record id belongs to (see store.record_id)."""
    key, _variant, scope, _hash = record_id.rsplit("|", 3)
    return key.split(":", 1)[0], scope


def _reuse(previous: IndexReader | None, key: str, payload: dict):
    """Return the previous generation's item object for `key` when its payload is the same."""
    if previous is not None and previous.payloads.get(key) == payload:
        return previous.items.get(key)
    return None


def _item(key: str, payload: dict) -> Script | Policy | ReferenceChunk:
    data = dict(payload)
    kind = key.split(":", 1)[0]
    if kind == "script":
        for k in ("brands", "customer_examples", "policy_refs"):
            data[k] = tuple(data.get(k) or ())
        return Script(**data)
    if kind == "policy":
        for k in ("brands", "scenarios"):
            data[k] = tuple(data.get(k) or ())
        for k in ("valid_from", "valid_to"):
            data[k] = date.fromisoformat(data[k]) if data.get(k) else None
        return Policy(**data)
    return ReferenceChunk(**data)
