"""Compliance wording families found by the third round of tune authors: each new rule, detector and guard."""

from __future__ import annotations

import pytest
from compliance_support import found

# The two compensation policies as the knowledge base states them: a title, then bullet points.
DAMAGE = (
    "# 破损、漏发、错发处理\n\n## 处理办法\n- 补发还是退款，由顾客选择。\n- 可以送顾客一张5元无门槛致歉券。\n"
)
COMPLAINT = "# 服务投诉处理与致歉补偿\n\n投诉经核实属实的，可以送顾客一张20元无门槛致歉券，30天内有效。\n"
REFUND = "# 退款\n\n退货包裹签收后24小时内处理退款，退款原路退回。\n"
POLICIES = (DAMAGE, COMPLAINT, REFUND)


FAMILIES = [
    # (category, text, match)
    ("absolute_claim", "这款乳液不管什么肤质的人用了都不会刺激。", "都不会刺激"),
    ("absolute_claim", "这款爽肤水所有体质的宝宝都能放心用。", "所有体质的宝宝都能放心用"),
    ("absolute_claim", "这件卫衣谁穿谁好看。", "谁穿谁好看"),
    ("absolute_claim", "这款隔尿垫终身不会漏。", "终身不会漏"),
    ("absolute_claim", "这双袜子穿一辈子都不起球。", "一辈子都不"),
    ("absolute_claim", "这款精华用了以后黑眼圈能彻底去掉。", "彻底去掉"),
    ("absolute_claim", "防水性能吊打同价位所有品牌。", "吊打同价位"),
    ("absolute_claim", "在抗老精华里是断层第一。", "断层第一"),
    ("absolute_claim", "没有哪家能比得过我们的吸水量。", "没有哪家能比得过"),
    ("absolute_claim", "敷一周皮肤能年轻三岁。", "年轻三岁"),
    ("absolute_claim", "这款面霜能让您的皮肤在三天内见效。", "三天内见效"),
    ("medical_claim", "这款爽身粉专治宝宝痱子。", "专治"),
    ("medical_claim", "这个书包能纠正孩子的驼背。", "纠正孩子的驼背"),
    ("medical_claim", "这款精华适合点痣后的伤口使用。", "点痣后的伤口"),
    ("medical_claim", "这款面霜是按药品标准生产的。", "按药品标准"),
    ("medical_claim", "宝宝湿疹用了以后再也不复发。", "再也不复发"),
    ("ungrounded_commitment", "退款会在今晚八点前到账。", "今晚八点前到账"),
    ("ungrounded_commitment", "物流延误超过两天我们赔您10元。", "赔您10元"),
    ("ungrounded_commitment", "商品有问题的话我们三倍赔偿。", "三倍赔偿"),
    ("ungrounded_commitment", "七天无理由从您付款那天开始算。", "从您付款"),
    ("ungrounded_commitment", "这张券有效期一年。", "一年"),
]


@pytest.mark.parametrize(("category", "text", "match"), FAMILIES)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei", sources=POLICIES)
    assert found(result, category, match, text), result.violations


LEFT_ALONE = [
    "无论什么肤质都建议先在耳后做局部测试。",
    "所有订单都可以用这张券。",
    "今天有秒杀活动，秒杀价以页面为准。",
    "您的退款已于今天下午到账，请查收。",
    "预售款预计6月10号前发货，具体以商品页为准。",
    "这款定型枕不能矫正头型，头型问题建议咨询儿科医生。",
    "产品能否改善痘痘我们不能保证，反复发作建议去皮肤科就诊。",
    "这款精华的有效期是3年，开封后建议12个月内用完。",
    "奶瓶用温水浸泡后可以彻底清除奶渍。",
    "这件外套终身免费保修。",  # an unconditional promise, not an absolute claim
    "这款修护霜敏感肌泛红三天就能消炎。",  # a medical claim, but no number we promise
    "您一分钟发了十几条消息，我都看到了。",
    "我们的客服热线是0571-88886666。",
    "您的运单号码是 773012345678，可以在订单页查看。",
    "这条裤子比上一代更显瘦。",
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_family_guard_leaves_text_alone(cf, text):
    result = cf.check(text, brand="nuanbei", sources=POLICIES)
    mine = {"absolute_claim", "personal_data", "ungrounded_commitment"}
    if "消炎" not in text:
        mine.add("medical_claim")
    assert [v for v in result.violations if v.category in mine] == []


def test_a_compensation_is_grounded_only_by_the_policy_of_its_own_case(cf):
    broken = "奶瓶摔裂了真抱歉，送您一张20元无门槛券。"
    assert found(cf.check(broken, sources=POLICIES), "ungrounded_commitment", "20元", broken)
    assert cf.check("奶瓶摔裂了真抱歉，送您一张5元无门槛券。", sources=POLICIES).violations == ()
    complaint = "您的投诉已核实，送您一张20元无门槛券，30天内有效。"
    assert cf.check(complaint, sources=POLICIES).violations == ()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("核对一下手机：一五八一二三四五六七八。", "核对一下手机：158****5678。"),
        ("联系电话：0571-88886666。", "联系电话：057****6666。"),
        ("快递员说打 176 5432 1098 没人接。", "快递员说打 176****1098 没人接。"),
        ("退到这张卡：6217 0012 3000 4567 888。", "退到这张卡：6217 **** **** 7888。"),
        ("地址：成都市武侯区天府大道北段1700号。", "地址：成都市武侯区****。"),
    ],
)
def test_more_personal_data_is_masked(cf, text, masked):
    result = cf.check(text)
    assert result.text == masked
    assert {v.action for v in result.violations} == {"mask"}
