"""One agent's desk: the conversation, the draft waiting for a decision, and the decisions taken.

Plain Python (no Streamlit): the page keeps a `Desk` in the session and calls it from button callbacks.
A decision is written to the feedback store before the desk changes, and the same decision twice (a double
click, a rerun) is a no-op, so nothing is lost or counted twice. After a page reload the desk is rebuilt from
the store: the last draft, the conversation it answered and any decision on it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import rag

log = logging.getLogger(__name__)

REJECT_LABELS = {
    "wrong_script": "话术选错了",
    "wrong_facts": "事实不对",
    "tone": "语气不合适",
    "compliance": "有合规问题",
    "other": "其他",
}


@dataclass
class Recheck:
    """An edited draft the filter still finds something in: the agent confirms it or fixes it."""

    draft_id: str
    text: str
    checked: rag.DraftResult


@dataclass
class Desk:
    """The state of one conversation at an agent's desk."""

    brand: str = ""
    turns: list[dict] = field(default_factory=list)  # {"role": customer|agent, "text": ..., "draft_id": ...}
    pending: rag.DraftResult | None = None  # the draft waiting for a decision
    answered: int = 0  # how many turns there were when the pending draft was made
    decisions: dict[str, rag.Decision | None] = field(default_factory=dict)  # None: decided, not recorded
    edits: dict[str, str] = field(default_factory=dict)  # the agent's text in the edit box, per draft
    recheck: Recheck | None = None
    want_draft: bool = False  # a draft is asked for and will be made when the page renders
    want_script: str | None = None  # ... from this script, picked by the agent

    # ---- the conversation ----
    def add_customer(self, text: str) -> None:
        """Add the customer's new message; draft at once unless a draft is still waiting for a decision."""
        text = (text or "").strip()
        if not text:
            return
        self.turns.append({"role": "customer", "text": text})
        if self.pending is None:
            self.ask(None)

    def ask(self, script_id: str | None) -> None:
        """Ask for a draft (from `script_id` when the agent picked one) for the latest customer message."""
        self.want_draft, self.want_script = True, script_id

    @property
    def stale(self) -> bool:
        """Return whether the customer wrote again after the pending draft was made."""
        return self.pending is not None and len(self.turns) > self.answered

    def request(self) -> dict | None:
        """Return the keyword arguments of the draft asked for: the latest customer message and what came before."""
        last = next(
            (i for i in range(len(self.turns) - 1, -1, -1) if self.turns[i]["role"] == "customer"), None
        )
        if last is None:
            return None
        before = [{"role": t["role"], "text": t["text"]} for t in self.turns[:last]]
        return {
            "message": self.turns[last]["text"],
            "brand": self.brand,
            "conversation": before,
            "script_id": self.want_script,
        }

    def take(self, result: rag.DraftResult, store) -> str:
        """Make `result` the pending draft and record it; return a warning when it could not be recorded."""
        self.pending, self.answered = result, len(self.turns)
        self.want_draft, self.want_script, self.recheck = False, None, None
        if store is None:
            return ""
        try:
            store.record_draft(result)
        except rag.HuashuError as exc:
            log.warning("draft %s not recorded: %s", result.id, exc)
            return f"草稿没有记进反馈库：{exc}"
        return ""

    def edited_text(self, draft_id: str) -> str:
        """Return the agent's current text for a draft (the draft itself until they edit it)."""
        if draft_id in self.edits:
            return self.edits[draft_id]
        return self.pending.draft if self.pending is not None and self.pending.id == draft_id else ""

    # ---- decisions ----
    def decide(self, store, draft_id: str, decision: str, **how) -> rag.Decision | None:
        """Record a decision on `draft_id` once; the sent reply joins the conversation.

        A second call for a draft already decided returns what was recorded and changes nothing.
        Raises HuashuError when the store refuses it (the desk is then left as it was).
        """
        if draft_id in self.decisions:
            return self.decisions[draft_id]
        if self.pending is None or self.pending.id != draft_id:
            raise rag.NotFoundError("这条草稿已经不在了（可能已经处理过）：请看对话里的最新状态。")
        result = self.pending
        if decision == "accepted" and result.blocked:
            raise rag.BadInputError(f"这条草稿不能直接发送：{result.block_reason} 请修改后再发送，或者拒绝。")
        final = how.pop("final_text", None)
        if decision == "accepted":
            final = result.draft
        how.setdefault("chosen_script", result.request.script_id if result.request else None)
        recorded = None
        if store is not None:
            recorded = store.decide(draft_id, decision, final_text=final, **how)
        self.decisions[draft_id] = recorded
        if decision != "rejected":
            self.turns.append({"role": "agent", "text": final, "draft_id": draft_id})
        self.pending, self.recheck = None, None
        self.edits.pop(draft_id, None)
        return recorded

    def send_edited(self, app: rag.Huashu, store, draft_id: str, text: str, *, confirmed: bool = False):
        """Send the agent's edited text: re-check it first; hold it for confirmation if the filter finds something.

        Returns the decision, or None while the agent must look at what the filter found (see `recheck`).
        """
        if draft_id in self.decisions:
            return self.decisions[draft_id]
        if not (text or "").strip():
            raise rag.BadInputError("修改后的回复是空的：写好回复再发送，或者选择拒绝。")
        if self.pending is None or self.pending.id != draft_id:
            raise rag.NotFoundError("这条草稿已经不在了（可能已经处理过）：请看对话里的最新状态。")
        if text == self.pending.draft:
            return self.decide(store, draft_id, "accepted")
        checked = app.recheck(self.pending, text)
        found = list(checked.violations)
        if (found or checked.blocked) and not confirmed:
            self.recheck = Recheck(draft_id, text, checked)
            return None
        return self.decide(store, draft_id, "edited", final_text=text, recheck=found)

    def reset(self) -> None:
        """Start a new conversation (decisions already taken stay in the store)."""
        brand = self.brand
        self.__init__()
        self.brand = brand

    # ---- after a reload ----
    @classmethod
    def restore(cls, store, draft_id: str) -> Desk | None:
        """Rebuild the desk from the store: the draft `draft_id`, what it answered, and any decision on it."""
        data = store.get_draft(draft_id) if store is not None and draft_id else None
        if not data:
            return None
        result = rag.draft_result_from_dict(data)
        request = result.request
        desk = cls(brand=result.brand)
        if request is not None:
            desk.turns = [{"role": t.role, "text": t.text} for t in request.conversation]
            desk.turns.append({"role": "customer", "text": request.message})
        decision = store.get_decision(draft_id)
        if decision is None:
            desk.pending, desk.answered = result, len(desk.turns)
            return desk
        desk.decisions[draft_id] = decision
        if decision.decision != "rejected":
            desk.turns.append({"role": "agent", "text": decision.final_text, "draft_id": draft_id})
        return desk
