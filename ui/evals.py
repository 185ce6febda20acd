"""The evals page: run bundled or uploaded eval files, read the metrics and failures, compare past runs."""

from __future__ import annotations

import math
import os
from pathlib import Path

import streamlit as st

import rag
from ui import common

SETS = Path(__file__).resolve().parent.parent / "evals" / "sets"
KIND_LABELS = {"retrieval": "检索", "draft": "草稿"}
HEADLINE = {
    "retrieval.hit_at_1": "检索 hit@1",
    "retrieval.hit_at_3": "检索 hit@3",
    "retrieval.mrr": "检索 MRR",
    "compliance.recall": "合规召回",
    "compliance.precision": "合规精确率",
    "compliance.false_positive_rate": "合规误报率",
    "draft.pass_rate": "草稿通过率",
}


def _pick(s: rag.Settings) -> tuple[list[str], str]:
    bundled = sorted(p.name for p in SETS.glob("*.jsonl"))
    chosen = st.multiselect(
        "评测集", bundled, default=[b for b in bundled if b == "retrieval_dev.jsonl"], key="eval-files"
    )
    uploaded = st.file_uploader(
        "或者上传一个评测集（JSON Lines）",
        type=["jsonl"],
        key="eval-upload",
        max_upload_size=max(1, math.ceil(s.upload_max_mb)),
    )
    files = [str(SETS / name) for name in chosen]
    label = "+".join(Path(n).stem for n in chosen)
    if uploaded is not None:
        folder = rag.runs_dir(s).parent / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / rag.safe_file_name(uploaded.name)
        data = uploaded.getvalue()
        if not path.is_file() or path.read_bytes() != data:  # every rerun passes here, maybe mid-run: a
            part = path.with_name(path.name + ".part")  # running eval must never read a half-written file
            part.write_bytes(data)
            os.replace(part, path)
        files.append(str(path))
        label = "+".join(filter(None, [label, path.stem]))
    return files, label


def _run(app: rag.Huashu, s: rag.Settings) -> None:
    files, label = _pick(s)
    job = common.jobs().get("eval")
    running = job is not None and job.running
    if st.button("运行评测", type="primary", disabled=running or not files, key="eval-start"):
        common.attempt(common.jobs().start_eval, app, files, rag.runs_dir(s), label)
        st.rerun()
    if job is None:
        return

    @st.fragment(run_every=0.5 if running else None)
    def watch() -> None:
        if job.running:
            st.progress(job.fraction, text=f"{job.label}：{job.done}/{job.total or '…'} 条（工作台照常可用）")
        elif st.session_state.get("eval-shown") != job.started:
            st.session_state["eval-shown"] = job.started
            st.rerun()  # the whole page: the new run joins the list below
        elif job.state == "failed":
            st.error(f"评测没有跑完：{job.error}")
        else:
            st.success(f"评测完成：{Path(job.result['path']).name}")

    watch()


def _headline(results: dict) -> None:
    shown = [(label, rag.run_metric(results, key)) for key, label in HEADLINE.items()]
    shown = [(label, value) for label, value in shown if value is not None]
    for col, (label, value) in zip(st.columns(max(1, len(shown))), shown, strict=False):
        col.metric(label, f"{value:.3f}")
    lat = results.get("latency_ms", {})
    if "draft_p50" in lat or "retrieval_p50" in lat:
        kind = "draft" if "draft_p50" in lat else "retrieval"
        st.caption(f"{kind} 延迟 p50 {lat[f'{kind}_p50']:.1f} ms · p95 {lat[f'{kind}_p95']:.1f} ms")


