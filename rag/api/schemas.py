"""Request bodies the API accepts (checked here, so a bad one is a 422 naming the field) and what it returns.

The response shapes are the library's own (rag/serialize.py); the models below document them in the OpenAPI
spec and allow fields added later.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MESSAGE_CHARS = 8000
TEXT_CHARS = 8000
TURNS = 50
SOURCES = 20
BRAND = Field(min_length=1, max_length=64, description="Brand id, e.g. lanxu, nuanbei, jianyi.")
ORDER = Field(
    default=None,
    max_length=10,
    description="Order facts: order_id, order_status, paid_at, shipped_at, tracking_no, carrier.",
)


class TurnIn(BaseModel):
    """One earlier turn of the conversation."""

    role: Literal["customer", "agent"]
    text: str = Field(max_length=TEXT_CHARS)


class DraftIn(BaseModel):
    """Draft a reply to the customer's latest message."""

    message: str = Field(min_length=1, max_length=MESSAGE_CHARS, description="The customer's latest message.")
    brand: str = BRAND
    conversation: list[TurnIn] = Field(default_factory=list, max_length=TURNS)
    order: dict[str, str | None] | None = ORDER
    mode: Literal["auto", "script", "llm"] = "auto"
    script_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="Draft from this script (the agent's pick)."
    )


class DecisionIn(BaseModel):
    """The agent's decision on a draft; sending the same one again is harmless."""

    decision: Literal["accepted", "edited", "rejected"]
    final_text: str | None = Field(
        default=None, max_length=TEXT_CHARS, description="What was sent, for edited (re-checked)."
    )
    reason: Literal["wrong_script", "wrong_facts", "tone", "compliance", "other"] | None = None
    note: str | None = Field(default=None, max_length=2000)
    agent: str | None = Field(default=None, max_length=128)
    chosen_script: str | None = Field(default=None, max_length=200)


class CheckIn(BaseModel):
    """Check a text an agent typed by hand."""

    text: str = Field(min_length=1, max_length=TEXT_CHARS)
    brand: str = BRAND
    sources: list[str] | None = Field(
        default=None,
        max_length=SOURCES,
        description="Texts that ground numbers; default: the brand's policies.",
    )
    order: dict[str, str | None] | None = ORDER


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class DraftOut(_Open):
    """A draft and everything that explains it (rag.serialize.draft_result_dict); `id` names it for decisions."""

    id: str
    draft: str
    scenario: str
    mode: str
    brand: str
    script_id: str
    sources: list[dict]
    violations: list[dict]
    notices: list[str]
    blocked: bool
    timings_ms: dict[str, float]


class CheckOut(_Open):
    """The filtered text, what the filter found, and whether it may be sent."""

    text: str
    violations: list[dict]
    blocked: bool
    block_reason: str


class DecisionOut(_Open):
    """The stored decision, and for an edited text what the filter still finds in it."""

    decision: dict
    check: CheckOut | None = None


class SearchOut(_Open):
    """Ranked scripts (with their replies), grounding policies and reference chunks for one brand."""

    query: str
    matched: bool
    scripts: list[dict]
    policies: list[dict]
    references: list[dict]
