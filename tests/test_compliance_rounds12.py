"""Compliance wording families found by the twelfth and later rounds of blind tune authors (compliance_dev12-14).

As in tests/test_compliance_rounds.py (rounds 5-11), each family is tested in our own sentences, not the authors':
the new pattern finds it in fresh wording, and each new guard leaves legitimate text alone.

Round 12:
- service phrases: "that's basic common sense", blaming the customer's figure or the way she fed or washed,
  "you didn't look and now you ask", "stop grinding on at me", "just snip it off", "ask a hundred times, same
  answer", "who'd refund that", "nothing more to say", "no replies one by one", "beyond my duties", "ask the
  platform's service", "ask again tomorrow", "want to complain? go ahead";
- absolute claims: wrinkles smoothed in a number of days, "lose five jin at once", "dry in a second",
  "never a leak all night", "nobody ever returned one", "can't possibly have a quality problem";
- unconditional promises: "guaranteed to ship first", "however long you've used it", "no exception at New Year",
  "opened or not, same", "already shipped, I can still pull it back", "refund first, every time", "price protection
  for ever", "guaranteed to fit";
- put-downs (relabelled imports, leftover fabric, outdated formulas, "you know what they sell"), eczema "repair",
  antifungal and tooth-decay claims, doctors using it on their own children, royal warrants, "recognised by the
  trade";
- guards: an effect's span is no promised number, nor is a span buyers reported feeling, nor what other buyers
  bought; "the system works out the best price" is no superlative; a customer's "still want to return it?" is no
  promise of ours; a deadline set with 最晚, 最迟 or 不超过 is checked, and a bank's 为准 defers only the bank's part.

Round 13: "which size do you actually want?", "whatever", "ask again, same answer", "I give up on you", "not my duty",
"don't waste my time", "no need to answer", "move your finger", "be considerate, OK?", "I'm not the courier", "if you
insist there's nothing we can do", "go ask customs", "not a question for customer service"; wrinkles gone at once,
zero-anything claims, pinyin and homophone disguises (zui好, 觉对), "works with one patch"; customs "sure to pass",
"the difference surely refunded", changes after dispatch, "arrives tomorrow without fail", "worn and washed, we take
it back", "never out of stock", free return shipping on every order, "we bear every cost", "exchange any time"; rough
workmanship, "a pile of mums report…", "batch after batch had problems", "no research at all", inflated prices, "blown
up by advertising"; a building and room number without a street is an address; 假一赔N is a payout no policy grounds,
as four blind authors label it, not a promise.

Round 14: "other babies use it just fine", "you mums are too nervous", "stop asking so much", "keep pestering",
"we'll ignore you", "don't just say it", "what use is telling us", "ask finance", "go find them"; "sells more than
anyone", "nobody who used it didn't praise it", "no rival comes close", "highest safety grade", "any baby, no
colic", "absolutely no choking", "won't irritate, we guarantee it", "chew on it as long as you like", "whatever the
sensitivity", "however hot, no sweat", "ten years of wear, no down leaking", "you'll surely see results", "N jin
slimmer"; "wear it out, it's on me", "allergic? we take full responsibility", "insured or not, we pay", "even after a
month of wearing"; clock times and weekdays for arrivals and refunds, "late means a full refund", a free extra piece
as compensation; "the workmanship is unwatchable", "releases toxins", "that brand: not recommended"; "checked at the
counter", "approved by the drug administration as…"; shrinking red capillaries. Guards: the cheapest within our own
line is a fact, a patch test's 24 hours is no deadline, "exchanged once and for all" is no count, a 9.9-yuan T-shirt
is a price, "I don't know what size you usually wear" asks rather than refuses, "can't restock, but I recommend…" offers
an alternative, and an infant's cradle cap is no rival's cream.
"""

from __future__ import annotations

import pytest
from compliance_support import found

