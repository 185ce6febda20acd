"""Order facts are pasted into replies: each one is checked against the shape the platform writes it in."""

from __future__ import annotations

import re

import pytest
from conftest import run_cli

from rag import BadInputError

DAMAGED = "快递到了，盒子压扁了，里面的奶瓶也裂了"


@pytest.mark.parametrize(
    "order,shown",
    [
        ({"order_id": "2026112212345678"}, "2026112212345678"),
        ({"order_id": "TB-20261122_0001"}, "TB-20261122_0001"),
        (
            {"order_id": "２０２６１１２２１２３４５６７８"},
            "2026112212345678",
        ),  # full-width, pasted from a desk
        ({"order_id": "  2026112212345678 \n"}, "2026112212345678"),
        ({"order_id": "2026112212345678", "tracking_no": ""}, "2026112212345678"),  # a blank fact is no fact
    ],
)
def test_well_formed_order_facts_reach_the_draft(huashu_app, order, shown):
    result = huashu_app.draft(DAMAGED, brand="nuanbei", order=order)
    assert shown in result.draft and result.order["order_id"] == shown


@pytest.mark.parametrize(
    "order,words",
    [
        ({"order_id": "abc;rm -rf /<script>"}, "订单号（order_id）格式不对"),
        ({"order_id": "1" * 5000}, "订单号（order_id）格式不对"),
        ({"order_id": "2026 1122"}, "order_id"),
        ({"tracking_no": "SF123<b>"}, "运单号（tracking_no）"),
        ({"carrier": "顺丰{order_id}"}, "快递公司（carrier）"),
        ({"order_status": "已发货；请加微信"}, "订单状态（order_status）"),
        ({"paid_at": "昨天晚上"}, "付款时间（paid_at）"),
        ({"shipped_at": "2026-11-22 10:30<script>"}, "发货时间（shipped_at）"),
        ({"orderid": "1"}, "不认识的订单信息 orderid"),
    ],
)
def test_malformed_order_facts_are_refused_with_the_field_named(huashu_app, order, words):
    with pytest.raises(BadInputError, match=re.escape(words)):
        huashu_app.draft(DAMAGED, brand="nuanbei", order=order)


def test_a_refused_fact_is_shown_cut_short_in_the_message(huashu_app):
    with pytest.raises(BadInputError) as info:
        huashu_app.draft(DAMAGED, brand="nuanbei", order={"order_id": "9" * 5000})
    assert len(str(info.value)) < 120


@pytest.mark.parametrize(
    "order",
    [
        {
            "order_id": "2026112212345678",
            "order_status": "已发货",
            "carrier": "顺丰速运",
            "tracking_no": "SF1234567890123",
        },
        {"paid_at": "2026-11-22 10:30", "shipped_at": "2026年11月23日 9点"},
        {"paid_at": "2026/11/22T10:30:15"},
    ],
)
def test_realistic_facts_pass_unchanged(huashu_app, order):
    result = huashu_app.draft(DAMAGED, brand="nuanbei", order=order)
    assert result.order == order


def test_cli_refuses_a_bad_order_flag_without_a_traceback(huashu_app):
    proc = run_cli(huashu_app, "draft", DAMAGED, "--brand", "nuanbei", "--order-id", "abc;rm -rf /")
    assert proc.returncode == 2 and "订单号（order_id）格式不对" in proc.stderr
    assert "Traceback" not in proc.stderr and "rm -rf" not in proc.stdout


@pytest.mark.parametrize(
    "order,hidden,shown",
    [
        ({"carrier": "电话6200 - 0000 - 0000 - 0005"}, "6200 - 0000 - 0000 - 0005", "620****0005"),
        ({"order_status": "手机１３８－１２３４－５６７８，"}, "13812345678", "138****5678"),
        ({"paid_at": "11010519491231002X"}, "11010519491231002", "110****1002X"),
    ],
)
def test_a_refused_fact_holding_a_phone_id_or_card_number_is_not_echoed_in_full(
    huashu_app, order, hidden, shown
):
    # found by tests/faults/test_hostile_property.py: the message that refused the fact repeated the number
    with pytest.raises(BadInputError) as info:
        huashu_app.check("好的", brand="nuanbei", order=order)
    assert hidden not in str(info.value) and shown in str(info.value)


@pytest.mark.parametrize(
    "order,shown",
    [
        ({"carrier": "13000000000"}, "快递公司（carrier）里像是手机号、身份证号或银行卡号：'130****0000'"),
        ({"carrier": "顺丰 139 1234 5678"}, "'顺丰 139****5678'"),
        ({"order_status": "11010519491231002X"}, "订单状态（order_status）里像是"),
        ({"paid_at": "6200 0000 0000 0005"}, "付款时间（paid_at）里像是"),
        ({"shipped_at": "13812345678"}, "发货时间（shipped_at）里像是"),
    ],
)
def test_a_well_shaped_fact_holding_a_phone_id_or_card_number_is_refused(huashu_app, order, shown):
    # found by tests/faults/test_hostile_property.py: a carrier of 13000000000 fits the carrier's shape and came
    # back in the draft's order facts in full; only an order or tracking number is a long number by design
    with pytest.raises(BadInputError, match=re.escape(shown)):
        huashu_app.draft(DAMAGED, brand="nuanbei", order=order)


def test_order_and_tracking_numbers_may_look_like_a_phone_or_card(huashu_app):
    order = {"order_id": "13812345678", "tracking_no": "6200000000000005"}
    assert huashu_app.draft(DAMAGED, brand="nuanbei", order=order).order == order


def test_order_facts_with_keys_of_mixed_types_are_refused_with_the_keys_named(huashu_app):
    with pytest.raises(BadInputError, match="不认识的订单信息 1, amount"):
        huashu_app.check("好的", brand="nuanbei", order={1: "x", "amount": "5"})
