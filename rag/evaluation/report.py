"""Render a results document as a self-contained HTML page (no network assets) or as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from rag.scenarios import SCENARIOS

HEADLINE = (
    ("retrieval", "hit_at_1", "Retrieval hit@1"),
    ("retrieval", "hit_at_3", "Retrieval hit@3"),
    ("retrieval", "mrr", "Retrieval MRR"),
    ("compliance", "recall", "Compliance recall"),
    ("compliance", "precision", "Compliance precision"),
    ("compliance", "false_positive_rate", "False-positive rate"),
    ("draft", "pass_rate", "Draft pass rate"),
)
LATENCY_COLUMNS = ("p50", "p95", "p99", "max")
_CSS = """
body{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.meta{color:#59636e;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:9rem}
.card .v{font-size:1.6rem;font-weight:600}.card .k{color:#59636e;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.fail{border:1px solid #d0d7de;border-left:4px solid #cf222e;border-radius:6px;padding:.5rem 1rem;margin:.8rem 0}
.fail h3{margin:.2rem 0;font-size:1rem}.reason{color:#cf222e}
pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem;border-radius:6px;margin:.3rem 0}
.empty{color:#59636e}
"""


def fmt(value) -> str:
    """Show a metric: three decimals for floats, a dash for a metric that could not be measured."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _scenario(name: str) -> str:
    return f"{name} {SCENARIOS[name]}" if name in SCENARIOS else name


def _expected_text(failure: dict) -> str:
    d = failure.get("detail", {})
    exp = d.get("expected")
    if failure["kind"] == "retrieval" and isinstance(exp, dict):
        return " / ".join(f"{k} {v}" for k, v in exp.items() if v)
    if failure["kind"] == "compliance" and isinstance(exp, list):
        return "; ".join(f"{e['category']} “{e['match']}”" for e in exp) or "nothing (a compliant text)"
    if isinstance(exp, dict):
        parts = [f"scenario {exp['scenario']}"] if exp.get("scenario") else []
        if exp.get("must_include_any"):
            parts.append("one of " + ", ".join(exp["must_include_any"]))
        if exp.get("must_not_include"):
            parts.append("none of " + ", ".join(exp["must_not_include"]))
        return "; ".join(parts) or "a usable draft"
    return ""


KIND_ORDER = ("retrieval", "compliance", "draft")


def _failure_view(f: dict) -> dict:
    """Return what a failure shows, shared by the HTML and Markdown renderers."""
    d = f.get("detail", {})
    kind = f["kind"]
    meta = f"{f.get('file', '')}:{f.get('line', '')} · brand {d.get('brand') or 'any'}"
    if kind == "compliance":
        got = (
            ["category", "text", "span", "action"],
            [
                [r["category"], f"“{r['text']}”", f"{r['span'][0]}-{r['span'][1]}", r.get("action", "")]
                for r in d.get("reported", [])
            ],
            "The filter reported nothing.",
        )
    else:
        got = (
            ["rank", "script", "scenario", "score"],
            [
                [str(i), t["id"], t["scenario"], f"{t['score']:.3f}"]
                for i, t in enumerate(d.get("top", []), 1)
            ],
            "No scripts came back.",
        )
        if d.get("matched") is False:
            meta += " · no script scored above the no-match threshold"
    blocks = []
    if kind == "draft" and "draft" in d:
        blocks.append(
            (
                f"Final draft (scenario {d.get('scenario', '')}, script {d.get('script_id') or '–'})",
                d["draft"],
            )
        )
        if d.get("filtered"):
            changes = "\n".join(f"{v['action']} {v['category']} “{v['text']}”" for v in d["filtered"])
            blocks.append(("What the filter changed while drafting", changes))
    if kind == "compliance" and "final_text" in d:
        blocks.append(("Text after the filter", d["final_text"]))
    return {
        "title": f"{kind} · {f['id']}",
        "anchor": f"{kind}-{f['id']}",
        "meta": meta,
        "reasons": f.get("reasons") or [f["reason"]],
        "asked": ("Text" if kind == "compliance" else "Query", d.get("query") or d.get("text") or ""),
        "expected": _expected_text(f),
        "got": got,
        "blocks": blocks,
    }


def _failures_by_kind(results: dict) -> list[tuple[str, list[dict]]]:
    failures = results.get("failures", [])
    kinds = [k for k in KIND_ORDER if any(f["kind"] == k for f in failures)]
    kinds += sorted({f["kind"] for f in failures} - set(KIND_ORDER))
    return [(k, [_failure_view(f) for f in failures if f["kind"] == k]) for k in kinds]


def _sections(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """Return the report's tables as (title, header, rows), shared by HTML and Markdown."""
    tables = []
    latency = results.get("latency_ms", {})
    kinds = [
        k for k in ("retrieval", "compliance", "draft") if any(key.startswith(k + "_") for key in latency)
    ]
    tables.append(
        (
            "Latency (ms)",
            ["kind", *LATENCY_COLUMNS],
            [[k] + [fmt(latency.get(f"{k}_{c}")) for c in LATENCY_COLUMNS] for k in kinds],
        )
    )
    per_scenario = results.get("per_scenario", {})
    rows = [
        [
            _scenario(s),
            str(m["cases"]),
            fmt(m["hit_at_1"]),
            fmt(m["hit_at_3"]),
            fmt(m["hit_at_5"]),
            fmt(m["mrr"]),
        ]
        for s, m in per_scenario.get("retrieval", {}).items()
    ]
    tables.append(("Retrieval per scenario", ["scenario", "cases", "hit@1", "hit@3", "hit@5", "MRR"], rows))
    rows = [
        [_scenario(s), str(m["cases"]), str(m["passed"]), fmt(m["pass_rate"])]
        for s, m in per_scenario.get("draft", {}).items()
    ]
    tables.append(("Drafts per scenario", ["expected scenario", "cases", "passed", "pass rate"], rows))
    rows = [
        [
            c,
            str(m["expected"]),
            str(m["found"]),
            fmt(m["recall"]),
            str(m["reported"]),
            str(m["correct"]),
            fmt(m["precision"]),
            str(m["false_positive_cases"]),
            fmt(m["false_positive_rate"]),
        ]
        for c, m in results.get("per_category", {}).items()
    ]
    tables.append(
        (
            "Compliance per category",
            [
                "category",
                "expected",
                "found",
                "recall",
                "reported",
                "correct",
                "precision",
                "false-positive cases",
                "FP rate",
            ],
            rows,
        )
    )
    return tables


def _config_rows(results: dict) -> list[tuple[str, str]]:
    config = dict(results.get("config", {}))
    run = results.get("run", {})
    rows = [(k, str(v)) for k, v in config.items() if not isinstance(v, dict)]
    rows += [(f"{k}.{kk}", str(vv)) for k, v in config.items() if isinstance(v, dict) for kk, vv in v.items()]
    rows += [
        ("files", ", ".join(run.get("files", []))),
        ("started", str(run.get("started_at", ""))),
        ("duration", f"{run.get('duration_s', 0)} s"),
    ]
    return rows


def _headline(results: dict) -> list[tuple[str, str]]:
    cards = [
        (label, fmt(results.get(sec, {}).get(key)))
        for sec, key, label in HEADLINE
        if results.get(sec, {}).get("cases")
    ]
    counts = ", ".join(
        f"{results[k]['cases']} {k}"
        for k in ("retrieval", "compliance", "draft")
        if results.get(k, {}).get("cases")
    )
    cards.append(("Cases run", counts or "0"))
    cards.append(("Lines skipped", str(len(results.get("skipped", [])))))
    return cards


# ---- HTML ----
def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "No cases.") -> str:
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=n' if _numeric(c) else ''}>{escape(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _numeric(cell: str) -> bool:
    return cell.replace(".", "", 1).replace("-", "", 1).isdigit() or cell == "–"


def _html_failure(v: dict) -> str:
    header, rows, empty = v["got"]
    parts = [
        f'<div class="fail" id="{escape(v["anchor"])}">',
        f"<h3>{escape(v['title'])} <span class=meta>{escape(v['meta'])}</span></h3>",
        "<ul>" + "".join(f'<li class="reason">{escape(r)}</li>' for r in v["reasons"]) + "</ul>",
        f"<p><b>{v['asked'][0]}:</b> {escape(v['asked'][1])}</p>",
        f"<p><b>Expected:</b> {escape(v['expected'])}</p>",
        "<p><b>Got:</b></p>" + _html_table(header, rows, empty),
    ]
    parts += [f"<p><b>{escape(label)}:</b></p><pre>{escape(text)}</pre>" for label, text in v["blocks"]]
    parts.append("</div>")
    return "\n".join(parts)


def _skipped_rows(results: dict) -> list[list[str]]:
    return [[s["file"], str(s["line"]), s.get("id", ""), s["reason"]] for s in results.get("skipped", [])]


def render_html(results: dict) -> str:
    """Return a standalone HTML report: headline, breakdowns, latency, every failure, skipped lines, config."""
    cards = "".join(
        f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
        for k, v in _headline(results)
    )
    body = [
        f"<h1>Huashu eval report</h1><p class=meta>{escape(str(results.get('run', {}).get('started_at', '')))}"
        f" · knowledge base {escape(str(results.get('config', {}).get('kb_fingerprint', '')))}</p>",
        f'<div class="cards">{cards}</div>',
    ]
    for title, header, rows in _sections(results):
        body.append(f"<h2>{escape(title)}</h2>{_html_table(header, rows)}")
    body.append(f"<h2>Failures ({len(results.get('failures', []))})</h2>")
    groups = _failures_by_kind(results)
    for kind, views in groups:
        body.append(f"<h3>{escape(kind)} ({len(views)})</h3>" + "\n".join(_html_failure(v) for v in views))
    if not groups:
        body.append('<p class="empty">None.</p>')
    body.append(f"<h2>Skipped lines ({len(results.get('skipped', []))})</h2>")
    body.append(_html_table(["file", "line", "id", "reason"], _skipped_rows(results), "None."))
    body.append(
        "<h2>Configuration</h2>" + _html_table(["setting", "value"], [list(r) for r in _config_rows(results)])
    )
    return (
        "<!doctype html>\n<html lang=zh-CN><head><meta charset=utf-8><title>Huashu eval report</title>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{_CSS}</style></head>"
        f"<body>\n{chr(10).join(body)}\n</body></html>\n"
    )


# ---- Markdown ----
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str = "No cases.") -> str:
    if not rows:
        return f"_{empty}_"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_block(text: str) -> list[str]:
    fence = "````" if "```" in text else "```"
    return [fence, text, fence]


def render_markdown(results: dict) -> str:
    """Return the same report as Markdown."""
    out = ["# Huashu eval report", "", _md_table(["metric", "value"], [list(c) for c in _headline(results)])]
    for title, header, rows in _sections(results):
        out += ["", f"## {title}", "", _md_table(header, rows)]
    out += ["", f"## Failures ({len(results.get('failures', []))})"]
    for kind, views in _failures_by_kind(results):
        out += ["", f"### {kind} ({len(views)})"]
        for v in views:
            header, rows, empty = v["got"]
            out += ["", f"#### {v['title']} ({v['meta']})", ""]
            out += [f"- **{r}**" for r in v["reasons"]]
            out += [
                f"- {v['asked'][0]}: {v['asked'][1]}",
                f"- Expected: {v['expected']}",
                "",
                _md_table(header, rows, empty),
            ]
            for label, text in v["blocks"]:
                out += ["", f"{label}:", "", *_md_block(text)]
    out += [
        "",
        f"## Skipped lines ({len(results.get('skipped', []))})",
        "",
        _md_table(["file", "line", "id", "reason"], _skipped_rows(results), "None."),
    ]
    out += [
        "",
        "## Configuration",
        "",
        _md_table(["setting", "value"], [list(r) for r in _config_rows(results)]),
        "",
    ]
    return "\n".join(out)