ROUND12 = [
    # (category, text, match)
    ("forbidden_service_phrase", "亲，暖奶器要先预热，这些都是最基本的常识。", "这些都是最基本的常识"),
    ("forbidden_service_phrase", "裤腿显短属于个人身材问题，不是版型的事。", "属于个人身材问题"),
    ("forbidden_service_phrase", "奶粉结块是您冲的时候水温不对。", "是您冲的时候水温不对"),
    ("forbidden_service_phrase", "您挑的颜色有问题，跟图片没关系。", "您挑的颜色有问题"),
    ("forbidden_service_phrase", "详情页写得明明白白，不看清楚现在又来找。", "不看清楚现在又来找"),
    ("forbidden_service_phrase", "价格改不了，别在这儿和我掰扯了。", "别在这儿和我掰扯"),
    ("forbidden_service_phrase", "有根线头，剪了不就完事了。", "剪了不就完事了"),
    ("forbidden_service_phrase", "这个活动您问几遍都没用。", "问几遍都没用"),
    ("forbidden_service_phrase", "鞋底都穿脏了，这谁能给您换呀。", "这谁能给您换呀"),
    ("forbidden_service_phrase", "结果我已经告诉您了，其他的没法再说。", "其他的没法再说"),
    ("forbidden_service_phrase", "物流进度请自行登录小程序查询。", "请自行登录小程序查询"),
    ("forbidden_service_phrase", "发票抬头的事超出了我们的服务范围。", "超出了我们的服务范围"),
    ("forbidden_service_phrase", "赠品的事您去找平台小二吧。", "去找平台小二吧"),
    ("forbidden_service_phrase", "我现在下班了，回头您再来问吧。", "回头您再来问吧"),
    ("forbidden_service_phrase", "您非要去消协投诉就去吧。", "投诉就去吧"),
    ("forbidden_service_phrase", "换货地址的事，我这边办理不了。", "我这边办理不了"),
    ("absolute_claim", "痘印五天就能淡化，放心入。", "痘印五天就能淡化"),
    ("absolute_claim", "这条塑身裤穿上就瘦五斤。", "穿上就瘦五斤"),
    ("absolute_claim", "速干袜一秒钟就干，跑步不闷脚。", "一秒钟就干"),
    ("absolute_claim", "这款隔尿垫整晚床单都不会湿。", "整晚床单都不会湿"),
    ("absolute_claim", "这款推车卖了三年，从来没有顾客退货过。", "从来没有顾客退货过"),
    ("absolute_claim", "我们家的奶瓶不可能出任何问题。", "不可能出任何问题"),
    ("unconditional_promise", "您现在下单，保证明早第一批给您寄出。", "保证明早第一批给您寄出"),
    ("unconditional_promise", "这个奶瓶夹多久坏的都包。", "多久坏的都包"),
    ("unconditional_promise", "国庆放假期间也不例外，照常发出。", "国庆放假期间也不例外"),
    ("unconditional_promise", "面膜开没开封都能退，您随意。", "开没开封都能退"),
    ("unconditional_promise", "面膜开了封也可以换，不影响。", "开了封也可以换"),
    ("unconditional_promise", "包裹已经发出去了，我也可以让快递拦回来。", "我也可以让快递拦回"),
    ("unconditional_promise", "只要您说有瑕疵，我们一律先退款。", "一律先退款"),
    ("unconditional_promise", "在我们家买的都是终身保价。", "终身保价"),
    ("unconditional_promise", "不喜欢的话，无论如何都给退。", "无论如何都给退"),
    ("unconditional_promise", "我帮您选的尺码，保证穿着合身。", "保证穿着合身"),
    ("competitor_disparagement", "别家卖的进口纸尿裤，不少是换标的国产货。", "换标的国产货"),
    ("competitor_disparagement", "那家便宜的T恤用的全是库存布料，穿不久。", "用的全是库存布料"),
    ("competitor_disparagement", "别家那款面霜配方老旧，我们不推荐。", "配方老旧"),
    (
        "competitor_disparagement",
        "别家那款爽肤水一直用下去，皮肤只会越来越敏感。",
        "一直用下去，皮肤只会越来越敏感",
    ),
    ("competitor_disparagement", "我们可不会像那些店那样忽悠人。", "像那些店那样忽悠"),
    ("competitor_disparagement", "那种直播间卖的什么货，您心里应该有数。", "卖的什么货，您心里应该有数"),
    ("medical_claim", "这款面霜对奶癣有很好的修复作用。", "对奶癣有很好的修复作用"),
    ("medical_claim", "这个足部喷雾能抑制真菌，脚气不再来。", "抑制真菌"),
    ("medical_claim", "儿童漱口水可以修复刚长的蛀牙。", "修复刚长的蛀牙"),
    ("medical_claim", "益生元面霜能帮宝宝建立免疫屏障。", "免疫屏障"),
    ("medical_claim", "这是宝宝专用的药浴配方沐浴露。", "药浴配方"),
    ("false_authority", "好几位皮肤科医生都给自己的宝宝用这款。", "皮肤科医生都给自己的宝宝用"),
    ("false_authority", "这套睡衣的面料是皇室成员专用的。", "皇室成员专用"),
    ("false_authority", "我们的配方是行业公认的好。", "行业公认"),
    ("false_authority", "这项工艺受商务部重点保护。", "受商务部重点保护"),
]

