"""`huashu serve` (the HTTP API on uvicorn) and `huashu keys create|list|revoke` (the desks' API keys)."""

from __future__ import annotations

import json
import os
import sys


def _settings():
    from rag.settings import load_settings

    return load_settings()


def _keys():
    from rag import ApiKeys, open_feedback_store

    return ApiKeys(open_feedback_store(_settings()))


def cmd_serve(args) -> int:
    import uvicorn

    settings = _settings()  # a bad setting fails here, once, not in every worker
    workers = args.workers or settings.api_workers
    if workers > 1 and not settings.chroma_url:
        print(
            "注意：多个 worker 共用嵌入式 Chroma 时，每次重新索引后各自要重新打开存储；"
            "建议用 Chroma 服务器（HUASHU_CHROMA_URL）。",
            file=sys.stderr,
        )
    os.environ["HUASHU_API_WORKERS"] = str(workers)  # each worker's rate limiter takes its share
    uvicorn.run(
        "rag.api.app:create_app",
        factory=True,
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        workers=workers,
        access_log=args.access_log,
        log_level="info" if args.verbose else "warning",
    )
    return 0


def cmd_keys_create(args) -> int:
    from rag import BadInputError, Huashu

    brands = [b.strip() for b in args.brands.split(",") if b.strip()]
    app = Huashu(_settings(), watch=False)
    unknown = sorted(set(brands) - set(app.brands))
    if unknown:
        raise BadInputError(f"未知品牌 {', '.join(unknown)}。已知品牌：{', '.join(sorted(app.brands))}。")
    key, token = _keys().create(args.desk, brands, rate_per_minute=args.rate)
    if args.json:
        print(json.dumps(key.to_dict() | {"key": token}, ensure_ascii=False))
        return 0
    print(token)
    print(
        f"— 密钥 {key.id}（坐席 {key.desk}，品牌 {', '.join(key.brands)}）已创建。"
        "它只显示这一次：请现在交给坐席系统保存，丢了只能吊销后重建。",
    )
    return 0


def cmd_keys_list(args) -> int:
    keys = _keys().list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], ensure_ascii=False, indent=2))
        return 0
    if not keys:
        print("还没有密钥：用 huashu keys create --desk 名称 --brands 品牌1,品牌2 创建。")
    for k in keys:
        state = f"已吊销 {k.revoked_at}" if k.revoked_at else "有效"
        rate = f"，每分钟 {k.rate_per_minute} 次" if k.rate_per_minute else ""
        print(f"{k.id}  {k.desk:<20} {','.join(k.brands):<24} 创建于 {k.created_at}  {state}{rate}")
    return 0


def cmd_keys_revoke(args) -> int:
    keys = _keys()
    for key_id in args.ids:
        key = keys.revoke(key_id)
        print(f"密钥 {key.id}（坐席 {key.desk}）已吊销，于 {key.revoked_at}。")
    return 0


def add_api_commands(sub) -> None:
    """Add `serve` and `keys` to the `huashu` parser."""
    p = sub.add_parser("serve", help="serve the HTTP API for chat desks (FastAPI on uvicorn)")
    p.add_argument("--host", help="address to listen on (default: HUASHU_API_HOST)")
    p.add_argument("--port", type=int, help="port (default: HUASHU_API_PORT)")
    p.add_argument("--workers", type=int, help="worker processes (default: HUASHU_API_WORKERS)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="API keys of the chat desks").add_subparsers(
        dest="keys_command", required=True
    )
    p = keys.add_parser("create", help="create a key for a desk (printed once)")
    p.add_argument("--desk", required=True, help="the desk's name")
    p.add_argument("--brands", required=True, help="brands it may serve, comma-separated: lanxu,jianyi")
    p.add_argument("--rate", type=int, help="requests per minute (default: HUASHU_API_RATE_PER_MINUTE)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_create)
    p = keys.add_parser("list", help="list keys (never the keys themselves)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keys_list)
    p = keys.add_parser("revoke", help="revoke keys by id")
    p.add_argument("ids", nargs="+", metavar="KEY_ID")
    p.set_defaults(func=cmd_keys_revoke)
