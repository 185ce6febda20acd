"""The knowledge-base formats: the starter KB loads clean and covers the domain; broken files say exactly what is wrong."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from conftest import KB, script, write_script

from rag.compliance.numbers import cn_to_number
from rag.kb import load_kb
from rag.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def kb():
    return load_kb(KB)


def test_starter_kb_loads_without_problems(kb):
    assert [str(p) for p in kb.problems] == []


def test_starter_kb_covers_every_scenario_and_brand(kb):
    per_scenario = Counter(s.scenario for s in kb.scripts)
    assert {s for s in SCENARIOS if per_scenario[s] < 2} == set()
    assert len(kb.scripts) >= 70
    assert [s.id for s in kb.scripts if len(s.customer_examples) < 5] == []
    assert set(kb.brands) == {"lanxu", "nuanbei", "jianyi"}
    assert set(kb.tones) == {"luxury", "warm_family", "friendly"}
    for brand in kb.brands:  # each brand gets brand-specific scripts, not only generic ones
        assert sum(brand in s.brands for s in kb.scripts) >= 5, brand
    assert len(kb.policies) >= 10


_NUMBER_UNIT = re.compile(r"(\d+|[零一二两三四五六七八九十]+)\s*(?:个)?(小时|天|日|元|块|%|％)")


def numbers_with_units(text: str) -> set[str]:
    unit = {"日": "天", "块": "元", "％": "%"}
    return {f"{cn_to_number(n):g}{unit.get(u, u)}" for n, u in _NUMBER_UNIT.findall(text)}


def test_script_numbers_are_backed_by_their_policies(kb):
    policies = {p.id: p for p in kb.policies}
    unsupported = []
    for s in kb.scripts:
        backed = set().union(*(numbers_with_units(policies[r].body) for r in s.policy_refs if r in policies))
        unsupported += [(s.id, n) for n in sorted(numbers_with_units(s.reply) - backed)]
    assert unsupported == []


def test_number_check_catches_a_made_up_number():
    assert numbers_with_units("我们会在十二小时内退款，补偿50元，七天无理由") == {"12小时", "50元", "7天"}


def test_expired_policy_is_loaded_but_not_valid(kb):
    from datetime import date

    expired = [p for p in kb.policies if p.valid_to and p.valid_to < date(2026, 11, 22)]
    assert expired, "the starter KB keeps one expired policy to show it is not served"
    assert not any(p.is_valid(date(2026, 11, 22)) for p in expired)


# ---- validation messages: file, line, field, what is wrong ----

BROKEN = [
    # (what, scripts, what the reported line shows, expected field, expected words in the message)
    (
        "unknown scenario",
        [script("a1", scenario="refund_status")],
        "scenario:",
        "scenario",
        "未知场景 id 'refund_status'",
    ),
    (
        "unknown slot",
        [script("a1", reply="您好{customer_nick}，已为您处理。")],
        "reply:",
        "reply",
        "{customer_nick} 没有任何来源提供",
    ),
    (
        "order slot outside brackets",
        [script("a1", reply="订单{order_id}已发货。")],
        "reply:",
        "reply",
        "必须放在方括号可选片段",
    ),
    (
        "unclosed optional segment",
        [script("a1", reply="[订单{order_id}已发货。")],
        "reply:",
        "reply",
        "没有闭合",
    ),
    (
        "missing field",
        [{k: v for k, v in script("a1").items() if k != "reply"}],
        "- id: a1",
        "reply",
        "缺少必填字段 reply",
    ),
    ("unknown brand", [script("a1", brands=["lanxu", "hema"])], "brands:", "brands", "未知品牌 'hema'"),
    ("bad id", [script("Bad-Id")], "- id: Bad-Id", "id", "只能用小写字母"),
    ("duplicate id in one file", [script("a1"), script("a1")], "- id: a1", "id", "id 'a1' 重复"),
]


@pytest.mark.parametrize("what,scripts,line,field,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_script_is_reported_with_line_and_field(mini_kb, what, scripts, line, field, message):
    write_script(mini_kb / "scripts" / "broken.yaml", scripts)
    kb = load_kb(mini_kb)
    problems = [p for p in kb.problems if p.file == "scripts/broken.yaml"]
    assert problems, what
    p = problems[-1]
    lines = (mini_kb / "scripts" / "broken.yaml").read_text(encoding="utf-8").splitlines()
    assert p.field == field
    assert lines[p.line - 1].strip().startswith(line) and (what != "duplicate id in one file" or p.line > 1)
    assert message in p.message
    assert "scripts/broken.yaml" in str(p)
    # the broken file yields nothing; the rest of the knowledge base still loads
    assert {s.id for s in kb.scripts} == {"ship_a", "damage_a", "usage_lanxu"}


def test_duplicate_id_across_files_names_the_first_place(mini_kb):
    write_script(mini_kb / "scripts" / "zz_dup.yaml", [script("ship_a")])
    p = next(p for p in load_kb(mini_kb).problems if p.file == "scripts/zz_dup.yaml")
    assert "scripts/order.yaml:1" in p.message


@pytest.mark.parametrize(
    "content,line,message",
    [
        ("- id: a1\n  scenario: greeting\n  reply: [未闭合\n", 4, "YAML 格式错误"),
        ("id: a1\nscenario: greeting\n", 1, "应该是一个列表"),
    ],
)
def test_unreadable_yaml_is_reported_with_line(mini_kb, content, line, message):
    (mini_kb / "scripts" / "broken.yaml").write_text(content, encoding="utf-8")
    p = next(p for p in load_kb(mini_kb).problems if p.file == "scripts/broken.yaml")
    assert message in p.message and p.line == line


def test_non_utf8_file_is_reported(mini_kb):
    (mini_kb / "scripts" / "gbk.yaml").write_bytes("- id: a1\n  title: 发货\n".encode("gbk"))
    p = next(p for p in load_kb(mini_kb).problems if p.file == "scripts/gbk.yaml")
    assert "UTF-8" in p.message


def test_policy_problems(mini_kb):
    (mini_kb / "policies" / "nofm.md").write_text("只有正文，没有 front matter。", encoding="utf-8")
    (mini_kb / "policies" / "baddate.md").write_text(
        "---\nid: bad_date\ntitle: 测试\nbrands: all\nscenarios: [invoice]\nvalid_to: 明年\n---\n正文。\n",
        encoding="utf-8",
    )
    problems = {p.file: p for p in load_kb(mini_kb).problems}
    assert "front matter" in problems["policies/nofm.md"].message
    bad = problems["policies/baddate.md"]
    assert (bad.line, bad.field) == (6, "valid_to") and "日期" in bad.message


def test_unknown_policy_ref_is_a_warning_not_an_error(mini_kb):
    write_script(mini_kb / "scripts" / "refs.yaml", [script("r1", policy_refs=["no_such_policy"])])
    kb = load_kb(mini_kb)
    p = next(p for p in kb.problems if p.file == "scripts/refs.yaml")
    assert p.severity == "warning" and "no_such_policy" in p.message
    assert "r1" in {s.id for s in kb.scripts}


def test_bare_tilde_in_a_tone_list_is_explained(mini_kb):
    path = mini_kb / "tone" / "luxury.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^avoid:.*$", "avoid: [亲, ~]", text), encoding="utf-8")
    p = next(p for p in load_kb(mini_kb).problems if p.file == "tone/luxury.yaml")
    assert p.field == "avoid" and "'~'" in p.message


def test_parse_cache_gives_the_same_knowledge_and_notices_changes(mini_kb, tmp_path):
    cache = tmp_path / "cache"
    plain = load_kb(mini_kb)
    first = load_kb(mini_kb, cache=cache)
    again = load_kb(mini_kb, cache=cache)
    assert plain.scripts == first.scripts == again.scripts and len(list(cache.glob("*.pickle"))) == 2
    write_script(
        mini_kb / "scripts" / "brand.yaml",
        [script("usage_lanxu", "product_usage", ["lanxu"], policy_refs=[])],
    )
    assert load_kb(mini_kb, cache=cache).scripts == load_kb(mini_kb).scripts
    (
        mini_kb / "policies" / "shipping_dispatch.md"
    ).unlink()  # a policy ref goes missing: warnings must follow
    warned = [p for p in load_kb(mini_kb, cache=cache).problems if "shipping_dispatch" in p.message]
    assert warned and len(list(cache.glob("*.pickle"))) == 2  # stale entries pruned
