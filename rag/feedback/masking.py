"""Mask personal data before it is stored, with the compliance filter's own detectors.

Phones, ID cards, bank cards, e-mail and full addresses become the same masks a draft would show
(138****5678). Every string of a stored draft goes through here, and order facts are masked with their
field name in front, so an order or tracking number stays readable as the detectors intend.
"""

from __future__ import annotations

import re

from rag.compliance import pii
from rag.compliance.text import TextView

_DIGIT_RUN = re.compile(r"\d(?:[\s-]{0,3}\d){10}")  # the shortest number a detector masks


def mask_text(text: str | None, context: str = "") -> str | None:
    """Return `text` with every piece of personal data masked; `context` is read before it, not returned."""
    if not text:
        return text
    full = f"{context} {text}" if context else text
    view = TextView.of(full)
    has_digits = _DIGIT_RUN.search(view.norm) is not None
    candidates = [
        (name, found)
        for name, detect in pii.DETECTORS.items()
        if pii.may_contain(name, view.norm, has_digits)
        for found in detect(view.norm)
    ]
    for _, found in reversed(pii.pick(view.norm, candidates)):
        start, end = view.norm_span(found.start, found.end)
        full = full[:start] + found.masked + full[end:]
    return full[len(context) + 1 :] if context else full


def mask_order(order: dict | None) -> dict:
    """Return order facts with personal data masked, each read after its label (订单号 marks a code)."""
    from rag.order import SHAPES

    return {
        k: mask_text(str(v), context=SHAPES[k].label if k in SHAPES else str(k))
        for k, v in (order or {}).items()
    }


def mask_tree(value, key: str = ""):
    """Return a JSON-ready value with every string in it masked (order facts keep their context)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {
            k: mask_order(v) if k == "order" and isinstance(v, dict) else mask_tree(v, k)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_tree(v, key) for v in value]
    return value
