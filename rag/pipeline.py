"""One drafting pipeline for every drafter: request → retrieve → draft → filter → result.

`run` returns the checked `DraftResult`; `stream` yields `DraftDelta`s as the drafter writes and then the
same `DraftResult`. A delta is released only after the compliance filter has passed the sentences in it, so
whoever watches the stream never sees a sentence that the final draft removes or rewrites.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from .drafters import Composed, DraftContext, Drafter
from .errors import BadInputError, ConfigError, FilterError, HuashuError, NotFoundError
from .normalize import normalize_query, scrub
from .order import clean_order
from .retrieve import Retriever
from .scenarios import NO_MATCH_SCENARIO
from .serving import Generation
from .types import ALL_BRANDS, DraftRequest, DraftResult, FilterResult, Hit, Script, Turn

log = logging.getLogger(__name__)
MODES = ("auto", "script", "llm")
FILTER_FAILED = "合规检查出错，这条草稿没有检查完，请人工核对后再发送。"
NO_SCRIPT_FOR_LLM = "没有匹配的话术：不让大模型自由发挥，给出暂缓回复（话术模式）。"
NO_MATCH_NOTICE = "没有匹配的话术：这是一条礼貌的暂缓回复，请客服人工处理。"
_SENTENCE_END = re.compile(r"[。！？!?\n]")
SOURCES_SHOWN = 5


@dataclass(frozen=True)
class DraftDelta:
    """A piece of streamed draft text that the filter has passed; `reset` means start the shown text over."""

    text: str
    reset: bool = False


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


# ---- input ----
def clean_message(message: str, limit: int) -> tuple[str, list[str]]:
    """Return the matching form of a customer message and what the agent should be told about it."""
    if message is None or not str(message).strip():
        raise BadInputError("顾客消息是空的：请输入顾客发来的内容。")
    message = str(message)
    notices = []
    if len(message) > limit:
        notices.append(f"消息有 {len(message)} 个字，超过 {limit} 字；只用前 {limit} 字来检索话术。")
        message = message[:limit]
    return normalize_query(message), notices


def clean_conversation(conversation: Sequence[Turn | Mapping]) -> tuple[Turn, ...]:
    """Return the conversation as turns; a mapping needs `role` (customer or agent) and `text`."""
    turns = []
    for i, t in enumerate(conversation or ()):
        if isinstance(t, Turn):
            turns.append(t)
            continue
        if not isinstance(t, Mapping):
            raise BadInputError(f'对话第 {i + 1} 轮应该是 {{"role": "customer", "text": "…"}} 这样的对象。')
        role = str(t.get("role", "customer"))
        if role not in ("customer", "agent"):
            raise BadInputError(f"对话第 {i + 1} 轮的 role {role!r} 不对：只能是 customer 或 agent。")
        turns.append(Turn(role, scrub(str(t.get("text", "")))))
    return tuple(turns)


class Pipeline:
    """Retrieve, draft with the chosen drafter (falling back to script mode), filter, and explain."""

    def __init__(self, drafters: Mapping[str, Drafter], *, max_message_chars: int):
        if "script" not in drafters:
            raise ConfigError("script mode must always be available: it is the fallback of every drafter")
        self.drafters = dict(drafters)
        self.max_message_chars = max_message_chars

    # ---- entry points ----
    def run(self, gen: Generation, request: DraftRequest) -> DraftResult:
        """Return the checked draft for `request`."""
        result = None
        for event in self._execute(gen, request, gate=False):
            result = event
        return result

    def stream(self, gen: Generation, request: DraftRequest) -> Iterator[DraftDelta | DraftResult]:
        """Yield filter-passed deltas as the drafter writes, then the checked `DraftResult`."""
        return self._execute(gen, request, gate=True)

    # ---- the one path ----
    def _execute(self, gen: Generation, request: DraftRequest, *, gate: bool):
        start = time.perf_counter()
        base, notices, timings = self.prepare(gen, request)
        drafter, fallback = self._choose(request.mode)
        if base.script is None and drafter.name != "script":  # nothing to adapt: never let a model improvise
            drafter, fallback = self.drafters["script"], NO_SCRIPT_FOR_LLM
        ctx = drafter.prepare(base)
        check = _checker(gen, ctx)
        gated = _Gate(check) if gate else None
        t = time.perf_counter()
        composed = None
        try:
            for piece in drafter.stream(ctx):
                if isinstance(piece, Composed):
                    composed = piece
                elif gated is not None and (released := gated.feed(piece)):
                    timings.setdefault("first_release", _ms(start))
                    yield DraftDelta(released)
        except HuashuError as exc:
            if drafter.name == "script":
                raise
            fallback = f"{drafter.name} 不可用，改用话术模式：{exc}"
            log.warning("drafter %s failed, falling back to script mode: %s", drafter.name, exc)
        if composed is None:  # the drafter failed or ended without its result: the script drafter answers
            fallback = fallback or f"{drafter.name} 没有给出完整的草稿，改用话术模式。"
            ctx, check = base, _checker(gen, base)  # script mode is grounded as script mode always is
            if gated is not None:  # what was shown stays if the script's text begins with it (the greeting)
                gated = _Gate(check, released=gated.released)
            composed = self.drafters["script"].compose(ctx)
        timings["compose"] = _ms(t)
        t = time.perf_counter()
        checked = check(composed.text)
        timings["filter"] = _ms(t)
        if gated is not None:
            rest, reset = gated.finish(checked.text)
            if reset or rest:
                timings.setdefault("first_release", _ms(start))
                yield DraftDelta(rest, reset=reset)
        timings["total"] = _ms(start)
        yield self._result(gen, ctx, composed, checked, notices, timings, fallback)

    def prepare(self, gen: Generation, request: DraftRequest) -> tuple[DraftContext, list[str], dict]:
        """Check the request, retrieve, and choose the script: everything before a drafter writes."""
        brand, tone = gen.brand_and_tone(request.brand)
        if request.mode not in MODES:
            raise BadInputError(f"未知的草稿模式 {request.mode!r}；可选：{', '.join(MODES)}。")
        turns = clean_conversation(request.conversation)
        order = clean_order(request.order)
        query, notices = clean_message(request.message, self.max_message_chars)
        today = request.today or date.today()
        retriever = Retriever(gen.reader)
        t = time.perf_counter()
        found = retriever.search(query, brand=brand.id, today=today)
        earlier = [
            x.text
            for x in turns
            if x.role == "customer" and x.text.strip() and x.text.strip() != request.message.strip()
        ]
        if not found.matched and earlier:  # a short follow-up: read it with what the customer said before
            context, _ = clean_message(earlier[-1] + "。" + request.message, self.max_message_chars)
            again = retriever.search(context, brand=brand.id, today=today)
            found = again if again.matched else found
        timings = {"retrieve": _ms(t)} | {f"retrieve.{k}": round(v, 3) for k, v in found.timings_ms.items()}
        script = self._script(gen, found, request.script_id, brand.id)
        policies = tuple(p.item for p in found.policies)
        if request.script_id and script is not None:  # the agent's pick: ground it in its own policies
            policies = tuple(
                p for ref in script.policy_refs if (p := gen.reader.item(f"policy:{ref}")) is not None
            ) + tuple(p for p in policies if p.id not in script.policy_refs)
        grounding = [script.reply] if script else []
        # the retrieved policies are usually among the brand's valid ones: ground each text once
        grounding = tuple(
            dict.fromkeys(
                grounding
                + [p.body for p in policies]
                + [p.body for p in gen.reader.policies(brand.id, today)]
            )
        )
        ctx = DraftContext(
            request=replace(request, conversation=turns, order=order, brand=brand.id),
            brand=brand,
            tone=tone,
            retrieval=found,
            script=script,
            policies=policies,
            references=tuple(r.item for r in found.references),
            grounding=grounding,
            order=order,
            conversation=turns,
        )
        return ctx, notices, timings

    @staticmethod
    def _script(gen: Generation, found, script_id: str | None, brand: str) -> Script | None:
        if not script_id:
            return found.best.item if found.matched else None
        script = gen.reader.item(f"script:{script_id}")
        if not isinstance(script, Script):
            raise NotFoundError(f"没有 id 为 {script_id!r} 的话术（索引第 {gen.gen} 代）。")
        if ALL_BRANDS not in script.brands and brand not in script.brands:
            raise BadInputError(f"话术 {script_id} 不属于品牌 {brand}，不能用来回复。")
        return script

    def _choose(self, mode: str) -> tuple[Drafter, str]:
        """Return the drafter for `mode` and, when it is not the one asked for, why."""
        if mode == "script":
            return self.drafters["script"], ""
        llm = self.drafters.get("llm")
        if llm is None:
            if mode == "llm":
                raise ConfigError(
                    "没有配置大模型：请设置 HUASHU_LLM_BASE_URL 和 HUASHU_LLM_MODEL，或用话术模式。"
                )
            return self.drafters["script"], ""
        if not llm.available:
            return self.drafters["script"], "大模型暂时不可用（连续失败后的冷却期），改用话术模式。"
        return llm, ""

    @staticmethod
    def _result(gen, ctx, composed, checked, notices, timings, fallback) -> DraftResult:
        found, script = ctx.retrieval, ctx.script
        if script is None:
            notices.append(NO_MATCH_NOTICE)
        hits: tuple[Hit, ...] = (
            tuple(s.hit for s in found.scripts[:SOURCES_SHOWN])
            + tuple(p.hit for p in found.policies)
            + tuple(r.hit for r in found.references)
        )
        return DraftResult(
            draft=checked.text,
            scenario=script.scenario if script else NO_MATCH_SCENARIO,
            mode=composed.drafter,
            brand=ctx.brand.id,
            sources=hits,
            violations=checked.violations,
            matched=script is not None,
            blocked=checked.blocked,
            notices=tuple(notices) + composed.notices + gen.notices,
            script_id=script.id if script else "",
            grounding=ctx.grounding,
            order=ctx.order,
            timings_ms=timings | composed.timings_ms,
            id=uuid.uuid4().hex,
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            request=ctx.request,
            block_reason=checked.block_reason,
            raw_draft=composed.text,
            drafter=composed.drafter,
            drafter_version=composed.version,
            model=composed.model,
            fallback_reason=fallback,
            citations=composed.citations,
            usage=composed.usage,
            index_gen=gen.gen,
            kb_fingerprint=gen.kb_fingerprint,
        )


def _checker(gen: Generation, ctx: DraftContext) -> Callable[[str], FilterResult]:
    """Return the filter as this draft is checked: its brand, its grounding, its order facts."""

    def check(text: str) -> FilterResult:
        try:
            return gen.filter.check(text, brand=ctx.brand.id, sources=ctx.grounding, order_facts=ctx.order)
        except FilterError:
            log.exception("compliance filter failed on a draft of %d characters", len(text))
            return FilterResult(text, blocked=True, block_reason=FILTER_FAILED)

    return check


class _Gate:
    """Release streamed text only once the filter has passed the whole sentences in it."""

    def __init__(self, check: Callable[[str], FilterResult], released: str = ""):
        self.check = check
        self.raw = ""
        self.released = released  # the text shown so far (kept when another drafter takes over)

    def feed(self, piece: str) -> str:
        """Take the next piece; return the filter-passed text newly released (may be empty).

        What is released is the filtered text of the complete sentences so far. While that text would be
        blocked, or no longer begins with what was released (later words changed the verdict on earlier
        ones), nothing more is released; `finish` then settles it against the final check.
        """
        self.raw += piece
        ends = [m.end() for m in _SENTENCE_END.finditer(self.raw)]
        if not ends or not _SENTENCE_END.search(piece):
            return ""  # no sentence completed with this piece: nothing new to check
        checked = self.check(self.raw[: ends[-1]])
        if checked.blocked or not checked.text.startswith(self.released):
            return ""
        new = checked.text[len(self.released) :]
        self.released = checked.text
        return new

    def finish(self, final: str) -> tuple[str, bool]:
        """Return what is left of the final text to show, and whether the shown text must start over."""
        if final.startswith(self.released):
            return final[len(self.released) :], False
        return final, True
