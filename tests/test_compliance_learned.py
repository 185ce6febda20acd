"""The filter's learned second stage (a clause classifier trained from knowledge_base/compliance/examples) and
personal data named by its context. The model is the real one, trained here from the real examples."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from rag.compliance import ComplianceFilter, build_filter, load_examples, load_rules
from rag.compliance import learned as learned_module
from rag.compliance.clauseflags import Guards
from rag.compliance.examples import clauses, examples_from_texts, fingerprint
from rag.compliance.learned import load_or_train, train
from rag.compliance.pii import id_checksum_ok, luhn_ok
from rag.compliance.text import TextView
from rag.kb import load_kb
from rag.kbconfig import parse_config

KB = Path(__file__).resolve().parents[1] / "knowledge_base"
EXAMPLES = KB / "compliance" / "examples"
RULES = load_rules(KB / "compliance" / "rules.yaml")
POLICIES = [p for p in load_kb(KB).policies if p.is_valid(date.today())]


def policies(brand: str) -> list[str]:
    return [p.body for p in POLICIES if "all" in p.brands or brand in p.brands]


@pytest.fixture(scope="module")
def model():
    return load_or_train(load_examples(EXAMPLES), None)  # the one the session's apps use, trained once


@pytest.fixture(scope="module")
def both(model) -> ComplianceFilter:
    return ComplianceFilter(RULES, model)


@pytest.fixture(scope="module")
def rules_only() -> ComplianceFilter:
    return ComplianceFilter(RULES)


# Written for this test, in none of the examples or eval sets; no rule names their words. A service phrase is
# flagged at 0.85 and a promise at 0.85 (chosen on held-out authors), so the ones here are blunt.
UNSEEN = [
    # (“这么简单的事还要…” is a rule now: 这种/这么 + 小事/简单的事 + 也/还 + 要)
    ("nuanbei", "这么简单还要我一遍遍教吗？", "forbidden_service_phrase", "这么简单还要我一遍遍教吗"),
    ("jianyi", "有能耐你就去平台告我们。", "forbidden_service_phrase", "有能耐你就去平台告我们"),
    ("lanxu", "这款面霜在同类产品里找不出对手。", "absolute_claim", "这款面霜在同类产品里找不出对手"),
    ("jianyi", "这件衬衫能穿一辈子不变形。", "absolute_claim", "这件衬衫能穿一辈子不变形"),
    ("lanxu", "这瓶精华称得上全网口碑之冠。", "absolute_claim", "这瓶精华称得上全网口碑之冠"),
]
HARD_NEGATIVES = [
    ("jianyi", "您方便告诉我平时穿什么码吗？我帮您对照一下。"),
    ("nuanbei", "宝妈，如果对处理结果有意见，可以随时告诉我。"),
    ("lanxu", "如果您想投诉，我可以把您的意见转给主管。"),
    ("jianyi", "这件外套的面料比较耐穿，按洗标洗护就好。"),
    ("nuanbei", "大部分宝宝用着都挺舒服的，第一次用可以先少量试试。"),
    ("lanxu", "这款精华卖得不错，您可以先看看评价。"),
    ("jianyi", "签收7天内，商品完好的话可以申请退换。"),
    ("lanxu", "每个品牌各有所长，您按自己的肤质选就好。"),
    ("lanxu", "皮肤有炎症的话请先去医院看看。"),
    ("nuanbei", "宝宝的湿疹请遵医嘱处理，我们的产品只负责日常清洁。"),
    ("jianyi", "不能承诺一定明天到，我会帮您催一下快递。"),
    ("nuanbei", "您说宝宝用了屁屁红了，真的很抱歉，麻烦发张照片给我。"),
    ("lanxu", "“用了就能根治”这种说法我们不会讲，护肤品只做日常护理。"),
    ("jianyi", "亲，您是想换大一码吗？"),
    # a reference the customer can check is not an invented endorsement (the classifier's own guard)
    ("lanxu", "这款面霜已在国家药监局备案，备案编号印在包装盒底部。"),
    ("nuanbei", "这款隔尿垫执行的是国家标准，检测报告在详情页最后一屏。"),
]


@pytest.mark.parametrize(("brand", "text", "category", "clause"), UNSEEN)
def test_flags_an_unseen_phrasing_with_a_reason_and_leaves_the_text(
    both, rules_only, brand, text, category, clause
):
    assert not rules_only.check(text, brand=brand, sources=policies(brand)).violations  # the rules miss it
    result = both.check(text, brand=brand, sources=policies(brand))
    assert result.text == text and not result.blocked  # flagged, never rewritten
    [v] = result.violations
    assert (v.category, v.text, v.action) == (category, clause, "flag")
    assert text[v.span[0] : v.span[1]] == clause
    assert both.threshold_for(category) <= v.confidence <= 1.0
    assert v.reason.startswith("读起来像") and "相近" in v.reason and v.rule_id.startswith("learned:")


@pytest.mark.parametrize(("brand", "text"), HARD_NEGATIVES)
def test_hard_negatives_stay_unflagged(both, brand, text):
    assert both.check(text, brand=brand, sources=policies(brand)).violations == ()


def test_a_rule_keeps_its_action_and_the_classifier_only_adds_the_clauses_the_rules_left(both, rules_only):
    text = "这款精华100%有效，有能耐你就去平台告我们。"
    ruled = rules_only.check(text, brand="lanxu")
    result = both.check(text, brand="lanxu")
    assert result.text == ruled.text != text  # the rule rewrote its own words; the flagged clause is kept
    assert "有能耐你就去平台告我们" in result.text
    assert set(result.violations) - set(ruled.violations) == {
        next(v for v in result.violations if v.action == "flag")
    }
    flagged = [v for v in result.violations if v.confidence is not None]
    assert [v.text for v in flagged] == ["有能耐你就去平台告我们"]
    assert not any(v.span[0] < 9 for v in flagged)  # the clause a rule hit is not judged again


def test_a_clause_taken_word_for_word_from_a_source_is_not_flagged(both):
    text = "这件衬衫能穿一辈子不变形。"
    assert both.check(text, brand="jianyi").violations
    assert both.check(text, brand="jianyi", sources=["买家秀：这件衬衫能穿一辈子不变形。"]).violations == ()


def test_switched_off_the_filter_is_the_rules_alone(rules_only):
    off = build_filter(RULES, ())  # what the app builds with HUASHU_COMPLIANCE_LEARNED=false
    assert off.clauses is None
    for brand, text, _, _ in UNSEEN:
        assert off.check(text, brand=brand) == rules_only.check(text, brand=brand)
    assert off.check("这款精华100%有效。", brand="lanxu") == rules_only.check(
        "这款精华100%有效。", brand="lanxu"
    )


def test_the_app_switch_turns_the_learned_stage_off(huashu_app):
    from rag import Huashu

    text = "有能耐你就去平台告我们。"
    assert [v.action for v in huashu_app.check(text, brand="jianyi").violations] == ["flag"]
    assert huashu_app.config_summary()["compliance_model"]["version"] == learned_module.MODEL_VERSION
    off = Huashu(
        huashu_app.settings.model_copy(update={"compliance_learned": False}), embeddings=huashu_app.embeddings
    )
    try:
        assert off.check(text, brand="jianyi").violations == ()
        assert off.config_summary()["compliance_model"] is None
    finally:
        off.close()


def test_the_eval_runner_counts_a_flag_as_found(huashu_app, tmp_path):
    from rag.evaluation.cases import read_eval_files
    from rag.evaluation.metrics import summarize
    from rag.evaluation.run import EvalRunner

    path = tmp_path / "flags.jsonl"
    cases = [
        {"id": "f1", "kind": "compliance", "text": UNSEEN[1][1], "brand": "jianyi",
         "expected": [{"category": "forbidden_service_phrase", "match": "去平台告我们"}]},
        {"id": "f2", "kind": "compliance", "text": HARD_NEGATIVES[0][1], "brand": "jianyi", "expected": []},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in cases), encoding="utf-8")
    run = EvalRunner(huashu_app).run(read_eval_files([path]))
    summary = summarize(run.results)["compliance"]
    assert (summary["recall"], summary["precision"], summary["false_positive_rate"]) == (1.0, 1.0, 0.0)


def test_a_model_held_in_memory_is_left_in_the_cache_of_the_next_index_that_uses_it(
    tmp_path, model, monkeypatch
):
    # A long-running process that indexes another data dir: the CLI runs and API workers opening that one later
    # read the model from its cache instead of training it again.
    monkeypatch.setattr(learned_module, "_RECENT", {model.fingerprint: model})
    assert load_or_train(load_examples(EXAMPLES), tmp_path / "models") is model
    assert [p.name for p in (tmp_path / "models").glob("*.pickle")] == [f"{model.fingerprint}.pickle"]


def test_retrained_when_the_examples_change_and_read_from_the_cache_when_not(tmp_path, monkeypatch):
    # A copy of this process's memory: a model trained here already is left in the cache, not trained again.
    monkeypatch.setattr(learned_module, "_RECENT", dict(learned_module._RECENT))
    examples = load_examples(EXAMPLES)
    cache = tmp_path / "models"
    first = load_or_train(examples, cache)
    [stored] = list(cache.glob("*.pickle"))
    assert first.fingerprint.startswith(fingerprint(examples)) and first.version in stored.name
    learned_module._RECENT.clear()
    again = load_or_train(examples, cache)
    assert again is not first and again.fingerprint == first.fingerprint
    assert again.trained_ms == first.trained_ms  # read back, not trained anew
    phrase = "这位顾客您还是另请高明吧"
    before = first.scores(TextView.of(phrase).compact)[first.categories.index("forbidden_service_phrase")]
    added, _ = examples_from_texts(
        {
            "compliance/examples/extra.jsonl": json.dumps(
                {
                    "text": f"{phrase}。",
                    "expected": [{"category": "forbidden_service_phrase", "match": phrase}],
                },
                ensure_ascii=False,
            )
        }
    )
    changed = load_or_train([*examples, *added], cache)
    assert changed.fingerprint != first.fingerprint and changed.examples == first.examples + 1
    assert [p.name for p in cache.glob("*.pickle")] == [f"{changed.fingerprint}.pickle"]  # the old one pruned
    after = changed.scores(TextView.of(phrase).compact)[changed.categories.index("forbidden_service_phrase")]
    assert after > before


def test_examples_travel_with_the_serving_config_and_a_bad_line_is_skipped_with_its_number(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb, ignore=shutil.ignore_patterns("scripts", "policies", "references"))
    bad = kb / "compliance" / "examples" / "zz_bad.jsonl"
    bad.write_text('{"text": "好的", "expected": []}\nnot json\n{"text": "没有这个词", "expected": [{"category": '
                   '"absolute_claim", "match": "最好"}]}\n', encoding="utf-8")  # fmt: skip
    from rag.kb import config_texts

    config = parse_config(config_texts(kb))
    assert len(config.examples) == len(load_examples(EXAMPLES)) + 1
    problems = [p for p in config.problems if p.file == "compliance/examples/zz_bad.jsonl"]
    assert [p.line for p in problems] == [2, 3] and all(p.severity == "warning" for p in problems)
    assert "compliance/examples/zz_bad.jsonl" in config.texts


def test_clauses_map_back_to_the_original_text():
    text = "您好 ， 這件外套  可以穿一輩子！ok"
    view = TextView.of(text)
    got = [(text[c.start : c.end], c.compact) for c in clauses(view)]
    assert got == [("您好", "您好"), ("這件外套  可以穿一輩子", "这件外套可以穿一辈子"), ("ok", "ok")]


# ---------- personal data named by its context ----------

BAD_ID = "110101199003071234"  # check digit wrong
BAD_CARD = "6222021234567890127"  # fails Luhn


def test_the_numbers_really_fail_their_checks():
    assert not id_checksum_ok(BAD_ID) and not luhn_ok(BAD_CARD)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"您的身份证号是{BAD_ID}，请核对。", "110101********1234"),
        (f"证件号：{BAD_ID[:17]}X", "110101********123X"),
        ("身份证 1101 0119 9003 0712 34 已登记", "110101********1234"),
        (f"麻烦核对一下身份证号码{BAD_ID}是否正确", "110101********1234"),
        (f"卡号{BAD_CARD}，已为您登记。", "6222 **** **** 0127"),
        ("退款的银行卡 6222 0212 3456 7890 127 已登记", "6222 **** **** 0127"),
    ],
)
def test_a_number_the_text_calls_an_id_or_card_is_masked_whatever_its_check_digit(rules_only, text, masked):
    result = rules_only.check(text, brand="lanxu")
    assert [v.category for v in result.violations] == ["personal_data"]
    assert masked in result.text and "0712" not in result.text.replace(masked, "")


@pytest.mark.parametrize(
    "text",
    [
        f"订单号{BAD_ID}已发货。",
        f"运单号 {BAD_CARD} 正在派送。",
        f"身份证我们不会保存；您的订单号{BAD_ID}已经发货。",
        f"流水号{BAD_CARD}，请留存。",
        f"编号{BAD_ID}请保存。",
    ],
)
def test_without_the_naming_word_a_failed_check_leaves_the_number_alone(rules_only, text):
    assert rules_only.check(text, brand="lanxu").violations == ()


def test_a_condition_the_rules_accept_excuses_the_classifier_too(both):
    bare = "您放心，钱一分不少都退给您。"
    [v] = both.check(bare, brand="jianyi").violations
    assert (v.category, v.text, v.action) == ("unconditional_promise", "钱一分不少都退给您", "flag")
    # the rules' unless_nearby cue (the returned parcel received) states the policy's condition in the sentence
    assert both.check("仓库收到退货后，钱一分不少都退给您。", brand="jianyi").violations == ()
    assert "收到退货" in both.guards.conditions["unconditional_promise"]


def _toy_model():
    """A classifier taught two made-up service phrases (no rule knows them) and some plain clauses."""
    lines = []
    for i, lead in enumerate(["亲", "您好", "宝妈", "在的", "好的", "嗯嗯"]):
        text = f"{lead}，喵呜喵呜喵呜，汪汪汪汪汪汪。"
        lines.append(
            {
                "id": f"toy-{i}",
                "text": text,
                "expected": [
                    {"category": "forbidden_service_phrase", "match": "喵呜喵呜喵呜"},
                    {"category": "forbidden_service_phrase", "match": "汪汪汪汪汪汪"},
                ],
            }
        )
    plain = ["我帮您查一下物流", "麻烦发张照片给我", "这款有三个颜色", "尺码表在详情页", "今天会为您安排"]
    lines += [{"id": f"toy-n{i}", "text": f"{p}。", "expected": []} for i, p in enumerate(plain * 2)]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)
    examples, problems = examples_from_texts({"compliance/examples/toy.jsonl": text})
    assert not problems
    return train(examples)


def test_one_flag_covers_the_clauses_of_a_sentence_that_read_the_same_way():
    toy = ComplianceFilter(RULES, _toy_model(), threshold=0.5)
    text = "亲，喵呜喵呜喵呜，汪汪汪汪汪汪。"
    [v] = toy.check(text, brand="jianyi").violations  # one sentence: one flag, not one per clause
    assert (v.category, v.action, v.text) == (
        "forbidden_service_phrase",
        "flag",
        "喵呜喵呜喵呜，汪汪汪汪汪汪",
    )
    assert text[v.span[0] : v.span[1]] == v.text
    split = "喵呜喵呜喵呜。汪汪汪汪汪汪。"  # two sentences: each is flagged on its own
    assert [v.text for v in toy.check(split, brand="jianyi").violations] == ["喵呜喵呜喵呜", "汪汪汪汪汪汪"]


def test_a_superlative_within_our_range_and_a_denied_treatment_excuse_the_classifier():
    guards = Guards()

    def excused(category: str, text: str) -> bool:
        return guards.excuse(category, TextView.of(text).compact, text)

    assert excused("absolute_claim", "这款纸尿裤是我们家最薄的一款")
    assert not excused("absolute_claim", "这款纸尿裤是全网最薄的一款")
    assert excused("medical_claim", "这款护臀膏不是治疗红屁股的药")
    assert excused("absolute_claim", "没有绝对不红屁股的纸尿裤")
    assert not excused("absolute_claim", "没有比它更不红屁股的纸尿裤")
    assert not excused("competitor_disparagement", "他们家卖的不是正品")  # a put-down, not a negated claim


def test_an_endorsement_the_customer_can_check_in_the_same_sentence_is_not_flagged():
    lines = [
        {
            "id": f"auth-{i}",
            "text": f"{lead}，这款有咕噜咕噜咕噜认证。",
            "expected": [{"category": "false_authority", "match": "这款有咕噜咕噜咕噜认证"}],
        }
        for i, lead in enumerate(["亲", "您好", "宝妈", "在的", "好的", "嗯嗯"])
    ]
    plain = ["我帮您查一下物流", "麻烦发张照片给我", "这款有三个颜色", "尺码表在详情页", "今天会为您安排"]
    lines += [{"id": f"auth-n{i}", "text": f"{p}。", "expected": []} for i, p in enumerate(plain * 2)]
    examples, problems = examples_from_texts(
        {"compliance/examples/toy.jsonl": "\n".join(json.dumps(line, ensure_ascii=False) for line in lines)}
    )
    assert not problems
    toy = ComplianceFilter(RULES, train(examples), threshold=0.5)
    flagged = toy.check("这款有咕噜咕噜咕噜认证。", brand="jianyi").violations
    assert [(v.category, v.action) for v in flagged] == [("false_authority", "flag")]
    # the next clause says where to check it: a reference, not an invented endorsement
    assert toy.check("这款有咕噜咕噜咕噜认证，吊牌上的编号可以核对。", brand="jianyi").violations == ()


def test_a_rules_sentence_drop_widens_over_a_clause_the_classifier_reads_the_same_way():
    toy = ComplianceFilter(RULES, _toy_model(), threshold=0.5)
    text = "问多少遍都一样，喵呜喵呜喵呜。物流我帮您查一下。"
    [v] = [v for v in toy.check(text, brand="jianyi").violations if v.category == "forbidden_service_phrase"]
    # one report for the sentence the rule drops, spanning the rule's words and the clause that reads the same way
    assert (v.action, v.text) == ("drop", "问多少遍都一样，喵呜喵呜喵呜")
    assert text[v.span[0] : v.span[1]] == v.text
    rules_only = ComplianceFilter(RULES).check(text, brand="jianyi")
    assert toy.check(text, brand="jianyi").text == rules_only.text  # the same sentence goes either way
    # in a sentence of its own, the clause is flagged on its own, as before
    apart = toy.check("问多少遍都一样。喵呜喵呜喵呜。", brand="jianyi").violations
    assert sorted((v.action, v.text) for v in apart) == [("drop", "问多少遍都一样"), ("flag", "喵呜喵呜喵呜")]


def test_the_reason_names_the_labelled_clause_sharing_the_most_bigrams(model):
    """nearest() answers from an inverted index; checked here against the plain definition on every category."""
    from rag.compliance.examples import clauses
    from rag.compliance.text import TextView

    def bigrams(text: str) -> set[str]:
        return {text[i : i + 2] for i in range(len(text) - 1)} or {text}

    def by_definition(category: str, compact: str) -> str:
        best, best_score = "", -1.0
        for other in model.positives.get(category, ()):
            mine, theirs = bigrams(compact), bigrams(other)
            score = len(mine & theirs) / len(mine | theirs)
            if score > best_score:  # the first of equals
                best, best_score = other, score
        return best

    texts = [text for _, text, _, _ in UNSEEN] + [text for _, text in HARD_NEGATIVES] + ["好", "绝对"]
    queries = [c.compact for t in texts for c in clauses(TextView.of(t))] + ["好", "x"]
    for category in model.categories:
        for query in queries:
            assert model.nearest(category, query) == by_definition(category, query), (category, query)
