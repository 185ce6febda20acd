"""The knowledge page: upload files, re-index with a live progress bar, index stats, a search playground, and
what agents' decisions say about the scripts (from the feedback store)."""

from __future__ import annotations

import math

import streamlit as st

import rag
from ui import common

KIND_LABELS = {"reference": "参考资料", "script": "话术（YAML）", "policy": "政策（Markdown）"}
RATES = {"acceptance_rate": "采纳率", "edit_rate": "修改率", "rejection_rate": "拒绝率"}
RATE_COLORS = ["#2e9e5b", "#f0a202", "#d64545"]  # accepted green, edited amber, rejected red (RATES' order)
REPORT_LISTS = {
    "added": "新增",
    "updated": "更新",
    "removed": "删除",
    "unchanged": "未变",
    "failed": "失败",
    "config_changed": "配置更新",
}


# ---- upload and re-index ----
def _upload(s: rag.Settings) -> None:
    st.subheader("上传文件")
    kind = st.radio(
        "类别", list(KIND_LABELS), format_func=KIND_LABELS.get, horizontal=True, key="upload-kind"
    )
    folder, suffixes, _ = rag.UPLOAD_KINDS[kind]
    types = [x.lstrip(".") for x in suffixes if x.lstrip(".") in s.upload_type_list]
    files = st.file_uploader(
        f"放进 knowledge_base/{folder}/（{' '.join(types)}，每个不超过 {s.upload_max_mb:g} MB）",
        type=types or None,
        accept_multiple_files=True,
        max_upload_size=max(1, math.ceil(s.upload_max_mb)),
        key=f"upload-{kind}",
    )
    if files and st.button("保存这些文件", key="upload-save"):
        results = [
            rag.save_upload(
                s.kb_path,
                kind,
                f.name,
                f.getvalue(),
                max_bytes=int(s.upload_max_mb * 1e6),
                types=s.upload_type_list,
            )
            for f in files
        ]
        st.session_state["uploaded"] = results
    for up in st.session_state.get("uploaded", []):
        if up.saved:
            st.success(
                f"已保存 {up.path}" + ("（替换了同名文件）" if up.replaced else "") + "。重新索引后生效。"
            )
        else:
            st.error(f"{up.name} 没有保存：{up.reason}")


def _reindex(app: rag.Huashu, s: rag.Settings) -> None:
    st.subheader("重新索引")
    job = common.jobs().get("reindex")
    running = job is not None and job.running
    left, right = st.columns([1, 1])
    full = right.checkbox("全部重新向量化（--full）", key="reindex-full", disabled=running)
    if left.button("重新索引", type="primary", disabled=running, key="reindex-start"):
        common.attempt(common.jobs().start_reindex, s, full=full)
        st.rerun()
    _reindex_progress(app, s)


def _reindex_progress(app: rag.Huashu, s: rag.Settings) -> None:
    job = common.jobs().get("reindex")
    if job is None:
        return

    @st.fragment(run_every=0.5 if job.running else None)
    def watch() -> None:
        if job.running:
            text = f"向量化 {job.done}/{job.total}" if job.total else "正在读取知识库…"
            st.progress(job.fraction, text=text + "（草稿照常用上一版索引）")
            return
        if job.state == "failed":
            st.error(f"重新索引失败，线上继续使用上一版索引：{job.error}")
            if "--allow-mass-delete" in job.error and st.button(
                "确实要删，确认后重新索引", key="reindex-allow"
            ):
                common.attempt(common.jobs().start_reindex, s, allow_mass_delete=True)
                st.rerun(scope="app")
        elif not st.session_state.get(f"reloaded-{job.started}"):
            if app is not None:
                common.attempt(app.reload)  # serve the new generation now rather than at the next poll
            st.session_state[f"reloaded-{job.started}"] = True
            st.rerun()  # the whole page: stats and the progress bar's last state
        else:
            _report(job.result)

    watch()


def _report(report: dict) -> None:
    summary = report["summary"]
    st.success(
        f"索引第 {summary['gen']} 代，用时 {summary['seconds']:.1f} 秒："
        + "，".join(f"{label} {summary.get(k, 0)}" for k, label in REPORT_LISTS.items())
    )
    for f in report.get("failed", []):
        where = (
            f["file"]
            + (f":{f['line']}" if f.get("line") else "")
            + (f" [{f['field']}]" if f.get("field") else "")
        )
        st.error(f"{where}：{f['reason']}")
    for w in report.get("warnings", []):
        st.warning(f"{w['file']}{':' + str(w['line']) if w.get('line') else ''}：{w['reason']}")
    for n in report.get("notices", []):
        st.info(n)
    changed = {
        label: report.get(k, []) for k, label in REPORT_LISTS.items() if k not in ("unchanged", "failed")
    }
    if any(changed.values()):
        with st.expander("改动的条目"):
            st.dataframe(
                [{"改动": label, "条目": item} for label, items in changed.items() for item in items],
                hide_index=True,
                width="stretch",
            )


