"""The compliance post-filter: find what a draft may not say, rewrite, drop or mask it, and say why."""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from rag.compliance import grounding, numbers, pii
from rag.compliance.clauseflags import Guards, SecondStage
from rag.compliance.edits import apply, content_len
from rag.compliance.examples import clauses
from rag.compliance.learned import ClauseModel, Thresholds, threshold_of
from rag.compliance.matching import matcher_of
from rag.compliance.rules import Rule, RuleSet, load_rules
from rag.compliance.text import TextView, sentence_spans
from rag.errors import FilterError
from rag.types import FilterResult, Violation

log = logging.getLogger(__name__)

_DIGITS = re.compile(
    r"\d(?:[\s.-]{0,3}\d){10}"
)  # the shortest phone, ID or card number (dots: 158.2236.7741)
_DEFERS = "为准"  # 以活动页为准, 以页面显示为准
# 到账时间以银行为准 defers only the bank's part: a span we promise for our own step still stands.
_BANK_DEFERS = re.compile(r"以(?:银行|支付渠道|支付平台|支付方)[^,，。;；]{0,6}为准")
_BLOCK_SHARE = 0.5  # dropping at least this share of the content means the draft's point was non-compliant
_KIND_WORDS = {
    "time": "时限", "month": "期限", "yuan": "金额", "percent": "比例", "discount": "折扣",
    "piece": "数量", "times": "次数/倍数", "points": "积分",
}  # fmt: skip


