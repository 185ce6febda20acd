"""Compliance wording families found by the seventh round of tune authors (compliance_dev7: retorts that sound
polite, blaming the customer for a mishap, "no means no", dropping the return and dispatch conditions, diseases a
wash or cream "sorts out", rivals run down for pirating or ageing formulas, event and broadcaster endorsements):
each new pattern finds its family in fresh wording, and each new guard leaves legitimate text alone."""

from __future__ import annotations

import pytest
from compliance_support import found

FAMILIES = [
    # (category, text, match); our own sentences, not the tune authors'
    ("forbidden_service_phrase", "这事您找我也白找，得问仓库。", "找我也白找"),
    ("forbidden_service_phrase", "没有赠品就是没有赠品。", "没有赠品就是没有赠品"),
    ("forbidden_service_phrase", "五块钱的运费，至于吗？", "至于吗"),
    ("forbidden_service_phrase", "杯盖是您自己磕坏的吧？", "是您自己磕坏的"),
    ("forbidden_service_phrase", "您连颜色都能选错，我们也没办法。", "您连颜色都能选错"),
    ("forbidden_service_phrase", "投诉到哪儿，最后结果都一样。", "投诉到哪儿，最后结果都一样"),
    ("forbidden_service_phrase", "麻烦不要一直发问号。", "不要一直发"),
    ("forbidden_service_phrase", "奶粉都喝了大半罐了还说不合适？", "都喝了大半罐了还说"),
    ("forbidden_service_phrase", "这是您自己的保管问题。", "是您自己的保管问题"),
    ("forbidden_service_phrase", "售后进度客服不做解答。", "不做解答"),
    ("forbidden_service_phrase", "这批货要等工厂，您天天催我也变不出衣服来。", "变不出衣服来"),
    ("absolute_claim", "敷完第二天黑头全部消失。", "黑头全部消失"),
    ("absolute_claim", "这双雨靴怎么踩都没事。", "怎么踩都没事"),
    ("absolute_claim", "这床被子零下二十度盖着也不冷。", "零下二十度盖着也不冷"),
    ("absolute_claim", "这款拉拉裤一整晚都不会漏。", "一整晚都不会漏"),
    ("absolute_claim", "这条裙子谁穿都显瘦。", "谁穿都显瘦"),
    ("unconditional_promise", "包裹出库以后规格也能随时帮您改。", "出库以后规格也能随时帮您改"),
    ("unconditional_promise", "哪怕已经发出去了也能帮您追回来。", "哪怕已经发出去了也能"),
    ("unconditional_promise", "退货这块没有任何要求。", "退货这块没有任何要求"),
    ("unconditional_promise", "国庆节假日也正常48小时内揽收。", "节假日也正常48小时内揽收"),
    ("medical_claim", "宝宝的奶癣用它洗几次就能洗好。", "奶癣用它洗几次就能洗好"),
    ("medical_claim", "湿疹急性期也可以放心用。", "湿疹急性期也可以"),
    ("competitor_disparagement", "那家的款式都是盗版我们的。", "盗版"),
    ("false_authority", "这款保温杯是亚运会合作款。", "亚运会合作"),
    ("false_authority", "央视还采访过我们老板。", "央视还采访"),
]


@pytest.mark.parametrize(("category", "text", "match"), FAMILIES)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


LEFT_ALONE = [
    # (text, the categories that must stay quiet)
    ("满减和券可以叠加，下单时系统会帮您算出最低价。", {"absolute_claim"}),
    ("新奶嘴先用清水洗净，再煮沸消毒三分钟。", {"ungrounded_commitment"}),
    ("试用的顾客里约六成反馈三周后干燥有所改善，因人而异。", {"ungrounded_commitment"}),
    ("物流刚更新，您等一两天再看看，有变化我第一时间告诉您。", {"ungrounded_commitment"}),
    ("穿过的裤子会影响二次销售，要是质量问题可以拍照，我帮您申请售后。", {"competitor_disparagement"}),
    ("您说的湿疹问题，建议先去医院看看，这款身体乳只做日常保湿。", {"absolute_claim"}),
]


@pytest.mark.parametrize(("text", "quiet"), LEFT_ALONE)
def test_family_guard_leaves_text_alone(cf, text, quiet):
    result = cf.check(text, brand="nuanbei")
    assert not [v for v in result.violations if v.category in quiet], result.violations


def test_an_id_number_given_for_real_name_checks_is_personal_data_whatever_its_check_digit(cf):
    text = "清关需要实名：王小明，11010519900307123X。"  # a made-up number whose check digit is wrong
    result = cf.check(text, brand="lanxu")
    assert found(result, "personal_data", "11010519900307123X", text), result.violations
    assert "11010519900307123X" not in result.text