# ---- stats and search ----
def _stats(app: rag.Huashu) -> None:
    st.subheader("索引概况")
    stats = common.attempt(app.stats)
    if not stats:
        return
    cols = st.columns(4)
    cols[0].metric("索引代数", stats["gen"])
    cols[1].metric("话术", stats["kinds"].get("script", 0))
    cols[2].metric("政策", stats["kinds"].get("policy", 0))
    cols[3].metric("参考资料片段", stats["kinds"].get("reference", 0))
    st.caption(
        f"{stats['built_at']} 建立 · 向量 {stats['embedding']}（{stats['dim']} 维）· 品牌 "
        + "、".join(stats["brands"])
        + f" · 指纹 {stats['kb_fingerprint'][:12]}"
    )
    with st.expander("各场景话术数"):
        st.bar_chart(stats["scripts_per_scenario"], horizontal=True, height=520)


def _search(app: rag.Huashu) -> None:
    st.subheader("检索试验")
    left, mid, right = st.columns([4, 2, 1])
    query = left.text_input("顾客会怎么问", key="search-query", placeholder="例如：我地址写错了还能改吗")
    brands = [None, *app.brands]
    brand = mid.selectbox(
        "品牌", brands, format_func=lambda b: "不限" if b is None else b, key="search-brand"
    )
    k = right.number_input("条数", 1, 20, 5, key="search-k")
    if not query.strip():
        return
    found = common.attempt(app.retrieve, query, brand=brand, k=int(k))
    if found is None:
        return
    data = rag.retrieval_dict(found)
    if not data["matched"]:
        st.warning("没有够得上阈值的话术：这样的消息会得到一条暂缓回复。")
    columns = {
        "id": "id",
        "title": "标题",
        "scenario": "场景",
        "score": "融合",
        "dense_score": "向量",
        "keyword_score": "关键词",
        "scenario_prob": "场景概率",
    }
    st.dataframe(
        [{label: row.get(key) for key, label in columns.items()} for row in data["scripts"]],
        hide_index=True,
        width="stretch",
    )
    if data["policies"]:
        st.caption("依据的政策")
        st.dataframe(
            [{"id": p["id"], "标题": p["title"], "得分": p["score"]} for p in data["policies"]],
            hide_index=True,
            width="stretch",
        )
    if data["references"]:
        st.caption("参考资料")
        st.dataframe(
            [
                {"来源": r["source"], "得分": r["score"], "内容": r["matched_text"]}
                for r in data["references"]
            ],
            hide_index=True,
            width="stretch",
        )


# ---- analytics from the feedback store ----
def _analytics() -> None:
    st.subheader("客服的决定")
    store, warning = common.feedback_store()
    if store is None:
        st.warning(warning)
        return
    since = st.selectbox(
        "时间范围", ["7d", "30d", "90d", "all"], index=1, key="stats-since",
        format_func={"7d": "最近 7 天", "30d": "最近 30 天", "90d": "最近 90 天", "all": "全部"}.get,
    )  # fmt: skip
    by_scenario = common.attempt(store.stats, since=since, by="scenario")
    if not by_scenario:
        st.info("这段时间还没有客服的决定。客服在工作台采纳、修改或拒绝草稿后，这里就有数据。")
        return
    st.caption("各场景的采纳 / 修改 / 拒绝率")
    st.bar_chart(
        {RATES[r]: {row["key"]: row[r] for row in by_scenario} for r in RATES},
        horizontal=True,
        stack=True,
        color=RATE_COLORS,
    )
    by_day = common.attempt(store.stats, since=since, by="day") or []
    if len(by_day) > 1:
        st.caption("按天")
        st.line_chart({RATES[r]: {row["key"]: row[r] for row in by_day} for r in RATES}, color=RATE_COLORS)
    by_script = common.attempt(store.stats, since=since, by="script") or []
    with st.expander("各话术的数字"):
        st.dataframe(
            [
                {"话术": r["key"], "决定数": r["decisions"]} | {RATES[k]: r[k] for k in RATES}
                for r in by_script
            ],
            hide_index=True,
            width="stretch",
        )
    _needing_work(store, since)


def _needing_work(store, since: str) -> None:
    st.subheader("需要改进的话术")
    least = st.number_input("至少有多少个决定才算", 1, 1000, 5, key="work-min")
    rows = common.attempt(store.scripts_needing_work, since=since, min_decisions=int(least)) or []
    if not rows:
        st.caption("没有经常被改写或拒绝的话术。")
    for row in rows:
        with st.expander(
            f"{row['script_id']}（{row['scenario']}）：返工率 {row['rework_rate']:.0%}，{row['decisions']} 个决定"
        ):
            edits, reasons = st.columns(2)
            edits.caption("最常见的修改（[-删掉-]{+加上+}）")
            for e in row["common_edits"]:
                edits.text(f"{e['count']} 次 · {e['diff']}")
            reasons.caption("拒绝原因")
            reasons.dataframe(
                [
                    {"原因": r["reason"], "次数": r["count"], "占比": r["share"]}
                    for r in row["rejection_reasons"]
                ],
                hide_index=True,
            )
            if row.get("example_draft"):
                st.caption("最近被修改的一条草稿")
                st.text(row["example_draft"])


def main() -> None:
    """Draw the knowledge page."""
    s = common.settings()
    st.title("知识库")
    app = common.huashu(required=False)  # without an index a manager can still upload and re-index
    upload, index = st.columns(2, gap="large")
    with upload:
        _upload(s)
    with index:
        _reindex(app, s)
        if app is not None:
            _stats(app)
    if app is None:
        return
    st.divider()
    _search(app)
    st.divider()
    _analytics()
