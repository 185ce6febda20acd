"""Hostile input, generated: drafts, checks and order facts never raise a traceback, never echo personal data
in full, and never return a reply longer than the limit.

Through the public API (`Huashu.draft`, `Huashu.check`, LLM drafts from a fake model that parrots the
customer) with hypothesis, and a table of hostile bytes through a real `huashu draft` process. "The limit": a
script-mode reply is at most the longest script the index holds with every order slot filled to its cap,
plus the tone's greeting and sign-off, whatever the message; an LLM reply at most what the output guard lets
through (LENGTH_FACTOR times the most it asks for) plus the same framing.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date

import pytest
from fake_openai import Answer
from fault_helpers import cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag import BadInputError
from rag.compliance.pii import CODE_WORDS
from rag.kb import SLOT_RE
from rag.llm.output import LENGTH_FACTOR
from rag.order import SHAPES

BRANDS = ("lanxu", "nuanbei", "jianyi")
MOST_ASKED = 400  # rag/prompts.py: the LLM is asked for at most this many characters
# Digits right after the filter's CODE_WORDS are order or tracking numbers, left alone by design (domain.md's
# hard negatives); a phone word there makes them personal data again.
PHONE_WORDS = ("电话", "手机", "致电", "联系方式", "tel", "微信")
FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)


# ---- personal data, written the ways customers write it ----
SEPARATORS = ("", " ", "-", "－", "\u3000", " - ")


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def _grouped(draw, digits: str, groups: tuple[int, ...]) -> str:
    sep = draw(st.sampled_from(SEPARATORS))
    parts, i = [], 0
    for g in groups:
        parts.append(digits[i : i + g])
        i += g
    text = sep.join(parts)
    return _fullwidth(text) if draw(st.booleans()) and draw(st.booleans()) else text


@st.composite
def phones(draw) -> tuple[str, str]:
    """Return (as written, digits) of a mainland mobile number."""
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    return _grouped(draw, digits, (3, 4, 4)), digits


def _id_check(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


@st.composite
def id_cards(draw) -> tuple[str, str]:
    """Return (as written, digits) of an 18-character ID card number with a valid check character (X too)."""
    region = draw(st.sampled_from("123456")) + draw(st.text("0123456789", min_size=5, max_size=5))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2029, 12, 31)))
    body = region + born.strftime("%Y%m%d") + draw(st.text("0123456789", min_size=3, max_size=3))
    digits = body + _id_check(body)
    if digits.endswith("X") and draw(st.booleans()):
        digits = digits[:-1] + "x"
    return _grouped(draw, digits, (6, 8, 4)), digits.upper()


def _luhn_digit(body: str) -> str:
    total = 0
    for i, d in enumerate(reversed(body)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


@st.composite
def bank_cards(draw) -> tuple[str, str]:
    """Return (as written, digits) of a 16-19 digit bank card number that passes Luhn."""
    length = draw(st.integers(16, 19))
    body = "62" + draw(st.text("0123456789", min_size=length - 3, max_size=length - 3))
    digits = body + _luhn_digit(body)
    return _grouped(draw, digits, (4, 4, 4, length - 12)), digits


personal = st.one_of(phones(), id_cards(), bank_cards())
# What stands before and after a number a customer typed (never a letter or digit glued to it).
LEAD = ("电话", "手机号：", "身份证号 ", "卡号", "，", " ", "我的是", "\u202e", "\u200f", "tel: ")
TRAIL = ("。", "，", " ", "！", "啊", "\n", "😀")

# Pieces of hostile text: control and format characters, markup, shell, punctuation, emoji, real asks.
HOSTILE = [
    "\x00", "\ud800", "\udfff", "\u202e", "\u200f", "\u200b", "\ufeff", "\r\n", "\t", "<script>alert(1)</script>",
    "abc;rm -rf /", "$(reboot)", "`id`", "' OR 1=1 --", "{order_id}", "[S1]", "【P2】", "%s%n", "../../etc/passwd",
    "！！！", "？？？", "。。。", "……", "~~~", "😀", "🙏🏻", "👨‍👩‍👧", "１２３４５", "１００％", "絕對有效", "ﬁ",
    "什么时候发货", "退款怎么还没到", "收到的奶瓶裂了", "用了精华脸上起红疹", "我要投诉", "在吗", "谢谢",
]  # fmt: skip


@st.composite
def hostile_texts(draw, max_pieces: int = 12) -> tuple[str, list[str]]:
    """Return (text, the digits of every piece of personal data in it)."""
    parts, secrets = [], []
    for _ in range(draw(st.integers(0, max_pieces))):
        kind = draw(st.sampled_from(("hostile", "hostile", "personal", "any")))
        if kind == "personal":
            written, digits = draw(personal)
            parts.append(draw(st.sampled_from(LEAD)) + written + draw(st.sampled_from(TRAIL)))
            secrets.append(digits)
        elif kind == "hostile":
            parts.append(draw(st.sampled_from(HOSTILE)))
        else:
            parts.append(draw(st.text(max_size=6)) + "，")  # a comma keeps random letters off the numbers
    text = "".join(parts)
    size = draw(st.sampled_from((1, 1, 1, 1, 2_000, 100_000)))
    if size > 1 and text:
        text = (text * (size // len(text) + 1))[:size]  # as long as the limit, and far past it
    return text, secrets


def echoed(text: str, secrets: list[str]) -> list[str]:
    """Return the secrets `text` shows in full (grouping and full-width digits seen through)."""
    flat = unicodedata.normalize("NFKC", text).upper()
    spans: list[tuple[int, str]] = []
    digits = ""
    for i, ch in enumerate(flat):  # the digits of the text, each with where it stood
        if ch.isdigit() or ch == "X":
            digits += ch
            spans.append((i, ch))
        elif ch in " -\t" and digits:  # separators inside a number
            continue
        else:
            digits += "|"
            spans.append((i, "|"))
    out = []
    for secret in secrets:
        for m in re.finditer(re.escape(secret), digits):
            before = flat[max(0, spans[m.start()][0] - 8) : spans[m.start()][0]].lower()
            is_code = any(w in before for w in CODE_WORDS) and not any(w in before for w in PHONE_WORDS)
            if not is_code:
                out.append(secret)
    return out


# ---- order facts: valid ones, hostile ones, personal data in free-text fields ----
VALID_FACTS = {
    "order_id": ["E20261122001", "2026112210300001", "ORDER_55-7"],
    "tracking_no": ["SF1234567890123", "YT9876543210"],
    "carrier": ["顺丰", "中通快递", "EMS"],
    "order_status": ["待发货", "已发货", "退款中"],
    "paid_at": ["2026-11-22 10:30", "2026年11月22日 10点"],
    "shipped_at": ["2026-11-23 09:00"],
}
HOSTILE_FACTS = [
    "abc;rm -rf /<script>", "<b>1</b>", "1" * 5000, "", "   ", "\x00", "\ud800", "\u202e123", "１２３４５６",
    "E2026\n1122", "'; DROP TABLE orders; --", "顺丰\u200b", "😀", "x" * 41, "-1", "2026-13-45 99:99",
]  # fmt: skip


@st.composite
def order_facts(draw) -> tuple[dict, list[str]]:
    """Return (order facts, secrets placed in fields that are not order or tracking numbers)."""
    order, secrets = {}, []
    for name in draw(st.sets(st.sampled_from([*sorted(SHAPES), "amount", "\x00", 7]), max_size=4)):
        kind = draw(st.sampled_from(("valid", "valid", "hostile", "personal", "any")))
        if kind == "valid":
            value = draw(st.sampled_from(VALID_FACTS.get(name, ["5"])))
        elif kind == "hostile":
            value = draw(st.sampled_from(HOSTILE_FACTS))
        elif kind == "personal":
            written, digits = draw(personal)
            value = draw(st.sampled_from(("", "电话", "顺丰"))) + written
            if name not in ("order_id", "tracking_no"):  # numbers there are order numbers by design
                secrets.append(digits)
        else:
            value = draw(st.one_of(st.text(max_size=50), st.none(), st.integers(), st.floats()))
        order[name] = value
    return order, secrets


@st.composite
def conversations(draw) -> tuple[list, list[str]]:
    """Return (earlier turns, some of them of the wrong shape; the personal data the turns hold)."""
    turns, secrets = [], []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 4)) == 0:
            turns.append(
                draw(st.sampled_from([{"role": "bot", "text": "x"}, {"text": None}, "just text", 5, {}]))
            )
            continue
        text, said = draw(hostile_texts(4))
        turns.append({"role": draw(st.sampled_from(("customer", "agent"))), "text": text})
        secrets += said
    return turns, secrets


brands = st.sampled_from([*BRANDS] * 4 + ["", "LANXU", "unknown", "\x00", "\ud800", "<b>"])


# ---- the limit ----
def framing(app) -> int:
    """Return the most characters a tone adds around a body (greeting and sign-off, brand names filled)."""
    longest = 0
    for brand in app.brands.values():
        tone = app.tones[brand.tone]
        extra = sum(len(SLOT_RE.sub("x" * 20, p or "")) for p in (tone.greeting, tone.signoff))
        longest = max(longest, extra + len(brand.name) * 2 + len(brand.agent_name) * 2 + 2)
    return longest


@pytest.fixture(scope="module")
def limits(huashu_app) -> dict[str, int]:
    """Return the reply limit of each mode over the session's index."""
    from rag.draft import HOLDING_REPLY

    cap = max(s.max_len for s in SHAPES.values())
    script = max(
        [len(HOLDING_REPLY)]
        + [len(s.reply) + cap * len(SLOT_RE.findall(s.reply)) for s in huashu_app.scripts()]
    )
    frame = framing(huashu_app)
    return {"script": script + frame, "llm": LENGTH_FACTOR * MOST_ASKED + frame}


