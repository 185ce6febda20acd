"""The agent page: the conversation, the draft to accept, edit or reject, and why the draft says what it says."""

from __future__ import annotations

import difflib
import re

import streamlit as st

import rag
from ui import common
from ui.desk import REJECT_LABELS, Desk

ORDER_FIELDS = {
    "order_id": "订单号",
    "order_status": "订单状态",
    "paid_at": "付款时间",
    "shipped_at": "发货时间",
    "carrier": "快递公司",
    "tracking_no": "运单号",
}
NEXT_BEST = 3
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?\n]?")
NO_MATCH_NOTICE = "没有匹配的话术：这是一条礼貌的暂缓回复，请客服人工处理。"  # shown as a warning instead
ACTIONS = {"rewrite": "改写", "drop": "删除", "mask": "打码", "flag": "提醒", "block": "拦下"}


# ---- state ----
def _desk(store, brands) -> Desk:
    if "desk" not in st.session_state:
        restored = Desk.restore(store, st.query_params.get("draft", ""))
        st.session_state.desk = restored or Desk(brand=next(iter(brands)))
    return st.session_state.desk


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault("flash", []).append((kind, text))


def _guard(work) -> bool:
    """Run a callback's work; an error becomes a message shown above the draft. Return whether it worked."""
    try:
        work()
        return True
    except rag.HuashuError as exc:
        _flash("error", common.message(exc))
    except Exception as exc:
        common.log.exception("agent action failed")
        _flash("error", common.message(exc))
    return False


# ---- callbacks (run before the page, one at a time per session) ----
def _on_message(desk: Desk) -> None:
    desk.add_customer(st.session_state.get("message", ""))


def _on_edit(desk: Desk, draft_id: str) -> None:
    desk.edits[draft_id] = st.session_state[f"edit-{draft_id}"]


def _decide(desk: Desk, draft_id: str, what: str, warning: str, work) -> None:
    """Take a decision once: a second click on a decided draft does nothing."""
    if draft_id in desk.decisions or not _guard(work) or draft_id not in desk.decisions:
        return
    if desk.decisions[draft_id] is None and warning:
        _flash("warning", f"{what}，但没有记进反馈库：{warning}")
    else:
        _flash("success", what)


def _on_accept(desk: Desk, store, warning: str, draft_id: str) -> None:
    _decide(desk, draft_id, "已采纳并发送", warning, lambda: desk.decide(store, draft_id, "accepted"))


def _on_send_edited(app, desk: Desk, store, warning: str, draft_id: str, confirmed: bool = False) -> None:
    text = desk.edited_text(draft_id)
    _decide(
        desk,
        draft_id,
        "修改后的回复已发送",
        warning,
        lambda: desk.send_edited(app, store, draft_id, text, confirmed=confirmed),
    )


def _on_use_filtered(desk: Desk) -> None:
    if desk.recheck is not None:
        key = f"edit-{desk.recheck.draft_id}"
        st.session_state[key] = desk.edits[desk.recheck.draft_id] = desk.recheck.checked.draft
        desk.recheck = None


def _on_reject(desk: Desk, store, warning: str, draft_id: str) -> None:
    reason = st.session_state.get(f"reason-{draft_id}") or "other"
    note = (st.session_state.get(f"note-{draft_id}") or "").strip() or None
    _decide(
        desk,
        draft_id,
        f"已拒绝（{REJECT_LABELS[reason]}）",
        warning,
        lambda: desk.decide(store, draft_id, "rejected", reason=reason, note=note),
    )


def _on_new_conversation(desk: Desk) -> None:
    desk.reset()
    st.query_params.pop("draft", None)


# ---- drafting ----
def _order() -> dict:
    return {k: v.strip() for k in ORDER_FIELDS if (v := st.session_state.get(f"order-{k}") or "").strip()}


def _make_draft(app, store, desk: Desk) -> None:
    """Draft for the latest customer message, showing the text as the drafter writes it."""
    ask = desk.request()
    if ask is None:
        desk.want_draft = False
        return
    box = st.empty()
    shown, result = "", None
    try:
        for event in app.stream_draft(
            ask["message"],
            brand=ask["brand"],
            conversation=ask["conversation"],
            order=_order(),
            script_id=ask["script_id"],
            mode="auto" if st.session_state.get("use-llm", True) else "script",
        ):
            if isinstance(event, rag.DraftDelta):
                shown = event.text if event.reset else shown + event.text
                with box.container():
                    st.caption("正在起草…（只显示已经通过合规检查的句子）")
                    st.text(shown + " ▌")
            else:
                result = event
    except Exception as exc:  # shown in the page; the agent can try again
        desk.want_draft = False
        box.empty()
        if not isinstance(exc, rag.HuashuError):
            common.log.exception("draft failed")
        st.error(common.message(exc))
        return
    box.empty()
    warning = desk.take(result, store)
    if warning:
        _flash("warning", warning)
    st.query_params["draft"] = result.id  # a reload brings this draft back from the feedback store


