"""The Chroma side of the index: client, partitioned collections and the manifest.

Records live in one collection per (embedding space, kind, brand scope), so a brand's
query searches only its own and the generic partition, with no metadata `where` filter.
The manifest (a single record in its own collection, written in one step) names the
records that make up the serving index: a record not in the manifest is invisible, so
a re-index killed halfway leaves the previous index serving unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from .errors import ConfigError, HuashuError
from .settings import Settings
from .storeerrors import explain, store_errors

log = logging.getLogger(__name__)
MANIFEST_ID = "manifest"
CONFIG_PREFIX = "config:"
MODEL_PREFIX = "model:"
_MODEL_PART = 4_000_000  # characters per record of a stored model (base64), well under any request limit
KINDS = ("script", "policy", "reference")
LOCK_NAME = "huashu-index.lock"


@dataclass
class Manifest:
    """What the serving index is made of, and how and when it was built."""

    gen: int = 0
    provider: str = ""
    dim: int = 0
    built_at: str = ""
    kb_path: str = ""
    kb_fingerprint: str = ""
    # key -> {"h": content hash, "s": source file, "n": customer examples, "c": brand scopes, "sc": scenario}; record ids derive
    # from these (see item_record_ids), which keeps the manifest small: it is written twice per re-index
    items: dict[str, dict] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # source path -> content hash
    retired: list[str] = field(default_factory=list)  # record ids superseded by this generation
    pending: int | None = None  # a generation being written; set while a re-index runs
    last_report: dict = field(default_factory=dict)
    config: str = ""  # hash of the serving config record (brands, tones, rules) this generation serves
    # the scenario classifier of this generation: version, fingerprint of its training data, digest of the
    # stored model, status (ok | skipped | off) and why (see scenario_model and index)
    scenario_model: dict = field(default_factory=dict)

    def record_ids(self) -> set[str]:
        """Return the ids of every record in the serving index."""
        return {rid for key, item in self.items.items() for rid in item_record_ids(key, item)}

    def encode(self) -> str:
        raw = json.dumps(self.__dict__, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.b64encode(zlib.compress(raw, 6)).decode()

    @classmethod
    def decode(cls, text: str) -> Manifest:
        return cls(**json.loads(zlib.decompress(base64.b64decode(text))))


def record_id(key: str, variant: str, scope: str, content_hash: str) -> str:
    """Return the id of one record: an item's text variant in one brand scope, at one content version."""
    return f"{key}|{variant}|{scope}|{content_hash[:12]}"


def item_variants(key: str, examples: int) -> list[str]:
    """Return the text variants an item is indexed under (see index._texts)."""
    kind = key.split(":", 1)[0]
    if kind == "script":
        return [
            "title",
            "reply",
            *(f"example{i}" for i in range(examples)),
            *(["centroid"] if examples else []),
        ]
    return ["body"] if kind == "policy" else ["chunk"]


def item_record_ids(key: str, entry: dict) -> list[str]:
    """Return the record ids of a manifest entry (entries of older manifests list them as "r")."""
    if "r" in entry:
        return entry["r"]
    return [
        record_id(key, v, scope, entry["h"])
        for v in item_variants(key, entry.get("n", 0))
        for scope in entry["c"]
    ]


def space_id(provider: str) -> str:
    """Return a short, collection-name-safe id of an embedding provider."""
    return hashlib.sha1(provider.encode()).hexdigest()[:8]


