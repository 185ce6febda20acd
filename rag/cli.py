"""The `huashu` command line: index, kb stats, draft, eval, feedback, serve, keys. Output here, logic in the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .errors import BadInputError, HuashuError

ORDER_FLAGS = ("order_id", "order_status", "paid_at", "shipped_at", "tracking_no", "carrier")


def _app(args, **overrides):
    from .app import Huashu
    from .settings import load_settings

    if getattr(args, "path", None):
        overrides["kb_path"] = Path(args.path)
    return Huashu(load_settings(**overrides), watch=False)  # one command, one generation


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task("向量化", total=None)
    return bar, lambda done, total: bar.update(task, completed=done, total=total)


def cmd_index(args) -> int:
    app = _app(args)
    bar, progress = _progress(args.quiet)
    if bar:
        with bar:
            report = app.index(full=args.full, progress=progress)
    else:
        report = app.index(full=args.full)
    s = report.summary()
    print(
        f"索引第 {report.gen} 代（{report.provider}），用时 {report.seconds:.2f} 秒："
        f"新增 {s['added']}，更新 {s['updated']}，删除 {s['removed']}，未变 {s['unchanged']}，失败文件 {len({f['file'] for f in report.failed})}。"
    )
    for notice in report.notices:
        print(f"注意：{notice}")
    for f in report.failed:
        where = (
            f["file"]
            + (f":{f['line']}" if f.get("line") else "")
            + (f" [{f['field']}]" if f.get("field") else "")
        )
        print(f"失败：{where}: {f['reason']}")
    for w in report.warnings:
        print(f"提醒：{w['file']}{':' + str(w['line']) if w.get('line') else ''}: {w['reason']}")
    if report.kept_from_broken_files:
        print(f"出错文件里以前索引的 {len(report.kept_from_broken_files)} 条内容保留不变，直到文件修好。")
    if args.json:
        from .serialize import index_report_dict

        Path(args.json).write_text(
            json.dumps(index_report_dict(report), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return 0


def cmd_kb_stats(args) -> int:
    stats = _app(args).stats()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    print(
        f"索引第 {stats['gen']} 代，{stats['built_at']} 由 {stats['kb_path']} 建立（向量：{stats['embedding']}，{stats['dim']} 维）"
    )
    print(f"存储：{stats['store']}；知识库指纹 {stats['kb_fingerprint']}")
    print("条目：" + "，".join(f"{k} {v}" for k, v in sorted(stats["kinds"].items())))
    print("品牌：" + "，".join(stats["brands"]) + "；语气：" + "，".join(stats["tones"]))
    print("各品牌话术：" + "，".join(f"{k} {v}" for k, v in stats["scripts_per_brand"].items()))
    print("各场景话术：")
    for scenario, n in stats["scripts_per_scenario"].items():
        print(f"  {scenario:<22} {n}")
    return 0


def cmd_draft(args) -> int:
    app = _app(args)
    order = {k: getattr(args, k) for k in ORDER_FLAGS if getattr(args, k)}
    conversation = []
    if args.conversation:
        try:
            conversation = json.loads(Path(args.conversation).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInputError(
                f'读不了对话文件 {args.conversation}：{exc}。它应该是 [{{"role": "customer", "text": "…"}}, …]。'
            ) from exc
    request = dict(brand=args.brand, order=order, conversation=conversation, mode=args.mode)
    if args.stream:
        result = _stream_draft(app, args.message, request, as_json=args.json)
    else:
        result = app.draft(args.message, **request)
    if args.json:
        from .serialize import draft_result_dict

        print(json.dumps(draft_result_dict(result), ensure_ascii=False, indent=None if args.stream else 2))
        return 0
    if not args.stream:
        print(result.draft)
    print(
        f"\n— 场景 {result.scenario}，话术 {result.script_id or '（无匹配）'}，{result.timings_ms['total']:.1f} ms"
    )
    _print_drafter(result)
    for v in result.violations:
        print(f"— 合规 {v.category}：「{v.text}」{v.action}（{v.reason}）")
    if result.blocked:
        print(f"— 不能发送：{result.block_reason}")
    for n in result.notices:
        print(f"— 注意：{n}")
    return 0


# ---- LLM drafting: streaming and what the drafter recorded ----
def _stream_draft(app, message: str, request: dict, *, as_json: bool):
    """Print the draft as the filter releases it (JSON Lines with --json); return the final result."""
    from .pipeline import DraftDelta

    result = None
    for event in app.stream_draft(message, **request):
        if not isinstance(event, DraftDelta):
            result = event
        elif as_json:
            print(json.dumps({"delta": event.text, "reset": event.reset}, ensure_ascii=False), flush=True)
        else:
            if event.reset:
                print("\n（前面的文字作废，以下是完整草稿）", flush=True)
            print(event.text, end="", flush=True)
    if not as_json:
        print()
    return result


def _print_drafter(result) -> None:
    if result.fallback_reason:
        print(f"— 改用话术模式：{result.fallback_reason}")
    if result.drafter != "llm":
        return
    t = result.timings_ms
    tokens = "，".join(f"{k} {v}" for k, v in result.usage.items()) or "接口没有给出"
    print(
        f"— 大模型 {result.model}，提示版本 {result.drafter_version}；首字 {t.get('llm_first_token', 0):.0f} ms，"
        f"大模型共 {t.get('llm_total', 0):.0f} ms；tokens：{tokens}"
    )
    print(f"— 引用：{'、'.join(result.citations) or '（没有引用）'}")


def cmd_doctor(args) -> int:
    from .doctor import run_doctor

    return run_doctor(path=getattr(args, "path", None), as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huashu", description="话术助手：电商客服回复草稿")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="re-index the knowledge base (incremental)")
    p.add_argument("path", nargs="?", help="knowledge-base directory (default: HUASHU_KB_PATH)")
    p.add_argument("--full", action="store_true", help="re-embed everything")
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    p = kb.add_parser("stats", help="counts per kind, scenario and brand; how the index was built")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_stats)

    p = sub.add_parser("draft", help="draft a reply to one customer message")
    p.add_argument("message")
    p.add_argument("--brand", required=True)
    for flag in ORDER_FLAGS:
        p.add_argument("--" + flag.replace("_", "-"), dest=flag)
    p.add_argument("--conversation", metavar="FILE", help="earlier turns as JSON: [{role, text}, …]")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--mode",
        choices=("auto", "script", "llm"),
        default="auto",
        help="llm: adapt the script with the configured model; script: the script as written; auto: llm when configured",
    )
    p.add_argument(
        "--stream", action="store_true", help="print the draft as it is written (JSON Lines with --json)"
    )
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser(
        "doctor", help="check settings, the index and the LLM endpoint; exit 1 if any check fails"
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=cmd_doctor)

    try:
        from .evaluation.cli import add_eval_commands
    except ImportError:  # the eval runner is optional at this stage
        pass
    else:
        add_eval_commands(sub)
    from .feedback.cli import add_feedback_commands

    add_feedback_commands(sub)
    from .api.cli import add_api_commands

    add_api_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except BadInputError as exc:
        print(f"输入有误：{exc}", file=sys.stderr)
        return 2
    except HuashuError as exc:
        print(f"出错了：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
