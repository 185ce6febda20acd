"""Order facts an agent gives with a message: which there are, and how each must look.

A fact is pasted into the reply as it is, so each one is checked against the shape the platform writes it
in (an order id is letters and digits, a time is a date and a clock time). Anything else is refused with a
message that names the field, never put in front of a customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from .compliance import pii
from .compliance.text import TextView
from .errors import BadInputError
from .kb import ORDER_SLOTS

_CJK = "\u4e00-\u9fff"
# A run of 11 or more digits (grouped or not) in a refused fact may be a phone, ID card or bank card number
# pasted into the wrong field: the message that refuses it shows only its ends.
_LONG_NUMBER = re.compile(r"\d(?:[\s-]{0,3}\d){10,}")


@dataclass(frozen=True)
class FactShape:
    """How one order fact must look, and how to say so."""

    label: str
    pattern: re.Pattern
    max_len: int
    hint: str


SHAPES: dict[str, FactShape] = {
    "order_id": FactShape(
        "订单号", re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), 40, "字母、数字、短横线或下划线，最多 40 位"
    ),
    "tracking_no": FactShape(
        "运单号", re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*"), 40, "字母、数字或短横线，最多 40 位"
    ),
    "carrier": FactShape(
        "快递公司",
        re.compile(rf"[{_CJK}A-Za-z0-9][{_CJK}A-Za-z0-9 ()（）·&.-]*"),
        20,
        "公司名称，最多 20 个字",
    ),
    "order_status": FactShape(
        "订单状态", re.compile(rf"[{_CJK}A-Za-z0-9][{_CJK}A-Za-z0-9 ()（）/-]*"), 20, "状态名称，最多 20 个字"
    ),
    "paid_at": FactShape(
        "付款时间", re.compile(r"[0-9][0-9 :/.T年月日时点分秒-]*"), 25, "日期和时间，例如 2026-11-22 10:30"
    ),
    "shipped_at": FactShape(
        "发货时间", re.compile(r"[0-9][0-9 :/.T年月日时点分秒-]*"), 25, "日期和时间，例如 2026-11-22 10:30"
    ),
}
assert set(SHAPES) == ORDER_SLOTS, "every order slot a script may use needs a shape"
# Only these facts are numbers by design; a phone, ID or card number anywhere else was pasted into the wrong field.
_NUMBER_FACTS = ("order_id", "tracking_no")


def clean_order(order: Mapping[str, object] | None) -> dict[str, str]:
    """Return the order facts the agent gave, each checked against its shape; blanks are left out."""
    order = dict(order or {})
    unknown = sorted(map(str, set(order) - ORDER_SLOTS))  # keys of mixed types sort as text
    if unknown:
        raise BadInputError(
            f"不认识的订单信息 {', '.join(map(str, unknown))}；可用：{', '.join(sorted(ORDER_SLOTS))}。"
        )
    out = {}
    for name, value in order.items():
        if value is None:
            continue
        text = unicodedata.normalize("NFKC", str(value)).strip()  # full-width digits pasted from a desk
        if not text:
            continue
        shape = SHAPES[name]
        if len(text) > shape.max_len or not shape.pattern.fullmatch(text):
            raise BadInputError(
                f"{shape.label}（{name}）格式不对：{_shown(text)!r}。应为{shape.hint}；请核对后重新填写。"
            )
        if name not in _NUMBER_FACTS and _holds_personal_number(text):
            raise BadInputError(
                f"{shape.label}（{name}）里像是手机号、身份证号或银行卡号：{_shown(text)!r}。"
                "这一栏不该填个人信息，请核对后重新填写。"
            )
        out[name] = text
    return out


def _holds_personal_number(text: str) -> bool:
    norm = TextView.of(text).norm
    return any(pii.DETECTORS[kind](norm) for kind in ("mobile", "id_card", "bank_card"))


def _shown(text: str) -> str:
    """Return a refused fact as the message shows it: cut short, long numbers masked (138****5678)."""

    def mask(m: re.Match) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        return f"{digits[:3]}****{digits[-4:]}"

    text = _LONG_NUMBER.sub(mask, text)
    return text if len(text) <= 30 else text[:30] + "…"
