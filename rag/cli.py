"""The `huashu` command line: index, kb stats, draft, eval, feedback, serve, keys. Output here, logic in the library."""

from __future__ import annotations

import argparse
import json
import logging
import os
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
    if args.json:
        _check_writable(Path(args.json))  # before the index changes, not after
    app = _app(args)
    bar, progress = _progress(args.quiet)
    options = {"full": args.full, "allow_mass_delete": args.allow_mass_delete, "repair": args.repair}
    if args.progress_lines:  # for a caller that shows its own bar (the workspace): one line per step
        bar, progress = (
            None,
            lambda done, total: print(f"progress {done} {total}", file=sys.stderr, flush=True),
        )
    if bar:
        with bar:
            report = app.index(progress=progress, **options)
    else:
        report = app.index(progress=progress, **options)
    s = report.summary()
    repaired = f"修复 {s['repaired']}，" if s["repaired"] else ""
    print(
        f"索引第 {report.gen} 代（{report.provider}），用时 {report.seconds:.2f} 秒："
        f"新增 {s['added']}，更新 {s['updated']}，删除 {s['removed']}，未变 {s['unchanged']}，{repaired}失败文件 {len({f['file'] for f in report.failed})}。"
    )
    model = report.scenario_model
    if model.get("status") == "ok":
        print(
            f"场景分类器：{model['examples']} 条顾客例句、{model['scenarios']} 个场景（例句指纹 {model['fingerprint']}，"
            f"训练用时 {model['train_s']} 秒；例句不变时沿用，不重新训练）。"
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

        try:
            Path(args.json).write_text(
                json.dumps(index_report_dict(report), ensure_ascii=False, indent=2), encoding="utf-8"
            )
        except OSError as exc:
            raise BadInputError(
                f"索引已经完成（第 {report.gen} 代），但报告写不进 {args.json}：{exc}。"
            ) from exc
    if report.failed:
        print(
            f"有 {len(report.failed_files)} 个文件没有载入（见上面的「失败」）：其余内容已索引，"
            "这些文件以前的内容保留不变。修好后再运行 `huashu index`。",
            file=sys.stderr,
        )
        return 1
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
    message = _message(args)
    brand = _arg_text(args.brand, "--brand")
    order = {
        k: _arg_text(getattr(args, k), "--" + k.replace("_", "-")) for k in ORDER_FLAGS if getattr(args, k)
    }
    conversation = _conversation(args.conversation) if args.conversation else []
    app = _app(args)
    request = dict(brand=brand, order=order, conversation=conversation, mode=args.mode)
    if args.stream:
        result = _stream_draft(app, message, request, as_json=args.json)
    else:
        result = app.draft(message, **request)
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


# ---- input at the edges: faults and hostile input (issue 16) ----
def _check_writable(path: Path) -> None:
    """Refuse an output file whose directory is missing or not writable."""
    folder = path.parent
    if not folder.is_dir():
        raise BadInputError(
            f"报告要写到 {path}，但目录 {folder} 不存在：请先创建它或换个路径。这次没有重新索引。"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise BadInputError(f"报告写不进 {path}（没有写权限）：请换个路径。这次没有重新索引。")


def _decode(raw: bytes, what: str) -> str:
    """Return text from bytes a terminal or file gave: UTF-8, else GBK/GB18030 (said on stderr), else an error."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise BadInputError(
            f"{what} 不是 UTF-8 文字，也不是 GBK：请把终端或文件的编码设为 UTF-8 后重试。"
        ) from None
    print(f"注意：{what} 不是 UTF-8，已按 GBK 读取；最好把终端的编码设为 UTF-8。", file=sys.stderr)
    return text


def _arg_text(value: str | None, what: str) -> str | None:
    """Return a command-line argument as text; bytes that were not UTF-8 are decoded as GBK or refused."""
    if value is None:
        return None
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:  # Python kept the undecodable bytes as surrogates
        return _decode(os.fsencode(value), what)


def _message(args) -> str:
    """Return the customer's message: the argument, stdin (`-`) or the file `--file` names."""
    if args.file and args.message is not None:
        raise BadInputError(
            "顾客消息只能给一处：要么写在命令里（或 `-` 读标准输入），要么用 --file，不能同时给。"
        )
    if args.file:
        try:
            raw = Path(args.file).read_bytes()
        except OSError as exc:
            raise BadInputError(f"读不了消息文件 {args.file}：{exc.strerror or exc}。") from exc
        return _decode(raw, f"消息文件 {args.file}")
    if args.message is None:
        raise BadInputError("请给出顾客消息：写在命令里，或用 `-` 从标准输入读，或用 --file 从文件读。")
    return _stdin_text() if args.message == "-" else _arg_text(args.message, "顾客消息")


def _stdin_text() -> str:
    return _decode(sys.stdin.buffer.read(), "标准输入里的顾客消息")


def _conversation(path: str) -> list:
    """Return the earlier turns from a JSON file, checked for shape with the turn and field named."""
    shape = '[{"role": "customer", "text": "…"}, {"role": "agent", "text": "…"}]'
    try:
        data = json.loads(_decode(Path(path).read_bytes(), f"对话文件 {path}"))
    except OSError as exc:
        raise BadInputError(f"读不了对话文件 {path}：{exc.strerror or exc}。") from exc
    except ValueError as exc:
        raise BadInputError(f"对话文件 {path} 不是合法的 JSON（{exc}）。它应该是 {shape}。") from exc
    if not isinstance(data, list):
        raise BadInputError(f"对话文件 {path} 应该是一个列表 {shape}，现在是 {type(data).__name__}。")
    for i, turn in enumerate(data, 1):
        if not isinstance(turn, dict):
            raise BadInputError(f'对话文件 {path} 第 {i} 轮应该是一个对象 {{"role": …, "text": …}}。')
        if not isinstance(turn.get("text"), str):
            raise BadInputError(f"对话文件 {path} 第 {i} 轮缺少字段 text（顾客或客服说的话，文字）。")
        if not isinstance(turn.get("role", "customer"), str):
            raise BadInputError(f"对话文件 {path} 第 {i} 轮的 role 应该是 customer 或 agent。")
    return data


def cmd_kb_check(args) -> int:
    """Say whether the store still holds every record the serving index names."""
    from .indexguard import check_store
    from .store import space_id

    app = _app(args)
    store = app.store
    with store.errors():
        manifest = store.read_manifest()
        if manifest is None or not manifest.gen:
            print(f"向量库 {store.location} 里还没有索引：运行 `huashu index` 建立。")
            return 1
        damage = check_store(store, space_id(manifest.provider), manifest, deep=True)
    if not damage.keys:
        print(f"向量库 {store.location} 完好：第 {manifest.gen} 代的 {len(manifest.items)} 条内容都在。")
        return 0
    print(f"向量库 {store.location} 不完整：{len(damage.keys)} 条内容缺记录。", file=sys.stderr)
    for name in damage.collections:
        print(f"  损坏的分区：{name}", file=sys.stderr)
    for name in damage.missing:
        print(f"  缺失的分区：{name}", file=sys.stderr)
    print("运行 `huashu index --repair` 从知识库重新写入缺的部分。", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huashu", description="话术助手：电商客服回复草稿")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="re-index the knowledge base (incremental)")
    p.add_argument("path", nargs="?", help="knowledge-base directory (default: HUASHU_KB_PATH)")
    p.add_argument("--full", action="store_true", help="re-embed everything")
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="let the run remove more than HUASHU_MASS_DELETE_SHARE of the index, or every script or policy",
    )
    p.add_argument(
        "--repair", action="store_true", help="check every record is in the store; write back what is missing"
    )
    p.add_argument(
        "--progress-lines", action="store_true", help="write 'progress DONE TOTAL' lines on stderr instead"
    )
    p.set_defaults(func=cmd_index)

    kb = sub.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb_command", required=True)
    p = kb.add_parser("stats", help="counts per kind, scenario and brand; how the index was built")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_kb_stats)
    p = kb.add_parser("check", help="check the store holds every record of the serving index")
    p.set_defaults(func=cmd_kb_check)

    p = sub.add_parser("draft", help="draft a reply to one customer message")
    p.add_argument(
        "message", nargs="?", help="the customer's message; - reads it from stdin (also one starting with -)"
    )
    p.add_argument("--file", metavar="FILE", help="read the customer's message from FILE (UTF-8, or GBK)")
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
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a character gets "?", not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
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
    except Exception as exc:  # a bug or a fault nobody foresaw: a plain message, the traceback only with -v
        logging.getLogger("rag.cli").debug("unexpected error", exc_info=True)
        print(
            f"内部错误：{type(exc).__name__}: {exc}。什么都没有丢失；请加 -v 重新运行一次，把输出发给维护者。",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
