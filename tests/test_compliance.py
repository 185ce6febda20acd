"""Compliance post-filter: every category, disguise, hard negatives, actions, spans and rules-file checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from compliance_support import RULES, found

from rag.compliance import CATEGORIES, ComplianceFilter, load_rules
from rag.compliance.numbers import cn_to_number
from rag.compliance.pii import id_checksum_ok, luhn_ok
from rag.errors import KnowledgeBaseError

# Policy sentences as the starter policies state them (domain.md); they ground numbers.
POLICIES = (
    "现货商品在顾客付款后24小时内发货，遇到法定节假日顺延。",
    "自顾客签收之日起7天内，支持无理由退货、换货，前提是商品完好、不影响二次销售。",
    "退货包裹签收后24小时内处理退款，退款原路退回。",
    "破损、漏发、错发：请顾客拍照，补发或退款由顾客选择，来回运费由店铺承担，可以送顾客一张5元无门槛致歉券。",
    "投诉经核实属实的，可以送顾客一张20元无门槛致歉券，30天内有效。",
)


POSITIVES = [
    # (category, brand, text, match)
    ("absolute_claim", "lanxu", "这款精华100%有效，您可以放心入手。", "100%有效"),
    ("absolute_claim", "nuanbei", "这是市面上最好的纸尿裤。", "最好的"),
    ("absolute_claim", "jianyi", "这款T恤全网最低价，错过就没有了。", "全网最低价"),
    ("absolute_claim", "lanxu", "焕颜面霜销量第一，很多顾客回购。", "销量第一"),
    ("absolute_claim", "lanxu", "选用顶级原料。", "顶级"),
    ("absolute_claim", "lanxu", "细纹淡化后永不反弹。", "永不反弹"),
    ("absolute_claim", "nuanbei", "这款沐浴露是史上最温和的配方。", "最温和"),
    ("absolute_claim", "lanxu", "坚持用，7天见效。", "7天见效"),
    ("absolute_claim", "jianyi", "这条裤子是全网销量最高的款。", "销量最高"),
    ("false_authority", "lanxu", "修护精华由国家级研发中心出品。", "国家级"),
    ("false_authority", "nuanbei", "这款纸尿裤是医院特供款。", "特供"),
    ("false_authority", "lanxu", "焕颜面霜是皮肤科专家推荐的产品。", "专家推荐"),
    ("false_authority", "jianyi", "我们的T恤国家免检。", "国家免检"),
    ("false_authority", "jianyi", "简衣是中国驰名商标。", "驰名商标"),
    ("medical_claim", "lanxu", "修护精华可以治疗湿疹。", "治疗湿疹"),
    ("medical_claim", "lanxu", "焕颜面霜能根治痘痘。", "根治"),
    ("medical_claim", "nuanbei", "宝宝红屁股穿这款纸尿裤就能消炎。", "消炎"),
    ("medical_claim", "lanxu", "澜序是药妆品牌。", "药妆"),
    ("medical_claim", "lanxu", "补水面膜是医用级配方。", "医用级"),
    ("medical_claim", "nuanbei", "暖贝奶瓶能预防宝宝肠绞痛。", "预防宝宝肠绞痛"),
    ("medical_claim", "nuanbei", "这款产品能增强宝宝免疫力。", "增强宝宝免疫力"),
    ("unconditional_promise", "jianyi", "不满意随便退，放心拍。", "随便退"),
    ("unconditional_promise", "lanxu", "我们支持无条件退款。", "无条件退款"),
    ("unconditional_promise", "nuanbei", "宝妈放心，保证今天到。", "保证今天到"),
    ("unconditional_promise", "nuanbei", "今天下单明天一定送到。", "明天一定送到"),
    ("unconditional_promise", "lanxu", "面霜开封用过了也可以无理由退。", "也可以无理由退"),
    ("unconditional_promise", None, "任何情况都包退包换。", "任何情况都包退包换"),
    ("unconditional_promise", "jianyi", "收到不喜欢直接退。", "不喜欢直接退"),
    ("unconditional_promise", "nuanbei", "明天就能到，宝妈放心。", "明天就能到"),
    ("competitor_disparagement", "lanxu", "X牌的精华都是假货。", "都是假货"),
    ("competitor_disparagement", "nuanbei", "别家的纸尿裤都是垃圾。", "都是垃圾"),
    ("competitor_disparagement", "lanxu", "某国际大牌就是交智商税。", "智商税"),
    ("competitor_disparagement", "jianyi", "衣町家的质量太差了。", "质量太差"),
    ("competitor_disparagement", "nuanbei", "其他牌子的奶瓶都有毒。", "都有毒"),
    ("competitor_disparagement", "lanxu", "悦颜家的精华用了会烂脸。", "烂脸"),
    ("competitor_disparagement", "jianyi", "别的店卖的都是仿品。", "仿品"),
    ("forbidden_service_phrase", "jianyi", "这不归我管，您问物流那边。", "这不归我管"),
    ("forbidden_service_phrase", "lanxu", "我不知道您的包裹在哪里。", "我不知道"),
    ("forbidden_service_phrase", "nuanbei", "尺码表在页面上，你自己看吧。", "你自己看"),
    ("forbidden_service_phrase", "jianyi", "你听不懂吗？", "你听不懂吗"),
    ("forbidden_service_phrase", "lanxu", "这个情况没办法处理。", "没办法"),
    ("forbidden_service_phrase", "jianyi", "不知道，你问快递吧。", "不知道"),
    ("personal_data", "jianyi", "已为您登记手机号13912345678。", "13912345678"),
    ("personal_data", "lanxu", "您的身份证号110101199003071233已记录。", "110101199003071233"),
    ("personal_data", "nuanbei", "退款会打到银行卡6222021234567890128。", "6222021234567890128"),
    ("personal_data", None, "发票已发送至邮箱zhangwei88@163.com。", "zhangwei88@163.com"),
    ("personal_data", "lanxu", "地址改为浙江省杭州市西湖区文三路478号华星大厦502室。", "文三路478号"),
]


@pytest.mark.parametrize(("category", "brand", "text", "match"), POSITIVES)
def test_positive_is_found(cf, category, brand, text, match):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert found(result, category, match, text), result.violations


DISGUISED = [
    # (category, text, match): full-width, traditional, spaces or symbols inside a term
    ("absolute_claim", "我们的奶瓶防胀气１００％有效", "１００％有效"),
    ("absolute_claim", "這款精華絕對有效。", "絕對有效"),
    ("absolute_claim", "保暖效果绝 对 一 流。", "绝 对 一 流"),
    ("absolute_claim", "這款面霜採用頂級奢華配方。", "頂級"),
    ("absolute_claim", "这款精华绝*对*有*效。", "绝*对*有*效"),
    ("absolute_claim", "全网\u200b最低价！", "全网\u200b最低价"),
    ("false_authority", "我们的沐浴露是专 家 推 荐的。", "专 家 推 荐"),
    ("false_authority", "這款補水面膜是國家級認證產品。", "國家級"),
    ("medical_claim", "面霜坚持用可以根-治敏感肌。", "根-治"),
    ("medical_claim", "這款精華可以治療玫瑰痤瘡。", "治療玫瑰痤瘡"),
    ("medical_claim", "这款精华有消 炎作用。", "消 炎"),
    ("unconditional_promise", "不滿意隨便退，運費我們出。", "隨便退"),
    ("unconditional_promise", "保 证 明 天 到，放心。", "保 证 明 天 到"),
    ("unconditional_promise", "无·条·件·退·款", "无·条·件·退·款"),
    ("competitor_disparagement", "別家的面霜都含激素。", "都含激素"),
    ("forbidden_service_phrase", "這不歸我管，您問別處。", "這不歸我管"),
    ("forbidden_service_phrase", "我 不 知 道，您再等等吧。", "我 不 知 道"),
    ("personal_data", "收件电话已改为 158 7654 3210 啦", "158 7654 3210"),
    ("personal_data", "联系方式186-0012-3456已备注。", "186-0012-3456"),
    ("personal_data", "核对一下您的手机：１３７１２３４５６７８", "１３７１２３４５６７８"),
    ("personal_data", "您的身份證號51010419751120106X已核對。", "51010419751120106X"),
]


@pytest.mark.parametrize(("category", "text", "match"), DISGUISED)
def test_disguised_positive_is_found(cf, category, text, match):
    result = cf.check(text, sources=POLICIES)
    assert found(result, category, match, text), result.violations


HARD_NEGATIVES = [
    # (brand, text)
    (None, "我们会第一时间为您处理，请您稍候。"),
    ("lanxu", "最近天气干燥，建议您加强保湿。"),
    ("jianyi", "这是退货流程的最后一步，提交后就完成了。"),
    (None, "第一步，请先在订单页点击“申请售后”。"),
    ("nuanbei", "最好先拍一张外包装的照片，方便我们核实。"),
    ("lanxu", "护肤效果因人而异，我们不能承诺100%有效。"),
    ("lanxu", "您问是不是“绝对有效”，每个人的肤质不同，我们不做这样的承诺。"),
    ("jianyi", "签收起7天内，商品完好、不影响二次销售的，支持7天无理由退换。"),
    ("nuanbei", "付款后24小时内发货，法定节假日顺延，发货后订单页会显示运单号。"),
    ("lanxu", "投诉核实后，可以为您送上一张20元无门槛致歉券，30天内有效。"),
    ("nuanbei", "给您带来不便很抱歉，可以送您一张5元无门槛致歉券。"),
    (None, "您的手机号138****5678已核对，改好后会有短信确认。"),
    ("jianyi", "订单2026112212345678已经发货，您可以在订单页查看。"),
    (None, "运单号SF1234567890123，您可以在订单页查看物流。"),
    (None, "订单号13812345678已发货。"),
    ("nuanbei", "客服热线400-820-8820，也可以拨打12315反映。"),
    ("jianyi", "新款比旧款更轻薄，夏天穿更舒服。"),
    ("nuanbei", "暖贝云柔纸尿裤第二代比第一代更柔软一些。"),
    ("lanxu", "如出现不适，请立即停止使用，必要时建议及时就医。"),
    ("lanxu", "护肤品不能治疗湿疹，如有皮肤问题，建议及时就医。"),
    ("lanxu", "其他品牌的产品我们不便评价，我可以为您介绍修护精华液的特点。"),
    ("nuanbei", "首次使用前，奶瓶请先用沸水消毒。"),
    ("jianyi", "活动最后一天，具体优惠以活动页为准。"),
    (None, "您反映之前有客服说“这不归我管”，非常抱歉，这样的答复是不对的。"),
    (None, "我们会尽最大努力帮您协调，有结果马上告诉您。"),
    (None, "已发货的包裹没法再改地址，您可以拒收后重新下单。"),
    ("jianyi", "这款纯棉T恤的面料成分是100%棉。"),
    ("lanxu", "开封后的护肤品，如购买时已告知，不适用七天无理由退换。"),
    ("lanxu", "您给的号码我已做脱敏处理：186****3456。"),
    (None, "身份证号不需要提供，告诉我订单号2026111598765432就可以。"),
    ("lanxu", "早晚各一次，一天两次即可。"),
    ("jianyi", "您的订单已经发货2天了，我帮您催一下快递。"),
    ("lanxu", "祝您有美好的一天！"),
    ("jianyi", "我看看有没有办法帮您加急。"),
    ("jianyi", "您可以在订单页自己查看物流。"),
    ("lanxu", "最好的办法是先停用，观察一下皮肤状态。"),
    ("jianyi", "退货地址：浙江省杭州市余杭区文一西路88号简衣售后部。"),
    ("lanxu", "我们不能保证明天一定到，会尽快帮您催。"),
    ("jianyi", "您放心，我们不卖假货。"),
    ("lanxu", "自签收之日起七天内，商品完好可以无理由退换。"),
    ("lanxu", "我们会在二十四小时内发货。"),
    ("jianyi", "我们家的衣服洗后可能轻微起球，建议翻面洗。"),
    ("lanxu", "明天预计能到，具体以物流为准。"),
    ("jianyi", "不喜欢的话，签收7天内商品完好可以申请退换。"),
    ("lanxu", "您说的“别家都是假货”这种话我们不会说的。"),
    ("lanxu", "降价后可以按商品页的价保规则申请补差。"),
]


@pytest.mark.parametrize(("brand", "text"), HARD_NEGATIVES)
def test_hard_negative_is_left_alone(cf, brand, text):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert result.violations == ()
    assert result.text == text
    assert not result.blocked


@pytest.mark.parametrize(
    ("brand", "expected"),
    [("lanxu", True), ("nuanbei", True), ("jianyi", False), (None, True)],
)
def test_antibacterial_wording_matters_for_skincare_and_baby_goods_only(cf, brand, expected):
    text = "这款产品有抗菌效果，日常用很方便。"
    result = cf.check(text, brand=brand)
    assert found(result, "medical_claim", "抗菌", text) is expected


# ---------- broadened coverage: terms from the 广告法 极限词, 化妆品禁用语 and 服务忌语 lists ----------

BROAD_POSITIVES = [
    # (category, brand, text, match): each must be found, and nothing else reported
    ("absolute_claim", "lanxu", "这款精华是我们店里最好用的，您放心。", "最好用"),
    ("absolute_claim", "lanxu", "焕颜面霜的保湿效果全网最强。", "全网最强"),
    ("absolute_claim", "nuanbei", "这款纸尿裤是宝妈们的首选，吸水性超强~", "宝妈们的首选"),
    ("absolute_claim", "jianyi", "这件羽绒服是全网最保暖的款。", "全网最保暖"),
    ("absolute_claim", "lanxu", "修护精华淡化细纹立竿见影。", "立竿见影"),
    ("absolute_claim", "lanxu", "补水面膜敷完立刻变白。", "立刻变白"),
    ("absolute_claim", "lanxu", "这款面霜可以彻底告别干纹。", "彻底告别"),
    ("absolute_claim", "lanxu", "这是行业首创的修护技术。", "行业首创"),
    ("absolute_claim", "lanxu", "精华采用独家专利配方。", "独家"),
    ("absolute_claim", "nuanbei", "我们家奶瓶销量遥遥领先~", "遥遥领先"),
    ("absolute_claim", "jianyi", "这款卫衣是天猫类目第一。", "类目第一"),
    ("absolute_claim", "lanxu", "这款面霜堪称面霜界天花板。", "天花板"),
    ("absolute_claim", "lanxu", "極致奢華的修護體驗。", "極致"),
    ("absolute_claim", "nuanbei", "这款沐浴露零刺激，宝宝用着安心~", "零刺激"),
    ("absolute_claim", "lanxu", "这款精华温和无刺激，孕妇也能用。", "无刺激"),
    ("absolute_claim", "jianyi", "我们的T恤永不变形。", "永不变形"),
    ("absolute_claim", "lanxu", "用完皮肤年轻十岁。", "年轻十岁"),
    ("absolute_claim", "jianyi", "这个价格全网找不到更便宜的了。", "全网找不到更便宜"),
    ("absolute_claim", "lanxu", "这款精华最受熟龄肌顾客欢迎。", "最受"),
    ("absolute_claim", "jianyi", "这是我们家最具性价比的一款。", "最具性价比"),
    ("absolute_claim", "lanxu", "这款面膜效果百分百。", "百分百"),
    ("absolute_claim", "nuanbei", "一用就见效，红屁股第二天就没了~", "一用就见效"),
    ("absolute_claim", "lanxu", "這款面霜全網最低價。", "全網最低價"),
    ("absolute_claim", "jianyi", "销 量 冠 军 款，赶紧入手~", "销 量 冠 军"),
    ("false_authority", "lanxu", "修护精华经过三甲医院临床验证。", "临床验证"),
    ("false_authority", "nuanbei", "这款奶瓶是月子中心指定用品~", "月子中心指定"),
    ("false_authority", "lanxu", "焕颜面霜由院士团队研发。", "院士"),
    ("false_authority", "nuanbei", "我们的纸尿裤是儿科专家联合推荐的。", "专家联合推荐"),
    ("false_authority", "jianyi", "这款T恤是国家队同款。", "国家队"),
    ("false_authority", "lanxu", "补水面膜获得了FDA认证。", "FDA认证"),
    ("false_authority", "lanxu", "这是宫廷秘方传承下来的配方。", "宫廷秘方"),
    ("false_authority", "nuanbei", "这款沐浴露是妇幼医院推荐的。", "医院推荐"),
    ("false_authority", "lanxu", "权威媒体都报道过我们的精华。", "权威媒体"),
    ("false_authority", "jianyi", "我们和大牌同厂同料，品质一样。", "同厂同料"),
    ("false_authority", "lanxu", "澜序是国宴指定用品。", "国宴"),
    ("false_authority", "lanxu", "这是诺奖得主研发的成分。", "诺奖"),
    ("medical_claim", "lanxu", "修护精华能有效缓解皮炎症状。", "缓解皮炎"),
    ("medical_claim", "nuanbei", "这款沐浴露可以缓解宝宝的奶癣~", "缓解宝宝的奶癣"),
    ("medical_claim", "nuanbei", "纸尿裤透气，可以防止红屁股。", "防止红屁股"),
    ("medical_claim", "lanxu", "这款精华可以祛痘祛印。", "祛痘"),
    ("medical_claim", "lanxu", "焕颜面霜可以祛斑美白。", "祛斑"),
    ("medical_claim", "lanxu", "这款面霜对湿疹很有效。", "对湿疹很有效"),
    ("medical_claim", "nuanbei", "宝宝湿疹专用的沐浴露~", "湿疹专用"),
    ("medical_claim", "lanxu", "修护精华能修复受损细胞。", "修复受损细胞"),
    ("medical_claim", "lanxu", "这是医学护肤品，比一般护肤品更专业。", "医学护肤"),
    ("medical_claim", "lanxu", "这款面膜是械字号的。", "械字号"),
    ("medical_claim", "nuanbei", "宝宝用了能安神助眠~", "安神"),
    ("medical_claim", "nuanbei", "这款奶粉能促进宝宝大脑发育。", "促进宝宝大脑发育"),
    ("medical_claim", "lanxu", "这款精华有抗炎作用。", "抗炎"),
    ("medical_claim", "nuanbei", "这款湿巾可以抑菌除螨。", "抑菌"),
    ("medical_claim", "lanxu", "这款精华可以代替药膏。", "代替药膏"),
    ("medical_claim", "lanxu", "效果堪比医美。", "堪比医美"),
    ("medical_claim", "lanxu", "這款精華可以治癒痘痘。", "治癒"),
    ("medical_claim", "nuanbei", "这款护臀膏能消 肿 止 痒~", "止 痒"),
    ("unconditional_promise", "jianyi", "包您明天收到，放心拍~", "包您明天收到"),
    ("unconditional_promise", "nuanbei", "今天下单保证今天发~", "保证今天发"),
    ("unconditional_promise", "lanxu", "您放心，一定能收到的。", "一定能收到"),
    ("unconditional_promise", "jianyi", "不好用就退，没关系的~", "不好用就退"),
    ("unconditional_promise", "jianyi", "过了七天也能退，放心。", "过了七天也能退"),
    ("unconditional_promise", "lanxu", "什么时候都能退，您随时联系我们。", "什么时候都能退"),
    ("unconditional_promise", "nuanbei", "无论什么原因都给您退~", "无论什么原因都给您退"),
    # four blind authors (dev6, dev9, dev11, dev13) call 假一赔N a payout no policy grounds, none a promise
    ("ungrounded_commitment", "jianyi", "假一赔万，放心购买。", "假一赔万"),
    ("unconditional_promise", "jianyi", "终身免费保修。", "终身免费保修"),
    ("unconditional_promise", "lanxu", "过敏包退，您放心试。", "过敏包退"),
    ("unconditional_promise", "lanxu", "无效全额退款。", "无效全额退款"),
    ("unconditional_promise", "lanxu", "退款实时到账。", "实时到账"),
    ("unconditional_promise", "nuanbei", "保证给您补发，不用拍照~", "保证给您补发"),
    ("unconditional_promise", "jianyi", "100%能退，亲放心~", "100%能退"),
    ("unconditional_promise", "jianyi", "衣服洗过了也能退~", "洗过了也能退"),
    ("unconditional_promise", "lanxu", "保證明天到貨。", "保證明天到貨"),
    ("unconditional_promise", "jianyi", "随时可以退换，亲放心~", "随时可以退换"),
    ("competitor_disparagement", "lanxu", "那些小品牌都是贴牌货。", "贴牌货"),
    ("competitor_disparagement", "jianyi", "隔壁家都是翻新货。", "翻新货"),
    ("competitor_disparagement", "nuanbei", "别家的奶瓶根本比不过我们~", "比不过我们"),
    ("competitor_disparagement", "lanxu", "我们的精华比其他品牌温和多了。", "比其他品牌温和"),
    ("competitor_disparagement", "jianyi", "拼多多上那些都是高仿。", "都是高仿"),
    ("competitor_disparagement", "lanxu", "某大牌的面霜全是香精。", "全是香精"),
    (
        "competitor_disparagement",
        "nuanbei",
        "他们家的纸尿裤用了会红屁股，还是我们的好~",
        "他们家的纸尿裤用了会红屁股",
    ),
    ("competitor_disparagement", "jianyi", "别家的衣服质量差，我们家做工好。", "别家的衣服质量差"),
    ("competitor_disparagement", "lanxu", "X牌的精华就是智商税。", "智商税"),
    ("forbidden_service_phrase", "jianyi", "这事我管不了，我问问仓库再回您。", "管不了"),
    ("forbidden_service_phrase", "lanxu", "这是规定。", "这是规定"),
    ("forbidden_service_phrase", "nuanbei", "不是跟你说过了吗？", "跟你说过了"),
    ("forbidden_service_phrase", "jianyi", "我都说过了，尺码表上有。", "我都说过了"),
    ("forbidden_service_phrase", "jianyi", "有本事去投诉啊。", "有本事去投诉"),
    ("forbidden_service_phrase", "nuanbei", "下班了明天再说。", "下班了明天再说"),
    ("forbidden_service_phrase", "jianyi", "你自己想办法吧。", "你自己想办法"),
    ("forbidden_service_phrase", "lanxu", "我不清楚。", "我不清楚"),
    ("forbidden_service_phrase", "jianyi", "你看不懂吗？", "你看不懂吗"),
    ("forbidden_service_phrase", "jianyi", "买不起就别买。", "买不起就别买"),
    ("forbidden_service_phrase", "jianyi", "爱投诉就投诉。", "爱投诉就投诉"),
    ("forbidden_service_phrase", "lanxu", "这个我帮不了您。", "帮不了您"),
    ("forbidden_service_phrase", "jianyi", "无可奉告。", "无可奉告"),
    ("forbidden_service_phrase", "nuanbei", "催也没用，等着吧。", "催也没用"),
    ("forbidden_service_phrase", "jianyi", "不行，已经发货了。", "不行"),
    ("forbidden_service_phrase", "lanxu", "你找别人去。", "找别人去"),
    ("forbidden_service_phrase", "jianyi", "这 不 归 我 管。", "这 不 归 我 管"),
    ("forbidden_service_phrase", "jianyi", "你怎么这么不讲理？", "你怎么这么不讲理"),
    ("ungrounded_commitment", "jianyi", "30分钟内给您回复。", "30分钟"),
    ("ungrounded_commitment", "nuanbei", "给宝妈返现10块钱~", "10块钱"),
    ("ungrounded_commitment", "lanxu", "给您打九折作为补偿。", "九折"),
    ("ungrounded_commitment", "jianyi", "送您200积分。", "200积分"),
    ("ungrounded_commitment", "lanxu", "三倍赔付。", "三倍"),
    ("ungrounded_commitment", "jianyi", "48h内发货。", "48h"),
    ("ungrounded_commitment", "lanxu", "退款3个工作日内到账。", "3个工作日"),
    ("personal_data", "jianyi", "收件手机已改为 1 3 9 1 2 3 4 5 6 7 8。", "1 3 9 1 2 3 4 5 6 7 8"),
    ("personal_data", "lanxu", "联系电话：139 - 1234 - 5678。", "139 - 1234 - 5678"),
    ("personal_data", "nuanbei", "身份证 110101 19900307 1233 已登记。", "110101 19900307 1233"),
    ("personal_data", "jianyi", "地址改为朝阳区建国路88号现代城5号楼1203室。", "建国路88号"),
    ("personal_data", "lanxu", "邮箱 ZHANG_wei@QQ.com 已记录。", "ZHANG_wei@QQ.com"),
    ("absolute_claim", "nuanbei", "這款紙尿褲是寶媽首選。", "寶媽首選"),
    ("absolute_claim", "jianyi", "全 网 最 保 暖 的 羽 绒 服~", "全 网 最 保 暖"),
    ("false_authority", "lanxu", "經三甲醫院臨床驗證。", "臨床驗證"),
    ("false_authority", "nuanbei", "月 子 中 心 专 用 的 奶 瓶~", "月 子 中 心 专 用"),
    ("medical_claim", "lanxu", "這是醫學護膚品。", "醫學護膚"),
    ("medical_claim", "nuanbei", "可以緩解寶寶的濕疹~", "緩解寶寶的濕疹"),
    ("medical_claim", "lanxu", "能修·复·受·损·细·胞。", "修·复·受·损·细·胞"),
    ("unconditional_promise", "jianyi", "隨時可以退換，親放心~", "隨時可以退"),
    ("unconditional_promise", "nuanbei", "包 您 明 天 收 到~", "包 您 明 天 收 到"),
    ("unconditional_promise", "lanxu", "過敏包退。", "過敏包退"),
    ("competitor_disparagement", "jianyi", "隔壁家都是翻新貨。", "翻新貨"),
    ("competitor_disparagement", "lanxu", "別家的精華比不過我們。", "比不過我們"),
    ("forbidden_service_phrase", "jianyi", "這是規定。", "這是規定"),
    ("forbidden_service_phrase", "jianyi", "我 管 不 了。", "管 不 了"),
    ("forbidden_service_phrase", "nuanbei", "你看不懂嗎？", "你看不懂嗎"),
    ("ungrounded_commitment", "jianyi", "３０分鐘內給您回覆。", "３０分鐘"),
    ("personal_data", "jianyi", "电话：１３９　１２３４　５６７８", "１３９　１２３４　５６７８"),
]


@pytest.mark.parametrize(("category", "brand", "text", "match"), BROAD_POSITIVES)
def test_broadened_term_is_found_and_nothing_else(cf, category, brand, text, match):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert found(result, category, match, text), result.violations
    start = text.find(match)
    others = [
        v
        for v in result.violations
        if v.category != category or not (v.span[0] < start + len(match) and start < v.span[1])
    ]
    assert others == [], others


AGENT_HARD_NEGATIVES = [
    # Compliant replies an agent would send, checked with every brand's rules in force (brand None)
    "运单号 SF 1234 5678 9012，请留意派送。",
    "订单号 2026 1122 1234 5678 已发货。",
    "运单号4312 3456 7890 1234，请留意派送。",
    "营业时间 9:00-18:00，节假日顺延。",
    "付款后24小时内发货，法定节假日顺延。",
    "订单2026112212345678已经发货。",
    "我帮您查一下物流信息，请稍等。",
    "这个批次我不太清楚，我去核实后告诉您。",
    "我不清楚具体是哪一天生产的，我帮您问一下仓库。",
    "这个问题我不太清楚，稍后给您答复。",
    "无法承诺具体到货时间，以物流信息为准。",
    "建议您咨询医生后再使用。",
    "宝宝皮肤出现红疹的话，请先停用，必要时带宝宝就医。",
    "我们的产品不能替代药物，如有皮肤问题请及时就医。",
    "不满意的话，签收后7天内商品完好可以申请退货。",
    "尺码不合适可以换，换码不收您任何费用。",
    "签收7天内，商品完好的话随时可以申请退换。",
    "您可以在订单页自己查看物流进度。",
    "祝您生活愉快，有问题随时找我。",
    "为了第一时间帮您处理，麻烦把破损处的照片发给我。",
    "这款面霜质地比较滋润，适合干性肌肤。",
    "建议您先在耳后小范围试用，以防过敏。",
    "为防止宝宝红屁股，建议勤换纸尿裤。",
    "为了预防过敏，建议先在手腕内侧试用。",
    "奶瓶首次使用前请用沸水消毒。",
    "您拍一下照片，核实后我们为您补发或退款，运费由我们承担。",
    "给您添麻烦了，可以送您一张5元无门槛致歉券。",
    "退货包裹签收后24小时内为您处理退款，原路退回。",
    "其他品牌的产品我们不便评价，我可以为您介绍我们家的特点。",
    "我们是官方品牌店铺，所售均为品牌正品。",
    "市面上存在仿冒产品，建议您在官方渠道购买。",
    "这款纸尿裤符合国家标准，您可以放心。",
    "宝宝6个月以上可以使用这款奶瓶。",
    "这件T恤的面料成分是100%棉。",
    "我们会尽最大努力帮您协调。",
    "请问您方便提供一下订单号吗？",
    "您说的“这不归我管”确实不应该，我们会严肃处理。",
    "很荣幸为您服务，请问还有什么可以为您效劳的吗？",
    "预计明天就能送到，具体以物流为准。",
    "您的包裹已到达本市，预计明天就能到。",
    "改好后您一定会收到短信确认。",
    "我们不支持无条件退款，需要商品完好才可以退。",
    "不好意思，我不太清楚您的意思，您能再说一下吗？",
    "如有不清楚的地方，随时联系我。",
    "照片不清楚的话，麻烦您再拍一张。",
    "这个情况需要您提供照片，我们才能为您申请。",
    "您不需要自己联系快递，我们会帮您处理。",
    "这款是我们家卖得比较好的一款，回购的顾客不少。",
    "云柔纸尿裤第二代比第一代更柔软一些。",
    "这款面霜的最佳使用时间是晚上洁面后。",
    "最大限度地为您争取补偿。",
    "我们这边暂时无法直接修改，我帮您提交申请。",
    "这款衣服建议冷水手洗，不要暴晒。",
    "您选的这款是M码，M码最适合您的身高体重。",
    "宝宝的尺码一般按体重选，您告诉我宝宝的体重，我帮您看看。",
    "如果对处理结果不满意，您也可以通过平台反馈。",
    "这件卫衣洗后可能轻微起球，建议翻面洗。",
    "价保按商品页标注的规则执行，符合条件的为您补差。",
    "优惠券和满减以活动页公示的规则为准。",
    "首次购买的顾客可以领取新人券。",
    "这个尺码目前只剩最后一件了。",
    "关于成分的问题，我帮您问一下产品专员，稍后回复您。",
    "这款精华含有烟酰胺，敏感肌建议先试用。",
    "修护精华主要是日常修护，帮助维持肌肤水润。",
    "我们的客服工作时间是早九点到晚十点。",
    "给您带来不便，实在抱歉。",
    "不知道您是否方便提供一下照片？",
    "这款奶瓶采用宽口径设计，清洗方便。",
    "宝宝用后如果出现红疹，请先停止使用，保留商品和照片。",
    "谨防冒充客服的诈骗电话，我们不会要求您转账。",
    "如需发票，请在订单页申请，我们会开具电子发票。",
    "为避免买到其他店铺的假货，建议认准官方旗舰店。",
    "其他店铺的情况我们不了解，我只能为您介绍我们自己的产品。",
    "请您放心，收到照片后我们会第一时间跟进。",
    "不用担心，我们会帮您跟进到底。",
    "您好，小暖在的，请问有什么可以帮您？",
    "这款纸尿裤的吸水层比上一代更厚一些。",
    "这款的配方比较温和，具体是否适合您还要看个人肤质。",
    "我们没法保证一定不过敏，建议先试用。",
    "活动期间全场满299减30，具体以活动页为准。",
    "很抱歉，这个颜色暂时没有现货了。",
    "亲，需要帮您换一个尺码吗？",
    "这个要看快递公司的安排，我帮您联系一下。",
    "这个问题需要售后同事处理，我帮您转接。",
    "护肤品不能治疗痘痘，如果情况严重建议就医。",
    "关于湿疹，建议您带宝宝咨询医生。",
    "我们家的沐浴露是弱酸性配方，洗后不紧绷。",
    "M码和L码的区别主要在胸围和衣长，您可以参考尺码表。",
    "发货后订单页会显示运单号，您可以随时查看。",
    "这边帮您备注了，仓库会优先安排。",
    "您这边收到商品后，如有质量问题，拍照联系我们即可。",
    "红包有效期以活动页为准。",
    "我们今天打包，明天就能发出。",
    "建议去三甲医院皮肤科就诊。",
    "建议您先到医院排除湿疹等皮肤问题。",
    "奶瓶用温水浸泡后可以彻底清除奶渍。",
    "我们会从根本上解决这个问题，避免再次发生。",
    "这款不一定适合所有人，建议先试用。",
    "您说怎么都退不了，我帮您看一下。",
    "开封用了就不能退了，这个在购买时已提示。",
    "用了也退不了的情况，我们会提前说明。",
    "以防湿疹加重，建议及时就医。",
    "为防红屁股，建议勤换纸尿裤。",
    "我们的面膜是普通化妆品，不是械字号。",
    "面膜不能代替药物，如有需要请就医。",
    "其他品牌的产品是否会过敏因人而异，我们不便评价。",
    "其他品牌的成分刺激性如何，我们不便评价。",
    "如果宝宝回家后用了过敏，请先停用并联系我们。",
    "大家的反馈都很好，您可以参考评价。",
    "衣服最好用冷水手洗，不要暴晒。",
    "天冷的话最好穿上袜子再睡。",
    "送上最好的祝福，祝宝宝健康成长。",
    "这款面霜质地比较厚重，最好晚上用。",
    "我们会以最快的速度为您处理。",
    "您的满意是我们最大的动力。",
    "最大的尺码是XXL，您可以参考尺码表。",
    "这款是我们最新的一款面霜。",
    "我帮您看看有没有办法加急。",
    "您不用自己查，我来帮您查。",
    "这边不清楚您说的是哪个订单，麻烦提供一下订单号。",
    "我们是品牌官方授权店铺，支持专柜验货。",
    "可以在国家药监局官网查询备案信息。",
    "我们的护肤顾问会为您详细解答。",
    "宝宝如有湿疹，建议先咨询医生再使用。",
    "这款沐浴露不含激素，成分表在商品页可以查看。",
    "这款面霜可以舒缓干燥，让肌肤更水润。",
    "修护精华可以帮助修护肌肤屏障。",
    "湿疹宝宝可以用吗？建议先咨询医生。",
    "本品非药品，不能治疗疾病。",
    "奶瓶可以高温蒸汽消毒。",
    "过敏体质建议先小范围试用。",
    "支持七天无理由退换，需保证商品完好、不影响二次销售。",
    "请您保证吊牌完整，不影响二次销售。",
    "您放心，我们一定会给您一个满意的答复。",
    "每个品牌都有自己的特点，您可以根据需要选择。",
    "我们家的面料是精梳棉，比普通棉更柔软。",
    "您说别家更便宜，我们的价格以页面为准。",
    "市面上有不少仿冒品，建议认准官方店铺。",
    "质检报告可以在商品页查看。",
    "这款纸尿裤通过了国家强制性标准检测。",
    "请别担心，我马上帮您处理。",
    "这一款是我个人最推荐的。",
    "宝宝3个月大可以用这款奶瓶。",
    "这个尺码只剩最后两件了。",
    "感谢您的耐心等待，包裹已经在路上了。",
    "您好，很高兴为您服务。",
    "不是的，这款是正品，您可以放心。",
    "麻烦您在订单页点一下确认收货。",
    "您可以自己研究一下尺码表，有疑问随时问我。",
    "有运费险的订单，运费险包退货运费。",
]


@pytest.mark.parametrize("text", AGENT_HARD_NEGATIVES)
def test_compliant_agent_reply_is_left_alone(cf, text):
    result = cf.check(text, brand=None, sources=POLICIES)
    assert result.violations == (), result.violations
    assert result.text == text


@pytest.mark.parametrize(
    ("flagged", "compliant"),
    [
        ("不满意可以退。", "不满意可以退，需要商品完好、不影响二次销售。"),
        ("随时可以退换，您放心。", "签收7天内，商品完好随时可以退换。"),
        ("保证给您补发。", "拍照核实后保证给您补发。"),
        ("我不清楚。", "这个批次我不太清楚，我去核实后告诉您。"),
        ("我不清楚。您再等等吧。", "这个批次我不太清楚。我去核实后马上告诉您。"),
    ],
)
def test_stated_condition_or_next_step_nearby_excuses_the_phrase(cf, flagged, compliant):
    assert cf.check(flagged, sources=POLICIES).violations
    assert cf.check(compliant, sources=POLICIES).violations == ()


def test_unless_nearby_looks_at_the_sentence_and_the_next_only(tmp_path):
    body = (
        "version: 1\nrules:\n  - id: promise_any\n    category: unconditional_promise\n    action: drop\n"
        "    reason: 条件。\n    terms: [随时退]\n    unless_nearby: [商品完好]\n"
    )
    cf = ComplianceFilter.from_file(write_rules(tmp_path, body))
    assert cf.check("随时退，商品完好即可。").violations == ()
    assert cf.check("随时退。商品完好即可。").violations == ()
    assert len(cf.check("随时退。运费我们出。商品完好即可。").violations) == 1


# ---------- ungrounded_commitment ----------

NUMBER_POSITIVES = [
    # (text, sources, match)
    ("您的退款会在12小时内处理完成，请留意。", ("退货包裹签收后24小时内处理退款，原路退回。",), "12小时"),
    ("给您带来不便非常抱歉，我们补偿您50元。", POLICIES[3:4], "50元"),
    ("付款后48小时内为您发货。", POLICIES, "48小时"),
    ("签收后15天内商品完好都可以无理由退换。", POLICIES, "15天"),
    ("这张20元的致歉券7天内有效，请尽快使用。", POLICIES[4:5], "7天"),
    ("我们额外再给您打个八折作为补偿。", POLICIES, "八折"),
    ("我们保证二十四小时内退款到账，再补偿您五元。", ("退货包裹签收后48小时内处理退款。",), "二十四小时"),
    ("破损的话给您补偿20元。", POLICIES, "20元"),
    ("这款精华据用户反馈85%表示干燥改善。", POLICIES, "85%"),
    ("再送您两双袜子。", POLICIES, "两双"),
    ("您的留言我们会在1小时内回复。", ("非工作时间的留言，客服上班后按顺序回复。",), "1小时"),
    # the policy's 24 hours are for processing a refund, not for the money to arrive
    ("退款会在24小时内到账。", POLICIES, "24小时"),
    ("付款后24小时内送达。", POLICIES, "24小时"),
    # units beyond 小时/天/元: minutes, "h", 块钱, points, multiples
    ("30分钟内给您回复。", POLICIES, "30分钟"),
    ("48h内为您发货。", POLICIES, "48h"),
    ("给您返现10块钱。", POLICIES, "10块钱"),
    ("送您200积分作为补偿。", POLICIES, "200积分"),
    ("出现质量问题三倍赔付。", POLICIES, "三倍"),
]


# Numbers that are promises although they look like facts, counts or dates.
HIDDEN_COMMITMENTS = [
    # (text, sources, match)
    ("现在全场满299减50，还能叠加店铺券。", ("本月活动：全场满299元减30元，可与店铺券叠加。",), "50"),
    ("小暖申请了30元补偿，您留意一下。", POLICIES, "30元"),
    ("再送您一双袜子，您看行吗？", POLICIES, "一双"),
    ("现在下单我们送您试用装湿巾5包。", ("本月活动：下单即赠试用装湿巾2件。",), "5包"),
    ("我们家特别延长到了15天，您可以慢慢试。", POLICIES, "15天"),
    ("仓库收到退货后，最快半小时即可完成退款。", POLICIES, "半小时"),
    ("我们家支持30天无理由退换，吊牌完好就行。", POLICIES, "30天"),
]


@pytest.mark.parametrize(("text", "sources", "match"), NUMBER_POSITIVES + HIDDEN_COMMITMENTS)
def test_number_without_grounding_is_flagged(cf, text, sources, match):
    result = cf.check(text, sources=sources)
    assert found(result, "ungrounded_commitment", match, text), result.violations


@pytest.mark.parametrize(
    ("text", "sources", "facts"),
    [
        ("退货包裹签收后二十四小时内为您处理退款。", ("退货包裹签收后24小时内处理退款。",), None),
        ("支持七天无理由退换。", POLICIES, None),
        ("可以送您一张五元无门槛致歉券。", POLICIES, None),
        ("一天内为您发货。", POLICIES, None),
        ("您这单实付199元，退款会原路退回。", (), {"amount": "199元"}),
        ("您这单实付199元，退款会原路退回。", (), {"amount": "199"}),
        ("我们不能承诺12小时内到账。", POLICIES, None),
        ("24h内为您发货。", POLICIES, None),
        ("需要帮您换一个尺码吗？", POLICIES, None),
        ("我们一定会给您一个满意的答复。", POLICIES, None),
    ],
)
def test_grounded_or_negated_number_is_left_alone(cf, text, sources, facts):
    assert cf.check(text, sources=sources, order_facts=facts).violations == ()


def test_number_reason_says_what_the_policy_says_and_rewrites_to_it(cf):
    text = "您的退款会在12小时内处理完成。"
    result = cf.check(text, sources=("退货包裹签收后24小时内处理退款，原路退回。",))
    (v,) = result.violations
    assert v.rule_id == "number_ungrounded" and v.action == "rewrite"
    assert "24小时" in v.reason
    assert result.text == "您的退款会在24小时内处理完成。"


def test_number_with_no_clear_policy_value_drops_the_sentence(cf):
    text = "您好，给您添麻烦了。我们再送您30元优惠券作为补偿。有问题随时找我。"
    result = cf.check(text, sources=POLICIES)
    (v,) = result.violations
    assert v.action == "drop" and v.text == "30元"
    assert result.text == "您好，给您添麻烦了。有问题随时找我。"


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("七", 7),
        ("二十四", 24),
        ("十五", 15),
        ("两", 2),
        ("一百零五", 105),
        ("两万三千", 23000),
        ("半", 0.5),
        ("12", 12),
    ],
)
def test_chinese_numerals_parse(token, value):
    assert cn_to_number(token) == value


# ---------- personal data ----------


def test_checksums():
    assert id_checksum_ok("110101199003071233")
    assert not id_checksum_ok("110101199003071234")
    assert luhn_ok("6222021234567890128")
    assert not luhn_ok("6222021234567890127")


@pytest.mark.parametrize(
    "text",
    [
        "编号110101199003071234请保存。",  # ID with a wrong check digit
        "序列号6222021234567890127有误。",  # fails Luhn, and nothing calls it a card number (issue 15: 卡号 would)
        "尾号5678的手机会收到短信确认。",
        "运单号731234567890，请留意派送。",
        "顺丰单号SF13812345678已发出。",  # letters that start a tracking number, not a phone word
    ],
)
def test_invalid_or_partial_numbers_are_not_personal_data(cf, text):
    assert cf.check(text).violations == ()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("已登记手机号13912345678。", "已登记手机号139****5678。"),
        ("电话 158 7654 3210 已备注。", "电话 158****3210 已备注。"),
        ("身份证号110101199003071233已记录。", "身份证号110101********1233已记录。"),
        ("卡号6222021234567890128。", "卡号6222 **** **** 0128。"),
        ("邮箱zhangwei88@163.com。", "邮箱z***@163.com。"),
        ("手机 1 3 9 1 2 3 4 5 6 7 8 已备注。", "手机 139****5678 已备注。"),
        ("电话：139 - 1234 - 5678。", "电话：139****5678。"),
        ("身份证 110101 19900307 1233 已登记。", "身份证 110101********1233 已登记。"),
        ("地址改为朝阳区建国路88号现代城5号楼1203室。", "地址改为朝阳区****。"),
        # glued to the letters of a phone or chat-account word (found while writing the hostile-input run)
        ("联系我tel13812345678。", "联系我tel138****5678。"),
        ("加我WX13812345678谢谢", "加我WX138****5678谢谢"),
        ("Phone:138 1234 5678。", "Phone:138****5678。"),
        # a card right after a grouped phone: its digits once started a wrong card candidate that swallowed the real
        # one (found by tests/faults/test_hostile_property.py under another worker's example order)
        ("电话130-5170-1921  6200 - 0000 - 0000 - 0005。", "电话130****1921 6200 **** **** 0005。"),
        ("手机139 1234 5678 卡号6222 0212 3456 7890 128", "手机139****5678 卡号6222 **** **** 0128"),
        # two cards run together: a landline (电话6228 4762 2727) and a mobile (1374006 6200) that their digits also
        # spell once hid both; of the readings that overlap, the one that covers the most digits is masked
        (
            "电话6228 - 4762 - 2727 - 1374006  6200 - 0000 - 0000 - 0005。",
            "电话6228 **** **** 4006 6200 **** **** 0005。",
        ),
    ],
)
def test_personal_data_is_masked(cf, text, masked):
    result = cf.check(text)
    assert result.text == masked
    assert {v.action for v in result.violations} == {"mask"}


# ---------- actions ----------


@pytest.mark.parametrize(
    ("text", "final"),
    [
        ("这款修护精华100%有效，您可以放心入手。", "这款修护精华效果因人而异，您可以放心入手。"),
        ("这款沐浴露是史上最温和的配方。", "这款沐浴露是很温和的配方。"),
        ("焕颜面霜销量第一，很多顾客都在回购。", "焕颜面霜很受欢迎，很多顾客都在回购。"),
        (
            "我们支持无条件退款，您随时申请即可。",
            "我们支持7天无理由退换（商品完好、不影响二次销售），您随时申请即可。",
        ),
        ("这个情况没办法处理。", "这个情况暂时无法处理。"),
        ("我 不 知 道，您再等等吧。", "我帮您确认一下，您再等等吧。"),
    ],
)
def test_rewrite(cf, text, final):
    result = cf.check(text, sources=POLICIES)
    assert result.text == final
    assert all(v.action == "rewrite" for v in result.violations)
    assert cf.check(result.text, sources=POLICIES).violations == ()  # the rewrite passes a second check


@pytest.mark.parametrize(
    ("text", "final"),
    [
        (
            "您好，修护精华很受欢迎。它可以治疗湿疹。而且质地清爽，四季都能用。",
            "您好，修护精华很受欢迎。质地清爽，四季都能用。",
        ),
        (
            "面霜已经为您备好。别家的面霜都含激素！所以请放心选购我们的。",
            "面霜已经为您备好。请放心选购我们的。",
        ),
        (
            "感谢您的耐心等待，包裹已经在路上了。焕颜面霜是国家级配方。",
            "感谢您的耐心等待，包裹已经在路上了。",
        ),
    ],
)
def test_drop_removes_the_sentence_and_its_dangling_connective(cf, text, final):
    result = cf.check(text)
    assert result.text == final
    assert not result.blocked
    assert any(v.action == "drop" for v in result.violations)


def test_draft_whose_point_is_non_compliant_is_blocked(cf):
    result = cf.check("修护精华可以治疗湿疹，坚持用就会好转。", brand="lanxu")
    assert result.blocked
    assert "medical_claim" in result.block_reason


def test_rewrite_inside_a_dropped_sentence_is_reported_as_drop(cf):
    result = cf.check("您好，欢迎光临本店。别家T恤都是垃圾，我们家才是全网最低价。")
    actions = {v.category: v.action for v in result.violations}
    assert actions == {"competitor_disparagement": "drop", "absolute_claim": "drop"}
    assert result.text == "您好，欢迎光临本店。"


def test_two_phrases_in_one_sentence_are_both_reported(cf):
    text = "我也没办法，爱买不买。"
    result = cf.check(text)
    assert found(result, "forbidden_service_phrase", "没办法", text)
    assert found(result, "forbidden_service_phrase", "爱买不买", text)
    assert result.blocked


def test_every_violation_explains_itself(cf):
    text = "这款精华100%有效，不满意随便退！我不知道别的。电话13812345678。"
    result = cf.check(text, brand="lanxu", sources=POLICIES)
    assert {v.category for v in result.violations} >= {
        "absolute_claim",
        "unconditional_promise",
        "forbidden_service_phrase",
        "personal_data",
    }
    for v in result.violations:
        assert v.reason and v.rule_id and v.action in {"rewrite", "drop", "mask", "flag", "block"}
        assert text[v.span[0] : v.span[1]] == v.text


# ---------- spans after normalisation ----------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("這款精華絕對有效。", "絕對有效"),
        ("宝妈放心，我们的奶瓶防胀气１００％有效~", "１００％有效"),
        ("😀😀这款精华绝 对 有 效！", "绝 对 有 效"),
        ("ｅｍａｉｌ：ＺＨＡＮＧ＠１６３．ＣＯＭ，请查收", "ＺＨＡＮＧ＠１６３．ＣＯＭ"),
        ("㈠这款面霜销量第一", "销量第一"),
    ],
)
def test_spans_are_in_original_coordinates(cf, text, expected):
    result = cf.check(text)
    assert result.violations
    v = result.violations[0]
    assert text[v.span[0] : v.span[1]] == v.text == expected


# ---------- rules file ----------


def test_real_rules_file_covers_every_category():
    ruleset = load_rules(RULES)
    assert {r.category for r in ruleset.rules} == set(CATEGORIES)
    assert len({r.id for r in ruleset.rules}) == len(ruleset.rules)


def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = """\
version: 1
rules:
  - id: abs_best
    category: absolute_claim
    action: {action}
    reason: 最高级用语不能用。
    terms: [最厉害]
{extra}"""


@pytest.mark.parametrize(
    ("body", "line", "field", "words"),
    [
        (MINIMAL.format(action="rewrite", extra=""), 3, "replacement", "replacement"),
        (MINIMAL.format(action="erase", extra=""), 5, "action", "erase"),
        (MINIMAL.format(action="drop", extra="    categroy: absolute_claim\n"), 8, "categroy", "category"),
        (MINIMAL.format(action="drop", extra="    patterns: ['最(厉害']\n"), 8, "patterns", "正则"),
        (MINIMAL.format(action="drop", extra="    brands: [LanXu]\n"), 8, "brands", "LanXu"),
        (MINIMAL.format(action="drop", extra="    negatable: maybe\n"), 8, "negatable", "true"),
        (MINIMAL.format(action="rewrite", extra="    replacement: 很{keep}\n"), 8, "replacement", "keep"),
        (
            MINIMAL.format(
                action="rewrite",
                extra="    replacement: 全网第一\n  - id: abs_first\n"
                "    category: absolute_claim\n    action: drop\n    reason: 排名用语。\n"
                "    terms: [全网第一]\n",
            ),
            8,
            "replacement",
            "abs_first",
        ),
        (
            MINIMAL.format(
                action="drop",
                extra="  - id: abs_best\n    category: absolute_claim\n"
                "    action: drop\n    reason: 重复。\n    terms: [最牛]\n",
            ),
            8,
            "id",
            "重复",
        ),
        (
            "version: 1\nrules:\n  - id: x1\n    category: typo_claim\n    action: drop\n    reason: r\n    terms: [a]\n",
            4,
            "category",
            "typo_claim",
        ),
        (
            "version: 1\nrules:\n  - id: x1\n    category: absolute_claim\n    action: drop\n    terms: [a]\n",
            3,
            "reason",
            "reason",
        ),
        (
            "version: 1\nrules:\n  - id: x1\n    category: absolute_claim\n    action: drop\n    reason: r\n",
            3,
            None,
            "terms",
        ),
        ("version: 1\nrules: [\n  - id: x1\n", 3, None, "YAML"),
    ],
)
def test_rules_file_errors_point_at_file_line_and_field(tmp_path, body, line, field, words):
    path = write_rules(tmp_path, body)
    with pytest.raises(KnowledgeBaseError) as info:
        load_rules(path)
    err = info.value
    assert err.file == str(path)
    assert err.line == line
    assert err.field == field
    assert words in str(err)


def test_missing_rules_file_says_so(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="无法读取"):
        load_rules(tmp_path / "nope.yaml")


def test_a_new_term_needs_no_code_and_no_variants(tmp_path):
    path = write_rules(tmp_path, MINIMAL.format(action="drop", extra=""))
    cf = ComplianceFilter.from_file(path)
    text = "您好。這款是最 厲 害的！"
    result = cf.check(text)
    (v,) = result.violations
    assert v.rule_id == "abs_best" and v.text == "最 厲 害"
    assert result.text == "您好。"


def test_flag_keeps_the_text_and_block_stops_the_draft(tmp_path):
    body = MINIMAL.format(action="flag", extra="") + (
        "  - id: med_block\n    category: medical_claim\n    action: block\n"
        "    reason: 替代药物的说法绝对不能发。\n    terms: [代替药物]\n"
    )
    cf = ComplianceFilter.from_file(write_rules(tmp_path, body))
    flagged = cf.check("这款最厉害。")
    assert flagged.text == "这款最厉害。" and flagged.violations[0].action == "flag" and not flagged.blocked
    blocked = cf.check("您好，这款面霜可以代替药物。其他都好。")
    assert blocked.blocked and "替代药物" in blocked.block_reason


def test_rule_exception_and_global_exception(tmp_path):
    body = (
        "version: 1\nexceptions: [第一时间]\nnegation_cues: [不能]\nrules:\n"
        "  - id: abs_first\n    category: absolute_claim\n    action: drop\n    reason: 排名。\n"
        "    terms: [第一]\n    exceptions: [第一步]\n"
    )
    cf = ComplianceFilter.from_file(write_rules(tmp_path, body))
    assert cf.check("第一时间处理。第一步先登录。我们不能说第一。").violations == ()
    assert len(cf.check("我们是第一。").violations) == 1


def test_check_never_raises_on_odd_input(cf):
    for text in ["", " ", "\x00\x01", "。。。", "😀" * 50, "a" * 5000, "ǅİﬁ", "\ud800", "١٢٣٤٥٦٧٨٩٠١"]:
        result = cf.check(text, sources=("", "24小时"), order_facts={"k": ""})
        assert isinstance(result.text, str)


# ---------- unconditional_promise: how agents really phrase it ----------
# Word order, 您/亲 and particles inserted, traditional characters; each must still be caught.
UNCONDITIONAL_PROMISE_VARIANTS = [
    # (brand, text, match)
    (None, "退货不用操心，来回运费都由我们承担。", "来回运费都由我们承担"),
    ("nuanbei", "破损的不用拍照了，直接给您退款。", "不用拍照"),
    ("jianyi", "地址发货后也能改的，您随时告诉我。", "发货后也能改"),
    ("nuanbei", "节假日也照常当天发货。", "节假日也照常当天发货"),
    ("lanxu", "开封了也照样给您全额退。", "开封了也照样给您全额退"),
    ("jianyi", "吊牌剪了也没事儿，照样给您退。", "吊牌剪了"),
    ("lanxu", "之后不管什么时候降价，我们都给您补差价。", "不管什么时候降价"),
    ("jianyi", "您放心，肯定能到。", "肯定能到"),
    ("nuanbei", "这件事我一定给您办好。", "一定给您办好"),
    ("lanxu", "放心，包退。", "包退"),
    (None, "亲，随时退哦。", "随时退"),
    ("jianyi", "想退就退，没关系。", "想退就退"),
    ("nuanbei", "不满意全额退。", "不满意全额退"),
    ("lanxu", "无论什么原因都退。", "无论什么原因都退"),
    (None, "退款秒到，请放心。", "退款秒到"),
    ("jianyi", "退款马上到账。", "马上到账"),
    ("nuanbei", "今天一定发。", "今天一定发"),
    ("lanxu", "明天百分百到。", "百分百到"),
    (None, "亲，百分百到，放心等。", "百分百到"),
    ("jianyi", "这次保证不会再出问题了。", "保证不会再出问题"),
    ("nuanbei", "有问题我们全部负责。", "有问题我们全部负责"),
    ("lanxu", "这款衣服终身包换。", "终身包换"),
    (None, "东西坏了免费换新。", "坏了免费换新"),
    ("nuanbei", "亲，不满意的话全额退款哦。", "不满意的话全额退款"),
    ("lanxu", "不喜欢您就直接退回来。", "不喜欢您就直接退"),
    (None, "保证您满意。", "保证您满意"),
    ("jianyi", "以后绝对不会再出现这种问题。", "绝对不会再出现这种问题"),
    ("nuanbei", "今天之内一定给您发出去。", "一定给您发出"),
    ("lanxu", "保证您明天收到。", "保证您明天收到"),
    (None, "钱马上就退到您账户。", "马上就退到您账户"),
    ("jianyi", "退款立马就到。", "立马就到"),
    ("nuanbei", "退款当天就能到账。", "当天就能到账"),
    ("lanxu", "收到后有任何不满意都可以退哦。", "任何不满意都可以退"),
    (None, "无论什么原因，我们都可以全额退款。", "都可以全额退款"),
    ("jianyi", "不管啥原因都给您退。", "都给您退"),
    ("nuanbei", "啥时候想退都行。", "啥时候想退都行"),
    ("lanxu", "想退的话随时都可以退。", "随时都可以退"),
    (None, "亲，随时给您退。", "随时给您退"),
    ("jianyi", "质量问题终身免费换。", "终身免费换"),
    ("nuanbei", "出了任何问题都由我们承担。", "都由我们承担"),
    ("lanxu", "亲放心，保證今天發貨。", "保證今天發貨"),
    (None, "絕對能退款，您放心。", "絕對能退款"),
    ("jianyi", "退款保證秒到賬。", "秒到賬"),
    ("nuanbei", "想退都可以，您放心拍。", "想退都可以"),
    ("lanxu", "效果不好全额退款。", "效果不好全额退款"),
    (None, "穿坏了我们包换新的。", "包换"),
    ("jianyi", "今天肯定给您发出。", "今天肯定给您发出"),
    ("nuanbei", "您放心，明天一定能到。", "明天一定能到"),
    ("lanxu", "亲，一定到，您放心。", "一定到"),
    ("jianyi", "不合适您随时退。", "随时退"),
    ("nuanbei", "这个产品我们保证一直不出问题。", "保证一直不出问题"),
    ("lanxu", "坏了直接给您换个新的。", "坏了直接给您换"),
    (None, "您收到不满意，一律全额退款。", "一律全额退款"),
    ("nuanbei", "亲，这个肯定能按时到的。", "肯定能按时到"),
    ("lanxu", "您放心，明天肯定到。", "明天肯定到"),
    ("jianyi", "亲放心，收到不合适随时都可以退哦。", "随时都可以退"),
    (None, "东西坏了我们包赔。", "包赔"),
    ("nuanbei", "您放心，钱马上就退给您。", "马上就退给您"),
    ("lanxu", "下午就能发，绝对不耽误。", "绝对不耽误"),
    ("jianyi", "不論什麼原因都可以退款。", "都可以退款"),
    (None, "隨時都能退換，親放心。", "隨時都能退"),
    ("nuanbei", "親，不滿意全額退款。", "不滿意全額退款"),
    ("lanxu", "我們保證明天送到。", "保證明天送到"),
    ("jianyi", "亲，今天保证给您发出去。", "今天保证给您发出"),
    (None, "您就放心吧，一定给您解决好。", "一定给您解决好"),
    ("nuanbei", "退款一秒到账。", "一秒到账"),
    ("lanxu", "七天内随便退。", "随便退"),
    ("jianyi", "亲，包您满意。", "包您满意"),
    (None, "质量有问题我们负责到底，终身保修。", "终身保修"),
    ("lanxu", "不满意的话亲可以直接退。", "不满意的话亲可以直接退"),
    ("jianyi", "收到不喜欢的话也可以退哦。", "不喜欢的话也可以退"),
    (None, "您退回来，钱当天就到账。", "当天就到账"),
    ("nuanbei", "亲，我们保证以后不会再出现这样的问题了。", "保证以后不会再出现这样的问题"),
    ("lanxu", "出了问题全算我们的。", "全算我们的"),
    ("jianyi", "不管怎样都给您退款。", "都给您退款"),
    (None, "一定给您退，放心。", "一定给您退"),
    ("nuanbei", "有任何问题我们包退包换。", "包退包换"),
]


@pytest.mark.parametrize(("brand", "text", "match"), UNCONDITIONAL_PROMISE_VARIANTS)
def test_unconditional_promise_variant_is_found(cf, brand, text, match):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert found(result, "unconditional_promise", match, text), result.violations


# 假一赔N is a payout no policy grounds: four blind authors (dev6, dev9, dev11, dev13) label it so, none a promise.
COUNTERFEIT_PAYOUTS = [
    ("jianyi", "假一罚十，放心买。", "假一罚十"),
    (None, "假一赔百，请放心。", "假一赔百"),
    ("nuanbei", "放心买，假一赔十。", "假一赔十"),
    ("lanxu", "您放心，这个保证是正品，假一罚十。", "假一罚十"),
]


@pytest.mark.parametrize(("brand", "text", "match"), COUNTERFEIT_PAYOUTS)
def test_a_counterfeit_payout_is_an_ungrounded_commitment_and_nothing_else(cf, brand, text, match):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert found(result, "ungrounded_commitment", match, text), result.violations
    assert not found(result, "unconditional_promise", match, text), result.violations


# The same promises with the policy's condition or a next step stated: nothing to flag.
CONDITIONAL_PROMISES = [
    "签收后7天内、商品完好可退换。",
    "核实后为您补发。",
    "拍照核实后为您补发或退款，运费由我们承担。",
    "收到后如有破损，请拍照给我们，核实后免费为您补发。",
    "我们会尽快为您安排发货，付款后24小时内发出。",
    "商品完好、不影响二次销售的情况下，签收7天内可以无理由退换。",
    "有问题随时联系我，我一直在。",
    "我们一定会认真核实，给您一个答复。",
    "我会尽力帮您处理好这件事。",
    "退款会在退货签收后24小时内处理，到账时间以银行为准。",
    "不满意的话，可以在签收7天内申请退换，需要商品完好。",
    "收到坏了的话请拍照发给我，我们给您换新。",
    "核实后一定给您处理好。",
    "请您一定到货后再确认收货。",
    "错发的这件来回运费都由我们承担。",
    "有任何问题都可以随时联系我们。",
    "签收7天内想退的话，商品完好就可以申请。",
    "付款后马上为您安排，24小时内发货。",
]


@pytest.mark.parametrize("text", CONDITIONAL_PROMISES)
def test_conditional_promise_is_left_alone(cf, text):
    assert cf.check(text, sources=POLICIES).violations == ()


# ---------- ungrounded_commitment: numbers that are no commitment or match the policy ----------
# Product specs, dates, times of day, counts the customer bought or quoted, usage and shelf life,
# and the policy's own numbers written another way (二十四小时, 1天, 一周, 5块钱, ￥5, 三十天).
NON_COMMITMENT_NUMBERS = [
    "这款精华每瓶30ml，早晚各用两三滴即可。",
    "这款面膜一盒5片，敷15分钟后揭下。",
    "这款纸尿裤一包60片，适合5-8公斤的宝宝。",
    "这款奶瓶容量240ml，适合0-3岁宝宝使用。",
    "您拍的是S码，肩宽42cm，胸围96cm。",
    "这件T恤第2件半价，活动到月底。",
    "您订单里的2件商品都已经发出了。",
    "您买的2件衣服已经一起发出，请留意物流。",
    "您一共买了3件，我们分两个包裹发出。",
    "您拍了两瓶面霜，今天会一起发出。",
    "您说的3天内要用，我帮您催一下仓库。",
    "您提到的12小时，我们这边没有这个规定，以页面为准。",
    "预计3月15日发货，请您留意。",
    "我们客服在线时间是早上9点到晚上11点。",
    "今天下午4点前付款的订单当天安排发出。",
    "付款后二十四小时内为您发货。",
    "付款后1天内为您发货。",
    "付款后一天之内为您安排发货。",
    "付款后24个小时内发货，节假日顺延。",
    "签收后一周内，商品完好可以无理由退换。",
    "自签收之日起七日内，商品完好支持无理由退货。",
    "签收后7个自然日内，商品完好可以无理由退换。",
    "退货签收后一天内给您处理退款。",
    "退货包裹签收后二十四小时内为您处理退款。",
    "给您添麻烦了，送您一张5块钱的无门槛致歉券。",
    "给您添麻烦了，送您一张￥5无门槛致歉券。",
    "给您添麻烦了，送您一张五元无门槛致歉券。",
    "可以送您一张5元无门槛券。",
    "核实属实后，送您一张二十元无门槛致歉券，三十天内有效。",
    "核实属实后，送您一张20块钱的无门槛致歉券，30天内有效。",
    "核实属实后，送您一张￥20无门槛致歉券，有效期30天。",
    "这款面霜一瓶可以用2个月左右。",
    "开封后建议6个月内用完。",
    "这款精华保质期3年，开封后12个月内用完。",
    "宝宝6个月以上可以用这款奶瓶。",
    "这款面膜每次用1片，一周2到3次。",
    "加厚款每包30片，买的时候注意看规格。",
    "双十一活动期间发货会慢一些。",
    "您这单的3瓶都已经发出，分成了2个包裹。",
    "您反馈的两件衣服颜色不对，麻烦拍照给我看一下。",
    "您收到的4包纸尿裤里有1包破损了吗？",
    "这款衣服有S、M、L三个尺码。",
    "这套护肤品包含3件：洁面、精华和面霜。",
    "这款T恤是100%纯棉的，洗后不易变形。",
    "您在3天前下的单，我帮您查一下。",
    "建议每天早晚各用一次。",
    "包裹在分拣中心停留了两天，我已经帮您催快递了。",
    "物流显示包裹预计25日送达。",
    "您说“用了三天没效果”，我们理解您的心情。",
    "破损的奶瓶先给您补发一个，麻烦再补一张照片。",
    "这件羽绒服是90%白鸭绒，吊牌上有标注。",
    "那些几十块一大包的纸尿裤建议您谨慎选择。",
]


@pytest.mark.parametrize("text", NON_COMMITMENT_NUMBERS)
def test_spec_fact_or_policy_number_is_not_an_ungrounded_commitment(cf, text):
    assert cf.check(text, sources=POLICIES).violations == ()


# Next to a spec or a customer's own count, a number we promise is still checked.
NUMBERS_NEAR_SPECS = [
    # (text, match)
    ("敷完面膜有刺痛的话，我们补偿您50元。", "50元"),
    ("您说的问题，我们12小时内给您退款。", "12小时"),
    ("您买的这款面霜，我们再赠送您2片面膜。", "2片"),
    ("这款面霜保质期内坏了给您补偿30元。", "30元"),
    ("用了不满意我们补偿您10元。", "10元"),
]


@pytest.mark.parametrize(("text", "match"), NUMBERS_NEAR_SPECS)
def test_promised_number_next_to_a_spec_is_still_flagged(cf, text, match):
    result = cf.check(text, sources=POLICIES)
    assert found(result, "ungrounded_commitment", match, text), result.violations


def test_arithmetic_on_a_grounded_offer_is_not_a_promise(cf):
    offer = ("店铺活动：全场满199元减20元。",)
    assert cf.check("活动是满199元减20元，您还差15元就可以用。", sources=offer).violations == ()


def test_context_rule_needs_its_context_earlier_in_the_sentence(tmp_path):
    body = (
        "version: 1\nnegation_cues: [不会]\nrules:\n"
        "  - id: bad_mouth\n    category: competitor_disparagement\n    action: drop\n    reason: 贬低。\n"
        "    context: [别家]\n    context_patterns: ['[a-z]家']\n    terms: [缩水]\n"
    )
    cf = ComplianceFilter.from_file(write_rules(tmp_path, body))
    assert cf.check("别家的裤子一洗就缩水。").violations
    assert cf.check("u家的裤子一洗就缩水。").violations
    assert cf.check("您好。这条裤子洗后会轻微缩水，建议冷水手洗。").violations == ()
    assert cf.check("别家我不了解。我们的裤子洗后缩水，请冷水洗。").violations == ()  # another sentence
    assert cf.check("别家怎样我不评价，我们的不会缩水。").violations == ()  # negated


def test_bad_context_pattern_points_at_its_field(tmp_path):
    body = (
        "version: 1\nrules:\n  - id: bad_mouth\n    category: competitor_disparagement\n    action: drop\n"
        "    reason: 贬低。\n    context_patterns: ['(别家']\n    terms: [缩水]\n"
    )
    with pytest.raises(KnowledgeBaseError) as err:
        load_rules(write_rules(tmp_path, body))
    assert err.value.field == "context_patterns" and err.value.line == 7


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("您说宝宝用了之后晚上没办法安睡，我特别理解。", False),  # restating the customer
        ("您说之前在别的店买到过假货，这种经历确实让人担心。", False),
        ("您说什么都没用，规定如此。", True),  # a retort, not a restatement
        ("您说的那个大牌面霜其实就是在卖牌子，交智商税。", True),  # a reference, not a restatement
    ],
)
def test_restated_customer_words_are_not_our_claims(cf, text, flagged):
    assert bool(cf.check(text).violations) == flagged, cf.check(text).violations


def test_harmless_phrase_does_not_excuse_a_longer_claim_around_it(cf):
    assert cf.check("最快明天就能发出。").violations == ()
    text = "我们是全网发货最快的仓库。"
    assert found(cf.check(text), "absolute_claim", "全网发货最快", text)


def test_personal_data_in_a_dropped_sentence_is_still_masked(cf):
    text = "那你想怎么样嘛，电话13590217368不是你自己填的吗，又不怪我们。好的。"
    result = cf.check(text)
    assert found(result, "personal_data", "13590217368", text)
    assert "13590217368" not in result.text


# Wording families new authors used that the rules once missed (own sentences, not the tune set's).
FAMILY_POSITIVES = [
    ("forbidden_service_phrase", "jianyi", "您问我我问谁呀。", "我问谁"),
    ("forbidden_service_phrase", "jianyi", "您问我我也不知道啊。", "我也不知道"),
    ("forbidden_service_phrase", "lanxu", "运费的事您问我干嘛？", "问我干嘛"),
    ("forbidden_service_phrase", "nuanbei", "这个不归我们售后管。", "不归我们售后管"),
    ("forbidden_service_phrase", "jianyi", "您这都问第三遍了。", "问第三遍"),
    ("forbidden_service_phrase", "jianyi", "评价您想写就写，我们无所谓。", "您想写就写"),
    ("forbidden_service_phrase", "nuanbei", "这都怪不得我们店里。", "怪不得我们"),
    ("forbidden_service_phrase", "jianyi", "物流记录您自己往上翻一下吧。", "自己往上翻一下"),
    ("unconditional_promise", "jianyi", "这条裤子随时全额退。", "随时全额退"),
    ("unconditional_promise", "nuanbei", "后天傍晚前一定给您送到。", "一定给您送到"),
    ("unconditional_promise", "lanxu", "核实后补您一张券，保证以后不会再漏发。", "保证以后不会再漏发"),
    ("competitor_disparagement", "nuanbei", "那家的湿巾全是工业废料。", "工业废料"),
    ("false_authority", "lanxu", "这款面霜被中科院评为年度好物。", "中科院评为"),
]

FAMILY_NEGATIVES = [
    "您问我这款适不适合敏感肌，我帮您看一下成分表。",
    "您说我们发错了颜色，我马上帮您核实。",
    "如果对处理结果不满意，您也可以向平台反映，我们会配合。",
    "您可以在订单页自己翻看物流，我也同步帮您查。",
    "是您的包裹在中转站滞留导致的延误，我们已经在催了。",
    "这款羽绒服的保暖性能碾压全网。",
]


@pytest.mark.parametrize(("category", "brand", "text", "match"), FAMILY_POSITIVES)
def test_new_wording_family_is_found(cf, category, brand, text, match):
    result = cf.check(text, brand=brand, sources=POLICIES)
    assert found(result, category, match, text), result.violations


@pytest.mark.parametrize("text", FAMILY_NEGATIVES)
def test_new_family_guards_leave_these_to_others(cf, text):
    mine = {
        "forbidden_service_phrase",
        "unconditional_promise",
        "competitor_disparagement",
        "false_authority",
    }
    result = cf.check(text, brand=None, sources=POLICIES)
    assert [v for v in result.violations if v.category in mine] == [], result.violations
