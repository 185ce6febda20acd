"""Compliance wording families found by the sixth round of tune authors (compliance_dev6: exaggerated repetition,
daring the customer to complain, "not ours to handle", sending the customer off to look it up, any-customer and
multiplied effect claims, open-ended price-drop refunds, rivals' products run down by one trait): each new pattern
finds its family in fresh wording, and each new guard leaves legitimate text alone."""

from __future__ import annotations

import pytest
from compliance_support import found

FAMILIES = [
    # (category, text, match); our own sentences, not the tune authors'
    ("forbidden_service_phrase", "尺码表群里讲过上千次了。", "讲过上千次"),
    ("forbidden_service_phrase", "这已经是第四次来问运费了。", "第四次来问"),
    ("forbidden_service_phrase", "要投诉就投吧，流程不会变。", "要投诉就投吧"),
    ("forbidden_service_phrase", "有本事您就去举报。", "有本事您就去举报"),
    ("forbidden_service_phrase", "漏发的事您找其他客服吧。", "您找其他客服"),
    ("forbidden_service_phrase", "地址填错那是您自己的事。", "那是您自己的事"),
    ("forbidden_service_phrase", "双十一这么忙，哪来的功夫挨个回。", "哪来的功夫挨个"),
    ("forbidden_service_phrase", "看不明白就算了。", "不明白就算了"),
    ("forbidden_service_phrase", "面料参数麻烦你自行查阅。", "麻烦你自行查阅"),
    ("forbidden_service_phrase", "等您心情平复了我们再沟通。", "等您心情平复了我们再沟通"),
    ("forbidden_service_phrase", "退款进度这事我插不上手。", "插不上手"),
    ("forbidden_service_phrase", "什么时候到货不是我们能决定的。", "不是我们能决定的"),
    ("forbidden_service_phrase", "觉得不值的话，您也可以不买。", "觉得不值的话，您也可以不买"),
    ("forbidden_service_phrase", "要就下单，不要拉倒。", "不要拉倒"),
    ("absolute_claim", "这双袜子洗几百次都不会破。", "洗几百次都不会破"),
    ("absolute_claim", "这款爽身粉比普通的好用一百倍。", "好用一百倍"),
    ("absolute_claim", "再挑食的宝宝都能接受这个口味。", "再挑食的宝宝都能接受"),
    ("absolute_claim", "用过这款面膜的顾客没有一个不说好。", "没有一个不说好"),
    ("absolute_claim", "这顶遮阳帽能挡掉全部紫外线。", "挡掉全部紫外线"),
    ("absolute_claim", "它是同价位里唯一真正有效的防晒。", "唯一真正有效"),
    ("competitor_disparagement", "那家的睡袋又闷又硬，宝宝睡着遭罪。", "又闷又硬"),
    ("false_authority", "这件大衣好几位影后都穿过。", "好几位影后都穿过"),
    ("unconditional_promise", "以后降多少我们就补多少。", "降多少我们就补多少"),
    ("unconditional_promise", "走顺丰，绝对不会有延误。", "绝对不会有延误"),
    ("medical_claim", "穿这款纯棉衣服就不长痱子了。", "不长痱子"),
]


@pytest.mark.parametrize(("category", "text", "match"), FAMILIES)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


LEFT_ALONE = [
    # (text, the categories that must stay quiet)
    ("这个我说了不算，我帮您申请一下主管审批。", {"forbidden_service_phrase"}),
    ("价保期内降价的话，差多少补多少，超过30天就不再补了。", {"unconditional_promise"}),
    ("要是一两天还没消下去，最好带宝宝去医院看看。", {"ungrounded_commitment", "medical_claim"}),
    ("若正在接受皮肤科治疗，请先问问主治医生。", {"medical_claim"}),
    ("我帮您把两张券和满减算了一下，这是最划算的组合。", {"absolute_claim"}),
    ("宝宝会不会长痱子和穿多少也有关系，别捂太厚。", {"medical_claim"}),
    ("大促期间仓库一天上万单，我这就帮您催一下。", {"ungrounded_commitment"}),
]


@pytest.mark.parametrize(("text", "quiet"), LEFT_ALONE)
def test_family_guard_leaves_text_alone(cf, text, quiet):
    result = cf.check(text, brand="nuanbei")
    assert not [v for v in result.violations if v.category in quiet], result.violations
