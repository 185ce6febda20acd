"""The LLM drafter: adapt the matched script to the customer's question, behind the same seam as script mode.

retrieve (the pipeline) → prompt → chat model → citations parsed, tone enforced → filter (the pipeline).
The greeting is the brand's own and goes out first; the model writes only the body. Any fault raises an
`LLMFault`, which the pipeline turns into the script-mode draft with the reason; repeated faults open the
circuit breaker so later drafts skip the LLM until a cool-down has passed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from ..drafters import Composed, DraftContext, Drafter
from ..errors import LLMUnavailableError
from ..prompts import PROMPT_VERSION, build_prompt
from ..tone import enforce_tone, fill_brand
from .breaker import CircuitBreaker
from .chain import ChatChain, LLMConfig
from .faults import LLMFault
from .output import Shaper


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class LLMDrafter(Drafter):
    """Draft with a chat model on any OpenAI-compatible endpoint, through a LangChain chain."""

    name = "llm"
    version = PROMPT_VERSION

    def __init__(
        self, config: LLMConfig, *, chain: ChatChain | None = None, breaker: CircuitBreaker | None = None
    ):
        self.config = config
        self.model = config.model
        self.chain = chain or ChatChain(config)
        self.breaker = breaker or CircuitBreaker(config.breaker_threshold, config.breaker_cooldown_s)

    @classmethod
    def from_settings(cls, settings) -> LLMDrafter:
        """Return the drafter the settings describe; nothing is imported or connected until the first draft."""
        return cls(LLMConfig.from_settings(settings))

    @property
    def available(self) -> bool:
        return self.breaker.available()

    def prepare(self, ctx: DraftContext) -> DraftContext:
        """Ground the draft in exactly the texts the model is shown."""
        if ctx.script is None:
            return ctx
        return replace(ctx, grounding=build_prompt(ctx).grounding)

    def stream(self, ctx: DraftContext) -> Iterator[str | Composed]:
        if not self.breaker.acquire():
            raise LLMFault(
                "cooldown",
                f"大模型连续失败，冷却中（{self.breaker.remaining_s():.0f} 秒后再试）。",
            )
        verdict = None
        try:
            yield from self._draft(ctx)
            verdict = True
        except LLMUnavailableError:
            verdict = False
            raise
        finally:
            if verdict is True:
                self.breaker.success()
            elif verdict is False:
                self.breaker.failure()
            else:  # the reader stopped early: no verdict on the endpoint
                self.breaker.release()

    def warm_up(self) -> None:
        """Import LangChain's OpenAI package and build the chat model now, not in the first draft."""
        _ = self.chain.model

    def _draft(self, ctx: DraftContext) -> Iterator[str | Composed]:
        self.warm_up()  # our own start-up is not the endpoint's time: the deadline starts after it
        start = time.perf_counter()
        deadline = start + self.config.timeout_s
        prompt = build_prompt(ctx)
        tone, brand = ctx.tone, ctx.brand
        pieces: list[str] = []
        if tone.greeting and not any(t.role == "agent" for t in ctx.conversation):
            pieces.append(enforce_tone(fill_brand(tone.greeting, brand), tone) + "\n")
            yield pieces[-1]
        shaper = Shaper(prompt.sources, tone, asked_chars=prompt.asked_chars)
        usage: dict[str, int] = {}
        finish, first_token, notices = None, None, []
        for event in self.chain.stream(prompt.variables, deadline):
            if event[0] == "text":
                first_token = first_token if first_token is not None else _ms(start)
                for sentence in shaper.feed(event[1]):
                    pieces.append(sentence)
                    yield sentence
            elif event[0] == "usage":
                usage = event[1]
            elif event[0] == "finish":
                finish = event[1]
            elif event[0] == "retry":
                notices.append(
                    f"大模型接口{'限流' if event[1] == 'rate_limit' else '过载'}，等了 {event[2]:.1f} 秒后重试。"
                )
        for sentence in shaper.finish(finish):
            pieces.append(sentence)
            yield sentence
        if tone.signoff and ctx.script.scenario != "closing":
            pieces.append("\n" + enforce_tone(fill_brand(tone.signoff, brand), tone))
            yield pieces[-1]
        timings = {"llm_total": _ms(start)}
        if first_token is not None:
            timings["llm_first_token"] = first_token
        yield Composed(
            "".join(pieces),
            self.name,
            self.version,
            model=self.model,
            citations=shaper.citations(),
            usage=usage,
            notices=tuple(notices) + shaper.notices,
            timings_ms=timings,
        )