class Tally:
    """Count what the examples came to, so a run that only ever met refusals cannot pass unnoticed."""

    def __init__(self, name: str):
        self.name, self.counts = name, {}

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def done(self, *served: str, at_least: float) -> None:
        total = sum(self.counts.values())
        print(f"\nproperty run {self.name}: {total} examples {dict(sorted(self.counts.items()))}")
        assert sum(self.counts.get(s, 0) for s in served) >= at_least * total, self.counts


def _clear_error(exc: BadInputError, secrets: list[str]) -> None:
    message = str(exc)
    assert message.strip() and "Traceback" not in message
    assert not echoed(message, secrets), f"an error message echoes personal data: {message}"


# ---- the properties ----
def test_a_script_draft_of_hostile_input_is_bounded_and_echoes_no_personal_data(huashu_app, limits):
    tally = Tally("draft (script mode)")

    @FAST
    @given(
        msg=hostile_texts(),
        ask=st.sampled_from(["", *HOSTILE[-7:]]),
        brand=brands,
        facts=st.one_of(st.just(({}, [])), order_facts()),  # refused facts have their own run below
        earlier=conversations(),
    )
    def prop(msg, ask, brand, facts, earlier):
        (message, secrets), (order, order_secrets), (conversation, turn_secrets) = msg, facts, earlier
        message = ask + message  # most with a real ask first, so that many examples find a script
        said = secrets + order_secrets + turn_secrets
        try:
            result = huashu_app.draft(
                message, brand=brand, order=order, conversation=conversation, mode="script"
            )
        except BadInputError as exc:
            _clear_error(exc, said)
            tally.add("clear error")
            return
        assert len(result.draft) <= limits["script"], (len(result.draft), result.draft[:200])
        assert not echoed(result.draft, said), result.draft
        assert not echoed(" ".join(result.order.values()), order_secrets), result.order
        tally.add("drafted" if result.matched else "holding reply")

    prop()
    tally.done("drafted", "holding reply", at_least=0.2)


