"""Input at the CLI's edges: other encodings, stdin, conversation files of the wrong shape, report paths."""

from __future__ import annotations

import json

import pytest
from conftest import build_mini_kb, make_settings, script, write_script
from fault_helpers import cli, gen_of

from rag import Huashu

ASK = "付款了什么时候发货"


@pytest.fixture(scope="module")
def settings(tmp_path_factory, embeddings):
    root = tmp_path_factory.mktemp("cli-input")
    settings = make_settings(root, build_mini_kb(root / "kb"))
    Huashu(settings, embeddings=embeddings).index()
    return settings


@pytest.mark.parametrize(
    "how", ["gbk-argument", "gbk-stdin", "utf8-stdin", "stdin-starting-with-dash"], ids=str
)
def test_a_message_in_gbk_or_from_stdin_is_drafted(settings, how):
    if how == "gbk-argument":  # a GBK terminal hands Python bytes that are not UTF-8
        run = cli(settings, "draft", ASK.encode("gbk"), "--brand", "jianyi", "--json")
    else:
        text = "-_- " + ASK if how == "stdin-starting-with-dash" else ASK
        data = text.encode("gbk" if how == "gbk-stdin" else "utf-8")
        run = cli(settings, "draft", "-", "--brand", "jianyi", "--json", stdin=data)
    run.clean()
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["script_id"] == "ship_a" and ASK in result["request"]["message"]
    assert ("按 GBK 读取" in run.err) == how.startswith("gbk")


def test_a_message_in_a_file_is_drafted_and_a_missing_or_doubled_one_is_named(settings, tmp_path):
    path = tmp_path / "message.txt"
    path.write_bytes(("-_- " + ASK).encode("gbk"))  # a GBK file, starting with a dash
    run = cli(settings, "draft", "--file", str(path), "--brand", "jianyi", "--json").clean()
    assert run.code == 0 and json.loads(run.out)["script_id"] == "ship_a" and "按 GBK 读取" in run.err
    for args, says in (
        (("--file", str(tmp_path / "nope.txt")), "nope.txt"),
        ((ASK, "--file", str(path)), "只能给一处"),
        ((), "请给出顾客消息"),
    ):
        run = cli(settings, "draft", *args, "--brand", "jianyi").clean()
        assert run.code == 2 and says in run.err, run.err


def test_an_order_flag_in_gbk_is_read_and_bytes_that_are_no_text_are_refused(settings):
    ok = cli(settings, "draft", ASK, "--brand", "jianyi", "--carrier", "顺丰".encode("gbk"), "--json").clean()
    assert ok.code == 0 and json.loads(ok.out)["order"]["carrier"] == "顺丰"
    for args in (
        (b"\xff\xfe\x80", "--brand", "jianyi"),
        (ASK, "--brand", "jianyi", "--order-id", b"\xff\x80"),
    ):
        run = cli(settings, "draft", *args).clean()
        assert run.code == 2 and "不是 UTF-8 文字，也不是 GBK" in run.err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"role": "customer", "text": "hi"}', "应该是一个列表"),
        (b"5", "应该是一个列表"),
        (b'"just text"', "应该是一个列表"),
        (b"[1, 2]", "第 1 轮应该是一个对象"),
        (b'[{"role": "customer"}]', "第 1 轮缺少字段 text"),
        (b'[{"role": "customer", "text": "ok"}, {"text": 5}]', "第 2 轮缺少字段 text"),
        (b'[{"role": 7, "text": "ok"}]', "role"),
        (b'[{"role": "boss", "text": "ok"}]', "role"),
        (b"[{'role': 'customer'}]", "不是合法的 JSON"),
        (b"\xff\xfe\x80", "不是 UTF-8"),
    ],
)
def test_a_conversation_file_of_the_wrong_shape_is_named_and_refused(settings, tmp_path, content, says):
    path = tmp_path / "conversation.json"
    path.write_bytes(content)
    run = cli(settings, "draft", ASK, "--brand", "jianyi", "--conversation", str(path)).clean()
    assert run.code == 2 and says in run.err, run.err


def test_a_missing_conversation_file_is_named(settings, tmp_path):
    run = cli(
        settings, "draft", ASK, "--brand", "jianyi", "--conversation", str(tmp_path / "nope.json")
    ).clean()
    assert run.code == 2 and "nope.json" in run.err


def test_index_json_to_a_missing_directory_is_refused_before_the_index_changes(tmp_path, mini_kb, embeddings):
    settings = make_settings(tmp_path, mini_kb)
    Huashu(settings, embeddings=embeddings).index()
    write_script(mini_kb / "scripts" / "new.yaml", [script("new_one")])
    run = cli(settings, "index", "--quiet", "--json", str(tmp_path / "missing" / "report.json")).clean()
    assert run.code == 2 and "不存在" in run.err and "这次没有重新索引" in run.err
    assert gen_of(settings) == 1
    out = tmp_path / "report.json"
    done = cli(settings, "index", "--quiet", "--json", str(out)).clean()
    assert done.code == 0 and json.loads(out.read_text(encoding="utf-8"))["added"] == ["script:new_one"]
