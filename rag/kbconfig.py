"""The serving configuration: brands, tone profiles and compliance rules, parsed from file texts.

The same parser reads them from the knowledge-base directory at index time and from the index at serving
time: a re-index stores the texts it accepted, and every serving process builds its drafts from those, so a
half-edited file on disk never changes what agents get until a re-index accepts it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import KnowledgeBaseError
from .kbfields import (
    BRAND_FIELDS,
    TONE_FIELDS,
    Fields,
    Problem,
    SourceFile,
    content_hash,
    items_with_lines,
    key_lines,
    parse_yaml,
)
from .types import Brand, ToneProfile

BRANDS_FILE = "brands.yaml"
RULES_FILE = "compliance/rules.yaml"
TONE_DIR = "tone/"


def is_config_file(rel: str) -> bool:
    """Return whether a knowledge-base path (relative, forward slashes) is part of the serving config."""
    from .compliance.examples import is_examples_file

    return (
        rel in (BRANDS_FILE, RULES_FILE)
        or (rel.startswith(TONE_DIR) and rel.count("/") == 1 and rel.endswith((".yaml", ".yml")))
        or is_examples_file(rel)
    )


@dataclass(frozen=True)
class ServingConfig:
    """Brands, tone profiles and rules as parsed, with each file's problems and the texts that loaded."""

    files: tuple[SourceFile, ...]
    brands: dict[str, Brand] = field(default_factory=dict)
    tones: dict[str, ToneProfile] = field(default_factory=dict)
    rules: object | None = None  # a compliance RuleSet; None when the rules file failed or is absent
    texts: dict[str, str] = field(default_factory=dict)  # path -> text, for every file that loaded

    @property
    def examples(self) -> list:
        """Return the labelled compliance examples (compliance/examples/*.jsonl) the filter's second stage learns."""
        return [ex for f in self.files if f.kind == "compliance_examples" and f.ok for ex in f.items]

    @property
    def problems(self) -> list[Problem]:
        return [p for f in self.files for p in f.problems]

    @property
    def hash(self) -> str:
        """Return a hash of the accepted texts: equal hashes serve the same brands, tones and rules."""
        return content_hash("\0".join(f"{k}\0{v}" for k, v in sorted(self.texts.items())))[:16]


def parse_config(texts: Mapping[str, bytes | str]) -> ServingConfig:
    """Parse brands.yaml, tone/*.yaml and compliance/rules.yaml given as {path: content}."""
    data = {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in texts.items()}
    tone_files = [_tone_file(rel, data[rel]) for rel in sorted(data) if rel.startswith(TONE_DIR)]
    tones = {t.id: t for f in tone_files if f.ok for t in f.items}
    if BRANDS_FILE in data:
        brands_file = _check_brand_tones(_brands_file(data[BRANDS_FILE]), tones)
    else:
        brands_file = SourceFile(
            BRANDS_FILE, "brands", "", problems=(Problem(BRANDS_FILE, "缺少品牌设置文件 brands.yaml。"),)
        )
    files = [brands_file, *tone_files]
    if RULES_FILE in data:
        files.append(_rules_file(data[RULES_FILE]))
    files += [_examples_file(rel, data[rel]) for rel in sorted(data) if _is_examples(rel)]
    rules = next((f.items[0] for f in files if f.kind == "rules" and f.ok and f.items), None)
    accepted = {f.path: data[f.path].decode("utf-8") for f in files if f.ok and f.path in data}
    return ServingConfig(
        files=tuple(files),
        brands={b.id: b for b in brands_file.items} if brands_file.ok else {},
        tones=tones,
        rules=rules,
        texts=accepted,
    )


def _brands_file(data: bytes) -> SourceFile:
    rel = BRANDS_FILE
    value, node, problem = parse_yaml(rel, data)
    if problem or not isinstance(value, list):
        problem = problem or Problem(rel, "brands.yaml 应该是品牌列表。", line=1)
        return SourceFile(rel, "brands", content_hash(data), problems=(problem,))
    brands, problems = [], []
    for raw, line, lines in items_with_lines(value, node):
        f = Fields(rel, raw if isinstance(raw, dict) else {}, line, lines)
        f.reject_unknown(BRAND_FIELDS)
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
    return SourceFile(rel, "brands", content_hash(data), tuple(brands), tuple(problems))


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


def _tone_file(rel: str, data: bytes) -> SourceFile:
    value, node, problem = parse_yaml(rel, data)
    if problem or not isinstance(value, dict):
        problem = problem or Problem(rel, "语气档案应该是 键: 值 的形式。", line=1)
        return SourceFile(rel, "tone", content_hash(data), problems=(problem,))
    f = Fields(rel, value, 1, key_lines(node))
    f.reject_unknown(TONE_FIELDS)
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


def _rules_file(data: bytes) -> SourceFile:
    from .compliance import parse_rules  # the filter owns its rules format

    rel = RULES_FILE
    try:
        rules = parse_rules(data.decode("utf-8"), rel)
    except UnicodeDecodeError:
        return SourceFile(
            rel, "rules", content_hash(data), problems=(Problem(rel, "不是 UTF-8 编码。请另存为 UTF-8。"),)
        )
    except KnowledgeBaseError as exc:
        return SourceFile(
            rel, "rules", content_hash(data), problems=(Problem(rel, exc.detail, exc.line, exc.field),)
        )
    return SourceFile(rel, "rules", content_hash(data), (rules,))


def _is_examples(rel: str) -> bool:
    from .compliance.examples import is_examples_file

    return is_examples_file(rel)


def _examples_file(rel: str, data: bytes) -> SourceFile:
    from .compliance.examples import parse_examples  # the filter owns its examples format

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problem = Problem(rel, "不是 UTF-8 编码。请另存为 UTF-8。")
        return SourceFile(rel, "compliance_examples", content_hash(data), problems=(problem,))
    examples, bad = parse_examples(text, rel)
    problems = tuple(Problem(rel, msg, line, severity="warning") for line, msg in bad)
    return SourceFile(rel, "compliance_examples", content_hash(data), tuple(examples), problems)
