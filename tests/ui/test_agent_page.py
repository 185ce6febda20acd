"""The agent page under Streamlit's AppTest: each action, and the feedback rows it leaves behind."""

from __future__ import annotations

import pytest
from conftest import REPO, open_workspace
from streamlit.testing.v1 import AppTest

import rag
from ui import agent

APP = str(REPO / "ui" / "app.py")
SHIPPING = "我昨天付款的，怎么还没发货"
INVOICE = "还有，能开发票吗"
ORDER = {"order_id": "2026112200001", "paid_at": "11月22日 10:05", "order_status": "待发货"}


@pytest.fixture
def page(ui_settings, monkeypatch):
    """Open the workspace as a fresh browser session would (optionally with a query string)."""
    return lambda **query: open_workspace(ui_settings, monkeypatch, **query)


@pytest.fixture(scope="module")
def store(ui_settings):
    with rag.open_feedback_store(ui_settings) as s:
        yield s


def say(at: AppTest, text: str) -> rag.DraftResult:
    """Type the customer's message and press Enter; return the draft now waiting for a decision."""
    at.chat_input(key="message").set_value(text).run()
    assert not at.exception, at.exception
    return at.session_state["desk"].pending


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def edit(at: AppTest, draft: rag.DraftResult, text: str) -> None:
    at.text_area(key=f"edit-{draft.id}").input(text).run()


def test_enter_drafts_with_the_order_facts_and_accept_records_the_decision(page, store):
    at = page()
    for name, value in ORDER.items():
        at.text_input(key=f"order-{name}").input(value)
    draft = say(at, SHIPPING)
    assert draft.scenario == "shipping_delay" and draft.order == ORDER
    assert all(value in draft.draft for value in ORDER.values())
    assert at.text_area(key=f"edit-{draft.id}").value == draft.draft
    assert store.get_draft(draft.id)["scenario"] == "shipping_delay"
    click(at, f"accept-{draft.id}")
    decision = store.get_decision(draft.id)
    assert (decision.decision, decision.final_text) == ("accepted", draft.draft)
    desk = at.session_state["desk"]
    assert desk.pending is None and desk.turns[-1] == {
        "role": "agent",
        "text": draft.draft,
        "draft_id": draft.id,
    }
    assert any("已采纳" in s.value for s in at.success)


def test_a_second_submit_of_a_decision_changes_nothing(page, store):
    at = page()
    draft = say(at, SHIPPING)
    desk = at.session_state["desk"]
    for _ in range(2):  # what a double click or a rerun with the same trigger amounts to
        agent._on_accept(desk, store, "", draft.id)
    agent._on_reject(desk, store, "", draft.id)  # a late, different decision on the same draft
    assert store.get_decision(draft.id).decision == "accepted"
    assert [t for t in desk.turns if t["role"] == "agent"] == [
        {"role": "agent", "text": draft.draft, "draft_id": draft.id}
    ]


def send_edited(at: AppTest, added: str) -> tuple[rag.DraftResult, str]:
    """Draft for the shipping message, add `added` to the draft and send it; return the draft and the text."""
    draft = say(at, SHIPPING)
    edited = draft.draft + added
    edit(at, draft, edited)
    click(at, f"send-{draft.id}")
    return draft, edited


def test_send_edited_rechecks_and_records_the_text_sent(page, store):
    at = page()
    draft, edited = send_edited(at, "我们会尽快处理。")
    decision = store.get_decision(draft.id)
    assert (decision.decision, decision.final_text, decision.recheck) == ("edited", edited, [])
    assert at.session_state["desk"].turns[-1]["text"] == edited


def test_an_edit_the_filter_objects_to_waits_for_the_agent_to_confirm(page, store):
    at = page()
    draft, edited = send_edited(at, "这款100%有效，不满意随便退！")
    assert store.get_decision(draft.id) is None
    assert any("合规过滤器还发现" in w.value for w in at.warning)
    assert any("随便退" in t.value for t in at.text)
    click(at, f"confirm-{draft.id}")
    decision = store.get_decision(draft.id)
    assert decision.decision == "edited" and decision.final_text == edited
    assert {v["category"] for v in decision.recheck} >= {"absolute_claim", "unconditional_promise"}