def test_an_llm_that_parrots_the_customer_never_gets_personal_data_or_a_runaway_reply_through(
    llm_app, fake_openai_server, limits
):
    tally = Tally("draft (LLM that parrots the message)")

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(
        msg=hostile_texts(6),
        ask=st.sampled_from(HOSTILE[-7:]),
        brand=st.sampled_from(BRANDS),
        times=st.sampled_from((1, 1, 3, 20)),
    )
    def prop(msg, ask, brand, times):
        message, secrets = msg
        message = (
            ask + message
        )  # a real ask first, so that most examples find a script for the model to adapt
        fake_openai_server.reset()
        parrot = ("好的，您说的是：" + message[:300] + "。我们马上为您处理。") * times
        fake_openai_server.answer(Answer("text", text=parrot))
        try:
            result = llm_app.draft(message, brand=brand, mode="llm")
        except BadInputError as exc:
            _clear_error(exc, secrets)
            tally.add("clear error")
            return
        assert len(result.draft) <= limits["llm"], (len(result.draft), result.fallback_reason)
        assert not echoed(result.draft, secrets), result.draft
        tally.add("written by the LLM" if result.drafter == "llm" else "fell back to the script")

    try:
        prop()
    finally:
        fake_openai_server.reset()
    tally.done("written by the LLM", at_least=0.2)