# ---- rendering ----
CONVERSATION_HEIGHT = 560  # px: a long conversation scrolls inside, so the message box stays in view


def _conversation(desk: Desk) -> None:
    if not desk.turns:
        st.caption("还没有消息。把顾客发来的话粘贴到下面的输入框，按回车就会生成草稿。")
        return
    box = st.container(height=CONVERSATION_HEIGHT if len(desk.turns) > 3 else "content", border=False)
    for turn in desk.turns:
        customer = turn["role"] == "customer"
        with box.chat_message(
            "user" if customer else "assistant",
            avatar=":material/person:" if customer else ":material/support_agent:",
        ):
            st.caption("顾客" if customer else "客服（已发送）")
            common.plain(turn["text"])


def _order_panel() -> None:
    with st.expander("订单信息（可选，填了就写进草稿）"):
        cols = st.columns(2)
        for i, (key, label) in enumerate(ORDER_FIELDS.items()):
            cols[i % 2].text_input(label, key=f"order-{key}")


def draft_diff(raw: str, final: str) -> str:
    """Return a sentence-by-sentence diff of the drafter's text against the checked one."""
    a = [s.strip() for s in _SENTENCE.findall(raw) if s.strip()]
    b = [s.strip() for s in _SENTENCE.findall(final) if s.strip()]
    lines = difflib.unified_diff(a, b, "草稿原文", "过滤后", n=1, lineterm="")
    return "\n".join(list(lines)[2:])


def _explain(app, result: rag.DraftResult) -> None:
    mode = "大模型" if result.mode == "llm" else "话术模式"
    line = f"{mode} · 场景 {result.scenario} · 话术 {result.script_id or '（无匹配）'}"
    line += f" · {result.timings_ms.get('total', 0):.0f} ms · 索引第 {result.index_gen} 代"
    st.caption(line)
    if result.fallback_reason:
        st.info(f"没有用大模型：{result.fallback_reason}")
    for notice in result.notices:
        if notice != NO_MATCH_NOTICE:
            st.caption(f"注意：{notice}")
    _next_best(app, result)
    checked = list(result.violations)
    with st.expander(f"合规检查：{len(checked)} 处改动" if checked else "合规检查：没有发现问题"):
        if checked:
            st.dataframe(
                [
                    {
                        "类别": v.category,
                        "原文": v.text,
                        "处理": ACTIONS.get(v.action, v.action),
                        "改为": v.replacement or "",
                        "原因": v.reason,
                    }
                    for v in checked
                ],
                hide_index=True,
                width="stretch",
            )
        if result.raw_draft and result.raw_draft != result.draft:
            st.code(draft_diff(result.raw_draft, result.draft), language="diff", wrap_lines=True)
        elif not checked:
            st.caption("过滤器没有改动草稿。")
    with st.expander("来源和得分"):
        st.dataframe(
            [
                {
                    "类型": h.kind,
                    "得分": round(h.score, 3),
                    "场景": h.scenario,
                    "id": h.id,
                    "向量": round(h.dense_score, 3),
                    "关键词": round(h.keyword_score, 3),
                    "场景概率": round(h.scenario_prob, 3),
                    "匹配内容": h.matched_text,
                }
                for h in result.sources
            ],
            hide_index=True,
            width="stretch",
        )


def _next_best(app, result: rag.DraftResult) -> None:
    others = [h for h in result.sources if h.kind == "script" and h.id != result.script_id][:NEXT_BEST]
    if not others:
        return
    titles = {s.id: s.title for s in app.scripts()}
    st.markdown("**其他候选话术**（点一下就用它重写）")
    for hit in others:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.text(f"{titles.get(hit.id, hit.id)}  ·  {hit.scenario}  ·  {hit.score:.2f}")
        right.button(
            "用这条",
            key=f"pick-{result.id}-{hit.id}",
            on_click=lambda sid=hit.id: st.session_state.desk.ask(sid),
            width="stretch",
        )


