"""The drafter seam: what a drafter is given, what it gives back, and the script-mode drafter.

A drafter turns a prepared `DraftContext` (the request, the brand and its tone, the chosen script, what
retrieval found) into text. It does not retrieve and it does not filter: the pipeline does both, the same way
for every drafter. Script mode is one drafter; the LLM chain is another behind the same interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from .draft import script_draft
from .retrieve import Retrieval
from .types import Brand, DraftRequest, Policy, ReferenceChunk, Script, ToneProfile, Turn


@dataclass(frozen=True)
class DraftContext:
    """Everything a drafter may use; the pipeline built it and the filter will check against it."""

    request: DraftRequest
    brand: Brand
    tone: ToneProfile
    retrieval: Retrieval
    script: Script | None  # the script to adapt; None when no script fits (holding reply)
    policies: tuple[Policy, ...]  # the valid policies that ground it
    references: tuple[ReferenceChunk, ...]  # reference chunks shown as context
    grounding: tuple[str, ...]  # every text that grounds a number: what the filter checks against
    order: dict[str, str] = field(default_factory=dict)
    conversation: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Composed:
    """What a drafter produced, before the compliance filter, and what it needs recorded."""

    text: str
    drafter: str
    version: str
    model: str = ""
    citations: tuple[str, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)


class Drafter(ABC):
    """Write a reply for a prepared context."""

    name: str = ""
    version: str = ""

    @abstractmethod
    def stream(self, ctx: DraftContext) -> Iterator[str | Composed]:
        """Yield the text in pieces as it is written, then one `Composed` with the whole text.

        Raise `LLMUnavailableError` (or another `HuashuError`) when it cannot draft; the pipeline then falls
        back to script mode and records why.
        """

    def compose(self, ctx: DraftContext) -> Composed:
        """Return the whole draft at once."""
        for piece in self.stream(ctx):
            if isinstance(piece, Composed):
                return piece
        raise RuntimeError(f"drafter {self.name} ended without its Composed result")

    def prepare(self, ctx: DraftContext) -> DraftContext:
        """Return the context this drafter writes from: a drafter that shows the writer fewer sources than
        retrieval found narrows `grounding` to exactly those, so the filter checks against what was seen."""
        return ctx

    @property
    def available(self) -> bool:
        """Return whether the drafter can be asked right now (an LLM in cool-down cannot)."""
        return True


class ScriptDrafter(Drafter):
    """Script mode: the matched script as written, its slots filled, in the brand's tone. Fully offline."""

    name = "script"
    version = "1"

    def stream(self, ctx: DraftContext) -> Iterator[str | Composed]:
        text = script_draft(ctx.script, ctx.brand, ctx.tone, order=ctx.order, conversation=ctx.conversation)
        yield text  # the script drafter's stream is its one piece
        yield Composed(text, self.name, self.version)
