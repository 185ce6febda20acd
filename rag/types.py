"""Plain values that flow between stages: knowledge items, hits, drafts, violations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

ALL_BRANDS = "all"


@dataclass(frozen=True)
class Brand:
    """A shop served by the knowledge base."""

    id: str
    name: str
    tone: str
    agent_name: str
    name_en: str = ""
    sells: str = ""


@dataclass(frozen=True)
class Script:
    """A standard reply (标准话术) for one scenario."""

    id: str
    scenario: str
    brands: tuple[str, ...]  # ("all",) or brand ids
    title: str
    customer_examples: tuple[str, ...]
    reply: str
    notes: str = ""
    policy_refs: tuple[str, ...] = ()
    source: str = ""
    line: int = 0


@dataclass(frozen=True)
class Policy:
    """A policy document; its body is the only source of facts and numbers."""

    id: str
    title: str
    brands: tuple[str, ...]
    scenarios: tuple[str, ...]
    body: str
    valid_from: date | None = None
    valid_to: date | None = None
    source: str = ""

    def is_valid(self, today: date) -> bool:
        """Return whether the policy is in force on `today`."""
        if self.valid_from and today < self.valid_from:
            return False
        return not (self.valid_to and today > self.valid_to)


@dataclass(frozen=True)
class ReferenceChunk:
    """A piece of a reference document dropped in by a knowledge manager."""

    id: str
    source: str
    text: str  # original text, for display
    heading: str = ""


@dataclass(frozen=True)
class ToneProfile:
    """How a brand speaks: address, greeting, sign-off, allowed particles."""

    id: str
    name: str
    address: str
    greeting: str
    signoff: str
    allow_tilde: bool = False
    allow_emoji: bool = False
    forbidden: tuple[str, ...] = ()
    replacements: tuple[tuple[str, str], ...] = ()
    prefer: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()
    max_sentence_chars: int = 60


@dataclass(frozen=True)
class Violation:
    """One thing the compliance filter found in a text.

    `span` is (start, end) in the coordinates of the text the filter was given.
    `action` is one of rewrite, drop, mask, flag, block.
    """

    category: str
    span: tuple[int, int]
    text: str
    action: str
    reason: str
    rule_id: str
    replacement: str | None = None
    confidence: float | None = None  # the learned stage's probability; None for a rule's certain match


@dataclass(frozen=True)
class FilterResult:
    """What the compliance filter returns: the final text and what it changed."""

    text: str
    violations: tuple[Violation, ...] = ()
    blocked: bool = False
    block_reason: str = ""


@dataclass(frozen=True)
class Hit:
    """A retrieved script or policy with its score and the text that matched."""

    id: str
    kind: str  # script | policy | reference
    scenario: str
    score: float
    matched_text: str = ""
    matched_via: str = ""  # reply | example | body | chunk
    dense_score: float = 0.0
    keyword_score: float = 0.0
    scenario_prob: float = 0.0  # P(this script's scenario) from the scenario classifier; 0 without one


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation."""

    role: str  # customer | agent
    text: str


@dataclass(frozen=True)
class DraftRequest:
    """What a draft answers: the customer's latest message and everything the agent gave with it.

    `mode` is script, llm or auto (llm when one is configured); `script_id` redrafts from a script the
    agent picked instead of retrieval's first choice.
    """

    message: str
    brand: str
    conversation: tuple[Turn, ...] = ()
    order: dict[str, str] = field(default_factory=dict)
    mode: str = "auto"
    script_id: str | None = None
    today: date | None = None


@dataclass(frozen=True)
class DraftResult:
    """A suggested reply, ready for the agent, with everything that explains it."""

    draft: str
    scenario: str
    mode: str  # script | llm
    brand: str
    sources: tuple[Hit, ...] = ()
    violations: tuple[Violation, ...] = ()
    matched: bool = True  # False when no script fit (out_of_scope holding reply)
    blocked: bool = False
    notices: tuple[str, ...] = ()
    script_id: str = ""
    grounding: tuple[
        str, ...
    ] = ()  # texts that ground numbers: the script, its policies, the brand's policies
    order: dict[str, str] = field(default_factory=dict)  # the order facts the draft was filled with
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: str = ""  # unique per draft: the feedback store and the API key decisions by it
    created_at: str = ""  # ISO 8601, UTC
    request: DraftRequest | None = None
    block_reason: str = ""
    raw_draft: str = ""  # what the drafter wrote, before the compliance filter
    drafter: str = ""  # the drafter that wrote it (script, llm) ...
    drafter_version: str = ""  # ... and its version (for the LLM: the prompt version)
    model: str = ""  # the chat model, when an LLM drafted
    fallback_reason: str = ""  # why the requested drafter was not used, when it was not
    citations: tuple[str, ...] = ()  # source ids the drafter says it used
    usage: dict[str, int] = field(default_factory=dict)  # token counts, when an LLM drafted
    index_gen: int = 0  # the index generation that served it
    kb_fingerprint: str = ""
