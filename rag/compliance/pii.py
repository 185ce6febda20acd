"""Personal data in a draft: mobile numbers, ID cards, bank cards, e-mail, full addresses; and their masks."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_SEP = r"[\s-]{0,3}"  # digits may be grouped with spaces or dashes: 138 1234 5678, 138 - 1234 - 5678
# A mobile number may also be grouped with dots (158.2236.7741); eleven digits that way are no price.
_MOBILE_SEP = r"[\s.-]{0,3}"
_MOBILE = re.compile(
    rf"(?<![0-9a-z*.])(?:\+?86{_SEP})?1{_MOBILE_SEP}[3-9](?:{_MOBILE_SEP}\d){{9}}(?![0-9a-z*]|\.\d)"
)
# A number glued to the letters of a phone or chat-account word is still a person's number: tel13812345678,
# wx13812345678 (a WeChat id is often the phone number). Other letters before digits start a code (SF1381...).
_MOBILE_AFTER_WORD = re.compile(
    rf"(?<![a-z])(?:tel|wx|vx|phone|mobile|whatsapp)[:：.]?{_SEP}"
    rf"(?P<n>(?:\+?86{_SEP})?1{_SEP}[3-9](?:{_SEP}\d){{9}})(?![0-9a-z*])"
)
_ID_CARD = re.compile(
    rf"(?<![0-9a-z*])[1-6]\d{{5}}{_SEP}(?:18|19|20)\d{{2}}{_SEP}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"{_SEP}\d{{3}}[0-9x](?![0-9a-z*])"
)
_BANK_CARD = re.compile(rf"(?<![0-9a-z*])[3-6](?:{_SEP}\d){{15,18}}(?![0-9a-z*])")
# Any 18-character number (17 digits and a digit or X), and any 16-19 digit one: personal data when the text
# itself calls it an identity or card number, whatever its check digit (a typo is still someone's number).
_ANY_ID = re.compile(rf"(?<![0-9a-z*])\d(?:{_SEP}\d){{16}}{_SEP}[0-9x](?![0-9a-z*])")
_ANY_CARD = re.compile(rf"(?<![0-9a-z*])\d(?:{_SEP}\d){{15,18}}(?![0-9a-z*])")
_ID_WORDS = (
    "身份证",
    "证件号",
    "身份号码",
    "证件号码",
    "身份证号",
    "身份证号码",
    "实名",
    "身份信息",
    "id card",
    "idcard",
)
_CARD_WORDS = (
    "卡号",
    "张卡",
    "卡:",
    "银行",
    "提现",
    "银行卡",
    "储蓄卡",
    "信用卡",
    "借记卡",
    "银行账号",
    "收款账号",
    "card no",
    "card number",
    "的卡",
    "退款账户",
    "收款账户",
    "银行账户",
)
# A card or phone number is also named by what follows it (6228…910这张农行卡, 0571-88123456这个座机).
_CARD_AFTER = re.compile(r"\s*(?:这张|那张|的)?[\u4e00-\u9fff]{0,4}?(?:卡|银行账户)")
_PHONE_AFTER = re.compile(r"\s*(?:这个|那个|的)?(?:座机|固话|电话|手机号?)")
_CONTEXT_BEFORE = 12  # characters before a number in which its naming word must stand
# "*" before a local part is a mask this filter wrote (130****0000@qq.com), not the start of an address.
_EMAIL = re.compile(r"(?<![a-z0-9._%+@*-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_HAN = r"[\u4e00-\u9fff]"
_CN_NUM = r"[0-9一二三四五六七八九十百零]"
_ADDRESS = re.compile(
    rf"(?:{_HAN}{{2,7}}?(?:省|自治区))?(?:{_HAN}{{2,7}}?市)?(?P<district>{_HAN}{{1,7}}?(?:区|县|市|旗))"
    rf"(?P<rest>[\u4e00-\u9fffa-z0-9]{{1,20}}?(?:(?:路|街|道|巷|弄|里|村|镇|大道|段)[东南西北中]?{_CN_NUM}+号"
    rf"|(?:小区|花园|公寓|大厦|苑|新村|家园|园|广场|中心|大楼|公馆|府|湾){_CN_NUM}+(?:号楼|栋|幢|单元)"
    # a building and a room with no street number (建外soho东区7号楼1203室): the room makes it someone's door
    rf"|{_CN_NUM}+(?:号楼|栋|幢)(?=[\u4e00-\u9fffa-z]{{0,4}}?{_CN_NUM}+(?:室|户)))"
    rf"(?:[\u4e00-\u9fffA-Za-z]{{0,8}}?{_CN_NUM}+(?:号楼|栋|幢|楼|单元|室|层|号|座))*(?:\d{{3,5}}(?![0-9%.]))?)"
)
# Digits right after these words are order or tracking numbers, not personal data.
CODE_WORDS = (
    "订单",
    "单号",
    "运单",
    "快递",
    "物流",
    "编号",
    "工单",
    "order",
    "no",
    "tracking",
    "售后单",
    "退货单",
)
# ...unless a phone word stands there too: 快递员电话13570981245 is a person's number.
_PHONE_WORDS = (
    "电话",
    "手机",
    "致电",
    "联系方式",
    "tel",
    "微信",
    "号码",
    "快递员",
    "快递小哥",
    "骑手",
    "打",
    "拨",
)
# A mobile number spelled in Chinese numerals (一五八一二三四五六七八) is read out just the same.
_CN_DIGITS = "零〇一二三四五六七八九幺"
_CN_DIGIT_VALUE = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "幺": "1"}
_MOBILE_CN = re.compile(
    rf"(?<![{_CN_DIGITS}两十百千万])[一幺][三四五六七八九][{_CN_DIGITS}]{{9}}(?![{_CN_DIGITS}两十百千万])"
)
# Any 7-12 digit number the text itself calls a phone number (联系电话0571-88886666, 这个号码1768888999):
# a landline or a mistyped mobile is still someone's number.
_ANY_PHONE = re.compile(rf"(?<![0-9a-z*])\d(?:{_SEP}\d){{6,11}}(?![0-9a-z*])")
_NAMED_PHONE_WORDS = ("电话", "手机", "号码", "手机号", "座机", "固话", "联系方式", "致电", "拨打")
_TRUE_PHONE_WORDS = ("电话", "手机", "座机", "固话", "致电", "拨打")
# ...but not the shop's own line (客服电话, 售后热线).
_SHOP_PHONE = ("客服", "热线", "售后电话", "公司", "店铺", "门店", "官方")
# 400 and 800 numbers are companies' hotlines, never a person's line; nor is the shop's own mailbox (客服邮箱 service@…).
_SHOP_PREFIXES = ("400", "800")
_SHOP_EMAIL = ("客服邮箱", "官方邮箱", "售后邮箱", "公司邮箱", "企业邮箱", "品牌邮箱", "店铺邮箱")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"


@dataclass(frozen=True)
class Found:
    """A piece of personal data in normalised text and its masked form."""

    start: int
    end: int
    masked: str


def id_checksum_ok(digits: str) -> bool:
    """Return whether an 18-character ID card number has a valid check character."""
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17].lower()


def luhn_ok(digits: str) -> bool:
    """Return whether a card number passes the Luhn check."""
    if not digits.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_code(norm: str, start: int) -> bool:
    before = norm[max(0, start - 8) : start].lower()
    return any(word in before for word in CODE_WORDS) and not any(word in before for word in _PHONE_WORDS)


def _named(norm: str, start: int, words: tuple[str, ...]) -> bool:
    """Return whether one of `words` names the number at `start`: it stands just before it, nearer than an
    order or tracking word (订单号 1234… stays an order number even after 身份证 earlier in the sentence)."""
    before = norm[max(0, start - _CONTEXT_BEFORE) : start].lower()
    named = max((before.rfind(w) + len(w) for w in words if w in before), default=-1)
    if named < 0:
        return False
    code = max((before.rfind(w) + len(w) for w in CODE_WORDS if w in before), default=-1)
    return named >= code


def _in_email(norm: str, start: int, end: int) -> bool:
    """Return whether [start, end) lies inside an e-mail address (13812345678@qq.com is masked as one)."""
    return "@" in norm and any(m.start() <= start and end <= m.end() for m in _EMAIL.finditer(norm))


def _every_start(pattern: re.Pattern, norm: str) -> Iterator[re.Match]:
    """Yield a match of `pattern` at every place one starts, overlapping ones too.

    Run-together numbers (a phone, then a card, each grouped with spaces) hold wrong candidates that start
    inside the right ones; `pick` chooses among them, so none may hide another by consuming its digits.
    Only for the patterns a check digit or a mobile prefix backs: a bare 7-12 digit tail of the shop's
    400-668-2020 would read as a phone number."""
    m = pattern.search(norm)
    while m is not None:
        yield m
        m = pattern.search(norm, m.start() + 1)


def pick(norm: str, candidates: Sequence[tuple[T, Found]]) -> list[tuple[T, Found]]:
    """Return the candidates that do not overlap and together cover the most letters and digits of `norm`.

    Candidates come from all detectors, earliest-listed first; among equal covers the earlier-listed wins.
    6228 4762 2727 1374006  6200 0000 0000 0005 is two bank cards, not a landline and the mobile 137 4006 6200
    that its digits also spell."""
    ranked = sorted(range(len(candidates)), key=lambda i: candidates[i][1].end)
    ends = [candidates[i][1].end for i in ranked]
    best: list[tuple[int, tuple[int, ...]]] = [(0, ())]  # best[k]: the best choice among the first k by end
    for i in ranked:
        found = candidates[i][1]
        weight = 1000 * sum(c.isalnum() for c in norm[found.start : found.end]) - min(i, 999)
        before = best[bisect_right(ends, found.start, hi=len(best) - 1)]
        with_it = (before[0] + weight, (*before[1], i))
        best.append(max(best[-1], with_it, key=lambda b: b[0]))
    return [candidates[i] for i in sorted(best[-1][1], key=lambda i: candidates[i][1].start)]


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit() or c in "xX")


def find_mobile(norm: str) -> list[Found]:
    """Find mainland mobile numbers (separators allowed); mask as 138****5678."""
    out = []
    for m in _every_start(_MOBILE, norm):
        d = _digits(m.group(0))[-11:]
        if not _is_code(norm, m.start()) and not _in_email(norm, m.start(), m.end()):
            out.append(Found(m.start(), m.end(), f"{d[:3]}****{d[-4:]}"))
    if any(word in norm for word in ("tel", "wx", "vx", "phone", "mobile", "whatsapp")):
        for m in _MOBILE_AFTER_WORD.finditer(norm):
            d = _digits(m.group("n"))[-11:]
            if not any(f.start <= m.start("n") < f.end for f in out) and not _in_email(norm, *m.span("n")):
                out.append(Found(m.start("n"), m.end("n"), f"{d[:3]}****{d[-4:]}"))
    out.extend(_cn_mobiles(norm, out))
    out.extend(_named_phones(norm, out))
    return sorted(out, key=lambda f: f.start)


def _cn_mobiles(norm: str, taken: list[Found]) -> list[Found]:
    out = []
    for m in _MOBILE_CN.finditer(norm):
        d = "".join(_CN_DIGIT_VALUE[c] for c in m.group(0))
        if not any(f.start < m.end() and m.start() < f.end for f in taken):
            out.append(Found(m.start(), m.end(), f"{d[:3]}****{d[-4:]}"))
    return out


def _named_phones(norm: str, taken: list[Found]) -> list[Found]:
    out = []
    for m in _ANY_PHONE.finditer(norm):
        if any(f.start < m.end() and m.start() < f.end for f in taken) or _in_email(norm, m.start(), m.end()):
            continue
        before = norm[max(0, m.start() - _CONTEXT_BEFORE) : m.start()].lower()
        if any(w in before for w in _SHOP_PHONE) or _digits(m.group(0)).startswith(_SHOP_PREFIXES):
            continue
        if any(w in before for w in CODE_WORDS) and not any(w in before for w in _TRUE_PHONE_WORDS):
            continue  # 运单号码 773012345678 is a tracking number, whatever calls it a 号码
        if _named(norm, m.start(), _NAMED_PHONE_WORDS) or _PHONE_AFTER.match(norm, m.end()):
            d = _digits(m.group(0))
            out.append(Found(m.start(), m.end(), f"{d[:3]}****{d[-4:]}"))
    return out


def find_id_card(norm: str) -> list[Found]:
    """Find 18-digit ID card numbers: with a valid checksum, or whatever it is when the text calls it one.

    Mask the birth date and sequence."""
    out = []
    for m in _every_start(_ID_CARD, norm):
        d = _digits(m.group(0))
        if id_checksum_ok(d) and not _is_code(norm, m.start()) and not _in_email(norm, m.start(), m.end()):
            out.append(Found(m.start(), m.end(), f"{d[:6]}{'*' * 8}{d[-4:].upper()}"))
    for m in _ANY_ID.finditer(norm):
        if any(f.start < m.end() and m.start() < f.end for f in out) or _in_email(norm, m.start(), m.end()):
            continue
        if _named(norm, m.start(), _ID_WORDS) or _shaped_like_id(norm, m):
            d = _digits(m.group(0))
            out.append(Found(m.start(), m.end(), f"{d[:6]}{'*' * 8}{d[-4:].upper()}"))
    return sorted(out, key=lambda f: f.start)


def _shaped_like_id(norm: str, m: re.Match) -> bool:
    """Return whether a number with an ID card's shape (region, birth date) stands in a text that speaks of an
    identity card anywhere, and is no order number: 您身份证最后一位是不是X？您发的是…562X."""
    return (
        _ID_CARD.fullmatch(m.group(0)) is not None
        and any(w in norm for w in _ID_WORDS)
        and not _is_code(norm, m.start())
    )


def find_bank_card(norm: str) -> list[Found]:
    """Find 16–19 digit bank card numbers that pass Luhn; keep the first and last four digits."""
    out = []
    for m in _every_start(_BANK_CARD, norm):
        d = _digits(m.group(0))
        if (
            16 <= len(d) <= 19
            and luhn_ok(d)
            and not _is_code(norm, m.start())
            and not _in_email(norm, *m.span())
        ):
            out.append(Found(m.start(), m.end(), f"{d[:4]} **** **** {d[-4:]}"))
    for m in _ANY_CARD.finditer(norm):
        if any(f.start < m.end() and m.start() < f.end for f in out) or _in_email(norm, m.start(), m.end()):
            continue
        named_after = _CARD_AFTER.match(norm, m.end()) is not None and not _is_code(norm, m.start())
        if _named(norm, m.start(), _CARD_WORDS) or named_after:
            d = _digits(m.group(0))
            out.append(Found(m.start(), m.end(), f"{d[:4]} **** **** {d[-4:]}"))
    return sorted(out, key=lambda f: f.start)


def find_email(norm: str) -> list[Found]:
    """Find e-mail addresses; keep the first character and the domain."""
    out = []
    for m in _EMAIL.finditer(norm):
        if any(w in norm[max(0, m.start() - _CONTEXT_BEFORE) : m.start()] for w in _SHOP_EMAIL):
            continue  # the shop's own mailbox (客服邮箱 service@…) is not a person's
        local, _, domain = m.group(0).partition("@")
        out.append(Found(m.start(), m.end(), f"{local[0]}***@{domain}"))
    return out


_SHOP_ADDRESS = ("退货地址", "寄回", "退回", "仓库", "售后", "门店", "公司地址", "店铺地址", "寄到我们")


def find_address(norm: str) -> list[Found]:
    """Find full street addresses (city, district, street and number); keep the city and district."""
    out = []
    for m in _ADDRESS.finditer(norm):
        if any(word in norm[max(0, m.start() - 12) : m.start()] for word in _SHOP_ADDRESS):
            continue  # the shop's own return address is not personal data
        rest_start = m.start("rest")
        out.append(Found(rest_start, m.end(), "****"))
    return out


def may_contain(detector: str, norm: str, has_digits: bool) -> bool:
    """Cheap pre-check so that the slower patterns run only where they can match.

    `has_digits` says whether `norm` holds a run of at least 11 digits (separators allowed).
    """
    if detector == "email":
        return "@" in norm
    if detector == "address":
        return ("号" in norm or "栋" in norm or "幢" in norm) and (
            "市" in norm or "区" in norm or "县" in norm
        )
    if detector == "mobile" and not has_digits:
        named = any(w in norm for w in _NAMED_PHONE_WORDS) and _ANY_PHONE.search(norm) is not None
        return named or _MOBILE_CN.search(norm) is not None
    return has_digits


DETECTORS: dict[str, Callable[[str], list[Found]]] = {
    "mobile": find_mobile,
    "id_card": find_id_card,
    "bank_card": find_bank_card,
    "email": find_email,
    "address": find_address,
}
