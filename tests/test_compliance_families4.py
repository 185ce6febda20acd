"""Compliance wording families found by the fourth round of tune authors (service phrases, promises,
disparagement, authority): each new pattern finds its family, and each new guard leaves legitimate text alone."""

from __future__ import annotations

import pytest
from compliance_support import found

FAMILIES = [
    # (category, text, match)
    ("forbidden_service_phrase", "您填地址的时候能不能仔细点？", "能不能仔细点"),
    ("forbidden_service_phrase", "这种事搜一下就知道了。", "搜一下就知道"),
    ("forbidden_service_phrase", "洗涤方法吊牌上都有，这也要问吗？", "这也要问"),
    ("forbidden_service_phrase", "这单处理轮不着我们，您找平台吧。", "轮不着我们"),
    ("forbidden_service_phrase", "您跟我们闹也没用，流程就这样。", "跟我们闹也没用"),
    ("forbidden_service_phrase", "实在着急的话那就去别的店买呗。", "去别的店买呗"),
    ("forbidden_service_phrase", "差评你随便打，无所谓。", "差评你随便打"),
    ("forbidden_service_phrase", "起球是您的洗法不对造成的。", "是您的洗法不对"),
    ("forbidden_service_phrase", "物流慢跟我们店也没关系。", "跟我们店也没关系"),
    ("forbidden_service_phrase", "单号都在订单里，往上翻翻聊天记录。", "往上翻翻聊天记录"),
    ("forbidden_service_phrase", "我早回复过你两遍了。", "回复过你两遍"),
    ("unconditional_promise", "衣服不喜欢的话多久都可以给您换。", "多久都可以给您换"),
    ("unconditional_promise", "穿出门逛了一天也照样能退。", "穿出门逛了一天也照样能退"),
    ("unconditional_promise", "只要您开口，二话不说直接退。", "二话不说直接退"),
    ("unconditional_promise", "有什么问题店里都兜底。", "有什么问题店里都兜底"),
    ("unconditional_promise", "后天一准送到您家门口。", "后天一准送到"),
    ("unconditional_promise", "货还在路上，退款先给您打回去。", "退款先给您打回去"),
    ("competitor_disparagement", "那个网红小店的毛衣全是回收棉。", "回收棉"),
    ("competitor_disparagement", "别家的保温杯用久了有塑化剂。", "塑化剂"),
    ("false_authority", "这款奶粉罐是慈善基金会指定合作产品。", "基金会指定"),
    ("false_authority", "我们是品牌方唯一授权的店铺。", "唯一授权"),
    ("false_authority", "这款面膜进了官方推荐目录。", "官方推荐目录"),
]


@pytest.mark.parametrize(("category", "text", "match"), FAMILIES)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


LEFT_ALONE = [
    "根据您的订单信息，快递明天就能送到。",  # a date read off the order, not a promise
    "这款洗衣液的去污力吊打同类产品。",  # praising ourselves: an absolute claim, not disparagement
    "您更想换货还是退款呢？我按您选的来。",
    "收到退货后，退款我们会在24小时内原路退回。",
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_family_guard_leaves_text_alone(cf, text):
    result = cf.check(text, brand="jianyi")
    mine = {
        "forbidden_service_phrase",
        "unconditional_promise",
        "competitor_disparagement",
        "false_authority",
    }
    assert not [v for v in result.violations if v.category in mine], result.violations