def test_check_of_hostile_text_masks_every_piece_of_personal_data(huashu_app):
    tally = Tally("check")

    @settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    @given(msg=hostile_texts(), brand=brands, facts=st.one_of(st.just(({}, [])), order_facts()))
    def prop(msg, brand, facts):
        (text, secrets), (order, order_secrets) = msg, facts
        try:
            result = huashu_app.check(text, brand=brand, order=order)
        except BadInputError as exc:
            _clear_error(exc, secrets + order_secrets)
            tally.add("clear error")
            return
        assert len(result.text) <= max(len(text), 1) * 2, "a check never grows the text without bound"
        assert not echoed(result.text, secrets), result.text
        tally.add("masked" if secrets else "checked")

    prop()
    tally.done("masked", at_least=0.2)


def test_order_facts_are_accepted_in_shape_or_refused_with_the_field_named():
    from rag.order import clean_order

    tally = Tally("order facts")

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(facts=order_facts())
    def prop(facts):
        order, secrets = facts
        try:
            cleaned = clean_order(order)
        except BadInputError as exc:
            _clear_error(exc, secrets)
            assert any(str(name) in str(exc) for name in order), str(exc)
            tally.add("refused, field named")
            return
        for name, value in cleaned.items():
            assert len(value) <= SHAPES[name].max_len and SHAPES[name].pattern.fullmatch(value)
            assert not re.search(r"[<>;$`'\"\x00\n]", value), value
        tally.add("accepted in shape")

    prop()
    tally.done("accepted in shape", at_least=0.08)


# ---- what the property run found, pinned ----
def test_a_lone_surrogate_in_a_message_or_turn_is_drafted_checked_and_recorded(huashu_app, tmp_path):
    # a JSON client may send "\\ud800": the embedding tokenizer and SQLite both refused it with a traceback
    from rag.feedback import open_feedback_store

    broken = "在吗\ud800什么时候发货\udfff"
    result = huashu_app.draft(broken, brand="jianyi", conversation=[{"role": "customer", "text": "\ud800"}])
    assert result.draft and result.request.message == "在吗\ufffd什么时候发货\ufffd"
    assert result.request.conversation[0].text == "\ufffd"
    assert huashu_app.check("好的\ud800", brand="jianyi").text == "好的\ufffd"
    store = open_feedback_store(huashu_app.settings.model_copy(update={"data_dir": tmp_path}))
    try:
        store.record_draft(result)
    finally:
        store.close()


# ---- the same through a real `huashu draft` process: hostile bytes on the command line and stdin ----
PHONE = "13812345678"
ID_X = "11010519491231002X"
CARD = "6222021234567890128"
CLI_CASES = {
    "gbk-message-with-a-phone": (["draft", f"我的手机{PHONE}，什么时候发货".encode("gbk")], b"", [PHONE]),
    "nul-on-stdin": (["draft", "-"], "在吗\x00发货了吗".encode(), []),
    "lone-surrogate-bytes-on-stdin": (["draft", "-"], "在吗".encode() + b"\xed\xa0\x80", []),
    "rtl-marks-and-emoji": (["draft", "\u202e什么时候\u200f发货😀🙏🏻👨‍👩‍👧"], b"", []),
    "100k-characters-of-punctuation-on-stdin": (["draft", "-"], ("？！。……" * 20_000).encode(), []),
    "split-phone-and-full-width-digits": (
        ["draft", "电话１３８－１２３４－５６７８ 或 138 1234 5678，身份证 110105 19491231 002X 发货没"],
        b"",
        [PHONE, ID_X],
    ),
    "bank-card-in-the-order-status": (
        ["draft", "退款到哪", "--order-status", f"卡号{CARD}"],
        b"",
        [CARD],
    ),
    "order-id-with-shell-and-html": (["draft", "发货了吗", "--order-id", "abc;rm -rf /<script>"], b"", []),
    "tracking-number-of-5000-digits": (["draft", "物流到哪了", "--tracking-no", "9" * 5000], b"", []),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES), ids=str)
def test_hostile_bytes_through_the_command_line(huashu_app, limits, case):
    args, stdin, secrets = CLI_CASES[case]
    run = cli(huashu_app.settings, *args, "--brand", "nuanbei", "--json", stdin=stdin).clean()
    assert run.code in (0, 2), run.err
    assert not echoed(run.err, secrets), run.err
    print(f"\ncli case {case}: exit {run.code}")
    if run.code == 2:
        assert run.err.startswith("输入有误：") and not run.out
        return
    result = json.loads(run.out)  # the JSON also holds the request as the agent typed it: the reply may not
    assert result["draft"] and len(result["draft"]) <= limits["script"]
    assert not echoed(result["draft"], secrets), result["draft"]
    assert "<script>" not in result["draft"] and "rm -rf" not in result["draft"]
