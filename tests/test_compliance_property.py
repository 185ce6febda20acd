"""Property tests: the filter never raises, and every span lies inside the text it was given."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.compliance import ComplianceFilter
from rag.compliance.text import normalize_offsets
from rag.normalize import normalize_with_offsets

RULES = Path(__file__).resolve().parents[1] / "knowledge_base" / "compliance" / "rules.yaml"
CF = ComplianceFilter.from_file(RULES)

# Pieces that exercise the matcher: terms, disguise characters, numbers, personal data, punctuation.
PIECES = [
    "100%有效", "絕對", "最好的", "第一时间", "国家级", "治疗湿疹", "随便退", "都是假货", "我不知道", "没办法",
    "24小时", "七天", "五元", "13812345678", "138****5678", "110101199003071233", "6222021234567890128",
    "a@b.cn", "浙江省杭州市西湖区文三路478号", "而且", "。", "，", "！", "？", "~", " ", "\u200b", "＊", "－",
    "１００％", "“", "”", "不能", "这种说法", "😀", "\n", "İ", "ﬁ", "㈠", "\x00",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=40).map("".join),
)
brands = st.sampled_from([None, "lanxu", "nuanbei", "jianyi", "unknown"])
sources = st.lists(
    st.one_of(st.text(max_size=40), st.sampled_from(["24小时内发货", "5元券", "7天无理由"])), max_size=3
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, brand=brands, srcs=sources)
def test_check_never_raises_and_spans_lie_inside_the_text(text, brand, srcs):
    result = CF.check(text, brand=brand, sources=srcs, order_facts={"amount": "59"})
    assert isinstance(result.text, str)
    for v in result.violations:
        start, end = v.span
        assert 0 <= start <= end <= len(text)
        assert text[start:end] == v.text
        assert v.action in {"rewrite", "drop", "mask", "flag", "block"}


@settings(max_examples=300, deadline=None)
@given(text=texts, brand=brands)
def test_no_personal_data_survives_the_filter(text, brand):
    result = CF.check(text, brand=brand)
    again = CF.check(result.text, brand=brand)
    assert not [v for v in again.violations if v.category == "personal_data"]


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_fast_normalisation_matches_the_shared_one(text):
    assert normalize_offsets(text) == normalize_with_offsets(text)
