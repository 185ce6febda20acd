"""Compliance wording families found by the fifth to eleventh rounds of blind tune authors (compliance_dev5-11).

Each round's misses became rule families; each family is tested here in our own sentences, not the authors':
the new pattern finds it in fresh wording, and each new guard leaves legitimate text alone.

- round 5: blaming and brushing-off service phrases, effect guarantees, cell-level and disease claims, invented
  sales figures;
- round 6: exaggerated repetition, daring the customer to complain, "not ours to handle", sending the customer
  off to look it up, any-customer and multiplied claims, open-ended price-drop refunds, rivals run down by one trait;
- round 7: polite-sounding retorts, blaming the customer for a mishap, "no means no", dropping the return and
  dispatch conditions, diseases a wash "sorts out", pirating and ageing-formula put-downs, event endorsements;
- round 8: "didn't you read the size chart?", blaming the baby's constitution, telling the customer to search or
  fix it themselves, durability and "never leaks" claims, rankings by one measure, a clock-time delivery,
  "no proof needed" refunds, bodies that award or designate, and the detectors' misreadings of a listed
  negation, a company hotline or mailbox, an address with a direction in its street number, an ID number
  whose label stands in the sentence before, and a return window counted from receipt;
- round 9: "don't believe it, don't buy", "just a bottle", read-my-last-reply and ask-the-courier brush-offs,
  unbreakable and rain-proof claims, "never a single complaint", lowest-ever prices, holiday dispatch and
  no-need-to-wait refunds, pay-you-if-late, "unlike some brands" put-downs, relapse and wound claims; and the
  guards that came with them: a superlative within our own range, a coupon "usable for 30 days", a trial's
  length, a price in a put-down, "not even a day", a claim called an exaggeration;
- round 10: "did you understand?", "you should have read it before", "too late now", "go buy elsewhere",
  ask-another-agent and ask-your-bank, one-night efficacy, "nothing compares", foreign certifications and space-grade
  materials, refunds "any time", medical bills and extra goods as compensation, replacement sent the day we receive;
  guards: a superlative inside a put-down belongs to the put-down, a share of named respondents is a statistic, a
  workload rate is no deadline;
- round 11: "nothing to do with you", "say what you like", no-time-to-check-each, refresh-it-yourself, "however you
  jump", sure-not-to-tan, "works every time", never-out-of-stock and customs guarantees, "just say the word",
  eye and joint claims, celebrities and confinement centres as endorsers; guard: "our softest of all" is ours.
"""

from __future__ import annotations

import pytest
from compliance_support import RULES, found