LEFT_ALONE12 = [
    # (text, the categories that must stay quiet)
    (
        "这款润肤霜抹两三天红疹就下去了。",
        {"ungrounded_commitment"},
    ),  # an effect's span: the medical rules' business
    ("细纹一周就能抚平这种说法是夸大，我们不这样宣传。", {"absolute_claim"}),
    ("据试用反馈，多数顾客三周左右感觉肤感更润。", {"ungrounded_commitment"}),
    ("回购的客户大多一次拍三件换着穿。", {"ungrounded_commitment"}),
    ("满减和券叠加后，结算时系统会自动计算最优价格。", {"absolute_claim"}),
    ("吊牌都拆了还想退？是有哪里不满意吗，您说说我帮您看。", {"unconditional_promise"}),
    ("是不是您冲奶粉的水温太高了呢？七十度以下会好一些。", {"forbidden_service_phrase"}),
    ("我们家这款奶瓶的刻度线是行业统一的标准。", {"false_authority"}),
    ("别家那款也不错，两家的尺码偏差不一样，您可以对照尺码表。", {"competitor_disparagement"}),
    ("您说的那个号码我这边查不到订单，麻烦再确认一下。", {"competitor_disparagement"}),
    ("那个网红牌子的洗发水谁知道里面加了什么，我们不评价，只说自己家的成分。", {"forbidden_service_phrase"}),
]


ROUND13 = [
    # (category, text, match)
    ("forbidden_service_phrase", "您到底想要什么颜色？我都列给您了。", "您到底想要什么"),
    ("forbidden_service_phrase", "你们退不退随便，无所谓的。", "无所谓的"),
    ("forbidden_service_phrase", "这个问题您再问我也是一样的回答。", "再问我也是一样的回答"),
    ("forbidden_service_phrase", "一晚上问了八遍，我真是服了。", "我真是服了"),
    ("forbidden_service_phrase", "帮您查物流不是我们的义务，我们没义务。", "没义务"),
    ("forbidden_service_phrase", "您要是不买，就不要浪费我的时间了。", "不要浪费我的时间"),
    ("forbidden_service_phrase", "这种问题没必要解释吧。", "没必要解释"),
    ("forbidden_service_phrase", "详情页都写着呢，您动动手就能看到。", "动动手"),
    ("forbidden_service_phrase", "我一个人看三个店，您体谅一下我们好吗？", "体谅一下我们好吗"),
    ("forbidden_service_phrase", "我可不是神仙，变不出货来。", "我可不是神仙"),
    ("forbidden_service_phrase", "您非要这样我们也没别的办法。", "您非要这样我们也没别的办法"),
    ("forbidden_service_phrase", "关税多少您问海关去。", "您问海关去"),
    ("forbidden_service_phrase", "成分的事轮不着客服回答。", "轮不着客服"),
    ("absolute_claim", "这支精华一用，黑眼圈马上就淡化。", "黑眼圈马上就淡化"),
    ("absolute_claim", "我们家的量勺零误差。", "零误差"),
    ("absolute_claim", "这款是全店zui受欢迎的。", "zui受欢迎"),
    ("absolute_claim", "这条裙子觉对显瘦。", "觉对"),
    ("absolute_claim", "这个祛痘贴一敷见效。", "一敷见效"),
    ("unconditional_promise", "保税仓发货，清关保过。", "清关保过"),
    ("unconditional_promise", "降价了别担心，差价一定给您补。", "差价一定给您补"),
    ("unconditional_promise", "发了货的也能给您换颜色。", "发了货的也能给您换"),
    ("unconditional_promise", "下单三天内必到。", "天内必到"),
    ("unconditional_promise", "衣服洗过的我们也收。", "洗过的我们也收"),
    ("unconditional_promise", "小暖保证这款奶瓶不会断货。", "保证这款奶瓶不会断货"),
    ("unconditional_promise", "在我们家买，全部商品都送运费险。", "全部商品都送运费险"),
    ("unconditional_promise", "宝宝用了有什么不舒服，一切费用由我们承担。", "一切费用由我们承担"),
    ("unconditional_promise", "尺码不合适随时都能换。", "随时都能换"),
    ("competitor_disparagement", "别家那款毛衣糙得没法看。", "糙得没法看"),
    ("competitor_disparagement", "别家那个牌子，好多顾客反馈过敏。", "好多顾客反馈过敏"),
    ("competitor_disparagement", "那家的奶瓶很多批次都有问题。", "很多批次都有问题"),
    ("competitor_disparagement", "有些牌子根本没研发，全靠贴牌。", "根本没研发"),
    ("competitor_disparagement", "那家的面膜价格虚高得离谱。", "价格虚高"),
    ("competitor_disparagement", "那个网红牌子是靠明星砸出来的。", "靠明星砸出来的"),
    ("ungrounded_commitment", "正品保障，假一赔五。", "假一赔五"),
    ("personal_data", "好的，寄到杭州市西湖区文三西区3栋502室。", "3栋502室"),
]

