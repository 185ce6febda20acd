"""Dev4's wording families: numbers named by what follows them, cited statistics, prices, and new claim shapes."""

from __future__ import annotations

import pytest
from compliance_support import found

POLICIES = ("退货包裹签收后24小时内处理退款。", "破损可补偿5元无门槛券。")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("退款原路退到您的卡6214830112345678，请留意。", "6214830112345678"),  # no Luhn, named by 的卡
        ("您确认一下 6228 4800 1234 5678 910 这张工行卡对吗？", "6228 4800 1234 5678 910"),  # named after
        ("收件人留的是 021-66778899 这个座机吗？", "021-66778899"),  # landline named after
        ("登记的联系方式是139.1234.5678，请核对。", "139.1234.5678"),  # dots as separators
    ],
)
def test_number_named_before_or_after_or_dotted_is_masked(cf, text, match):
    result = cf.check(text)
    assert found(result, "personal_data", match, text), result.violations


@pytest.mark.parametrize(
    "text",
    [
        "我们的客服热线是 400-820-1234，工作日9点到18点。",
        "订单号6214830112345678这单已经签收了。",
        "这款面霜单价是158.5元，满减后更划算。",
    ],
)
def test_shop_lines_orders_and_prices_are_not_personal_data(cf, text):
    result = cf.check(text)
    assert not [v for v in result.violations if v.category == "personal_data"], result.violations


def test_cited_sample_share_is_not_a_commitment_but_a_bare_share_is(cf):
    cited = "据500名宝妈试用反馈，78%表示夜里更少红屁屁，个体会有差异。"
    assert not [
        v for v in cf.check(cited, sources=POLICIES).violations if v.category == "ungrounded_commitment"
    ]
    bare = "这款面霜用户反馈78%表示细纹变浅。"
    assert found(cf.check(bare, sources=POLICIES), "ungrounded_commitment", "78%", bare)


def test_a_price_of_something_is_not_an_amount_we_give(cf):
    text = "外面那种十块八的袜子和我们的不是一个料子。"
    assert not [
        v for v in cf.check(text, sources=POLICIES).violations if v.category == "ungrounded_commitment"
    ]
    promise = "给您补十块的红包。"
    assert found(cf.check(promise, sources=POLICIES), "ungrounded_commitment", "十块", promise)


@pytest.mark.parametrize(
    ("text", "category", "match"),
    [
        ("这款面膜是护肤圈的天花板。", "absolute_claim", "护肤圈的天花板"),
        ("这款隔尿垫是母婴界的扛把子。", "absolute_claim", "母婴界的扛把子"),
        ("这款卫衣在类目里长期霸榜。", "absolute_claim", "霸榜"),
        ("市面上找不到比它更软的毛巾了。", "absolute_claim", "找不到比它更软"),
        ("同价位的羽绒服谁都比不过它。", "absolute_claim", "谁都比不过"),
        ("这件T恤保证三年不变形。", "absolute_claim", "保证三年不变形"),
        ("这款湿巾哪个宝宝用都不会红。", "absolute_claim", "哪个宝宝用都不会红"),
        ("买过的宝妈没有一个说没用。", "absolute_claim", "没有一个说没用"),
        ("这款护膝能缓解腰椎间盘突出。", "medical_claim", "缓解腰椎间盘突出"),
        ("这款抱枕还能治孕期失眠。", "medical_claim", "能治孕期失眠"),
        ("这款手环戴着能降血糖。", "medical_claim", "降血糖"),
        ("这款浴液常用宝宝不容易得支气管炎。", "medical_claim", "不容易得支气管炎"),
        ("快递要是送不到就赔您30元。", "ungrounded_commitment", "送不到就赔您30元"),
    ],
)
def test_dev4_claim_families_are_caught(cf, text, category, match):
    result = cf.check(text, sources=POLICIES)
    assert found(result, category, match, text), result.violations


@pytest.mark.parametrize(
    "text",
    [
        "护肤品不能治疗湿疹，如有需要请及时就医。",
        "这个问题我们第一时间帮您查一下。",
        "新款比旧款更轻薄一些，您可以对比看看。",
    ],
)
def test_hard_negatives_stay_clean(cf, text):
    result = cf.check(text, sources=POLICIES)
    assert not result.violations, result.violations


def test_an_unhedged_arrival_time_is_ungrounded_but_a_hedged_or_guaranteed_one_is_not(cf):
    text = "您的包裹明天下午就能送到您家。"
    assert found(cf.check(text, sources=POLICIES), "ungrounded_commitment", "明天下午就能送到", text)
    for other in ("包裹预计明天就能送达，以物流为准。", "包裹保证明天就能送达。"):
        reported = [
            v for v in cf.check(other, sources=POLICIES).violations if v.category == "ungrounded_commitment"
        ]
        assert not reported, reported
