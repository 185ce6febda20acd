"""The filter's second stage at work on a reply: flag the clauses the rules left alone that the clause classifier
(rag/compliance/learned.py) reads as a violation, and widen a rule's sentence drop over the clauses that read the
same way; a clause that negates, quotes or reports a claim, or that a source vouches for, is excused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache

from rag.compliance.examples import Clause, clauses
from rag.compliance.learned import ClauseModel, Thresholds, threshold_of
from rag.compliance.text import TextView, within_our_range
from rag.types import Violation

# A clause of the flagged clause's sentence that scores at least this for the same category joins the flag's span.
SPREAD = 0.5


@lru_cache(maxsize=512)
def _compact(text: str) -> str:
    return TextView.of(text).compact


_NAMES = {
    "forbidden_service_phrase": "服务忌语",
    "absolute_claim": "绝对化用语",
    "unconditional_promise": "不带条件的承诺",
    "competitor_disparagement": "贬低竞品",
    "medical_claim": "医疗功效用语",
    "false_authority": "虚构的权威背书",
}


# Cues that, as in the rules, turn a claim into a statement about it; a clause holding one is not flagged.
_NEGATIONS = (
    "不能", "不会", "无法", "不可能", "不敢", "并非", "并不", "不得", "不应", "不该", "不要", "别说", "没法", "做不到",
)  # fmt: skip
# 没有 negates a product claim (没有治疗作用) but is part of an absolute one (没有比它更好的) or a put-down;
# so does 不是 (不是治疗红屁股的药; 不是正品 is a put-down).
_NOT_HAVE = ("没有", "不具备", "不属于", "不是")
# 没有绝对不红屁股的纸尿裤: an absolute denied is a hedge (but 没有比它更好的 is a claim, so 没有 alone is not).
_HEDGES = ("没有绝对", "没有百分百", "没有百分之百", "没有100%", "没有哪款绝对", "不存在绝对")
_NOT_HAVE_NEGATES = frozenset({"medical_claim", "false_authority", "unconditional_promise"})
_VERIFIABLE = ("备案", "执行标准", "执行的是", "国家标准", "国标", "gb", "检测报告", "质检报告", "可查询", "可以查", "核对")  # fmt: skip
_QUOTES = '“”‘’「」『』"《》'


@dataclass(frozen=True)
class Guards:
    """The rules file's cues, compact, that stop the classifier as they stop a rule (negated, quoted, reported)."""

    negations: tuple[str, ...] = _NEGATIONS
    meta: tuple[str, ...] = ()
    reported: tuple[str, ...] = ()
    # category -> the rules' `unless_nearby` cues (a stated condition or next step): in the clause's sentence or
    # the next one they excuse a clause of that category, as they excuse a rule's hit there
    conditions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def excuse(self, category: str, compact: str, original: str, sentence: str = "") -> bool:
        """Return whether a clause talks about a claim (negates, quotes, reports it) rather than makes it.

        `sentence` is the compact form of the clause's sentence: a check the customer can make may follow the
        claim in the next clause (有国际羊毛局的认证，吊牌上可以核对)."""
        if any(q in original for q in _QUOTES) or any(c in compact for c in self.meta + self.reported):
            return True
        # 我不知道 and 没办法 are service phrases themselves: negation excuses only the claims.
        if category == "forbidden_service_phrase":
            return False
        if category == "absolute_claim" and (any(h in compact for h in _HEDGES) or within_our_range(compact)):
            return True
        # 已完成备案、执行国家标准、检测报告可查: a reference the customer can check is not an invented endorsement
        if category == "false_authority" and any(c in compact or c in sentence for c in _VERIFIABLE):
            return True
        return any(c in compact for c in self.negations) or (
            category in _NOT_HAVE_NEGATES and any(c in compact for c in _NOT_HAVE)
        )