def _confusion(results: dict) -> None:
    pairs = rag.retrieval_confusion(results)
    if not pairs:
        return
    st.caption("场景混淆：期望的场景（行）× 检索到的第一个场景（列）；对角线以外是检索的失误")
    rows = [{"期望": e, "检索到": g, "条数": n} for (e, g), n in pairs.items()]
    scenarios = sorted({e for e, _ in pairs} | {g for _, g in pairs})  # one order on both axes: a diagonal
    st.vega_lite_chart(
        rows,
        {
            "mark": {"type": "rect", "tooltip": True},
            "encoding": {
                "x": {
                    "field": "检索到",
                    "type": "nominal",
                    "scale": {"domain": scenarios},
                    "axis": {"labelAngle": -50, "labelOverlap": False, "labelLimit": 160},
                },
                "y": {
                    "field": "期望",
                    "type": "nominal",
                    "scale": {"domain": scenarios},
                    "axis": {"labelOverlap": False, "labelLimit": 160},
                },
                "color": {"field": "条数", "type": "quantitative", "scale": {"scheme": "blues"}},
            },
            "width": {"step": 20},
            "height": {"step": 20},
        },
        width="content",
    )


def _details(results: dict) -> None:
    _headline(results)
    _confusion(results)
    per_scenario, per_category = results.get("per_scenario") or {}, results.get("per_category") or {}
    for kind, groups in per_scenario.items():  # {retrieval: {scenario: {cases, hit_at_1, …}}, draft: …}
        st.caption(f"各场景（{KIND_LABELS.get(kind, kind)}）")
        st.dataframe([{"场景": g} | _scalars(m) for g, m in groups.items()], hide_index=True, width="stretch")
    if per_category:
        st.caption("各合规类别")
        st.dataframe(
            [{"类别": c} | _scalars(m) for c, m in per_category.items()], hide_index=True, width="stretch"
        )
    failures = results.get("failures", [])
    with st.expander(f"没通过的 {len(failures)} 条"):
        st.dataframe(
            [
                {"id": f["id"], "类型": f["kind"], "原因": f["reason"], "文件": Path(f.get("file", "")).name}
                for f in failures
            ],
            hide_index=True,
            width="stretch",
        )


def _scalars(row: dict) -> dict:
    return {k: v for k, v in row.items() if not isinstance(v, dict | list)}


def _history(s: rag.Settings) -> None:
    runs = rag.list_runs(rag.runs_dir(s))
    st.subheader("历次评测")
    if not runs:
        st.info("还没有评测记录：选好评测集，点“运行评测”。")
        return
    names = [r["name"] for r in runs]
    measured = [k for k in HEADLINE if any(rag.run_metric(r["results"], k) is not None for r in runs)]
    st.dataframe(
        [
            {"评测": r["name"], "评测集": "、".join(r["files"]), "条数": r["cases"]}
            | {HEADLINE[k]: rag.run_metric(r["results"], k) for k in measured}
            for r in runs
        ],
        hide_index=True,
        width="stretch",
    )
    # keyed by the newest run: after a new run the page shows it, and compares it with the one before
    shown = st.selectbox("查看", names, key=f"eval-show-{names[0]}")
    _details(next(r["results"] for r in runs if r["name"] == shown))
    if len(runs) > 1:
        st.subheader("比较两次评测")
        a_col, b_col = st.columns(2)
        a = a_col.selectbox("A（之前）", names, index=1, key=f"eval-a-{names[0]}")
        b = b_col.selectbox("B（之后）", names, index=0, key=f"eval-b-{names[0]}")
        paths = {r["name"]: r["path"] for r in runs}
        compared = common.attempt(rag.compare_runs, paths[a], paths[b])
        if compared:
            st.code(compared[1], language=None)
        key = st.selectbox("指标走势", list(HEADLINE), format_func=HEADLINE.get, key="eval-metric")
        series = {r["started_at"] or r["name"]: rag.run_metric(r["results"], key) for r in reversed(runs)}
        st.line_chart({HEADLINE[key]: {k: v for k, v in series.items() if v is not None}})


def main() -> None:
    """Draw the evals page."""
    s = common.settings()
    app = common.huashu()
    st.title("评测")
    _run(app, s)
    st.divider()
    _history(s)
