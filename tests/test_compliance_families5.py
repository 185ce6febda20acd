"""Compliance wording families found by the fifth round of tune authors (compliance_dev5: blaming and brushing-off
service phrases, effect guarantees, cell-level and disease claims, invented sales figures): each new pattern finds its
family in fresh wording, and each new guard leaves legitimate text alone."""

from __future__ import annotations

import pytest
from compliance_support import found

FAMILIES = [
    # (category, text, match); our own sentences, not the tune authors'
    ("forbidden_service_phrase", "颜色图里都标了，拍之前不看吗？", "拍之前不看吗"),
    ("forbidden_service_phrase", "用了一个月又来挑毛病，这就说不过去了。", "又来挑毛病"),
    ("forbidden_service_phrase", "鞋子好好的为什么要退呢？", "好好的为什么要退"),
    ("forbidden_service_phrase", "盖子漏水估计是您没拧到位。", "估计是您没拧"),
    ("forbidden_service_phrase", "消息您没看到，那是您的问题。", "是您的问题"),
    ("forbidden_service_phrase", "这种成分您上网搜搜就有。", "您上网搜"),
    ("forbidden_service_phrase", "包裹压坏了请您自行与物流沟通。", "自行与物流"),
    ("forbidden_service_phrase", "我们哪有功夫一个个回。", "我们哪有功夫"),
    ("forbidden_service_phrase", "就这个价，没啥好谈的。", "没啥好谈的"),
    ("forbidden_service_phrase", "退不了的，别浪费口舌了。", "别浪费口舌"),
    ("absolute_claim", "这瓶保湿水一瓶下去就能搞定干皮。", "一瓶下去就能搞定"),
    ("absolute_claim", "脸上的红血丝两周就消了。", "红血丝两周就消了"),
    ("absolute_claim", "这款爬行垫怎么摔都摔不破。", "摔不破"),
    ("absolute_claim", "这批次质检零缺陷。", "零缺陷"),
    ("absolute_claim", "这个洗发水泡到眼睛里也绝对不会辣眼睛。", "绝对不会辣眼睛"),
    ("medical_claim", "这款精华能唤醒肌肤干细胞。", "唤醒肌肤干细胞"),
    ("medical_claim", "天天穿这件内衣能少感冒。", "少感冒"),
    ("medical_claim", "这个定型枕还能预防宝宝偏头。", "预防宝宝偏头"),
    ("false_authority", "我们和国际大牌是同一代工厂出来的。", "同一代工厂"),
    ("unconditional_promise", "一旦降价了，客服都给您退差价。", "一旦降价了，客服都给您退差价"),
    ("unconditional_promise", "发顺丰，隔日必达。", "隔日必达"),
    ("unconditional_promise", "质量问题一律包退。", "一律包退"),
    ("unconditional_promise", "您有什么要求我们都能满足。", "什么要求我们都能满足"),
    ("ungrounded_commitment", "这款打底衫去年卖出了二十多万件。", "卖出了二十多万件"),
    ("ungrounded_commitment", "明天之内一定给您答复。", "明天之内一定给您答复"),
]


@pytest.mark.parametrize(("category", "text", "match"), FAMILIES)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


LEFT_ALONE = [
    # (text, the categories that must stay quiet)
    ("宝妈，不是您的问题，是我刚才没写清楚。", {"forbidden_service_phrase"}),
    ("已经发货了没法改地址了，您可以收到后拒收，我帮您备注跟进。", {"forbidden_service_phrase"}),
    ("七天内没穿过洗过、吊牌还在的都可以退换。", {"unconditional_promise"}),
    ("这款奶瓶是妇幼协会唯一指定品牌。", {"absolute_claim"}),  # the authority rule reports it, once
    ("下单前不确定尺码的话，可以把身高体重发我。", {"forbidden_service_phrase"}),
    ("如果降价了，您可以联系我们按价保规则申请。", {"unconditional_promise"}),
]


@pytest.mark.parametrize(("text", "quiet"), LEFT_ALONE)
def test_family_guard_leaves_text_alone(cf, text, quiet):
    result = cf.check(text, brand="nuanbei")
    assert not [v for v in result.violations if v.category in quiet], result.violations
