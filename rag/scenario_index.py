"""The scenario classifier's part of a re-index: its training data from the store and its manifest entry.

The entry names the stored model (its digest), the model version and a fingerprint of the customer examples
it learned from. Unchanged examples keep the old entry and model; changed ones train anew, and a knowledge
base the classifier cannot learn from gets an entry that says why (retrieval then stays plain hybrid).
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from .scenario_model import MODEL_VERSION, TrainingError, train
from .store import Manifest, Store, item_record_ids

log = logging.getLogger(__name__)
_GET = 5000  # records per get: Chroma refuses one get of over 32,766 ids


def training_set(
    store: Store, space: str, manifest: Manifest, dim: int
) -> tuple[list[str], np.ndarray, list[str]]:
    """Return every script's customer examples (texts, vectors, scenarios) as the store holds them."""
    by_collection: dict[str, list[str]] = {}
    for key, entry in manifest.items.items():
        if not key.startswith("script:"):
            continue
        first_scope = None
        for rid in item_record_ids(key, entry):
            _, variant, scope, _ = rid.rsplit("|", 3)
            first_scope = first_scope or scope
            if variant.startswith("example") and scope == first_scope:  # one copy of each example
                by_collection.setdefault(store.name(space, "script", scope), []).append(rid)
    texts, vectors, labels = [], [], []
    for name, ids in by_collection.items():
        col = store.collection(name, create=False)
        for i in range(0, len(ids), _GET):
            got = col.get(ids=ids[i : i + _GET], include=["documents", "metadatas", "embeddings"])
            texts += got["documents"]
            vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
            labels += [m["scenario"] for m in got["metadatas"]]
    return texts, (np.vstack(vectors) if vectors else np.zeros((0, dim), np.float32)), labels


def scenario_entry(
    store: Store,
    space: str,
    dim: int,
    old: Manifest,
    new: Manifest,
    fingerprint: str,
    enabled: bool,
    notices: list[str],
    *,
    reuse: bool = True,
) -> dict:
    """Return the manifest entry of the classifier `new` serves: the old one if its examples are unchanged,
    else one trained now from every customer example `new` holds (stored first), or why there is none."""
    same = old.scenario_model.get("fingerprint") == fingerprint
    if (
        reuse
        and same
        and (old.scenario_model.get("status") != "ok" or store.has_model(old.scenario_model["digest"]))
    ):
        return old.scenario_model
    if not enabled:
        return {"status": "off", "reason": "HUASHU_SCENARIO_MODEL=off：索引时没有训练场景分类器。"}
    entry = {"version": MODEL_VERSION, "fingerprint": fingerprint}
    try:
        texts, vectors, labels = training_set(store, space, new, dim)
        model = train(texts, vectors, labels)
    except TrainingError as exc:
        log.warning("scenario model not trained, retrieval stays hybrid: %s", exc)
        notices.append(str(exc))
        return entry | {"status": "skipped", "reason": str(exc)}
    data = model.to_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    store.write_model(digest, data)
    keep = ("examples", "scenarios", "text_features", "oof_accuracy", "train_s")
    return entry | {"status": "ok", "digest": digest} | {k: model.info[k] for k in keep}
