"""Numbers with units in a draft (24小时, 七天, 五元, 85%) and whether a source supports them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN = "零〇一二两三四五六七八九十百千万"
_NUM = rf"(?:\d+(?:\.\d+)?|[{_CN}]+|半|双|翻)"
# Longest unit spellings first so 个小时 wins over 个.
_UNITS: dict[str, tuple[str, float]] = {
    "个小时": ("time", 60), "小时": ("time", 60), "个钟头": ("time", 60), "钟头": ("time", 60), "h": ("time", 60),
    "分钟": ("time", 1),
    "个工作日": ("time", 1440), "工作日": ("time", 1440), "个自然日": ("time", 1440), "自然日": ("time", 1440),
    "天": ("time", 1440), "日": ("time", 1440),
    "个星期": ("time", 10080), "星期": ("time", 10080), "周": ("time", 10080),
    "个月": ("month", 1), "年": ("month", 12),
    "块钱": ("yuan", 1), "元": ("yuan", 1), "块": ("yuan", 1), "rmb": ("yuan", 1), "积分": ("points", 1),
    "%": ("percent", 1), "折": ("discount", 1),
    "件": ("piece", 1), "个": ("piece", 1), "片": ("piece", 1), "瓶": ("piece", 1), "支": ("piece", 1),
    "盒": ("piece", 1), "包": ("piece", 1), "袋": ("piece", 1), "份": ("piece", 1), "套": ("piece", 1),
    "张": ("piece", 1), "条": ("piece", 1), "双": ("piece", 1),
    "次": ("times", 1), "倍": ("times", 1),
}  # fmt: skip
# Latin units must not run into a word (24h, not 24hours; 5rmb).
_UNIT_RE = "|".join(
    re.escape(u) + ("(?![a-z])" if u.isascii() and u.isalpha() else "")
    for u in sorted(_UNITS, key=len, reverse=True)
)
_QUANTITY = re.compile(
    rf"(?=[0-9{_CN}半双翻百¥])(?:(?<![0-9a-z.*#第])(?P<a>{_NUM})(?:\s*(?:-|~|至|到|—|或)\s*(?P<b>{_NUM}))?\s*(?P<unit>{_UNIT_RE})"
    rf"|百分之(?P<pa>{_NUM})(?:\s*(?:-|~|至|到)\s*(?:百分之)?(?P<pb>{_NUM}))?"
    rf"|¥\s*(?P<ya>\d+(?:\.\d+)?)"
    r"|(?<=[减返抵])(?P<ra>\d+(?:\.\d+)?)(?![0-9.%])(?!\s*(?:元|块|折|件|个|天|小时|分|积分)))"  # 满299减50: 50 yuan
)
_DATE = re.compile(r"\d{1,4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}|\d{1,2}\s*月\s*\d{1,2}\s*[日号]")
# Units too common to count without a sign of a commitment nearby (一个问题, 再一次, 宝宝3个月).
_NEEDS_CUE = frozenset({"piece", "times", "month", "points"})
# A share of an ingredient or a fibre is a spec (5%烟酰胺, 含2%传明酸, 90%白鸭绒), not a promise.
_COMPOSITION_AFTER = re.compile(
    r"(?:的)?[\u4e00-\u9fffa-z]{0,4}?(?:酸|醇|胺|烷|素|油|提取物|成分|浓度|含量|绒|棉|丝|纶|纤维|麻)"
)
_COMPOSITION_BEFORE = ("含", "含有", "浓度", "含量", "添加", "添加了", "加了", "配比")
_CUES = (
    "送", "赠", "补", "多发", "返", "赔", "免费", "额外", "加", "买", "满", "保修", "质保", "保障", "保",
    "可以", "可", "给您", "为您", "包", "限", "领", "退", "换", "优惠", "抵", "减", "享", "发放", "申请",
)  # fmt: skip
_CUES_AFTER = (
    "内", "之内", "以内", "起", "无理由", "券", "优惠券", "红包", "补", "赔", "返", "无门槛", "代金券", "购物金", "现金",
    "作为补偿", "的补偿", "返现", "退给", "赔给", "补给", "返给",
)  # fmt: skip
_SWAP = ("换", "换成", "改成", "选", "挑", "补发", "重发")
_ARTICLE = (
    "满意",
    "答复",
    "说法",
    "交代",
    "解释",
    "结果",
    "回复",
    "方案",
    "办法",
    "处理",
    "合理",
    "明确",
    "准确",
)
_PAST_BEFORE = (
    "已经", "已", "过去", "过了", "等了", "晚了", "超过", "超出", "耽误了", "快", "晚到", "迟到", "延误", "延迟", "超时", "近",
)  # fmt: skip
_PAST_AFTER = ("了", "前", "以前", "之前", "过去", "大")
_NOT_UNIT_AFTER = {
    "天": "然猫气使空下",
    "元": "旦宵素气",
    "日": "期常用",
    "周": "到边末",
    "包": "装裹邮括",
    "支": "持付",
}
_FABRIC = (
    "粘胶",
    "棉",
    "纯棉",
    "羊毛",
    "羊绒",
    "桑蚕丝",
    "真丝",
    "涤纶",
    "聚酯",
    "亚麻",
    "莫代尔",
    "锦纶",
    "氨纶",
    "纤维",
)


@dataclass(frozen=True)
class Quantity:
    """A number with a unit: class, value range in base units, and where it sits in the text."""

    kind: str  # time (minutes) | month | yuan | percent | discount | piece | times | any
    low: float
    high: float
    start: int
    end: int
    text: str


def cn_to_number(token: str) -> float | None:
    """Parse an arabic or Chinese numeral (二十四, 两, 半, 1.5); None when it is not one."""
    if not token:
        return None
    if token[0].isdigit():
        try:
            return float(token)
        except ValueError:
            return None
    if token == "半":
        return 0.5
    if token in ("双", "翻"):
        return 2.0
    digits = {
        "零": 0,
        "〇": 0,
        "一": 1,
        "二": 2,
        "两": 2,
        "三": 3,
        "四": 4,
        "五": 5,
        "六": 6,
        "七": 7,
        "八": 8,
        "九": 9,
    }
    scales = {"十": 10, "百": 100, "千": 1000, "万": 10000}
    total, section, current = 0, 0, 0
    seen_digit = False
    for ch in token:
        if ch in digits:
            current = digits[ch]
            seen_digit = True
        elif ch in scales:
            scale = scales[ch]
            if scale == 10000:
                total += (section + current) * scale
                section = current = 0
            else:
                section += (current if current or seen_digit else 1) * scale
                current = 0
            seen_digit = False
        else:
            return None
    return float(total + section + current)


def _range(token: str) -> tuple[float, float] | None:
    """Parse a numeral that may be a spoken range (三五, 一两) into (low, high)."""
    if len(token) == 2 and all(c in "一二两三四五六七八九" for c in token):
        a, b = cn_to_number(token[0]), cn_to_number(token[1])
        if a is not None and b is not None and a < b:
            return (a, b)
    value = cn_to_number(token)
    return None if value is None else (value, value)


def extract(norm: str, *, commitments_only: bool) -> list[Quantity]:
    """Find quantities in normalised text; with commitments_only, skip past facts and cue-less counts."""
    dates = [(m.start(), m.end()) for m in _DATE.finditer(norm)]
    out: list[Quantity] = []
    for m in _QUANTITY.finditer(norm):
        start, end = m.span()
        if any(s <= start < e for s, e in dates):
            continue
        if m.group("ya") or m.group("ra"):
            value = float(m.group("ya") or m.group("ra"))
            out.append(Quantity("yuan", value, value, start, end, m.group(0)))
            continue
        if m.group("pa"):
            rng = _range(m.group("pa"))
            high = _range(m.group("pb")) if m.group("pb") else rng
            if rng is None or high is None:
                continue
            if commitments_only and _is_composition(norm, start, end):
                continue
            out.append(Quantity("percent", rng[0], high[1], start, end, m.group(0)))
            continue
        unit = m.group("unit")
        a, b = m.group("a"), m.group("b")
        if a in ("双", "翻") and unit != "倍":
            continue
        if unit in _NOT_UNIT_AFTER and end < len(norm) and norm[end] in _NOT_UNIT_AFTER[unit]:
            continue
        low_r, high_r = _range(a), _range(b) if b else None
        if low_r is None or (b and high_r is None):
            continue
        kind, factor = _UNITS[unit]
        low, high = low_r[0], (high_r or low_r)[1]
        if unit == "年" and low >= 1900:
            continue
        if commitments_only and not _is_commitment(norm, start, end, kind, unit):
            continue
        out.append(Quantity(kind, low * factor, high * factor, start, end, m.group(0)))
    return out


# Counts the customer bought or quoted back: a fact about the order, not something we promise.
_NOT_PROMISED = re.compile(
    r"(?:(?:买|拍|下单|购买|订购|收到|签收|退回|寄回)(?:了|的)(?:这|共|一共)?"
    r"|(?:您|你)(?:刚才|之前)?(?:说|提到|讲|问|要求|希望|反馈|提出|想要)(?:的|了|过)(?:这|那)?"
    r"|(?:客户|顾客|宝妈|买家|大家|人)[^,，。]{0,4}(?:买|拍|囤|入))$"  # 不少客户一次买两件: what buyers do
)
# Usage and shelf-life durations are product specs (敷15分钟, 可以用2个月, 开封后6个月内用完).
_SPEC_BEFORE = re.compile(
    r"(?:(?:敷|涂|按摩|静置|停留|浸泡|泡|煮|煮沸|消毒|晾|(?<![不没])用|使用|穿|洗|戴|观察|试用|试穿|停)$|保质期|开封后)"
)
_SPEC_AFTER = re.compile(r"(?:之内|以内|内)?(?:用完|使用完|用掉)")
# Cue characters that are part of a measure word or another word here (一包60片, 包含3件, 保质期).
_NOT_CUE = re.compile(r"(?:[每一两二三四五六七八九十0-9]包|包含|包括|包装|包裹|保质期|加厚|加大|加长|加绒)")
# A single piece is an article (补发一个, 补一张照片, 一张20元的券) unless it is handed out as a gift.
_GIFT_CUES = ("送", "赠", "多发", "额外", "加送", "另送", "再给您", "多给您")
# 25日送达: a day of the month, not a span of days.
_DATE_AFTER = ("前", "送达", "到", "发", "左右", "上午", "下午", "晚", "开始", "截止", "当天", "那天", "号")
# Verbs whose "了" makes the number a past fact (停了两天, 说了三遍) unless it is a handout (补了5元).
_HANDOUT = ("送", "赠", "补", "返", "赔", "退", "减", "免", "发", "到", "长")
_FREQUENCY = re.compile(rf"\s*(?:各|共)?{_NUM}\s*次")
# A span before an effect is an efficacy claim (三天就能消炎), left to the absolute and medical rules;
# a span before a count is a rate (一分钟发十几条消息, 一天几千单), not a deadline.
# (两三天红疹就下去了: the thing that improves may stand between the span and 就.)
_EFFECT_AFTER = re.compile(
    r"(?:之内|以内|内)?(?:[\u4e00-\u9fff]{1,3}?(?=就))?(?:就|即|便)?(?:一定|肯定|保证)?(?:能|可以|可|会)?(?:让您|让你)?(?:彻底)?"
    r"(?:见效|显效|起效|消炎|消肿|退红|美白|变白|淡斑|祛斑|去皱|好转|"
    r"看到效果|见到效果|有效果|消退|淡化|白一个度|瘦|下去|消下去|退下去|消掉|消除|去除|改善|抚平|修复|收缩|平了|不疼)"
)
_RATE_AFTER = re.compile(
    rf"(?:之内|以内|内)?(?:就)?(?:要|得|能|会)?(?:发|问|催|打|说|回)了?(?:{_NUM}|几)+几?\s*(?:条|次|遍|个)"
    rf"|(?:上|近|好)?(?:{_NUM}|几)+\s*单"
)
# Spans that are advice or report, not a deadline we promise: 如果一两天还没缓解 (a watch period before the next
# step), 七成反馈两周后紧绷感减轻 (what users reported), 您等两天再看看 (advice to wait).
_WATCH = re.compile(r"(?:如果|若|要是|假如|万一)[^,，。!?;]{0,8}$")
_WATCH_AFTER = re.compile(r"(?:后|以后|之后|内)?(?:还|仍|仍然|都|也|一直)(?:是)?(?:没|不|未)")
_SURVEY_VERBS = ("反馈", "表示", "反映", "认为", "觉得")
_FELT_AFTER = re.compile(
    r"(?:左右|后|之后|以后)?(?:就)?(?:感觉|感到|觉得)"
)  # 多数人四周左右感觉更润: a report
_THEN_LOOK = re.compile(r"(?:后|以后|之后)?(?:再)?(?:看|瞧|观察)")
# 耳后试用，24小时无不适再上脸: the span of a patch test, not a deadline we promise.
_NO_REACTION = re.compile(
    r"(?:后|以后|之后|内)?(?:都)?(?:无|没有|没|未|不出现|没出现|未出现)(?:任何)?(?:不适|异常|反应|过敏|刺激|泛红|发红|红肿)"
)
_TRIAL_AFTER = re.compile(r"(?:的)?(?:连续)?(?:使用|试用|测试)?(?:反馈|测试|试验|实验|评测)")
# A cited sample of people (据3000名用户试用反馈) makes the share after it a statistic, not a promise.
_SAMPLE = re.compile(
    rf"[0-9{_CN}]+\s*(?:名|位)[\u4e00-\u9fff]{{0,4}}?(?:用户|顾客|买家|宝妈|消费者|受访者|受试者|志愿者|测试者|试用者|人)"
)
_SURVEY_AFTER = re.compile(r"(?:的)?(?:用户|顾客|买家|宝妈|人|受访者)?(?:都)?(?:表示|认为|反馈|觉得|评价)")
_RESPONDENTS_SAID = re.compile(
    r"的(?:受访者|用户|顾客|买家|宝妈|试用者|消费者)(?:都)?(?:表示|认为|反馈|觉得|评价)"
)
# A price followed by 的 and a noun that is no coupon or compensation (九块九的T恤, 几十元的面霜).
_PRICE_OF = re.compile(
    rf"[{_CN}0-9]?(?:的(?!券|优惠|红包|无门槛|代金|购物金|现金|补偿|赔偿|差价|运费|积分|额度)[\u4e00-\u9fffa-z]"
    r"|[那这](?:种|些|个|款|类)|包邮"
    rf"|[{_CN}0-9]?(?:t恤|衬衫|卫衣|裤子|袜子|衣服|面霜|面膜|精华|奶瓶|湿巾|纸尿裤|东西|货))"
)
# A coupon's validity (有效期一年) is a term we promise; a product's (这款面霜有效期3年) is a spec.
_VALIDITY_WORDS = ("券", "红包", "优惠", "积分", "会员", "礼品卡", "购物金")


def _is_composition(norm: str, start: int, end: int) -> bool:
    """Return whether the share at [start, end) is an ingredient or fibre content (5%烟酰胺, 含2%传明酸, 90%棉)."""
    return (
        norm.startswith(_FABRIC, end)
        or _COMPOSITION_AFTER.match(norm[end : end + 5]) is not None
        or norm[max(0, start - 3) : start].endswith(_COMPOSITION_BEFORE)
    )


def _is_commitment(norm: str, start: int, end: int, kind: str, unit: str) -> bool:
    if start and norm[start - 1] in "每哪这那某同整几":  # 每天, 哪一天, 这一天, 几十块: not an amount
        return False
    if unit == "日" and norm.startswith(_DATE_AFTER, end):
        return False
    if kind == "time" and _FREQUENCY.match(norm, end):  # 一天两次: how to use, not a promise
        return False
    if kind == "time" and (_EFFECT_AFTER.match(norm, end) or _RATE_AFTER.match(norm, end)):
        return False
    if kind == "time" and _advises_or_reports(norm, start, end):
        return False
    if kind == "time" and norm[start:end] == "半天" and start and norm[start - 1] in "问等找说聊想看挑选试磨":
        return False  # 一件衣服问半天, 找半天: "a long while", no span we promise
    if kind == "time" and norm.startswith(("都不", "也不"), end):
        return False  # 一天都不会耽误: "not even a day", no span we promise
    if (
        kind == "times"
        and norm[start:end] == "一次"
        and norm.startswith(("换到", "换好", "就", "性", "到位", "搞定"), end)
    ):
        return False  # 包您一次换到满意: "in one go", no count we hand out
    if kind == "piece" and norm.startswith(("以上", "及以上", "起"), end):
        return False  # 买两件以上: a threshold the customer meets, not a count we hand out
    if kind == "time" and start and norm[start - 1] in "晚迟慢" and norm[start - 2 : start - 1] != "最":
        return (
            False  # 晚一天赔您10块: the delay is the condition (but 最晚48小时送到 is a deadline we promise)
        )
    before = norm[max(0, start - 6) : start]
    for stop in "。!?;,，\n":
        before = before.rsplit(stop, 1)[-1]
    after = norm[end : end + 5]
    if (
        before.endswith("了")
        and not any(c in before[-3:] for c in _HANDOUT)
        and not after.startswith(_CUES_AFTER)
    ):
        return False  # 停了两天, 说了三遍: what happened, not what we promise
    if before.endswith("差"):
        return False  # 还差15元就能用券: arithmetic on an offer, not an amount we give
    if (
        any(before.endswith(p) for p in _PAST_BEFORE)
        and not before.endswith(
            ("最快", "尽快", "不超过", "不超出")
        )  # 最晚不超过6小时: a deadline we promise
        or after.startswith(_PAST_AFTER)
        and not after.startswith("了解")
    ):
        return False
    if kind == "percent" and _is_composition(norm, start, end):
        return False
    if (
        kind == "percent"
        and _SURVEY_AFTER.match(after)
        and _SAMPLE.search(re.split("[。!?;\n]", norm[:start])[-1])
    ):
        return (
            False  # 据2000名用户反馈，82%表示干燥改善: a cited share of a named sample, the recommended form
        )
    if kind == "percent" and _RESPONDENTS_SAID.match(norm, end):
        return False  # 约82%的受访者表示……: a share of named respondents, a statistic not a promise
    if (
        kind == "yuan"
        and _PRICE_OF.match(norm, end)
        and (not any(c in before for c in _CUES) or before.endswith(("那种", "这种", "那些", "这些")))
    ):
        return False  # 九块九的T恤, 那种九块九的奶嘴: what something costs, not an amount we give
    if (
        _NOT_PROMISED.search(before)
        or kind in ("time", "month")
        and (_SPEC_BEFORE.search(before) or _SPEC_AFTER.match(after))
    ):
        return False  # 您买的2件, 您说的3天, 敷15分钟, 保质期3年: a fact or a quote, not a promise
    if (
        kind == "piece"
        and norm.startswith("一", start)
        and (before.endswith(_SWAP) or after.startswith(_ARTICLE))
    ):
        return False  # 换一个尺码, 给您一个满意的答复: a swap or an article, not a gift
    wide = _NOT_CUE.sub("", re.split("[。!?;,，\n]", norm[max(0, start - 10) : start])[-1])
    if kind == "piece" and norm.startswith(("一", "1"), start) and end - start <= 2:
        if (
            _QUANTITY.match(norm, end)
            or norm.startswith(("价值", "面值"), end)
            and _QUANTITY.match(norm, end + 2)
        ):
            return False  # 补偿一个8元红包, 一份价值198元的礼盒: the article before an amount, checked itself
        return any(c in wide for c in _GIFT_CUES)
    if kind == "piece" and any(c in wide for c in _GIFT_CUES):
        return True  # 送您试用装湿巾5包: the gift word stands a few words back
    if kind in ("time", "month") and before.endswith(("有效期", "有效期是", "有效期为")):
        sentence = re.split("[。!?;\n]", norm[:start])[-1]
        if any(w in sentence for w in _VALIDITY_WORDS):
            return True
    if kind in _NEEDS_CUE or unit == "日":
        before = _NOT_CUE.sub("", before)
        return any(c in before for c in _CUES) or after.startswith(_CUES_AFTER)
    if kind == "percent" and any(c in wide for c in ("返", "补", "赔", "退")):
        return True  # 额外返还订单金额的10%作为补偿
    return True


def _advises_or_reports(norm: str, start: int, end: int) -> bool:
    """Return whether the time span at [start, end) is a watch period, a reported span (a trial's length: 32名受试者
    28天的使用反馈) or advice to wait."""
    return (
        _TRIAL_AFTER.match(norm, end) is not None
        or _FELT_AFTER.match(norm, end) is not None
        or _NO_REACTION.match(norm, end) is not None
        or _WATCH.search(norm[max(0, start - 10) : start]) is not None
        and _WATCH_AFTER.match(norm, end) is not None
        or norm[max(0, start - 4) : start].endswith(_SURVEY_VERBS)
        or norm[max(0, start - 2) : start].endswith("等")
        and _THEN_LOOK.match(norm, end) is not None
    )


def unit_factor(q: Quantity) -> float:
    """Return the factor that turned the quantity's own unit into its base unit (小时 → 60 minutes)."""
    for unit, (kind, factor) in _UNITS.items():
        if q.text.endswith(unit) and kind == q.kind:
            return factor
    return 1.0
