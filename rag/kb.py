"""Load and validate the knowledge base: brands, tone profiles, scripts, policies, references.

Each file loads on its own: a broken file is reported (file, line, field, what is wrong)
and skipped, and the rest of the knowledge base still loads.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from .documents import REFERENCE_SUFFIXES, load_reference
from .errors import KnowledgeBaseError
from .scenarios import SCENARIOS
from .types import ALL_BRANDS, Brand, Policy, ReferenceChunk, Script, ToneProfile

log = logging.getLogger(__name__)

BRAND_SLOTS = frozenset({"brand_name", "agent_name"})
ORDER_SLOTS = frozenset({"order_id", "order_status", "paid_at", "shipped_at", "tracking_no", "carrier"})
SLOT_RE = re.compile(r"\{([^{}]*)\}")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything loaded from a knowledge-base directory."""

    root: Path
    files: tuple[SourceFile, ...]
    brands: dict[str, Brand] = field(default_factory=dict)
    tones: dict[str, ToneProfile] = field(default_factory=dict)

    def items(self, kind: str) -> list:
        """Return the items of one kind (script, policy, reference) from files that loaded."""
        return [it for f in self.files if f.ok and f.kind == kind for it in f.items]

    @property
    def scripts(self) -> list[Script]:
        return self.items("script")

    @property
    def policies(self) -> list[Policy]:
        return self.items("policy")

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def rules_path(self) -> Path:
        return self.root / "compliance" / "rules.yaml"

    @property
    def rules(self):
        """Return the compliance rules loaded with the knowledge base, or None if they failed to load."""
        return next((f.items[0] for f in self.files if f.kind == "rules" and f.ok and f.items), None)

    def fingerprint(self) -> str:
        """Return a short hash of every file's content: equal fingerprints mean the same knowledge."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f"{f.path}\0{f.hash}\0".encode())
        return h.hexdigest()[:16]


def content_hash(data: bytes | str) -> str:
    """Return the sha256 hex digest of `data`."""
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def load_kb(root: Path, *, today: date | None = None, cache: Path | None = None) -> KnowledgeBase:
    """Load every file under `root`; broken files carry their problems and yield nothing.

    With `cache` (a directory), a script file whose bytes, brands and policy ids are unchanged since the last
    load is taken from there instead of being parsed again: at 10,000 scripts parsing is most of a no-op re-index.
    """
    root = Path(root)
    if not root.is_dir():
        raise KnowledgeBaseError(str(root), "知识库目录不存在。请检查 HUASHU_KB_PATH 或命令行给的路径。")
    brands_file = _load_brands(root)
    brands = {b.id: b for b in brands_file.items} if brands_file.ok else {}
    tone_files = [_load_tone(root, p) for p in sorted((root / "tone").glob("*.y*ml"))]
    tones = {t.id: t for f in tone_files if f.ok for t in f.items}
    brands_file = _check_brand_tones(brands_file, tones)
    files = [brands_file, *tone_files]
    if (root / "compliance" / "rules.yaml").exists():
        files.append(_load_rules_file(root))
    policy_files = [_load_policy(root, p) for p in sorted((root / "policies").rglob("*.md"))]
    policy_ids = {pol.id for f in policy_files if f.ok for pol in f.items}
    parse = _ParseCache(cache, brands, policy_ids)
    script_files = [parse.scripts(root, p) for p in sorted((root / "scripts").rglob("*.y*ml"))]
    parse.prune()
    ref_files = [
        _load_ref(root, p)
        for p in sorted((root / "references").rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.name != "README.md"
    ]
    files += _reject_duplicates(policy_files) + _reject_duplicates(script_files) + ref_files
    kb = KnowledgeBase(root=root, files=tuple(files), brands=brands, tones=tones)
    for p in kb.problems:
        log.debug("kb problem: %s", p)
    return kb


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _read(root: Path, path: Path, kind: str) -> tuple[bytes | None, SourceFile | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return None, SourceFile(
            _rel(root, path), kind, "", problems=(Problem(_rel(root, path), f"读不了这个文件：{exc}"),)
        )


def _parse_yaml(rel: str, data: bytes) -> tuple[object, yaml.Node | None, Problem | None]:
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


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}


def _items_with_lines(value, node) -> Iterable[tuple[object, int, dict[str, int]]]:
    nodes = node.value if isinstance(node, yaml.SequenceNode) else []
    for i, item in enumerate(value):
        n = nodes[i] if i < len(nodes) else None
        yield item, (n.start_mark.line + 1 if n is not None else 0), _key_lines(n)


class _Fields:
    """Read fields of one YAML mapping, collecting problems with file, line and field."""

    def __init__(self, rel: str, data: dict, line: int, lines: dict[str, int]):
        self.rel, self.data, self.line, self.lines = rel, data, line, lines
        self.problems: list[Problem] = []

    def problem(self, name: str | None, message: str, severity: str = "error") -> None:
        line = self.lines.get(name, self.line) if name else self.line
        self.problems.append(Problem(self.rel, message, line=line, field=name, severity=severity))

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


def check_reply_template(reply: str, f: _Fields, name: str = "reply") -> None:
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


class _ParseCache:
    """Parsed script files by content, so unchanged files are not parsed again (optional)."""

    VERSION = "1"  # bump when parsing or validation of scripts changes

    def __init__(self, directory: Path | None, brands: dict[str, Brand], policy_ids: set[str]):
        self.dir, self.brands, self.policy_ids = directory, brands, policy_ids
        self.context = f"{self.VERSION}|{sorted(brands)}|{sorted(policy_ids)}".encode()
        self.used: set[str] = set()

    def scripts(self, root: Path, path: Path) -> SourceFile:
        if self.dir is None:
            return _load_scripts(root, path, self.brands, self.policy_ids)
        try:
            key = hashlib.sha256(self.context + path.read_bytes()).hexdigest() + ".pickle"
        except OSError:
            return _load_scripts(root, path, self.brands, self.policy_ids)
        self.used.add(key)
        cached = self.dir / key
        try:
            result = pickle.loads(cached.read_bytes())
            if result.path == _rel(root, path):
                return result
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            pass
        result = _load_scripts(root, path, self.brands, self.policy_ids)
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(cached)
        return result

    def prune(self) -> None:
        """Forget files no longer in the knowledge base."""
        if self.dir is not None and self.dir.is_dir():
            for f in self.dir.glob("*.pickle"):
                if f.name not in self.used:
                    f.unlink(missing_ok=True)


def _load_scripts(root: Path, path: Path, brands: dict[str, Brand], policy_ids: set[str]) -> SourceFile:
    data, failed = _read(root, path, "script")
    if failed:
        return failed
    rel = _rel(root, path)
    value, node, problem = _parse_yaml(rel, data)
    if problem:
        return SourceFile(rel, "script", content_hash(data), problems=(problem,))
    if value is None:
        value = []
    if not isinstance(value, list):
        return SourceFile(
            rel,
            "script",
            content_hash(data),
            problems=(Problem(rel, "话术文件应该是一个列表（每项以 '- id:' 开头）。", line=1),),
        )
    scripts, problems = [], []
    for raw, line, lines in _items_with_lines(value, node):
        if not isinstance(raw, dict):
            problems.append(
                Problem(rel, "列表里的每一项应该是一条话术（id、scenario、reply …）。", line=line)
            )
            continue
        f = _Fields(rel, raw, line, lines)
        sid, scenario = f.item_id(), f.text("scenario")
        f.scenarios("scenario", (scenario,) if scenario else ())
        reply = f.text("reply")
        if reply:
            check_reply_template(reply, f)
        examples = f.text_list("customer_examples")
        refs = f.text_list("policy_refs", required=False)
        for ref in refs:
            if ref not in policy_ids:
                f.problem(
                    "policy_refs", f"引用的政策 {ref!r} 不存在（或它的文件有错误）。", severity="warning"
                )
        script = Script(
            id=sid,
            scenario=scenario,
            brands=f.brands(brands),
            title=f.text("title"),
            customer_examples=examples,
            reply=reply,
            notes=f.text("notes", required=False),
            policy_refs=refs,
            source=rel,
            line=line,
        )
        problems += f.problems
        scripts.append(script)
    return SourceFile(rel, "script", content_hash(data), tuple(scripts), tuple(problems))


def _front_matter(text: str) -> tuple[str, str, int] | None:
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    body_start = text.find("\n", end + 4)
    return text[3:end], (text[body_start + 1 :] if body_start >= 0 else ""), 2


def _load_policy(root: Path, path: Path) -> SourceFile:
    data, failed = _read(root, path, "policy")
    if failed:
        return failed
    rel, h = _rel(root, path), content_hash(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return SourceFile(rel, "policy", h, problems=(Problem(rel, "不是 UTF-8 编码。请另存为 UTF-8。"),))
    parts = _front_matter(text)
    if parts is None:
        return SourceFile(
            rel,
            "policy",
            h,
            problems=(Problem(rel, "缺少开头的 front matter（以 --- 开始和结束的 YAML 块）。", line=1),),
        )
    head, body, _ = parts
    value, node, problem = _parse_yaml(rel, head.encode())
    if problem:
        return SourceFile(rel, "policy", h, problems=(Problem(rel, problem.message, line=problem.line or 1),))
    if not isinstance(value, dict):
        return SourceFile(
            rel, "policy", h, problems=(Problem(rel, "front matter 应该是 键: 值 的形式。", line=2),)
        )
    f = _Fields(rel, value, 2, _key_lines(node))  # the head keeps its leading newline: lines match the file
    scenarios = f.text_list("scenarios", required=False) or f.text_list("topics", required=False)
    f.scenarios("scenarios", scenarios)
    if not body.strip():
        f.problem(None, "政策正文是空的。")
    policy = Policy(
        id=f.item_id(),
        title=f.text("title"),
        brands=f.brands(None),
        scenarios=scenarios,
        body=body.strip(),
        valid_from=f.date("valid_from"),
        valid_to=f.date("valid_to"),
        source=rel,
    )
    return SourceFile(rel, "policy", h, (policy,), tuple(f.problems))


def _load_brands(root: Path) -> SourceFile:
    path = root / "brands.yaml"
    if not path.exists():
        return SourceFile(
            "brands.yaml", "brands", "", problems=(Problem("brands.yaml", "缺少品牌设置文件 brands.yaml。"),)
        )
    data, failed = _read(root, path, "brands")
    if failed:
        return failed
    value, node, problem = _parse_yaml("brands.yaml", data)
    if problem or not isinstance(value, list):
        problem = problem or Problem("brands.yaml", "brands.yaml 应该是品牌列表。", line=1)
        return SourceFile("brands.yaml", "brands", content_hash(data), problems=(problem,))
    brands, problems = [], []
    for raw, line, lines in _items_with_lines(value, node):
        f = _Fields("brands.yaml", raw if isinstance(raw, dict) else {}, line, lines)
        brands.append(
            Brand(
                id=f.item_id(),
                name=f.text("name"),
                tone=f.text("tone"),
                agent_name=f.text("agent_name"),
                name_en=f.text("name_en", required=False),
                sells=f.text("sells", required=False),
            )
        )
        problems += f.problems
    return SourceFile("brands.yaml", "brands", content_hash(data), tuple(brands), tuple(problems))


def _check_brand_tones(brands_file: SourceFile, tones: dict[str, ToneProfile]) -> SourceFile:
    extra = tuple(
        Problem(
            brands_file.path,
            f"品牌 {b.id} 的语气档案 {b.tone!r} 不存在；已有：{', '.join(sorted(tones))}。",
            field="tone",
        )
        for b in brands_file.items
        if b.tone and b.tone not in tones
    )
    return SourceFile(
        brands_file.path, brands_file.kind, brands_file.hash, brands_file.items, brands_file.problems + extra
    )


def _load_tone(root: Path, path: Path) -> SourceFile:
    data, failed = _read(root, path, "tone")
    if failed:
        return failed
    rel = _rel(root, path)
    value, node, problem = _parse_yaml(rel, data)
    if problem or not isinstance(value, dict):
        problem = problem or Problem(rel, "语气档案应该是 键: 值 的形式。", line=1)
        return SourceFile(rel, "tone", content_hash(data), problems=(problem,))
    f = _Fields(rel, value, 1, _key_lines(node))
    repl = value.get("replacements") or {}
    if not isinstance(repl, dict):
        f.problem("replacements", "replacements 应该是 原说法: 新说法 的映射。")
        repl = {}
    forbidden = f.text_list("forbidden", required=False)
    for pattern in forbidden:
        try:
            re.compile(pattern)
        except re.error as exc:
            f.problem("forbidden", f"忌用词 {pattern!r} 不是合法的正则：{exc}。")
    tone = ToneProfile(
        id=f.item_id(),
        name=f.text("name", required=False),
        address=f.text("address"),
        greeting=f.text("greeting"),
        signoff=f.text("signoff"),
        allow_tilde=bool(value.get("allow_tilde", False)),
        allow_emoji=bool(value.get("allow_emoji", False)),
        forbidden=forbidden,
        replacements=tuple((str(k), str(v)) for k, v in repl.items()),
        prefer=f.text_list("prefer", required=False),
        avoid=f.text_list("avoid", required=False),
        max_sentence_chars=int(value.get("max_sentence_chars") or 60),
    )
    return SourceFile(rel, "tone", content_hash(data), (tone,), tuple(f.problems))


def _load_rules_file(root: Path) -> SourceFile:
    from .compliance import load_rules  # the filter owns its rules format

    path = root / "compliance" / "rules.yaml"
    data, failed = _read(root, path, "rules")
    if failed:
        return failed
    try:
        rules = load_rules(path)
    except KnowledgeBaseError as exc:
        rel = _rel(root, path)
        return SourceFile(
            rel, "rules", content_hash(data), problems=(Problem(rel, exc.detail, exc.line, exc.field),)
        )
    return SourceFile(_rel(root, path), "rules", content_hash(data), (rules,))


def _load_ref(root: Path, path: Path) -> SourceFile:
    rel = _rel(root, path)
    data, failed = _read(root, path, "reference")
    if failed:
        return failed
    if path.suffix.lower() not in REFERENCE_SUFFIXES:
        problem = Problem(
            rel, f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持：{', '.join(REFERENCE_SUFFIXES)}。"
        )
        return SourceFile(rel, "reference", content_hash(data), problems=(problem,))
    try:
        chunks = load_reference(path, rel, data)
    except KnowledgeBaseError as exc:
        return SourceFile(rel, "reference", content_hash(data), problems=(Problem(rel, exc.detail),))
    if not chunks:
        return SourceFile(
            rel,
            "reference",
            content_hash(data),
            problems=(Problem(rel, "去掉样板文字后没有正文。", severity="warning"),),
        )
    return SourceFile(rel, "reference", content_hash(data), tuple(chunks))


def _reject_duplicates(files: list[SourceFile]) -> list[SourceFile]:
    """Fail a later file that reuses an id an earlier file already has."""
    seen: dict[str, tuple[str, int]] = {}
    out = []
    for f in files:
        problems = list(f.problems)
        for it in f.items:
            line = getattr(it, "line", 0) or None
            if it.id in seen:
                first = seen[it.id]
                problems.append(
                    Problem(
                        f.path, f"id {it.id!r} 重复：{first[0]}:{first[1]} 已经用过。", line=line, field="id"
                    )
                )
            elif it.id:
                seen[it.id] = (f.path, line or 1)
        out.append(
            f
            if len(problems) == len(f.problems)
            else SourceFile(f.path, f.kind, f.hash, f.items, tuple(problems))
        )
    return out


def valid_policies(kb: KnowledgeBase, today: date) -> list[Policy]:
    """Return the policies in force on `today`."""
    return [p for p in kb.policies if p.is_valid(today)]


def reference_chunks(kb: KnowledgeBase) -> list[ReferenceChunk]:
    """Return every chunk of every reference document that loaded."""
    return kb.items("reference")
