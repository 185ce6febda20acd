"""Brand tone: greeting on the first turn, wording swaps, particles and emoji per profile, sign-off.

Tone changes wording only: never facts, numbers or conditions.
"""

from __future__ import annotations

import re

from .normalize import _EMOJI
from .types import Brand, ToneProfile

_TILDE = re.compile(r"[~～〜]+")
_SLOT = re.compile(r"\{(brand_name|agent_name)\}")


def fill_brand(text: str, brand: Brand) -> str:
    """Fill the brand slots ({brand_name}, {agent_name}) of a tone phrase."""
    values = {"brand_name": brand.name, "agent_name": brand.agent_name}
    return _SLOT.sub(lambda m: values[m.group(1)], text)


def apply_tone(
    body: str, profile: ToneProfile, brand: Brand, *, first_turn: bool, closing: bool = True
) -> str:
    """Dress a neutral reply in the brand's voice."""
    text = body
    for plain, styled in profile.replacements:
        text = text.replace(plain, styled)
    parts = []
    if first_turn and profile.greeting:
        parts.append(fill_brand(profile.greeting, brand))
    parts.append(text.strip())
    if closing and profile.signoff:
        parts.append(fill_brand(profile.signoff, brand))
    return enforce_tone("\n".join(p for p in parts if p), profile)


def enforce_tone(text: str, profile: ToneProfile) -> str:
    """Remove what the profile does not allow: tildes, emoji, forbidden words."""
    if not profile.allow_tilde:
        text = _TILDE.sub("", text)
    if not profile.allow_emoji:
        text = _EMOJI.sub("", text)
    for pattern in profile.forbidden:
        text = re.sub(pattern, "", text)
    return re.sub(r"[ \t]{2,}", " ", text)


def tone_problems(text: str, profile: ToneProfile) -> list[str]:
    """Return what in `text` breaks the tone profile (empty when it holds)."""
    problems = []
    if not profile.allow_tilde and _TILDE.search(text):
        problems.append(f"语气 {profile.id} 不允许“~”")
    if not profile.allow_emoji and _EMOJI.search(text):
        problems.append(f"语气 {profile.id} 不允许表情")
    for pattern in profile.forbidden:
        m = re.search(pattern, text)
        if m:
            problems.append(f"语气 {profile.id} 忌用“{m.group(0)}”")
    return problems
