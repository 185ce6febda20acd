"""What a knowledge item becomes in the index: its records (one per text variant and brand scope), their ids,
the item's content hash, and the write batches that keep one item's records together."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .kb import SLOT_RE, content_hash
from .normalize import normalize
from .store import Store, record_id
from .types import ALL_BRANDS, Policy, ReferenceChunk, Script

TEXT_VERSION = "2"  # bump when the embedded text of an item changes shape: forces re-embedding
CENTROID = "centroid"


@dataclass(frozen=True)
class Record:
    """One vector of the index: a text that points back to its item."""

    id: str
    collection: str
    text: str
    metadata: dict


def item_key(item) -> str:
    """Return the index key of a knowledge item: kind and id."""
    kind = {Script: "script", Policy: "policy", ReferenceChunk: "reference"}[type(item)]
    return f"{kind}:{item.id}"


def strip_template(reply: str) -> str:
    """Return a reply without slots and optional-segment brackets, for matching."""
    return SLOT_RE.sub("", reply).replace("[", "").replace("]", "")


def _payload(item) -> dict:
    data = asdict(item)
    data.pop("line", None)
    for k in ("valid_from", "valid_to"):
        if data.get(k) is not None:
            data[k] = data[k].isoformat()
    return data


def item_hash(item) -> str:
    """Return the content hash of everything about an item that the index stores."""
    return content_hash(TEXT_VERSION + json.dumps(_payload(item), ensure_ascii=False, sort_keys=True))


def _texts(item) -> list[tuple[str, str]]:
    """Return (variant, text to embed) pairs: every way an item can be found."""
    if isinstance(item, Script):
        out = [("title", item.title), ("reply", strip_template(item.reply))]
        out += [(f"example{i}", ex) for i, ex in enumerate(item.customer_examples)]
        return out
    if isinstance(item, Policy):
        return [("body", f"{item.title}\n{item.body}")]
    return [("chunk", f"{item.heading}\n{item.text}" if item.heading else item.text)]


def scopes(item) -> tuple[str, ...]:
    brands = getattr(item, "brands", (ALL_BRANDS,))
    return (ALL_BRANDS,) if ALL_BRANDS in brands else tuple(brands)


def build_records(item, key: str, h: str, store: Store, space: str) -> list[Record]:
    """Return the records of one item, one per (text variant, brand scope)."""
    kind = key.split(":", 1)[0]
    brands = getattr(item, "brands", (ALL_BRANDS,))
    base = {
        "key": key,
        "kind": kind,
        "scenario": getattr(item, "scenario", "") or "",
        "hash": h,
        "source": item.source,
        "brands": "|" + "|".join(brands) + "|",
    }
    records = []
    texts = _texts(item)
    if any(v.startswith("example") for v, _ in texts):
        texts.append((CENTROID, item.title))  # its vector is the mean of the examples', not the title's
    for variant, text in texts:
        meta = base | {"variant": variant}
        if variant in ("reply", "body", "chunk"):
            meta["payload"] = json.dumps(_payload(item), ensure_ascii=False)
        for scope in scopes(item):
            records.append(
                Record(
                    id=record_id(key, variant, scope, h),
                    collection=store.name(space, kind, scope),
                    text=normalize(text),
                    metadata=meta | {"scope": scope},
                )
            )
    return records


def item_batches(records: list[Record], size: int):
    """Yield runs of records of about `size`, never splitting one item's records."""
    batch: list[Record] = []
    for r in records:
        if len(batch) >= size and r.metadata["key"] != batch[-1].metadata["key"]:
            yield batch
            batch = []
        batch.append(r)
    if batch:
        yield batch


def centroid_vector(batch: list[Record], record: Record, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """Return the normalised mean of a script's customer-example vectors: its prototype customer message."""
    key = record.metadata["key"]
    texts = {
        r.text for r in batch if r.metadata["key"] == key and r.metadata["variant"].startswith("example")
    }
    mean = np.mean([vectors[t] for t in texts], axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)