@dataclass(frozen=True)
class SecondStage:
    """The clause classifier at work in the filter: its model, the thresholds it flags at, the rules' guards."""

    model: ClauseModel
    threshold: Thresholds | None = None  # None: learned.DEFAULT_THRESHOLDS
    guards: Guards = Guards()

    @cached_property
    def limits(self):
        """Each of the model's categories' threshold, as an array in the model's category order."""
        import numpy as np

        return np.asarray([threshold_of(self.threshold, c) for c in self.model.categories])

    def flag(
        self,
        view: TextView,
        found: Sequence[Violation],
        sentences: Sequence[tuple[int, int]],
        sources: Sequence[str] = (),
        parts: Sequence[Clause] | None = None,
    ) -> list[Violation]:
        """Flag the clauses the rules left alone that read like a violation; never rewrite them.

        A clause that a rule already hit, or that lies in a sentence a rule drops, is skipped: the rule's verdict
        stands there. So is one that negates, quotes or reports a claim, and one taken word for word from a source
        the draft was grounded in (an approved script or policy vouches for it). Spans are in the original text.
        `parts` are the view's clauses when the caller has them already.
        """

        out: list[Violation] = []
        free = list(clauses(view) if parts is None else parts)
        # A rule's hit in a sentence covers that sentence's violation of its category: a neighbouring clause that
        # reads the same way is the same violation spread over two clauses, not a second one.
        covered = {(s, v.category) for v in found for s, e in sentences if s <= v.span[0] < e}
        if found:
            ruled = bytearray(len(view.original))  # 1 under a rule's hit or a sentence a rule drops
            drops = [v.span[0] for v in found if v.action == "drop"]
            spans = [v.span for v in found] + [(s, e) for s, e in sentences if any(s <= d < e for d in drops)]
            for s, e in spans:
                ruled[s:e] = b"\x01" * (e - s)
            free = [c for c in free if 1 not in ruled[c.start : c.end]]
        if not free:
            return out
        table = self.model.scores_many([c.compact for c in free])
        best = table.argmax(axis=1)
        top = table.max(axis=1)
        for i in (top >= self.limits[best]).nonzero()[
            0
        ]:  # rare: most replies have no clause above the threshold
            clause, j, probs = free[i], int(best[i]), table[i]
            category = self.model.categories[j]
            sentence = next(((s, e) for s, e in sentences if s <= clause.start < e), None)
            if sentence is not None and (sentence[0], category) in covered:
                continue
            cues = self.guards.conditions.get(category)
            if cues and _states_condition(view, sentences, clause.start, cues):
                continue
            if _speaks_about(self.guards, category, view, clause, sentence, sources):
                continue
            # A violation often spreads over neighbouring clauses (贬低的话 then its reason): the span takes in those
            # of the same sentence that lean the same way, and the sentence is flagged once for the category.
            start, end = clause.start, clause.end
            if sentence is not None:
                near = [k for k, c in enumerate(free) if sentence[0] <= c.start < sentence[1]]
                lean = [
                    k for k in near if table[k, j] >= SPREAD or k == i
                ]  # in text order, the flagged one included
                start, end = free[lean[0]].start, free[lean[-1]].end
                covered.add((sentence[0], category))
            text = view.original[start:end]
            like = self.model.nearest(category, clause.compact)
            reason = f"读起来像{_NAMES.get(category, category)}：与“{like}”相近。没有规则直接命中，请人工确认后再发送。"
            out.append(
                Violation(
                    category,
                    (start, end),
                    text,
                    "flag",
                    reason,
                    f"learned:{self.model.version}",
                    None,
                    round(float(probs[j]), 3),
                )
            )
        return out

    def widen_drops(
        self,
        view: TextView,
        found: Sequence[Violation],
        sentences: Sequence[tuple[int, int]],
        sources: Sequence[str] = (),
        parts: Sequence[Clause] | None = None,
    ) -> list[Violation]:
        """Return `found` with each rule's sentence drop widened over the clauses of its sentence that the classifier
        reads as the same category (是您喂的方法不对，跟我们奶瓶没关系): the sentence goes anyway, so the text sent is the
        same, but the report shows the whole offending stretch rather than the one clause a rule named. A clause that
        negates, quotes or reports a claim, or that a source vouches for, stays outside, as in flag."""
        drops = [
            (k, v, next((se for se in sentences if se[0] <= v.span[0] < se[1]), None))
            for k, v in enumerate(found)
            if v.action == "drop" and v.category in self.model.categories
        ]
        drops = [(k, v, se) for k, v, se in drops if se is not None]
        if not drops:
            return list(found)
        taken = [v.span for v in found]
        near = [
            c
            for c in (clauses(view) if parts is None else parts)
            if any(se[0] <= c.start < se[1] for _, _, se in drops)
            and not any(a < c.end and c.start < b for a, b in taken)
        ]
        if not near:
            return list(found)
        table = self.model.scores_many([c.compact for c in near])
        out = list(found)
        for k, v, (s, e) in drops:
            j = self.model.categories.index(v.category)
            limit = self.limits[j]
            start, end = v.span
            for i, c in enumerate(near):
                if not (s <= c.start < e) or table[i].argmax() != j or table[i, j] < limit:
                    continue
                if _speaks_about(self.guards, v.category, view, c, (s, e), sources):
                    continue
                start, end = min(start, c.start), max(end, c.end)
            if (start, end) != v.span:
                out[k] = replace(v, span=(start, end), text=view.original[start:end])
        return out


def _speaks_about(
    guards: Guards,
    category: str,
    view: TextView,
    clause,
    sentence: tuple[int, int] | None,
    sources: Sequence[str],
) -> bool:
    """Return whether a clause negates, quotes or reports a claim of `category` (in its own words or its sentence's),
    or is taken word for word from a source the draft was grounded in (an approved script or policy vouches for it)."""
    text = view.original[clause.start : clause.end]
    whole = _compact(view.original[sentence[0] : sentence[1]]) if sentence is not None else ""
    return guards.excuse(category, clause.compact, text, whole) or any(
        clause.compact in _compact(s) for s in sources if isinstance(s, str)
    )


def _states_condition(
    view: TextView, sentences: Sequence[tuple[int, int]], at: int, cues: Sequence[str]
) -> bool:
    """Return whether the sentence holding `at`, or the next one, names one of `cues` (compact forms)."""
    for i, (start, end) in enumerate(sentences):
        if start <= at < end:
            stop = sentences[i + 1][1] if i + 1 < len(sentences) else end
            near = _compact(view.original[start:stop])
            return any(c in near for c in cues)
    return False
