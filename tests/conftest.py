"""Shared fixtures: real embeddings, real Chroma in temp dirs, the real knowledge base."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from fake_openai import fake_openai, fake_openai_server, llm_app  # noqa: F401  (fixtures: the fake LLM endpoint)
from pgcluster import free_port, start_cluster

from rag.embeddings import UseM3Embeddings
from rag.settings import Settings

# Tests never read the developer's environment or .env: every setting is given explicitly. The one exception is
# HUASHU_CACHE_DIR, which the session sets (`shared_model_cache`): a tokenizer parsed once serves every process.
for _name in [n for n in os.environ if n.startswith("HUASHU_")]:
    del os.environ[_name]
CACHE_VARIABLE = "HUASHU_CACHE_DIR"


def base_env() -> dict[str, str]:
    """Return this process's environment without HUASHU_* settings, but with the session's model cache."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_") or k == CACHE_VARIABLE}


REPO = Path(__file__).resolve().parent.parent
KB = REPO / "knowledge_base"
EVAL_SETS = REPO / "evals" / "sets"


def make_settings(tmp: Path, kb: Path = KB, **overrides) -> Settings:
    """Return settings with all state under `tmp`; no background reload unless a test asks for one."""
    overrides.setdefault("reload_poll_s", 0)
    return Settings(_env_file=None, data_dir=tmp / "data", kb_path=kb, **overrides)


