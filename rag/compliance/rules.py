"""Compliance rules: the dataclasses and the loader that validates knowledge_base/compliance/rules.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rag.compliance._yaml import Located, check_fields, choice, load_located, required_str, str_list
from rag.compliance.text import TextView
from rag.errors import KnowledgeBaseError

CATEGORIES = (
    "absolute_claim",
    "false_authority",
    "medical_claim",
    "unconditional_promise",
    "competitor_disparagement",
    "ungrounded_commitment",
    "forbidden_service_phrase",
    "personal_data",
)
ACTIONS = ("rewrite", "drop", "mask", "flag", "block")
DETECTORS = ("commitment_numbers", "mobile", "id_card", "bank_card", "email", "address")
# Claims that a preceding negation or quotation turns into a compliant statement.
_NEGATABLE_BY_DEFAULT = frozenset(
    {
        "absolute_claim",
        "false_authority",
        "medical_claim",
        "unconditional_promise",
        "competitor_disparagement",
    }
)
_RULE_FIELDS = (
    "id", "category", "action", "reason", "terms", "patterns", "detector", "replacement",
    "exceptions", "unless_nearby", "context", "context_patterns", "brands", "negatable",
)  # fmt: skip
_TOP_FIELDS = (
    "version", "exceptions", "negation_cues", "meta_cues", "reported_speech_cues", "min_kept_chars", "rules",
)  # fmt: skip
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    """One rule: what it matches, what to do with a match and why."""

    id: str
    category: str
    action: str
    reason: str
    terms: tuple[str, ...] = ()  # compact matching form
    patterns: tuple[re.Pattern[str], ...] = ()
    detector: str | None = None
    replacement: str | None = None
    exceptions: tuple[str, ...] = ()  # compact matching form
    unless_nearby: tuple[str, ...] = ()  # compact form; in the hit's sentence or the next, they excuse it
    context: tuple[str, ...] = ()  # compact form; with context or context_patterns, a hit counts only
    context_patterns: tuple[re.Pattern[str], ...] = ()  # when one of them stands before it in its sentence
    brands: tuple[str, ...] = ()  # empty: every brand
    negatable: bool = False
    line: int = 0

    def applies_to(self, brand: str | None) -> bool:
        """Return whether the rule is in force for `brand` (no brand: every rule is)."""
        return not self.brands or brand is None or brand in self.brands


@dataclass(frozen=True)
class RuleSet:
    """All rules of a rules file, with the shared exceptions and cues."""

    rules: tuple[Rule, ...]
    exceptions: tuple[str, ...] = ()
    negation_cues: tuple[str, ...] = ()
    meta_cues: tuple[str, ...] = ()
    reported_speech_cues: tuple[str, ...] = ()
    min_kept_chars: int = 6
    source: str = ""

    def by_id(self, rule_id: str) -> Rule:
        """Return the rule with `rule_id`."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def matching_form(term: str) -> str:
    """Return the form a term is matched in: NFKC, simplified, lower case, no spaces or stray punctuation."""
    return TextView.of(term).compact


