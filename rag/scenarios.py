"""The fixed scenario taxonomy from domain.md; eval sets and scripts use these ids."""

from __future__ import annotations

SCENARIOS: dict[str, str] = {
    "greeting": "咨询接待/首次响应",
    "needs_discovery": "需求挖掘",
    "product_function": "功效/功能",
    "product_usage": "使用方法",
    "ingredients_safety": "成分与安全",
    "size_advice": "尺码建议",
    "stock_presale": "库存/预售/到货时间",
    "authenticity": "正品保障",
    "competitor_compare": "竞品对比",
    "price_objection": "价格异议/议价",
    "promotion_coupon": "活动/优惠券/满减",
    "shelf_life": "保质期/生产日期",
    "shipping_delay": "催发货",
    "logistics_tracking": "物流查询/物流停滞",
    "address_change": "改地址/改规格",
    "order_cancel": "取消订单",
    "invoice": "发票",
    "return_exchange": "退换货",
    "refund_progress": "退款进度",
    "damaged_or_missing": "破损/漏发/错发",
    "quality_issue": "质量问题",
    "adverse_reaction": "过敏/不良反应",
    "price_protection": "价保/降价补差",
    "complaint_service": "投诉服务态度",
    "complaint_followup": "投诉处理结果反馈",
    "escalation_threat": "扬言差评/投诉平台/12315",
    "closing": "结束语",
    "after_hours": "非工作时间/留言",
    "out_of_scope": "与店铺无关/闲聊",
}

NO_MATCH_SCENARIO = "out_of_scope"
