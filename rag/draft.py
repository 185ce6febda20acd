"""Script-mode drafting: fill the best script's slots and dress it in the brand's tone."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from .kb import ORDER_SLOTS, SLOT_RE
from .tone import apply_tone
from .types import Brand, Script, ToneProfile, Turn

_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_PUNCT_RUNS = re.compile(r"([，,；;、])\s*(?=[，,；;、。！？!?])")
_LEAD_PUNCT = re.compile(r"^[，,；;、。\s]+", re.MULTILINE)

HOLDING_REPLY = (
    "您的问题我已经记下了。为了给您准确的答复，我需要先核实一下相关情况，核实后第一时间回复您。"
    "如果方便，也请把订单号或具体情况再补充给我。"
)


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Fill slots; drop an optional [...] segment whose slots are not all given."""

    def keep(match: re.Match) -> str:
        inner = match.group(1)
        slots = SLOT_RE.findall(inner)
        return inner if all((values.get(s) or "").strip() for s in slots) else ""

    text = _OPTIONAL.sub(keep, template)
    text = SLOT_RE.sub(lambda m: str(values.get(m.group(1), "")).strip(), text)
    text = _PUNCT_RUNS.sub("", text)
    text = _LEAD_PUNCT.sub("", text)
    return re.sub(r"\n{2,}", "\n", text).strip()


def slot_values(brand: Brand, order: Mapping[str, str] | None) -> dict[str, str]:
    """Return every slot value the brand and the agent's order facts provide."""
    values = {"brand_name": brand.name, "agent_name": brand.agent_name}
    for key, value in (order or {}).items():
        if key in ORDER_SLOTS and value is not None and str(value).strip():
            values[key] = str(value).strip()
    return values


def _said_before(sentence: str, earlier: str) -> bool:
    core = re.sub(r"[，,。！？!?\s]", "", sentence)
    return len(core) >= 8 and core in re.sub(r"[，,。！？!?\s]", "", earlier)


def script_draft(
    script: Script | None,
    brand: Brand,
    tone: ToneProfile,
    *,
    order: Mapping[str, str] | None = None,
    conversation: Sequence[Turn] = (),
) -> str:
    """Return the draft for `script` (or the holding reply when no script fits) in the brand's tone."""
    body = fill_template(script.reply, slot_values(brand, order)) if script else HOLDING_REPLY
    earlier = "\n".join(t.text for t in conversation if t.role == "agent")
    if earlier:  # do not repeat what the agent already said in this conversation
        kept = [s for s in _SENTENCE.findall(body) if not _said_before(s, earlier)]
        body = "".join(kept).strip() or body
    first_turn = not any(t.role == "agent" for t in conversation)
    closing_script = script is not None and script.scenario == "closing"  # it is the sign-off already
    return apply_tone(body, tone, brand, first_turn=first_turn, closing=not closing_script)