ROUND5 = [
    # (category, text, match)
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

ROUND6 = [
    # (category, text, match)
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

ROUND7 = [
    # (category, text, match)
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


ROUND8 = [
    # (category, text, match)
    ("forbidden_service_phrase", "拍之前您就没看详情页吗？", "您就没看详情页吗"),
    ("forbidden_service_phrase", "活动规则写在首页，您是一个字都没看啊。", "一个字都没看"),
    ("forbidden_service_phrase", "起疹子跟我们的面霜没关系，是您自身肤质的问题。", "是您自身肤质的问题"),
    ("forbidden_service_phrase", "颜色是您自己挑的，这怎么能怪我们呢。", "怎么能怪我们"),
    ("forbidden_service_phrase", "洗涤方法您自行百度一下。", "自行百度"),
    ("forbidden_service_phrase", "扣子松了您自己缝两针不就好了。", "您自己缝两针不就好了"),
    ("forbidden_service_phrase", "退货地址这事问第几遍了？", "问第几遍了"),
    ("forbidden_service_phrase", "不满意的话尽管投诉，流程就是这样。", "尽管投诉"),
    ("forbidden_service_phrase", "我一个客服，规矩也不是我定的。", "我一个客服"),
    ("absolute_claim", "这双袜子穿三年都不会起球。", "穿三年都不会起球"),
    ("absolute_claim", "这条床单洗五十遍还跟新的一样。", "五十遍还跟新的一样"),
    ("absolute_claim", "这款拉拉裤再好动的宝宝穿也不会侧漏。", "再好动的宝宝穿也不会侧漏"),
    ("absolute_claim", "这款保温杯的保温时长全京东最高。", "全京东最高"),
    ("absolute_claim", "这支面霜用完效果是永久的。", "效果是永久的"),
    ("medical_claim", "宝宝吐奶按摩十分钟就止住。", "吐奶按摩十分钟就止住"),
    ("medical_claim", "这款乳霜可以代替激素药膏。", "代替激素药膏"),
    ("false_authority", "我们的奶瓶获得过母婴用品协会金奖。", "协会金奖"),
    ("unconditional_promise", "退货的话不需要任何凭证，寄回来就行。", "不需要任何凭证"),
    ("unconditional_promise", "这批预售月底前保证全部到货。", "月底前保证全部到货"),
    ("unconditional_promise", "宝宝用了要是过敏，我们直接全额退款。", "直接全额退款"),
    ("unconditional_promise", "这件冲锋衣穿多久都能找我们换。", "穿多久都能"),
    ("ungrounded_commitment", "您的包裹明天下午5点前送到。", "明天下午5点前送到"),
    ("competitor_disparagement", "隔壁店的羽绒服都是大路货。", "大路货"),
    ("competitor_disparagement", "那家的电热水壶用几次就坏。", "用几次就"),
]

LEFT_ALONE8 = [
    # (text, the categories that must stay quiet)
    ("我们不会宣传美白、祛斑这类功效，这款只做保湿。", {"medical_claim", "absolute_claim"}),
    ("有问题可以打品牌热线4008001234，或者发邮件到客服邮箱help@nuanbei.example。", {"personal_data"}),
    ("这个问题麻烦您先看下详情页第二张图，我也可以帮您量好发过来。", {"forbidden_service_phrase"}),
    ("如果宝宝皮肤容易过敏，建议先在手臂内侧小范围试用。", {"absolute_claim"}),
    ("这款面霜是我们家保湿力最强的一款。", {"false_authority"}),
]


ROUND9 = [
    # (category, text, match)
    ("forbidden_service_phrase", "不信的话您可以不买。", "不信的话您可以不买"),
    ("forbidden_service_phrase", "您别这么较真，一条裤子而已。", "一条裤子而已"),
    ("forbidden_service_phrase", "这是您自己泡坏的，还好意思来找我们？", "还好意思来找"),
    ("forbidden_service_phrase", "麻烦您认真看看我前面的回复。", "认真看看我前面的回复"),
    ("forbidden_service_phrase", "这个问题您自己去找品牌方。", "自己去找品牌方"),
    ("forbidden_service_phrase", "退款的事您去找售后同事吧。", "您去找售后同事吧"),
    ("forbidden_service_phrase", "这事不归我们仓库部门管。", "不归我们仓库部门管"),
    ("absolute_claim", "这个保温杯摔一千次都不会裂。", "摔一千次都不会裂"),
    ("absolute_claim", "用完一瓶细纹全消。", "细纹全消"),
    ("absolute_claim", "这款凉鞋下大雨穿也不会渗水。", "大雨穿也不会渗"),
    ("absolute_claim", "这款乳液上市三年从未出现过一起投诉。", "从未出现过一起"),
    ("absolute_claim", "这个价就是最低了，错过就没了。", "就是最低了"),
    ("absolute_claim", "这款面霜在回购榜上排头名。", "排头名"),
    ("unconditional_promise", "快递那边卡住了，我保证今晚之前恢复派送。", "保证今晚之前恢复派送"),
    ("unconditional_promise", "已经寄出也没关系，随时给您改。", "寄出也没关系"),
    ("unconditional_promise", "退款今天就给您退，不用等我们签收。", "不用等我们签收"),
    ("unconditional_promise", "元旦放假期间也照常二十四小时内发货。", "元旦放假期间也照常二十四小时内发货"),
    ("ungrounded_commitment", "要是延误了我们就赔您现金。", "延误了我们就赔您现金"),
    ("ungrounded_commitment", "这次的邮费和货款都不收了。", "货款都不收了"),
    ("competitor_disparagement", "我们不像某些靠明星撑场面的牌子。", "不像某些靠明星撑场面的牌子"),
    ("competitor_disparagement", "别家的吸管杯含双酚A。", "双酚"),
    ("competitor_disparagement", "隔壁那家的面膜就是收个牌子钱。", "牌子钱"),
    ("medical_claim", "长期用能减少痘痘复发。", "减少痘痘复发"),
    ("medical_claim", "宝宝磕破了，伤口涂一下帮助愈合。", "伤口涂一下帮助愈合"),
    ("medical_claim", "这款精华能修复真皮层。", "修复真皮层"),
]

LEFT_ALONE9 = [
    # (text, the categories that must stay quiet)
    ("这款面霜是我们家所有面霜里最滋润的一款。", {"absolute_claim"}),
    ("这件是我们店里最保暖的一款，适合北方的冬天。", {"absolute_claim"}),
    ("宝妈可以把运单号复制到快递官网查一下最新位置。", {"forbidden_service_phrase"}),
    ("说它能治湿疹那是夸张了，这款只是日常保湿。", {"medical_claim"}),
    ("据50名受试者28天的试用反馈，七成表示干燥改善。", {"ungrounded_commitment"}),
    ("九块九那种毛巾我们不卖，这款是纯棉的。", {"ungrounded_commitment"}),
    ("下单后我们尽快安排，一天都不会耽误。", {"ungrounded_commitment"}),
    ("收到的衣服开线了真抱歉，麻烦拍张照片，我给您补发。", {"competitor_disparagement"}),
]


ROUND10 = [
    # (category, text, match)
    ("forbidden_service_phrase", "规则就是这样，您听懂了吗？", "您听懂了吗"),
    ("forbidden_service_phrase", "下单前就该量好尺寸的。", "下单前就该量好"),
    ("forbidden_service_phrase", "锅底糊了属于您自己使用不当。", "您自己使用不当"),
    ("forbidden_service_phrase", "运费险没买，现在才说也晚了。", "现在才说也晚了"),
    ("forbidden_service_phrase", "等不了的话您可以去别家买。", "您可以去别家买"),
    ("forbidden_service_phrase", "到账时间您问支付宝去。", "问支付宝去"),
    ("forbidden_service_phrase", "这个我无法回答您。", "无法回答您"),
    ("absolute_claim", "这片面膜敷一晚就见效。", "一晚就见效"),
    ("absolute_claim", "护膝戴上就不疼了。", "戴上就不疼了"),
    ("absolute_claim", "这款睡袋宝宝盖着绝对不会捂出汗。", "绝对不会捂出"),
    ("absolute_claim", "这款精华的稳定性别的品牌都比不上。", "别的品牌都比不上"),
    ("false_authority", "这款面霜通过了欧盟认证。", "欧盟认证"),
    ("false_authority", "这件羽绒服用的是航天材料。", "航天材料"),
    ("unconditional_promise", "只要您想退，我们随时可以为您办理退款。", "随时可以为您办理退款"),
    ("unconditional_promise", "这个推车质保终身。", "质保终身"),
    ("ungrounded_commitment", "宝宝要是用了不舒服，医药费由我们店铺承担。", "医药费由我们店铺承担"),
    ("ungrounded_commitment", "这次再赔您一罐奶粉。", "赔您一罐"),
    ("ungrounded_commitment", "换货寄回来，我们收到当天就给您寄出新的。", "收到当天就给您寄出"),
    ("competitor_disparagement", "别家的奶嘴都是工业硅胶。", "工业硅胶"),
    ("competitor_disparagement", "隔壁那家的衣服码数乱得很。", "码数乱"),
    ("medical_claim", "宝宝起痱子涂了马上就消。", "痱子涂了马上就消"),
]

LEFT_ALONE10 = [
    # (text, the categories that must stay quiet)
    ("那家的原料都是最便宜的边角料，我们不做这种。", {"absolute_claim"}),
    ("回访中约82%的用户表示用了四周更细腻，因人而异。", {"ungrounded_commitment"}),
    ("我这边一天要回几百条消息，回复慢了请见谅，您的问题我马上查。", {"ungrounded_commitment"}),
    ("那种九块九包邮的袜子我们不卖，这款是精梳棉的。", {"ungrounded_commitment"}),
]


ROUND11 = [
    # (category, text, match)
    ("forbidden_service_phrase", "活动结束了，价格调整跟您没关系。", "跟您没关系"),
    ("forbidden_service_phrase", "您说再多也没用，系统改不了。", "您说再多也没用"),
    ("forbidden_service_phrase", "我们没空一个个给您核对。", "没空一个个"),
    ("forbidden_service_phrase", "您一直揪着这事不放干嘛。", "揪着这事不放"),
    ("forbidden_service_phrase", "物流信息您自己在订单里刷新就行。", "自己在订单里刷新就行"),
    ("absolute_claim", "这条瑜伽裤怎么跳都不会掉。", "怎么跳都不会"),
    ("absolute_claim", "戴上这顶帽子保证不会晒黑。", "保证不会晒黑"),
    ("absolute_claim", "这个哄睡方法百试百灵。", "百试百灵"),
    ("absolute_claim", "用一周能让皮肤亮三个度。", "让皮肤亮三个度"),
    ("unconditional_promise", "这款今天拍保证不会断货。", "保证不会断货"),
    ("unconditional_promise", "降价了我们一律给老顾客补差价。", "一律给老顾客补差价"),
    ("unconditional_promise", "不合适您说一声就给您退。", "说一声就给您退"),
    ("unconditional_promise", "宝宝用了有任何过敏我们都全额负责。", "任何过敏我们都全额负责"),
    ("unconditional_promise", "进口奶粉保证顺利清关。", "保证顺利清关"),
    ("medical_claim", "这款眼罩能缓解视疲劳。", "缓解视疲劳"),
    ("medical_claim", "痱子、湿疹都能搞定。", "湿疹都能搞定"),
    ("false_authority", "这件卫衣好几个顶流私下都穿。", "顶流私下都穿"),
    ("false_authority", "这款围兜是消防部门专用的阻燃布。", "部门专用"),
    ("competitor_disparagement", "那几家店的针脚您看了会笑。", "看了会笑"),
]

LEFT_ALONE11 = [
    # (text, the categories that must stay quiet)
    ("这是我们家所有湿巾里最软的。", {"absolute_claim"}),
]


def test_a_superlative_within_our_own_range_is_a_self_comparison(cf):
    assert not cf.check("这款奶嘴是我们家所有奶嘴里最软的一款。", brand="nuanbei").violations
    assert not cf.check("这是店里价格最低的基础款T恤，面料一样是纯棉。", brand="jianyi").violations
    text = "这款奶嘴是全网最软的一款。"
    assert found(cf.check(text, brand="nuanbei"), "absolute_claim", "全网最软", text)
    text = "这是全网价格最低的基础款T恤。"
    assert found(cf.check(text, brand="jianyi"), "absolute_claim", "价格最低", text)


def test_a_coupon_usable_for_the_policys_days_is_grounded(cf):
    from rag.kb import load_kb

    policies = [p.body for p in load_kb(RULES.parents[1]).policies]
    ok = cf.check("核实属实后给您一张20元无门槛券，30天内都能用。", brand="nuanbei", sources=policies)
    assert not [v for v in ok.violations if v.category == "ungrounded_commitment"], ok.violations
    long = cf.check("核实属实后给您一张20元无门槛券，60天内都能用。", brand="nuanbei", sources=policies)
    assert [v.text for v in long.violations if v.category == "ungrounded_commitment"] == ["60天"], (
        long.violations
    )


def test_an_address_at_a_plaza_is_personal_data(cf):
    text = "您填的地址是江苏省南京市鼓楼区中山北路山西路广场3栋1501，我核对一下。"
    result = cf.check(text, brand="jianyi")
    assert found(result, "personal_data", "3栋1501", text), result.violations


def test_a_listed_claim_after_a_negation_is_negated(cf):
    result = cf.check("我们不能宣称消炎、祛痘、去红血丝等功效。", brand="lanxu")
    assert not result.violations, result.violations


def test_an_address_whose_street_number_has_a_direction_is_personal_data(cf):
    text = "您的收货地址是浙江省杭州市西湖区文三路西88号5栋402，我核对一下。"
    result = cf.check(text, brand="jianyi")
    assert found(result, "personal_data", "88号5栋402", text), result.violations


def test_an_id_shaped_number_is_personal_data_when_the_sentence_before_calls_it_an_identity_card(cf):
    text = "身份证最后一位是X对吧？我这边看到的是11010519900307123X。"  # check digit wrong, label a sentence back
    result = cf.check(text, brand="lanxu")
    assert found(result, "personal_data", "11010519900307123X", text), result.violations


def test_a_return_window_counted_from_receipt_is_grounded_by_the_policy(cf):
    from rag.kb import load_kb

    policies = [p.body for p in load_kb(RULES.parents[1]).policies]
    text = "这件也支持七天无理由，收到货七天内吊牌在、没穿过就能申请。"
    result = cf.check(text, brand="jianyi", sources=policies)
    assert not [v for v in result.violations if v.category == "ungrounded_commitment"], result.violations
    broken = cf.check("收到货十五天内都能退。", brand="jianyi", sources=policies)
    assert [v for v in broken.violations if v.category == "ungrounded_commitment"], broken.violations


def test_a_delay_and_a_gift_worth_an_amount_are_not_numbers_we_promise(cf):
    text = "晚一天到就补您一张5元券，另外送您一份价值30元的小样。"
    result = cf.check(text, brand="lanxu")
    flagged = {v.text for v in result.violations if v.category == "ungrounded_commitment"}
    assert not {"一天", "一份"} & flagged, result.violations
    assert "30元" in flagged, result.violations


# Written for these rules, in none of the eval sets: impatience, a guarantee of any outcome, a drug replaced.
ROUND16 = [
    ("forbidden_service_phrase", "一个奶嘴挑了半天还没定，要买就赶紧下单吧。", "要买就赶紧下单"),
    ("forbidden_service_phrase", "这点钱还想要什么面料？", "这点钱还想要什么"),
    ("unconditional_promise", "您别急，您要什么补偿都行。", "您要什么补偿都行"),
    ("medical_claim", "这支膏完全能取代抗生素。", "取代抗生素"),
]


@pytest.mark.parametrize(
    ("category", "text", "match"), ROUND5 + ROUND6 + ROUND7 + ROUND8 + ROUND9 + ROUND10 + ROUND11 + ROUND16
)
def test_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


LEFT_ALONE5 = [
    # (text, the categories that must stay quiet)
    ("宝妈，不是您的问题，是我刚才没写清楚。", {"forbidden_service_phrase"}),
    ("已经发货了没法改地址了，您可以收到后拒收，我帮您备注跟进。", {"forbidden_service_phrase"}),
    ("七天内没穿过洗过、吊牌还在的都可以退换。", {"unconditional_promise"}),
    ("这款奶瓶是妇幼协会唯一指定品牌。", {"absolute_claim"}),  # the authority rule reports it, once
    ("下单前不确定尺码的话，可以把身高体重发我。", {"forbidden_service_phrase"}),
    ("如果降价了，您可以联系我们按价保规则申请。", {"unconditional_promise"}),
]

LEFT_ALONE6 = [
    # (text, the categories that must stay quiet)
    ("这个我说了不算，我帮您申请一下主管审批。", {"forbidden_service_phrase"}),
    ("价保期内降价的话，差多少补多少，超过30天就不再补了。", {"unconditional_promise"}),
    ("要是一两天还没消下去，最好带宝宝去医院看看。", {"ungrounded_commitment", "medical_claim"}),
    ("若正在接受皮肤科治疗，请先问问主治医生。", {"medical_claim"}),
    ("我帮您把两张券和满减算了一下，这是最划算的组合。", {"absolute_claim"}),
    ("宝宝会不会长痱子和穿多少也有关系，别捂太厚。", {"medical_claim"}),
    ("大促期间仓库一天上万单，我这就帮您催一下。", {"ungrounded_commitment"}),
]

LEFT_ALONE7 = [
    # (text, the categories that must stay quiet)
    ("满减和券可以叠加，下单时系统会帮您算出最低价。", {"absolute_claim"}),
    ("新奶嘴先用清水洗净，再煮沸消毒三分钟。", {"ungrounded_commitment"}),
    ("试用的顾客里约六成反馈三周后干燥有所改善，因人而异。", {"ungrounded_commitment"}),
    ("物流刚更新，您等一两天再看看，有变化我第一时间告诉您。", {"ungrounded_commitment"}),
    ("穿过的裤子会影响二次销售，要是质量问题可以拍照，我帮您申请售后。", {"competitor_disparagement"}),
    ("您说的湿疹问题，建议先去医院看看，这款身体乳只做日常保湿。", {"absolute_claim"}),
]


@pytest.mark.parametrize(
    ("text", "quiet"), LEFT_ALONE5 + LEFT_ALONE6 + LEFT_ALONE7 + LEFT_ALONE8 + LEFT_ALONE9
)
def test_family_guard_leaves_text_alone(cf, text, quiet):
    result = cf.check(text, brand="nuanbei")
    assert not [v for v in result.violations if v.category in quiet], result.violations


LEFT_ALONE16 = [
    ("早晚各用一次就好，用完记得防晒。", {"absolute_claim"}),  # how to use it, no cure promised
    ("仓库找半天才找到您的订单，让您久等了。", {"ungrounded_commitment"}),  # a long while, no span promised
    ("网上说的明星同款是谣言，我们没有这样的合作。", {"false_authority"}),  # named to deny it
    ("只要包裹还没发出都可以改地址哦。", {"unconditional_promise"}),  # the policy's own condition
]


@pytest.mark.parametrize(("text", "quiet"), LEFT_ALONE16)
def test_usage_a_long_while_a_denied_rumour_and_the_policys_condition_are_left_alone(cf, text, quiet):
    result = cf.check(text, brand="lanxu")
    assert not [v for v in result.violations if v.category in quiet], result.violations


def test_an_id_number_given_for_real_name_checks_is_personal_data_whatever_its_check_digit(cf):
    text = "清关需要实名：王小明，11010519900307123X。"  # a made-up number whose check digit is wrong
    result = cf.check(text, brand="lanxu")
    assert found(result, "personal_data", "11010519900307123X", text), result.violations
    assert "11010519900307123X" not in result.text