def _decision_bar(app, desk: Desk, store, warning: str, result: rag.DraftResult) -> None:
    did = result.id
    accept, edited, reject = st.columns(3)
    accept.button(
        "采纳发送",
        key=f"accept-{did}",
        type="primary",
        disabled=result.blocked,
        on_click=_on_accept,
        args=(desk, store, warning, did),
        width="stretch",
    )
    edited.button(
        "修改后发送",
        key=f"send-{did}",
        on_click=_on_send_edited,
        args=(app, desk, store, warning, did),
        width="stretch",
    )
    with reject.popover("拒绝", width="stretch"):
        st.selectbox("拒绝原因", list(REJECT_LABELS), format_func=REJECT_LABELS.get, key=f"reason-{did}")
        st.text_input("补充说明（可选）", key=f"note-{did}")
        st.button("确认拒绝", key=f"reject-{did}", on_click=_on_reject, args=(desk, store, warning, did))


def _recheck_panel(app, desk: Desk, store, warning: str) -> None:
    found = desk.recheck
    if found is None or desk.pending is None or found.draft_id != desk.pending.id:
        return
    with st.container(border=True):
        st.warning("修改后的回复里，合规过滤器还发现了下面的问题。请确认仍要这样发送，或者改好再发。")
        for v in found.checked.violations:
            st.text(f"· {v.category}：「{v.text}」→ {ACTIONS.get(v.action, v.action)}（{v.reason}）")
        if found.checked.blocked:
            st.text(f"· {found.checked.block_reason}")
        left, right = st.columns(2)
        left.button(
            "仍按我写的发送",
            key=f"confirm-{found.draft_id}",
            on_click=_on_send_edited,
            args=(app, desk, store, warning, found.draft_id, True),
            width="stretch",
        )
        right.button(
            "换成过滤后的文字", key=f"usefiltered-{found.draft_id}", on_click=_on_use_filtered, args=(desk,)
        )


def _draft_panel(app, desk: Desk, store, warning: str) -> None:
    if desk.want_draft:
        _make_draft(app, store, desk)
    for kind, text in st.session_state.pop("flash", []):
        getattr(st, kind)(text)
    result = desk.pending
    if result is None:
        if not desk.turns:
            st.info("草稿会出现在这里。")
        elif desk.turns[-1]["role"] == "agent":
            st.info("回复已发出。顾客再发消息时，把它粘贴到左下角的输入框，按回车生成下一条草稿。")
        else:
            st.info("这条消息还没有草稿。")
            st.button("生成草稿", key="draft-now", on_click=desk.ask, args=(None,))
        return
    if desk.stale:
        st.warning("顾客在这条草稿之后又发了消息，草稿可能已经答非所问。")
        st.button("按最新消息重新生成", key=f"redraft-{result.id}", on_click=desk.ask, args=(None,))
    if not result.matched:
        st.warning("没有合适的话术：这是一条暂缓回复，请核实情况后人工回复。")
    if result.blocked:
        st.error(f"这条草稿不能直接发送：{result.block_reason}")
    key = f"edit-{result.id}"
    if key not in st.session_state:
        st.session_state[key] = desk.edited_text(result.id)
    text = st.session_state[key]
    lines = sum(len(line) // 36 + 1 for line in text.split("\n"))  # about 36 characters a line in this column
    height = max(150, min(420, 24 * lines + 30))  # the whole draft in view, without a scroll bar
    st.text_area("草稿（可以直接修改）", key=key, height=height, on_change=_on_edit, args=(desk, result.id))
    _decision_bar(app, desk, store, warning, result)
    _recheck_panel(app, desk, store, warning)
    _explain(app, result)


def main() -> None:
    """Draw the agent page."""
    app = common.huashu()
    store, warning = common.feedback_store()
    brands = app.brands
    desk = _desk(store, brands)
    with st.sidebar:
        desk.brand = st.selectbox(
            "品牌",
            list(brands),
            index=list(brands).index(desk.brand) if desk.brand in brands else 0,
            format_func=lambda b: f"{brands[b].name}（{b}）",
        )
        if app.settings.llm_base_url:
            st.toggle(
                "用大模型起草",
                value=True,
                key="use-llm",
                help="关掉就用话术模式：更快，不经过大模型。大模型不可用时会自动改用话术模式。",
            )
        st.button("新会话", on_click=_on_new_conversation, args=(desk,), width="stretch")
        if warning:
            st.warning(warning)
    chat, draft = st.columns([5, 6], gap="large")
    with chat:
        st.subheader("对话")
        _conversation(desk)
        _order_panel()
        st.chat_input("顾客的新消息（回车生成草稿）", key="message", on_submit=_on_message, args=(desk,))
    with draft:
        st.subheader("回复草稿")
        _draft_panel(app, desk, store, warning)