class Store:
    """A Chroma client (embedded or server) with our collection layout."""

    def __init__(self, settings: Settings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.settings = settings
        self.prefix = settings.collection_prefix
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if settings.chroma_url:
                url = urlparse(settings.chroma_url)
                if not url.hostname:
                    raise ConfigError(
                        f"HUASHU_CHROMA_URL {settings.chroma_url!r} 不是有效地址，例如 http://127.0.0.1:8000。"
                    )
                self.client = chromadb.HttpClient(
                    host=url.hostname,
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    settings=chroma_settings,
                )
                self.location = settings.chroma_url
            else:
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(
                    path=str(settings.chroma_dir), settings=chroma_settings
                )
                self.location = str(settings.chroma_dir)
        except HuashuError:
            raise
        except Exception as exc:
            raise explain(
                exc, str(settings.chroma_url or settings.chroma_dir), server=bool(settings.chroma_url)
            ) from exc
        self._collections: dict[str, object] = {}

    @property
    def server(self) -> bool:
        """Whether this is a Chroma server (else an embedded store in a directory)."""
        return bool(self.settings.chroma_url)

    def errors(self):
        """Return a context in which what Chroma raises becomes a Huashu error with the right next step."""
        return store_errors(self.location, server=self.server)

    @property
    def lock_path(self) -> Path:
        """Return the file whose lock a writer of this store holds (see `lock_path`)."""
        return lock_path(self.settings)

    def reopened(self) -> Store:
        """Return a store on a new client, which sees what other processes wrote since this one opened.

        An embedded Chroma client keeps its vector segments in memory and does not see another process's
        writes; a server client always does, so it is returned as it is. Callers still holding this store
        keep a working client until they let it go.
        """
        if self.settings.chroma_url:
            return self
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()  # the next client gets a system of its own, freshly loaded
        return Store(self.settings)

    # ---- collections ----
    def name(self, space: str, kind: str, scope: str) -> str:
        return f"{self.prefix}-{space}-{kind}-{scope}"

    def collection(self, name: str, *, create: bool = True):
        """Return a collection by name (cosine distance), creating it if asked; None if absent."""
        col = self._collections.get(name)
        if col is None:
            if create:
                col = self.client.get_or_create_collection(
                    name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
                )
            else:
                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except Exception:  # chromadb raises NotFoundError / ValueError by version
                    return None
            self._collections[name] = col
        return col

    def collection_names(self) -> list[str]:
        """Return every collection of ours."""
        return [
            c.name if hasattr(c, "name") else str(c)
            for c in self.client.list_collections()
            if (c.name if hasattr(c, "name") else str(c)).startswith(self.prefix + "-")
        ]

    @staticmethod
    def get_all(col, include: list[str], page: int = 20000, pause=None) -> dict[str, list]:
        """Return every record of a collection, paged: one large get fails in Chroma's SQL layer.

        `pause`, when given, is called after each page (a background build uses it to let drafts run)."""
        out: dict[str, list] = {"ids": [], **{k: [] for k in include}}
        offset = 0
        while True:
            got = col.get(include=include, limit=page, offset=offset)
            if pause is not None:
                pause()
            for k in out:
                out[k] += list(got[k] or [])
            if len(got["ids"]) < page:
                return out
            offset += page

    def drop(self, name: str) -> None:
        self._collections.pop(name, None)
        try:
            self.client.delete_collection(name)
        except Exception:
            log.debug("collection %s already gone", name)

    # ---- manifest ----
    def _manifest_collection(self):
        return self.collection(f"{self.prefix}-manifest")

    def read_manifest(self) -> Manifest | None:
        """Return the manifest, or None when no index was ever built."""
        got = self._manifest_collection().get(ids=[MANIFEST_ID], include=["documents"])
        if not got["ids"]:
            return None
        return Manifest.decode(got["documents"][0])

    def manifest_gen(self) -> tuple[int, int | None] | None:
        """Return (gen, pending) cheaply, without decoding the item map."""
        got = self._manifest_collection().get(ids=[MANIFEST_ID], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0] or {}
        return int(meta.get("gen", 0)), (int(meta["pending"]) if meta.get("pending", -1) >= 0 else None)

    def write_manifest(self, manifest: Manifest) -> None:
        """Replace the manifest in one write: this is the moment a new index starts serving."""
        meta = {"gen": manifest.gen, "pending": manifest.pending if manifest.pending is not None else -1}
        self._manifest_collection().upsert(
            ids=[MANIFEST_ID], documents=[manifest.encode()], embeddings=[[1.0]], metadatas=[meta]
        )

    # ---- serving config: the brands, tone and rules texts a generation serves ----
    def write_config(self, digest: str, texts: dict[str, str]) -> None:
        """Store the serving config texts under their hash (before the manifest that names them)."""
        doc = base64.b64encode(zlib.compress(json.dumps(texts, ensure_ascii=False).encode(), 6)).decode()
        self._manifest_collection().upsert(
            ids=[CONFIG_PREFIX + digest], documents=[doc], embeddings=[[1.0]], metadatas=[{"kind": "config"}]
        )

    def read_config(self, digest: str) -> dict[str, str] | None:
        """Return the serving config texts stored under `digest`, or None when there is no such record."""
        got = self._manifest_collection().get(ids=[CONFIG_PREFIX + digest], include=["documents"])
        if not got["ids"]:
            return None
        return json.loads(zlib.decompress(base64.b64decode(got["documents"][0])))

    def prune_configs(self, keep: set[str]) -> None:
        """Delete config records that no manifest still names."""
        col = self._manifest_collection()
        ids = [i for i in self.get_all(col, [])["ids"] if i.startswith(CONFIG_PREFIX)]
        stale = [i for i in ids if i[len(CONFIG_PREFIX) :] not in keep]
        if stale:
            col.delete(ids=stale)

    # ---- scenario models: trained at index time, stored beside the manifest that names them ----
    def write_model(self, digest: str, data: bytes) -> None:
        """Store a trained model under its digest, in parts (before the manifest that names it)."""
        text = base64.b64encode(data).decode()
        parts = [text[i : i + _MODEL_PART] for i in range(0, len(text), _MODEL_PART)] or [""]
        self._manifest_collection().upsert(
            ids=[f"{MODEL_PREFIX}{digest}:{i}" for i in range(len(parts))],
            documents=parts,
            embeddings=[[1.0]] * len(parts),
            metadatas=[{"kind": "model", "parts": len(parts)}] * len(parts),
        )

    def has_model(self, digest: str) -> bool:
        """Return whether a model is stored under `digest` (its first part, at least)."""
        return bool(self._manifest_collection().get(ids=[f"{MODEL_PREFIX}{digest}:0"], include=[])["ids"])

    def read_model(self, digest: str) -> bytes | None:
        """Return the model stored under `digest`, or None when it is missing or incomplete."""
        col = self._manifest_collection()
        first = col.get(ids=[f"{MODEL_PREFIX}{digest}:0"], include=["metadatas"])
        if not first["ids"]:
            return None
        ids = [f"{MODEL_PREFIX}{digest}:{i}" for i in range(int(first["metadatas"][0]["parts"]))]
        got = col.get(ids=ids, include=["documents"])
        parts = dict(zip(got["ids"], got["documents"], strict=True))
        if any(i not in parts for i in ids):
            return None
        return base64.b64decode("".join(parts[i] for i in ids))

    def prune_models(self, keep: set[str]) -> None:
        """Delete stored models that no manifest still names."""
        col = self._manifest_collection()
        ids = [i for i in self.get_all(col, [])["ids"] if i.startswith(MODEL_PREFIX)]
        stale = [i for i in ids if i[len(MODEL_PREFIX) :].rsplit(":", 1)[0] not in keep]
        if stale:
            col.delete(ids=stale)


def lock_path(settings: Settings) -> Path:
    """Return the file a writer of the store `settings` name locks: one per store, whatever the data directory.

    An embedded store keeps it inside its own directory; a server's is named after its address and prefix in
    the machine's temp directory (writers on other machines are not covered: see the README).
    """
    if not settings.chroma_url:
        return settings.chroma_dir / LOCK_NAME
    digest = hashlib.sha1(f"{settings.chroma_url}|{settings.collection_prefix}".encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"huashu-index-{digest}.lock"


def store_files(directory: Path) -> dict[str, list[int]] | None:
    """Return a signature of an embedded store's files (path -> [inode, size]; the database by inode only).

    A deleted or replaced file changes it, so a record of "the store holds exactly this" taken with it is not
    believed once a file went missing. None when the store has no database.
    """
    out: dict[str, list[int]] = {}
    try:
        db = os.stat(directory / "chroma.sqlite3")
        out["chroma.sqlite3"] = [db.st_ino, 0]  # SQLite rewrites it in place: its size moves without a writer
        for entry in os.scandir(directory):
            if entry.is_dir(follow_symlinks=False):
                for f in os.scandir(entry.path):
                    st = f.stat(follow_symlinks=False)
                    out[f"{entry.name}/{f.name}"] = [st.st_ino, st.st_size]
    except OSError:
        return None
    return out
