"""`huashu feedback stats|export|purge`: print what the library computes; no SQL here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

_LABELS = {"accepted": "采纳", "edited": "修改", "rejected": "拒绝"}


def _store():
    from rag.feedback import open_feedback_store
    from rag.settings import load_settings

    return open_feedback_store(load_settings())


def cmd_stats(args) -> int:
    with _store() as store:
        rows = store.stats(since=args.since, until=args.until, by=args.by, brand=args.brand)
        work = store.scripts_needing_work(
            since=args.since, min_decisions=args.min_decisions, limit=args.limit
        )
    if args.json:
        print(json.dumps({"by": args.by, "since": args.since, "groups": rows, "scripts_needing_work": work},
                         ensure_ascii=False, indent=2))  # fmt: skip
        return 0
    if not rows:
        print("这段时间里还没有记录到决定。")
        return 0
    period = "全部时间" if args.since in (None, "", "all") else f"自 {args.since}"
    print(f"按 {args.by} 统计（{period}）：")
    print(f"  {'':<28} {'决定':>6} {'采纳率':>7} {'修改率':>7} {'拒绝率':>7} {'相似度中位数':>8}")
    for r in rows:
        med = "—" if r["median_similarity"] is None else f"{r['median_similarity']:.2f}"
        print(f"  {str(r['key']):<28} {r['decisions']:>6} {r['acceptance_rate']:>8.0%} {r['edit_rate']:>8.0%}"
              f" {r['rejection_rate']:>8.0%} {med:>10}")  # fmt: skip
    if work:
        print(f"\n需要改进的话术（至少 {args.min_decisions} 个决定，按改写+拒绝比例排序）：")
        for w in work:
            print(f"  {w['script_id']}（{w['scenario']}）：{w['decisions']} 个决定，"
                  f"改写或拒绝 {w['rework_rate']:.0%}，相似度中位数 {w['median_similarity'] or 0:.2f}")  # fmt: skip
            for e in w["common_edits"]:
                print(f"    常见修改（{e['count']} 次）：{e['diff']}")
            if w["rejection_reasons"]:
                print(
                    "    拒绝原因："
                    + "，".join(f"{r['reason']} {r['count']}" for r in w["rejection_reasons"])
                )
    return 0


def cmd_export(args) -> int:
    from rag.feedback.export import write_export

    with _store() as store:
        rows = store.export(since=args.since, until=args.until)
        if args.out:
            with Path(args.out).open("w", encoding="utf-8", newline="") as out:
                n = write_export(rows, out, args.format)
            print(f"导出了 {n} 条草稿到 {args.out}。", file=sys.stderr)
        else:
            write_export(rows, sys.stdout, args.format)
    return 0


def cmd_purge(args) -> int:
    from rag.feedback.analytics import parse_age

    age = parse_age(args.older_than)
    with _store() as store:
        done = store.purge(age)
    print(f"删除了 {done['before']} 之前的 {done['drafts']} 条草稿和 {done['decisions']} 个决定。")
    return 0


def add_feedback_commands(sub) -> None:
    """Add `feedback stats|export|purge` to the `huashu` parser."""
    from rag.feedback.names import EXPORT_FORMATS, GROUP_BY

    fb = sub.add_parser("feedback", help="agents' decisions on drafts: stats, export, purge")
    cmds = fb.add_subparsers(dest="feedback_command", required=True)
    p = cmds.add_parser("stats", help="acceptance / edit / rejection rates and the scripts that need work")
    p.add_argument("--since", default="7d", help="7d, 12h, 4w or a date (default 7d); 'all' for everything")
    p.add_argument("--until", help="end of the period (a date or an age)")
    p.add_argument("--by", choices=GROUP_BY, default="scenario")
    p.add_argument("--brand", help="only this brand")
    p.add_argument("--min-decisions", type=int, default=5, help="a script needs this many to be ranked")
    p.add_argument("--limit", type=int, default=20, help="at most this many scripts that need work")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stats)
    p = cmds.add_parser("export", help="drafts with their decisions, masked (standard output by default)")
    p.add_argument("--since", help="7d, 12h, 4w or a date")
    p.add_argument("--until", help="a date or an age")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl")
    p.add_argument("--out", metavar="FILE")
    p.set_defaults(func=cmd_export)
    p = cmds.add_parser("purge", help="delete drafts and decisions older than an age")
    p.add_argument("--older-than", required=True, metavar="AGE", help="e.g. 180d")
    p.set_defaults(func=cmd_purge)
