"""`huashu doctor`: check the settings, the index and the LLM endpoint, and say in plain words what to fix.

The endpoint checks go in order (reachable, key accepted, model exists, a one-line round trip) and stop at
the first that fails, since the later ones would only fail the same way. Exit status 1 when any check failed.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from .errors import HuashuError

PING = "请只回复两个字：你好"


@dataclass(frozen=True)
class Check:
    """One check: what was checked, whether it passed, what it found (or what to do), how long it took."""

    name: str
    ok: bool
    detail: str
    ms: float | None = None
    skipped: bool = False


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def check_settings(overrides: dict) -> tuple[Check, object]:
    """Return the settings check and the settings (None when they cannot be built)."""
    from .settings import load_settings

    try:
        settings = load_settings(**overrides)
    except HuashuError as exc:
        return Check("settings", False, str(exc)), None
    if not settings.kb_path.is_dir():
        return Check(
            "settings", False, f"知识库目录 {settings.kb_path} 不存在：设置 HUASHU_KB_PATH。"
        ), settings
    llm = (
        f"大模型 {settings.llm_model} @ {settings.llm_base_url}"
        if settings.llm_base_url
        else "话术模式（没有配置大模型）"
    )
    return Check(
        "settings", True, f"数据目录 {settings.data_dir}，知识库 {settings.kb_path}，{llm}"
    ), settings


def check_index(settings) -> Check:
    """Return whether an index exists and is not half-written."""
    from .store import Store

    start = time.perf_counter()
    try:
        manifest = Store(settings).read_manifest()
    except HuashuError as exc:
        return Check("index", False, str(exc), _ms(start))
    if manifest is None:
        return Check("index", False, "还没有索引：运行 huashu index 建立索引。", _ms(start))
    return Check(
        "index",
        True,
        f"第 {manifest.gen} 代，{len(manifest.items)} 条，向量 {manifest.provider}，建于 {manifest.built_at}",
        _ms(start),
    )


def check_endpoint(settings) -> list[Check]:
    """Return the endpoint checks: reachable, key accepted, model exists, one-line round trip."""
    if not settings.llm_base_url:
        return [
            Check("llm", True, "没有配置大模型（HUASHU_LLM_BASE_URL 未设置）：草稿用话术模式。", skipped=True)
        ]
    import openai

    from .llm.chain import NO_KEY, LLMConfig, chat_model
    from .llm.faults import classify

    config = LLMConfig.from_settings(settings)

    def fault(exc: BaseException):
        return classify(exc, base_url=config.base_url, model=config.model, timeout_s=config.timeout_s)

    checks = []
    client = openai.OpenAI(
        base_url=config.base_url, api_key=config.api_key or NO_KEY, timeout=config.timeout_s, max_retries=0
    )
    start = time.perf_counter()
    try:
        models = [m.id for m in client.models.list()]
    except openai.APIStatusError as exc:
        models = None
        checks.append(
            Check("endpoint", True, f"{config.base_url} 有回应（HTTP {exc.status_code}）", _ms(start))
        )
        if exc.status_code in (401, 403):
            checks.append(Check("key", False, str(fault(exc))))
            return checks
    except Exception as exc:  # unreachable: every later check would fail the same way
        return [Check("endpoint", False, str(fault(exc)), _ms(start))]
    else:
        checks.append(Check("endpoint", True, f"{config.base_url} 可以连通", _ms(start)))
        checks.append(Check("key", True, "密钥被接受" if config.api_key else "没有设置密钥，接口也接受"))
    if models is None:
        checks.append(Check("model", True, "接口不提供模型列表，由下面的试答来确认模型", skipped=True))
    elif config.model in models:
        checks.append(Check("model", True, f"接口上有模型 {config.model}"))
    else:
        shown = "、".join(models[:10]) or "（列表是空的）"
        checks.append(
            Check("model", False, f"接口上没有模型 {config.model}：改 HUASHU_LLM_MODEL，可用的有 {shown}。")
        )
        return checks
    start = time.perf_counter()
    try:
        reply = chat_model(config).invoke(PING)
    except Exception as exc:
        checks.append(Check("round_trip", False, str(fault(exc)), _ms(start)))
        return checks
    text = reply.content if isinstance(reply.content, str) else reply.text
    checks.append(Check("round_trip", True, f"试答一句：「{text.strip()[:40]}」", _ms(start)))
    return checks


def run_checks(**overrides) -> list[Check]:
    """Run every check that can run; a failed prerequisite skips the checks that need it."""
    first, settings = check_settings(overrides)
    if settings is None:
        return [first]
    return [first, check_index(settings), *check_endpoint(settings)]


NAMES = {
    "settings": "设置",
    "index": "索引",
    "llm": "大模型",
    "endpoint": "接口连通",
    "key": "密钥",
    "model": "模型",
    "round_trip": "试答",
}


def run_doctor(path: str | None = None, as_json: bool = False) -> int:
    """Print every check and return the exit status: 0 all passed, 1 any failed."""
    checks = run_checks(**({"kb_path": path} if path else {}))
    failed = [c for c in checks if not c.ok]
    if as_json:
        print(
            json.dumps(
                {"ok": not failed, "checks": [asdict(c) for c in checks]}, ensure_ascii=False, indent=2
            )
        )
    else:
        for c in checks:
            mark = "–" if c.skipped else ("✓" if c.ok else "✗")
            took = f"（{c.ms:.0f} ms）" if c.ms is not None else ""
            print(f"{mark} {NAMES.get(c.name, c.name)}：{c.detail}{took}")
        print(
            "全部正常。"
            if not failed
            else f"{len(failed)} 项没通过：按上面的提示改好后再运行 huashu doctor。"
        )
    return 1 if failed else 0
