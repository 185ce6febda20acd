"""Reading knowledge-base YAML: values with their lines, field checks, and problems with file:line [field].

Every knowledge-base file (scripts, policy front matter, brands, tone profiles, and the compliance rules
through `rag.compliance._yaml`) reports an unknown field the same way: `unknown_field_message`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import yaml

from .scenarios import SCENARIOS
from .types import ALL_BRANDS, Brand

BRAND_SLOTS = frozenset({"brand_name", "agent_name"})
ORDER_SLOTS = frozenset({"order_id", "order_status", "paid_at", "shipped_at", "tracking_no", "carrier"})
SLOT_RE = re.compile(r"\{([^{}]*)\}")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The fields each kind of file may have; anything else is reported (a typo must not load silently).
SCRIPT_FIELDS = ("id", "scenario", "brands", "title", "customer_examples", "reply", "notes", "policy_refs")
POLICY_FIELDS = ("id", "title", "brands", "scenarios", "topics", "valid_from", "valid_to")
BRAND_FIELDS = ("id", "name", "name_en", "sells", "tone", "agent_name")
TONE_FIELDS = (
    "id", "name", "address", "greeting", "signoff", "allow_tilde", "allow_emoji", "forbidden",
    "replacements", "prefer", "avoid", "max_sentence_chars",
)  # fmt: skip


def unknown_field_message(key: str, allowed: tuple[str, ...]) -> str:
    """Return the message for a field that is not allowed: the closest allowed name, or the whole list."""
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"，是不是想写 {close[0]}？" if close else f"；可用字段：{'、'.join(allowed)}"
    return f"不认识的字段“{key}”{hint}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one knowledge-base file."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None
    severity: str = "error"  # error: the file is skipped; warning: loaded anyway

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}{f' [{self.field}]' if self.field else ''}: {self.message}"


@dataclass(frozen=True)
class SourceFile:
    """One file of the knowledge base, its content hash and what it yielded."""

    path: str  # relative to the knowledge-base root, with forward slashes
    kind: str  # script | policy | reference | brands | tone | rules
    hash: str
    items: tuple = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def content_hash(data: bytes | str) -> str:
    """Return the sha256 hex digest of `data`."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def parse_yaml(rel: str, data: bytes) -> tuple[object, yaml.Node | None, Problem | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, None, Problem(rel, f"不是 UTF-8 编码（第 {exc.start} 字节）。请另存为 UTF-8。")
    try:  # one pass: the node tree gives line numbers, and the same tree is turned into values
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            value = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, None, Problem(rel, f"YAML 格式错误：{getattr(exc, 'problem', exc)}", line=line)
    return value, node, None


def key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def items_with_lines(value, node) -> Iterable[tuple[object, int, dict[str, int]]]:
    nodes = node.value if isinstance(node, yaml.SequenceNode) else []
    for i, item in enumerate(value):
        n = nodes[i] if i < len(nodes) else None
        yield item, (n.start_mark.line + 1 if n is not None else 0), key_lines(n)


class Fields:
    """Read fields of one YAML mapping, collecting problems with file, line and field."""

    def __init__(self, rel: str, data: dict, line: int, lines: dict[str, int]):
        self.rel, self.data, self.line, self.lines = rel, data, line, lines
        self.problems: list[Problem] = []

    def problem(self, name: str | None, message: str, severity: str = "error") -> None:
        line = self.lines.get(name, self.line) if name else self.line
        self.problems.append(Problem(self.rel, message, line=line, field=name, severity=severity))

    def reject_unknown(self, allowed: tuple[str, ...]) -> None:
        """Report every field that is not in `allowed`, with the closest allowed name as a suggestion."""
        for key in self.data:
            if str(key) not in allowed:
                self.problem(str(key), unknown_field_message(str(key), allowed))

    def text(self, name: str, *, required: bool = True) -> str:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(name, f"缺少必填字段 {name}。")
            return ""
        if not isinstance(value, str | int | float):
            self.problem(name, f"{name} 应该是一段文字。")
            return ""
        return str(value).strip()

    def text_list(self, name: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problem(name, f"缺少必填字段 {name}。")
            return ()
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and any(v is None for v in value):
            self.problem(
                name, f"{name} 里有空值。YAML 里单独的 ~ 或空的 - 表示“空”；想写 ~ 就加引号写成 '~'。"
            )
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.problem(name, f"{name} 应该是文字列表。")
            return ()
        return tuple(str(v).strip() for v in value if str(v).strip())

    def brands(self, known: dict[str, Brand] | None) -> tuple[str, ...]:
        value = self.text_list("brands")
        if value in ((), (ALL_BRANDS,)):
            return (ALL_BRANDS,)
        if known is not None:
            for b in value:
                if b not in known:
                    self.problem(
                        "brands", f"未知品牌 {b!r}；已知品牌：{', '.join(sorted(known)) or '（无）'}。"
                    )
        return value

    def scenarios(self, name: str, values: tuple[str, ...]) -> None:
        for s in values:
            if s not in SCENARIOS:
                self.problem(
                    name,
                    f"未知场景 id {s!r}；场景 id 见 shared/domain.md（例如 {', '.join(list(SCENARIOS)[:4])} …）。",
                )

    def item_id(self) -> str:
        value = self.text("id")
        if value and not _ID_RE.match(value):
            self.problem("id", f"id {value!r} 只能用小写字母、数字和下划线。")
        return value

    def date(self, name: str) -> date | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(name, f"{name} 应该是日期，格式 2026-01-31。")
            return None


def check_reply_template(reply: str, f: Fields, name: str = "reply") -> None:
    """Check slots and optional [...] segments of a script reply."""
    depth = 0
    for ch in reply:
        depth += 1 if ch == "[" else -1 if ch == "]" else 0
        if depth not in (0, 1):
            f.problem(name, "方括号可选片段不能嵌套，也不能有多余的 ']'。")
            return
    if depth:
        f.problem(name, "方括号可选片段没有闭合：少了 ']'。")
        return
    if reply.count("{") != reply.count("}"):
        f.problem(name, "花括号不成对：槽位要写成 {order_id} 这样。")
    outside = re.sub(r"\[[^\]]*\]", "", reply)
    for slot in SLOT_RE.findall(reply):
        if slot not in BRAND_SLOTS | ORDER_SLOTS:
            known = ", ".join(sorted(BRAND_SLOTS | ORDER_SLOTS))
            f.problem(
                name, f"槽位 {{{slot}}} 没有任何来源提供（品牌设置和订单信息都没有它）；可用的槽位：{known}。"
            )
    for slot in SLOT_RE.findall(outside):
        if slot in ORDER_SLOTS:
            f.problem(name, f"订单槽位 {{{slot}}} 可能没有值，必须放在方括号可选片段 [...] 里。")