def test_the_filtered_text_can_replace_the_edit(page, store):
    at = page()
    draft, _ = send_edited(at, "这款100%有效。")
    click(at, f"usefiltered-{draft.id}")
    fixed = at.text_area(key=f"edit-{draft.id}").value
    assert "100%有效" not in fixed and store.get_decision(draft.id) is None


def test_reject_records_the_reason_and_the_note(page, store):
    at = page()
    draft = say(at, SHIPPING)
    at.selectbox(key=f"reason-{draft.id}").set_value("tone")
    at.text_input(key=f"note-{draft.id}").input("太生硬了")
    click(at, f"reject-{draft.id}")
    decision = store.get_decision(draft.id)
    assert (decision.decision, decision.reason, decision.note) == ("rejected", "tone", "太生硬了")
    assert [t["role"] for t in at.session_state["desk"].turns] == ["customer"]


def test_a_next_best_script_is_one_click_away_and_recorded_with_the_decision(page, store):
    at = page()
    first = say(at, SHIPPING)
    picks = [b.key for b in at.button if (b.key or "").startswith(f"pick-{first.id}-")]
    assert 1 <= len(picks) <= 3
    chosen = picks[0].removeprefix(f"pick-{first.id}-")
    click(at, picks[0])
    redraft = at.session_state["desk"].pending
    assert redraft.id != first.id and redraft.script_id == chosen
    click(at, f"accept-{redraft.id}")
    assert store.get_decision(redraft.id).chosen_script == chosen


def test_a_new_message_before_the_decision_makes_the_draft_stale(page):
    at = page()
    first = say(at, SHIPPING)
    assert say(at, INVOICE).id == first.id  # the agent's draft is kept, not replaced behind their back
    assert any("答非所问" in w.value for w in at.warning)
    click(at, f"redraft-{first.id}")
    fresh = at.session_state["desk"].pending
    assert fresh.request.message == INVOICE and fresh.scenario == "invoice"
    assert not any("答非所问" in w.value for w in at.warning)


def test_the_next_draft_knows_the_reply_sent_and_does_not_greet_again(page):
    at = page()
    first = say(at, SHIPPING)
    greeting = first.draft.split("。", 1)[0]
    click(at, f"accept-{first.id}")
    second = say(at, INVOICE)
    assert [t.role for t in second.request.conversation] == ["customer", "agent"]
    assert greeting not in second.draft


@pytest.mark.parametrize(
    "message", ["<script>alert(1)</script>", "![x](http://127.0.0.1:9/x.png) **催一下**发货 $x^2$"]
)
def test_customer_text_is_shown_as_text_never_as_markup(page, message):
    at = page()
    say(at, message)
    assert message in [t.value for t in at.text]
    assert not any(message in m.value for m in at.markdown)


def test_a_reload_brings_back_the_pending_draft_and_then_the_decision(page, store):
    draft = say(page(), SHIPPING)
    at = page(draft=draft.id)
    assert at.session_state["desk"].pending.id == draft.id
    assert at.text_area(key=f"edit-{draft.id}").value == draft.draft
    click(at, f"accept-{draft.id}")
    again = page(draft=draft.id)
    desk = again.session_state["desk"]
    assert desk.pending is None and desk.turns[-1]["text"] == draft.draft
    assert not [b for b in again.button if (b.key or "").startswith("accept-")]
    assert store.get_decision(draft.id).decision == "accepted"


def test_without_the_feedback_store_drafts_go_on_and_the_page_says_so(page, monkeypatch):
    monkeypatch.setenv("HUASHU_FEEDBACK_URL", "postgresql+psycopg://nobody@127.0.0.1:9/nothing")
    at = page()
    assert any("反馈库打不开" in w.value for w in at.sidebar.warning)
    draft = say(at, SHIPPING)
    click(at, f"accept-{draft.id}")
    assert any("没有记进反馈库" in w.value for w in at.warning)
    assert at.session_state["desk"].turns[-1]["text"] == draft.draft


def test_without_an_index_the_page_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("HUASHU_DATA_DIR", str(tmp_path / "empty"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("huashu index" in e.value for e in at.error)