class ComplianceFilter:
    """Check drafts against a RuleSet; rules, patterns and tries are built once here."""

    def __init__(
        self, rules: RuleSet, clauses: ClauseModel | None = None, threshold: Thresholds | None = None
    ):
        """`clauses` is the learned second stage (None: rules only); it flags clauses scoring `threshold` or more.

        `threshold` is one probability for every category, a mapping of category to probability, or None for the
        per-category defaults chosen by cross-validation (learned.DEFAULT_THRESHOLDS).
        """
        self.rules = rules
        self.clauses = clauses
        self.threshold = threshold
        conditions: dict[str, set[str]] = {}
        for rule in rules.rules:
            conditions.setdefault(rule.category, set()).update(rule.unless_nearby)
        self.guards = Guards(
            meta=rules.meta_cues,
            reported=rules.reported_speech_cues,
            conditions={c: tuple(sorted(cues)) for c, cues in conditions.items() if cues},
        )
        self.second = SecondStage(clauses, threshold, self.guards) if clauses is not None else None
        self.matcher = matcher_of(rules)
        self.pii_rules = [r for r in rules.rules if r.detector in pii.DETECTORS]
        self.number_rules = [r for r in rules.rules if r.detector == "commitment_numbers"]

    def threshold_for(self, category: str) -> float:
        """Return the probability at which the learned stage flags a clause of `category`."""
        return threshold_of(self.threshold, category)

    @classmethod
    def from_file(cls, path: str | Path) -> ComplianceFilter:
        """Load a rules file and build a filter from it."""
        return cls(load_rules(path))

    def check(
        self,
        text: str,
        *,
        brand: str | None = None,
        sources: Sequence[str] = (),
        order_facts: Mapping[str, str] | None = None,
    ) -> FilterResult:
        """Return the compliant text and what was changed.

        `sources` are the texts the draft was built from (script replies, the brand's valid policy
        bodies); `order_facts` are the order details the agent gave. A number with a unit that none
        of them states is an ungrounded commitment, so a caller without retrieval passes the policies.

        Any text is a verdict, never an exception. A bug inside the filter raises `FilterError`: the
        caller decides what an unchecked draft becomes (the pipeline blocks it), and a test of the
        filter fails instead of passing on a silently blocked result.
        """
        if not isinstance(text, str) or not text:
            return FilterResult(text if isinstance(text, str) else "")
        try:
            return self._check(text, brand, sources, order_facts)
        except Exception as exc:
            raise FilterError(
                f"合规检查出错（{type(exc).__name__}: {exc}），这条草稿没有检查完，请人工核对后再发送。"
            ) from exc

    def _check(
        self, text: str, brand: str | None, sources: Sequence[str], order_facts: Mapping[str, str] | None
    ) -> FilterResult:
        view = TextView.of(text)
        hits, excepted = self.matcher.scan(view, brand=brand)
        violations = [
            self._violation(view, h.rule, h.span, replacement=_fill(h.rule.replacement, h.keep)) for h in hits
        ]
        sentences = sentence_spans(text)
        taken = [v.span for v in violations]  # the hits themselves: a merged drop may span a phone number
        if violations:
            violations = _merge_drops(violations, sentences, text)
        has_digits = _DIGITS.search(view.norm) is not None
        for rule, found in self._personal(view, brand, taken, has_digits):
            span = view.norm_span(found.start, found.end)
            taken.append(span)
            violations.append(self._violation(view, rule, span, replacement=found.masked))
        for rule in self.number_rules:
            if rule.applies_to(brand):
                violations.extend(self._numbers(view, rule, taken, excepted, sources, order_facts))
        if self.second is not None:  # the second stage adds only what the rules left alone
            parts = clauses(view)
            violations = self.second.widen_drops(view, violations, sentences, sources, parts)
            violations.extend(self.second.flag(view, violations, sentences, sources, parts))
        if not violations:
            return FilterResult(text)
        outcome = apply(text, violations, sentences)
        final, late = outcome.text, ()
        if any(v.action == "rewrite" for v in outcome.violations) and ("@" in final or _DIGITS.search(final)):
            final, late = self._mask_joined(final, brand)
        found = outcome.violations + late
        blocked, reason = self._block(found, final, outcome.dropped_share)
        return FilterResult(final, found, blocked, reason)

    def _mask_joined(self, final: str, brand: str | None) -> tuple[str, tuple[Violation, ...]]:
        """Mask personal data that only appeared once a rewrite joined two pieces of text."""
        view = TextView.of(final)
        late = []
        for rule, found in reversed(self._personal(view, brand, [], has_digits=True)):
            start, end = view.norm_span(found.start, found.end)
            final = final[:start] + found.masked + final[end:]
            reason = f"{rule.reason}（这个号码是改写后前后文字拼起来形成的，已一并打码）"
            late.append(Violation(rule.category, (0, 0), "", "mask", reason, rule.id, found.masked))
        if late:
            log.warning("masked %d piece(s) of personal data formed by rewrites", len(late))
        return final, tuple(late)

    def _personal(
        self, view: TextView, brand: str | None, taken: list[tuple[int, int]], has_digits: bool
    ) -> list[tuple[Rule, pii.Found]]:
        """Return the personal data in `view` outside the `taken` spans, by its rule, in text order."""
        candidates = []
        for rule in self.pii_rules:
            if rule.applies_to(brand) and pii.may_contain(rule.detector, view.norm, has_digits):  # type: ignore[arg-type]
                candidates += [
                    (rule, found)
                    for found in pii.DETECTORS[rule.detector](view.norm)  # type: ignore[index]
                    if not _overlaps(view.norm_span(found.start, found.end), taken)
                ]
        return pii.pick(view.norm, candidates)

    def _violation(
        self,
        view: TextView,
        rule: Rule,
        span: tuple[int, int],
        *,
        replacement: str | None = None,
        reason: str = "",
    ) -> Violation:
        if replacement is None and rule.action == "mask":
            replacement = "*" * (span[1] - span[0])
        return Violation(
            category=rule.category,
            span=span,
            text=view.original[span[0] : span[1]],
            action=rule.action,
            reason=reason or rule.reason,
            rule_id=rule.id,
            replacement=replacement if replacement is not None else rule.replacement,
        )

    def _numbers(
        self,
        view: TextView,
        rule: Rule,
        taken: list[tuple[int, int]],
        excepted: list[tuple[int, int]],
        sources: Sequence[str],
        order_facts: Mapping[str, str] | None,
    ) -> list[Violation]:
        found = numbers.extract(view.norm, commitments_only=True)
        if not found:
            return []
        grounds: list[grounding.Ground] = []
        for source in sources:
            if isinstance(source, str) and source:
                grounds.extend(grounding.grounds_of(source))
        for value in (order_facts or {}).values():
            if isinstance(value, str) and value:
                grounds.extend(grounding.fact_grounds(value))
        out = []
        sentences = sentence_spans(view.norm)
        ends = [m.start() for m in _CLAUSE_END.finditer(view.norm)]
        for q in found:
            span = view.norm_span(q.start, q.end)
            clause = _clause(view.norm, ends, q.start, q.end)
            context = next((view.norm[s:e] for s, e in sentences if s <= q.start < e), view.norm)
            if (
                _overlaps(span, taken)
                or _overlaps(span, excepted)
                or grounding.supported(q, clause, grounds, context)
            ):
                continue
            if q.kind == "percent" and q.low == 100 or self.matcher.negated_at(view, q.start):
                continue  # 100% is an absolute claim, not a number; "不承诺12小时内到账" promises nothing
            if self.matcher.reported_at(view, q.start):
                continue  # 您说用了三天没效果: the customer's words, not our promise
            if _DEFERS in _BANK_DEFERS.sub("", context):
                continue  # 满299减30，具体以活动页为准: the page decides, the draft promises nothing
            best, clear = grounding.closest(q, context, grounds)
            kind = _KIND_WORDS.get(q.kind, "数字")
            if best is None:
                reason = f"“{q.text}”这个{kind}在依据的政策、话术和订单信息里都找不到，不能自行承诺；请核实后再写。"
            else:
                reason = f"“{q.text}”这个{kind}没有依据，政策的说法是：“{best.sentence.rstrip('。.;；')}”，请按政策写。"
            action, replacement = rule.action, None
            if action == "rewrite":
                if best is not None and clear and best.quantity.low == best.quantity.high:
                    replacement = best.quantity.text
                else:
                    action = "drop"
            violation = self._violation(view, rule, span, reason=reason)
            out.append(replace(violation, action=action, replacement=replacement))
            taken.append(span)
        return out

    def _block(self, violations: tuple[Violation, ...], final: str, dropped_share: float) -> tuple[bool, str]:
        for v in violations:
            if v.action == "block":
                return True, f"草稿不能发送：{v.reason}"
        if not any(v.action == "drop" for v in violations):
            return False, ""
        if content_len(final) < self.rules.min_kept_chars or dropped_share >= _BLOCK_SHARE:
            cats = "、".join(dict.fromkeys(v.category for v in violations if v.action == "drop"))
            return True, f"草稿的主要内容不合规（{cats}），删掉后剩下的不足以回复顾客，请重写这条回复。"
        return False, ""


