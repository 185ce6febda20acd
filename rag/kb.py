"""Load and validate the knowledge base: brands, tone profiles, scripts, policies, references.

Each file loads on its own: a broken file is reported (file, line, field, what is wrong)
and skipped, and the rest of the knowledge base still loads.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from .documents import REFERENCE_SUFFIXES, ReferenceLimits, load_reference
from .errors import ConfigError, KnowledgeBaseError
from .kbconfig import BRANDS_FILE, RULES_FILE, ServingConfig, parse_config
from .kbfields import (
    BRAND_SLOTS,
    ORDER_SLOTS,
    POLICY_FIELDS,
    SCRIPT_FIELDS,
    SLOT_RE,
    Fields,
    Problem,
    SourceFile,
    check_reply_template,
    content_hash,
    items_with_lines,
    key_lines,
    parse_yaml,
)
from .kbwalk import find_files
from .types import Brand, Policy, ReferenceChunk, Script, ToneProfile

log = logging.getLogger(__name__)
KB_PARSE_VERSION = "2"  # bump when parsing or validation of knowledge-base files changes
__all__ = ["BRAND_SLOTS", "ORDER_SLOTS", "SLOT_RE", "KnowledgeBase", "Problem", "SourceFile", "load_kb"]


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything loaded from a knowledge-base directory."""

    root: Path
    files: tuple[SourceFile, ...]
    brands: dict[str, Brand] = field(default_factory=dict)
    tones: dict[str, ToneProfile] = field(default_factory=dict)
    config: ServingConfig | None = None  # brands, tones and rules with the texts that loaded
    # the files as loaded, before duplicate ids were failed: config, policy, script and reference files
    groups: tuple = field(default=(), repr=False, compare=False)

    def with_established(self, owners: Mapping[str, str]) -> KnowledgeBase:
        """Return this knowledge base with duplicate ids resolved in favour of the files that own them now.

        `owners` maps an item key (kind:id) to the file the serving index has it from: a newly added file that
        reuses the id is failed, whichever sorts first. Without an owner the first file in path order keeps it.
        """
        if not self.groups:
            return self
        config, policies, scripts, refs = self.groups
        files = (
            *config,
            *_reject_duplicates(list(policies), _owned(owners, "policy")),
            *_reject_duplicates(list(scripts), _owned(owners, "script")),
            *refs,
        )
        return replace(self, files=tuple(files))

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
        return self.config.rules if self.config else None

    def fingerprint(self) -> str:
        """Return a short hash of every file's content: equal fingerprints mean the same knowledge."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(f"{f.path}\0{f.hash}\0".encode())
        return h.hexdigest()[:16]


def load_kb(
    root: Path,
    *,
    today: date | None = None,
    cache: Path | None = None,
    limits: ReferenceLimits | None = None,
) -> KnowledgeBase:
    """Load every file under `root`; broken files carry their problems and yield nothing.

    With `cache` (a directory), a script file whose bytes, brands and policy ids are unchanged since the last
    load is taken from there instead of being parsed again: at 10,000 scripts parsing is most of a no-op re-index.
    A directory that cannot be listed raises `KnowledgeBaseError`: its files must not look deleted.
    """
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"知识库目录 {root} 不存在。请检查 HUASHU_KB_PATH 或命令行给的路径。")
    config = parse_config(config_texts(root))
    brands = config.brands
    found = {
        "policy": find_files(root, "policies", "*.md", skip_hidden=False, outside="error"),
        "script": find_files(root, "scripts", "*.y*ml", skip_hidden=False, outside="error"),
        "reference": find_files(root, "references", "*", skip_hidden=True, outside="warning"),
    }
    policy_files = [_load_policy(root, p) for p in found["policy"].paths]
    policy_ids = {pol.id for f in policy_files if f.ok for pol in f.items}
    parse = _ParseCache(cache, brands, policy_ids)
    script_files = [parse.scripts(root, p) for p in found["script"].paths]
    parse.prune()
    ref_files = [
        _load_ref(root, p, limits or ReferenceLimits())
        for p in found["reference"].paths
        if p.name != "README.md"
    ]
    refused = {
        kind: [SourceFile(p.file, kind, "", problems=(p,)) for p in f.refused] for kind, f in found.items()
    }
    groups = (
        tuple(config.files),
        tuple(policy_files + refused["policy"]),
        tuple(script_files + refused["script"]),
        tuple(ref_files + refused["reference"]),
    )
    kb = KnowledgeBase(
        root=root, files=(), brands=brands, tones=config.tones, config=config, groups=groups
    ).with_established({})
    for p in kb.problems:
        log.debug("kb problem: %s", p)
    return kb


def config_texts(root: Path) -> dict[str, bytes]:
    """Return the bytes of brands.yaml, tone/*.yaml, compliance/rules.yaml and the compliance examples
    (compliance/examples/*.jsonl); an unreadable one is left out."""
    paths = [
        root / BRANDS_FILE,
        *sorted((root / "tone").glob("*.y*ml")),
        root / RULES_FILE,
        *sorted((root / "compliance" / "examples").glob("*.jsonl")),
    ]
    out = {}
    for path in paths:
        if path.is_file():
            try:
                out[_rel(root, path)] = path.read_bytes()
            except OSError as exc:
                log.warning("cannot read %s: %s", path, exc)
    return out


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _read(root: Path, path: Path, kind: str) -> tuple[bytes | None, SourceFile | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return None, SourceFile(
            _rel(root, path), kind, "", problems=(Problem(_rel(root, path), f"读不了这个文件：{exc}"),)
        )


class _ParseCache:
    """Parsed script files by content, so unchanged files are not parsed again (optional)."""

    VERSION = KB_PARSE_VERSION

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
    value, node, problem = parse_yaml(rel, data)
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
    for raw, line, lines in items_with_lines(value, node):
        if not isinstance(raw, dict):
            problems.append(
                Problem(rel, "列表里的每一项应该是一条话术（id、scenario、reply …）。", line=line)
            )
            continue
        f = Fields(rel, raw, line, lines)
        f.reject_unknown(SCRIPT_FIELDS)
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
    value, node, problem = parse_yaml(rel, head.encode())
    if problem:
        return SourceFile(rel, "policy", h, problems=(Problem(rel, problem.message, line=problem.line or 1),))
    if not isinstance(value, dict):
        return SourceFile(
            rel, "policy", h, problems=(Problem(rel, "front matter 应该是 键: 值 的形式。", line=2),)
        )
    f = Fields(rel, value, 2, key_lines(node))  # the head keeps its leading newline: lines match the file
    f.reject_unknown(POLICY_FIELDS)
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


def _load_ref(root: Path, path: Path, limits: ReferenceLimits) -> SourceFile:
    rel = _rel(root, path)
    try:
        limits.check_bytes(rel, path.stat().st_size)
    except OSError:
        pass  # _read says what is wrong with it
    except KnowledgeBaseError as exc:
        return SourceFile(rel, "reference", "", problems=(Problem(rel, exc.detail),))
    data, failed = _read(root, path, "reference")
    if failed:
        return failed
    if path.suffix.lower() not in REFERENCE_SUFFIXES:
        problem = Problem(
            rel, f"不支持的文件类型 {path.suffix or '（无扩展名）'}；支持：{', '.join(REFERENCE_SUFFIXES)}。"
        )
        return SourceFile(rel, "reference", content_hash(data), problems=(problem,))
    try:
        chunks = load_reference(path, rel, data, limits)
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


def _owned(owners: Mapping[str, str], kind: str) -> dict[str, str]:
    prefix = kind + ":"
    return {k[len(prefix) :]: src for k, src in owners.items() if k.startswith(prefix)}


def _reject_duplicates(files: list[SourceFile], owners: Mapping[str, str]) -> list[SourceFile]:
    """Fail a file that reuses an id another file has: the owner in `owners` keeps it, else the first file."""
    keeper: dict[str, tuple[object, str, int]] = {}  # id -> (the item that keeps it, its file, its line)
    for f in files:
        for it in f.items:
            if not it.id:
                continue
            here = (it, f.path, getattr(it, "line", 0) or 1)
            held = keeper.get(it.id)
            if held is None or (owners.get(it.id) == f.path and held[1] != f.path):
                keeper[it.id] = here
    out = []
    for f in files:
        problems = list(f.problems)
        for it in f.items:
            held = keeper.get(it.id)
            if held is None or held[0] is it:
                continue
            why = "（索引里现有的这一条出自那里，保持不变）" if owners.get(it.id) == held[1] else ""
            problems.append(
                Problem(
                    f.path,
                    f"id {it.id!r} 重复：{held[1]}:{held[2]} 已经用过{why}。请给这一条换一个 id。",
                    line=getattr(it, "line", 0) or None,
                    field="id",
                )
            )
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