ROUND14 = [
    ("forbidden_service_phrase", "别人家孩子穿都没事，您再观察观察。", "别人家孩子穿都没事"),
    ("forbidden_service_phrase", "你们这些顾客就是太挑剔了，线头剪掉就行。", "你们这些顾客就是太挑剔了"),
    ("forbidden_service_phrase", "亲，别问这么多了，等通知吧。", "别问这么多"),
    ("forbidden_service_phrase", "您老是这样纠缠也没有用。", "老是这样纠缠"),
    ("forbidden_service_phrase", "再发这种消息我们就不理会您了。", "不理会您"),
    ("forbidden_service_phrase", "有破损就拍照片过来，别光嘴巴说。", "别光嘴巴说"),
    ("forbidden_service_phrase", "外卖晚了跟我们说有啥用呢？", "跟我们说有啥用"),
    ("forbidden_service_phrase", "开专票的事你问财务去。", "你问财务去"),
    ("forbidden_service_phrase", "是快递摔的，您自己找快递去吧。", "找快递去吧"),
    ("absolute_claim", "这款隔离霜在店里卖得比谁家都好。", "比谁家都好"),
    ("absolute_claim", "买过这款爽身粉的没人不夸的。", "没人不夸的"),
    ("absolute_claim", "这个配方所有同类都无法超越。", "所有同类都无法超越"),
    ("absolute_claim", "这款安全座椅的防护等级是最高的。", "防护等级是最高"),
    ("absolute_claim", "这款奶嘴任何宝宝用了都不会吐奶。", "任何宝宝用了都不会吐奶"),
    ("absolute_claim", "用这个防胀气奶瓶，宝宝肯定不会胀气。", "肯定不会胀气"),
    ("absolute_claim", "这款面膜不会烂脸，我们敢保证。", "不会烂脸，我们敢保证"),
    ("absolute_claim", "这个牙胶宝宝咬多久都没问题。", "咬多久都没问题"),
    ("absolute_claim", "什么样的痘痘都能搞定，您放心用。", "什么样的痘痘都能搞定"),
    ("absolute_claim", "这件速干衣再闷都不出汗。", "再闷都不出汗"),
    ("absolute_claim", "这件羽绒马甲穿五年都不会钻绒。", "穿五年都不会钻绒"),
    ("absolute_claim", "坚持用，一定能让您感受到变化。", "一定能让您感受到变化"),
    ("absolute_claim", "这条收腹裤显瘦八斤。", "显瘦八斤"),
    ("unconditional_promise", "这双运动鞋穿坏了都算我们的。", "穿坏了都算我们的"),
    ("unconditional_promise", "宝宝用了出问题我们负责到底。", "出问题我们负责到底"),
    ("unconditional_promise", "不管有没有退货险，运费都给您报销。", "不管有没有退货险"),
    ("unconditional_promise", "哪怕用了两周不满意也能退。", "哪怕用了两周"),
    ("ungrounded_commitment", "款项今天下午6点前到账。", "今天下午6点前到账"),
    ("ungrounded_commitment", "快递明晚就会送到。", "明晚就会送到"),
    ("ungrounded_commitment", "补发的货这周五就到。", "这周五就到"),
    ("ungrounded_commitment", "超时就全额退给您。", "超时就全额退"),
    ("ungrounded_commitment", "核实后赔您一套新的。", "赔您一套新的"),
    ("competitor_disparagement", "别家的卫衣走线没法看。", "走线没法看"),
    ("competitor_disparagement", "那家的餐具有毒素，千万别买。", "有毒素"),
    ("competitor_disparagement", "您以前用的那款纸尿裤，那个品牌不推荐。", "那个品牌不推荐"),
    ("false_authority", "这批都是专柜鉴定过的正品。", "专柜鉴定过"),
    ("false_authority", "这款霜经卫健委批准为修护产品。", "卫健委批准为"),
    ("medical_claim", "这个精华能收缩毛细血管，红血丝就没了。", "收缩毛细血管"),
    # the guard for "I don't know what size you usually wear" leaves a plain "I don't know" alone
    ("forbidden_service_phrase", "我不知道您的快递为什么还没到。", "我不知道"),
]

