"""The fixed vocabularies of the feedback store (importing this loads no database code)."""

from __future__ import annotations

DECISIONS = ("accepted", "edited", "rejected")
REJECT_REASONS = ("wrong_script", "wrong_facts", "tone", "compliance", "other")
GROUP_BY = ("scenario", "script", "brand", "mode", "day", "week")
EXPORT_FORMATS = ("csv", "jsonl")