def load_rules(path: str | Path) -> RuleSet:
    """Load and validate a rules file; raise KnowledgeBaseError with file, line and field on any problem."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(file, f"无法读取规则文件（{exc}），请确认路径正确、文件为 UTF-8") from None
    return parse_rules(text, file)


def parse_rules(text: str, file: str = "<rules>") -> RuleSet:
    """Validate rules given as YAML text."""
    root = load_located(text, file)
    if not isinstance(root.value, dict):
        raise KnowledgeBaseError(
            file, "规则文件顶层应是字段表（version、exceptions、rules……）", line=root.line
        )
    top = root.value
    check_fields(top, _TOP_FIELDS, file)
    if "rules" not in top:
        raise KnowledgeBaseError(
            file, "缺少 rules 字段：请在 rules: 下面列出规则", line=root.line, field="rules"
        )
    rules_node = top["rules"]
    if not isinstance(rules_node.value, list) or not rules_node.value:
        raise KnowledgeBaseError(
            file, "rules 应是非空列表，每项一条规则", line=rules_node.line, field="rules"
        )
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for item in rules_node.value:
        rule = _parse_rule(item, file)
        if rule.id in seen:
            raise KnowledgeBaseError(
                file,
                f"规则 id “{rule.id}”重复（第 {seen[rule.id]} 行已有），请改一个",
                line=item.line,
                field="id",
            )
        seen[rule.id] = item.line
        rules.append(rule)
    min_kept = top.get("min_kept_chars", Located(6, root.line))
    if not isinstance(min_kept.value, int) or isinstance(min_kept.value, bool) or min_kept.value < 0:
        raise KnowledgeBaseError(
            file, "min_kept_chars 应是不小于 0 的整数", line=min_kept.line, field="min_kept_chars"
        )
    ruleset = RuleSet(
        rules=tuple(rules),
        exceptions=_terms(top.get("exceptions"), file, "exceptions"),
        negation_cues=_terms(top.get("negation_cues"), file, "negation_cues"),
        meta_cues=_terms(top.get("meta_cues"), file, "meta_cues"),
        reported_speech_cues=_terms(top.get("reported_speech_cues"), file, "reported_speech_cues"),
        min_kept_chars=min_kept.value,
        source=file,
    )
    _check_replacements(ruleset, rules_node, file)
    return ruleset


def _parse_rule(item: Located, file: str) -> Rule:
    if not isinstance(item.value, dict):
        raise KnowledgeBaseError(file, "每条规则应是字段表（id、category、action……）", line=item.line)
    fields = item.value
    check_fields(fields, _RULE_FIELDS, file)
    rule_id = required_str(fields, "id", item, file)
    if not _ID.match(rule_id):
        raise KnowledgeBaseError(
            file, f"规则 id “{rule_id}”只能用小写字母、数字和下划线", line=fields["id"].line, field="id"
        )
    category = choice(fields, "category", CATEGORIES, item, file)
    action = choice(fields, "action", ACTIONS, item, file)
    reason = required_str(fields, "reason", item, file)
    detector = None
    if "detector" in fields:
        detector = choice(fields, "detector", DETECTORS, item, file)
    terms = _terms(fields.get("terms"), file, "terms")
    patterns = _patterns(fields.get("patterns"), file, "patterns")
    if not terms and not patterns and detector is None:
        raise KnowledgeBaseError(
            file, f"规则 {rule_id} 没有 terms、patterns 或 detector，什么也匹配不到", line=item.line
        )
    replacement = None
    if "replacement" in fields:
        rep = fields["replacement"]
        if not isinstance(rep.value, str):
            raise KnowledgeBaseError(file, "replacement 应是一段文字", line=rep.line, field="replacement")
        replacement = rep.value
    if replacement and "{keep}" in replacement and not any("keep" in p.groupindex for p in patterns):
        raise KnowledgeBaseError(
            file,
            f"规则 {rule_id} 的 replacement 用了 {{keep}}，但 patterns 里没有 (?P<keep>...) 分组",
            line=fields["replacement"].line,
            field="replacement",
        )
    if action == "rewrite" and replacement is None and detector != "commitment_numbers":
        raise KnowledgeBaseError(
            file,
            f"规则 {rule_id} 的 action 是 rewrite，需要写 replacement（合规的替换说法）",
            line=item.line,
            field="replacement",
        )
    brands: tuple[str, ...] = ()
    if "brands" in fields:
        brands = _brands(fields["brands"], file)
    negatable = category in _NEGATABLE_BY_DEFAULT
    if "negatable" in fields:
        neg = fields["negatable"]
        if not isinstance(neg.value, bool):
            raise KnowledgeBaseError(file, "negatable 只能是 true 或 false", line=neg.line, field="negatable")
        negatable = neg.value
    return Rule(
        id=rule_id,
        category=category,
        action=action,
        reason=reason,
        terms=terms,
        patterns=patterns,
        detector=detector,
        replacement=replacement,
        exceptions=_terms(fields.get("exceptions"), file, "exceptions"),
        unless_nearby=_terms(fields.get("unless_nearby"), file, "unless_nearby"),
        context=_terms(fields.get("context"), file, "context"),
        context_patterns=_patterns(fields.get("context_patterns"), file, "context_patterns"),
        brands=brands,
        negatable=negatable,
        line=item.line,
    )


def _terms(node: Located | None, file: str, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for entry in str_list(node, file, name):
        form = matching_form(str(entry.value))
        if not form:
            raise KnowledgeBaseError(
                file,
                f"{name} 里的“{entry.value}”只有空格或标点，匹配不到任何文字",
                line=entry.line,
                field=name,
            )
        if form not in out:
            out.append(form)
    return tuple(out)


def _patterns(node: Located | None, file: str, name: str) -> tuple[re.Pattern[str], ...]:
    out: list[re.Pattern[str]] = []
    for entry in str_list(node, file, name):
        try:
            pattern = re.compile(str(entry.value))
        except re.error as exc:
            raise KnowledgeBaseError(
                file,
                f"正则“{entry.value}”写得不对（{exc.msg}），请检查括号和转义",
                line=entry.line,
                field=name,
            ) from None
        if pattern.fullmatch(""):
            raise KnowledgeBaseError(
                file,
                f"正则“{entry.value}”能匹配空文本，会到处误报，请改写",
                line=entry.line,
                field=name,
            )
        out.append(pattern)
    return tuple(out)


def _brands(node: Located, file: str) -> tuple[str, ...]:
    if node.value == "all":
        return ()
    entries = str_list(node, file, "brands")
    brands = tuple(str(e.value).strip() for e in entries)
    for entry, brand in zip(entries, brands, strict=True):
        if not _ID.match(brand):
            raise KnowledgeBaseError(
                file, f"品牌 id “{brand}”应是小写字母，例如 lanxu", line=entry.line, field="brands"
            )
    return () if "all" in brands else brands


def _check_replacements(ruleset: RuleSet, rules_node: Located, file: str) -> None:
    """A replacement must itself pass the rules, or the filter would write what it forbids."""
    from rag.compliance.matching import matcher_of

    matcher = matcher_of(ruleset)
    for rule, item in zip(ruleset.rules, rules_node.value, strict=True):
        if not rule.replacement:
            continue
        hits = matcher.find(TextView.of(rule.replacement), brand=None)
        if hits:
            other = hits[0].rule
            raise KnowledgeBaseError(
                file,
                f"replacement “{rule.replacement}”本身触发了规则 {other.id}（{other.category}），请换一个合规说法",
                line=item.value["replacement"].line,
                field="replacement",
            )