LEFT_ALONE14 = [
    ("这款面霜在滋润系列里价格最低，适合先试试。", {"absolute_claim"}),
    ("先在手腕内侧试用，24小时无不适再用全脸。", {"ungrounded_commitment"}),
    ("换货这边帮您一次换好，寄回前拍张照片就行。", {"ungrounded_commitment"}),
    ("直播间那种九块九T恤我们没卖，我们是精梳棉的。", {"ungrounded_commitment"}),
    ("我不知道您平时穿什么码，方便说下身高体重吗？", {"forbidden_service_phrase"}),
    ("这个颜色暂时没法补货，给您推荐同款的米白色。", {"forbidden_service_phrase"}),
    ("宝宝头上的乳痂用温水洗几次就软了，要是不退请问儿科医生。", {"competitor_disparagement"}),
]

LEFT_ALONE13 = [
    # (text, the categories that must stay quiet)
    ("这两个颜色都好看，选哪个都无所谓，看您喜欢。", {"forbidden_service_phrase"}),
    ("有问题随时联系我，签收七天内商品完好都可以申请换货。", {"unconditional_promise"}),
    ("您说的那家价格更低，这点我们确实比不了，不过我们售后更省心。", {"competitor_disparagement"}),
    ("您的退款我这边申请特批了，结果出来马上告诉您。", {"false_authority"}),
    ("门店在朝阳区的3号楼一层，欢迎来看看。", {"personal_data"}),
    ("假一赔十这种说法我们不会用，正品有授权书可查。", {"unconditional_promise", "ungrounded_commitment"}),
]


@pytest.mark.parametrize(("category", "text", "match"), ROUND12 + ROUND13 + ROUND14)
def test_round12_wording_family_is_found(cf, category, text, match):
    result = cf.check(text, brand="nuanbei")
    assert found(result, category, match, text), result.violations


@pytest.mark.parametrize(("text", "quiet"), LEFT_ALONE12 + LEFT_ALONE13 + LEFT_ALONE14)
def test_round12_guard_leaves_text_alone(cf, text, quiet):
    result = cf.check(text, brand="nuanbei")
    assert not [v for v in result.violations if v.category in quiet], result.violations


@pytest.fixture(scope="module")
def policies():
    from compliance_support import RULES

    from rag.kb import load_kb

    return [p.body for p in load_kb(RULES.parents[1]).policies]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("仓库收到退货后，最晚不超过8小时就给您原路退款。", "8小时"),  # 不超过 sets a deadline
        ("包裹已经在路上，最迟72小时送到您手上。", "72小时"),  # 最迟 is no delay we pay for
        ("收到退货后5天内给您退款，到账时间以银行为准。", "5天"),  # the bank's part is deferred, ours is not
    ],
)
def test_a_deadline_we_set_is_checked_against_the_policies(cf, policies, text, number):
    result = cf.check(text, brand="jianyi", sources=policies)
    assert number in [v.text for v in result.violations if v.category == "ungrounded_commitment"], (
        result.violations
    )


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("退货包裹签收后24小时内处理退款，到账时间以银行为准。", "24小时"),  # the policy's own number
        ("满299减30，具体以活动页面为准。", "30"),  # the page decides
        ("晚一天到我们就补您一张5元的券。", "一天"),  # the delay is the condition, not a span we promise
    ],
)
def test_a_policy_number_a_deferred_offer_and_a_delay_stay_unflagged(cf, policies, text, number):
    result = cf.check(text, brand="jianyi", sources=policies)
    assert not [v for v in result.violations if v.category == "ungrounded_commitment" and number in v.text], (
        result.violations
    )