_CLAUSE_END = re.compile("[。!?;,，；！？、\n]")


def _clause(norm: str, ends: list[int], start: int, end: int) -> str:
    """Return the clause of `norm` holding [start, end); `ends` are the positions of its clause ends."""
    i = bisect_left(ends, start)
    j = bisect_left(ends, end)
    return norm[ends[i - 1] + 1 if i else 0 : ends[j] if j < len(ends) else len(norm)]


def _fill(replacement: str | None, keep: str) -> str | None:
    return replacement.replace("{keep}", keep) if replacement else replacement


def _merge_drops(violations: list[Violation], sentences: list[tuple[int, int]], text: str) -> list[Violation]:
    """Report one violation per dropped sentence and category: the sentence goes once, for one reason."""
    out: list[Violation] = []
    index: dict[tuple[str, int], int] = {}

    def sentence_of(v: Violation) -> int:
        return next((i for i, (s, e) in enumerate(sentences) if s <= v.span[0] < e), -1)

    # A rewrite inside a sentence that goes anyway is moot: it joins the drop of the same category.
    dropped = {(v.category, sentence_of(v)) for v in violations if v.action == "drop"}
    for v in sorted(violations, key=lambda v: v.span):
        sentence = sentence_of(v)
        key = (v.category, sentence)
        if v.action != "drop" and key not in dropped:
            out.append(v)
            continue
        if v.action != "drop":
            v = replace(v, action="drop", replacement=None)
        if key not in index:
            index[key] = len(out)
            out.append(v)
            continue
        first = out[index[key]]
        span = (min(first.span[0], v.span[0]), max(first.span[1], v.span[1]))
        out[index[key]] = replace(first, span=span, text=text[span[0] : span[1]])
    return out


# What a found phone or card number becomes for the detectors after it (130-5170-1921  6200 - 0000 - 0000 - 0005:
# the card regex would otherwise start in the phone's digits, fail Luhn there, and never reach the card).


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(s < span[1] and span[0] < e for s, e in spans)