def run_cli(app, *args: str) -> subprocess.CompletedProcess:
    """Run `huashu ARGS` in a fresh process over `app`'s data directory and knowledge base."""
    env = os.environ | {
        "HUASHU_DATA_DIR": str(app.settings.data_dir),
        "HUASHU_KB_PATH": str(app.settings.kb_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def collect_stream(events) -> tuple[str, list, object]:
    """Read a `stream_draft`: return the text an agent would see at the end, the deltas, and the result."""
    from rag import DraftDelta

    shown, deltas, result = "", [], None
    for e in events:
        if isinstance(e, DraftDelta):
            deltas.append(e)
            shown = e.text if e.reset else shown + e.text
        else:
            result = e
    return shown, deltas, result


@pytest.fixture(scope="session")
def cf():
    """The compliance filter of the starter rules file, rules only (tests/compliance_support.py names the file)."""
    from compliance_support import RULES

    from rag.compliance import ComplianceFilter

    return ComplianceFilter.from_file(RULES)


@pytest.fixture(scope="session", autouse=True)
def shared_model_cache(tmp_path_factory, worker_id) -> Path:
    """One model cache for every process of the run (both workers, every CLI, server and workspace process):
    the USE tokenizer is parsed once instead of once per data directory."""
    base = tmp_path_factory.getbasetemp()
    path = (base.parent if worker_id != "master" else base) / "model-cache"
    path.mkdir(exist_ok=True)
    os.environ[CACHE_VARIABLE] = str(path)
    return path


@pytest.fixture(scope="session")
def embeddings(shared_model_cache) -> UseM3Embeddings:
    """The default embedding provider, loaded once for the whole session."""
    emb = UseM3Embeddings(threads=1, cache_dir=shared_model_cache)
    emb.warm_up()
    return emb


@pytest.fixture(scope="session")
def starter_index(tmp_path_factory, embeddings) -> Path:
    """The data directory of the real knowledge base's index, built once per test process; fixtures take a
    copy of it (`copy_starter`), so none of them builds the same index again and none shares another's state."""
    from rag import Huashu

    root = tmp_path_factory.mktemp("starter")
    with Huashu(make_settings(root), embeddings=embeddings) as app:
        app.index()
    return root / "data"


def copy_starter(starter_index: Path, root: Path, kb: Path = KB, **overrides) -> Settings:
    """Return settings over a copy of `starter_index` in `root`; with `kb`, also copy the knowledge base there."""
    shutil.copytree(starter_index, root / "data")
    if kb != KB:
        shutil.copytree(KB, kb)
    return make_settings(root, kb, **overrides)


@pytest.fixture(scope="session")
def huashu_app(tmp_path_factory, embeddings, starter_index):
    """A Huashu over the real knowledge base, with its index in a temp dir."""
    from rag import Huashu

    app = Huashu(copy_starter(starter_index, tmp_path_factory.mktemp("app")), embeddings=embeddings)
    app.index()  # nothing to do: it says so
    return app


def write_script(path: Path, scripts: list[dict]) -> None:
    """Write a scripts YAML file from plain dicts."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scripts, allow_unicode=True, sort_keys=False), encoding="utf-8")


def script(
    sid: str, scenario: str = "shipping_delay", brands="all", examples=None, reply=None, **extra
) -> dict:
    """Return a valid script as a dict; override what a test needs."""
    return {
        "id": sid,
        "scenario": scenario,
        "brands": brands,
        "title": f"测试话术 {sid}",
        "customer_examples": examples
        or ["什么时候发货", "怎么还没发货", "发货太慢了吧", "催一下发货", "几号能发出"],
        "reply": reply or "[您的订单{order_id}]我们会在付款后24小时内发货，请您留意订单页的运单号。",
        "notes": "测试用",
        "policy_refs": ["shipping_dispatch"],
        **extra,
    }


DAMAGE_A = script(
    "damage_a",
    "damaged_or_missing",
    examples=["东西碎了", "瓶子破了", "收到就是坏的", "包装压烂了", "裂开了"],
    reply="非常抱歉，请您拍一张破损处的照片发给我，我为您安排补发或退款。",
    policy_refs=["damage_missing_wrong"],
)


@pytest.fixture
def mini_kb(tmp_path) -> Path:
    """A small knowledge base in a temp dir: the real brands, tones, rules and two policies, three scripts."""
    return build_mini_kb(tmp_path / "kb")


def build_mini_kb(root: Path) -> Path:
    """Write the small knowledge base of `mini_kb` into `root` (for fixtures of a wider scope)."""
    root.mkdir(parents=True)
    shutil.copy(KB / "brands.yaml", root / "brands.yaml")
    shutil.copytree(KB / "tone", root / "tone")
    if (KB / "compliance").exists():
        shutil.copytree(KB / "compliance", root / "compliance")
    (root / "policies").mkdir()
    for name in ("shipping_dispatch.md", "damage_missing_wrong.md"):
        shutil.copy(KB / "policies" / name, root / "policies" / name)
    write_script(
        root / "scripts" / "order.yaml",
        [
            script("ship_a"),
            DAMAGE_A,
        ],
    )
    write_script(
        root / "scripts" / "brand.yaml",
        [
            script(
                "usage_lanxu",
                "product_usage",
                ["lanxu"],
                examples=["精华怎么用", "先用精华还是面霜", "一次用几滴", "早晚都能用吗", "用法"],
                reply="精华在洁面和爽肤之后使用，取适量轻轻按压至吸收，再用面霜。",
                policy_refs=[],
            )
        ],
    )
    (root / "references").mkdir()
    (root / "references" / "faq.md").write_text(
        textwrap.dedent("""\
        # 发货常见问题
        付款后24小时内发货。节假日顺延。
        版权所有 © 某网站
        """),
        encoding="utf-8",
    )
    return root


# ---- feedback store: both back ends (rag/feedback) ----
@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """A throw-away PostgreSQL cluster for the whole session (Debian's postgresql package)."""
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("pg"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def feedback_settings(request, tmp_path) -> Settings:
    """Settings for an empty feedback store: SQLite under the data dir, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, feedback_url=request.getfixturevalue("pg_cluster").create_database())


# ---- workspace (ui/, tests/ui): a small knowledge base, indexed once, that every page test serves ----
UI_KB_PARTS = (
    "brands.yaml",
    "tone",
    "compliance",
    "policies",
    "scripts/order",
    "scripts/aftersale/damaged_or_missing.yaml",
    "scripts/general/out_of_scope.yaml",
)


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory, embeddings) -> Settings:
    """Settings over a small copy of the knowledge base (order, damage, out-of-scope scripts), indexed."""
    from rag import Huashu

    root = tmp_path_factory.mktemp("ui")
    for part in UI_KB_PARTS:
        (root / "kb" / part).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (KB / part).is_dir() else shutil.copy)(KB / part, root / "kb" / part)
    settings = make_settings(root, root / "kb")
    with Huashu(settings, embeddings=embeddings) as app:
        app.index()
    return settings


def ui_env(settings: Settings) -> dict[str, str]:
    """Return the HUASHU_* variables that point a workspace process at `settings`' index."""
    return {"HUASHU_DATA_DIR": str(settings.data_dir), "HUASHU_KB_PATH": str(settings.kb_path)}


def open_workspace(settings: Settings, monkeypatch, page: str | None = None, **query):
    """Open the workspace over `settings` in Streamlit's AppTest, as a fresh browser session would."""
    from streamlit.testing.v1 import AppTest

    for name, value in ui_env(settings).items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(str(REPO / "ui" / "app.py"), default_timeout=60)
    at.query_params.update(query)
    at.run()
    return at.switch_page(f"views/{page}.py").run() if page else at


def wait_until_up(url: str, proc: subprocess.Popen, what: str, seconds: float) -> None:
    """Wait until `url` answers; fail the test when `proc` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{what} did not start (exit {proc.poll()})")
            time.sleep(0.2)


# ---- a Chroma server (`chroma run`) on 127.0.0.1, shared by the session's server-mode tests ----
@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """Start `chroma run` in a temp dir on a free port; yield its URL (tests use their own collection prefix)."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "chroma")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/api/v2/heartbeat", proc, "chroma server", 30)
    yield url
    proc.terminate()
    proc.wait(timeout=10)
