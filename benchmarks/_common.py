"""Shared parts of the benchmarks: machine facts, percentiles, JSON output, a synthetic knowledge base."""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
STARTER_KB = REPO / "knowledge_base"
EVAL_SETS = REPO / "evals" / "sets"
BRANDS = ("lanxu", "nuanbei", "jianyi")


# ---- machine and numbers ----
def machine() -> dict:
    """Return the facts that make a timing comparable: cores, load, versions."""
    import chromadb

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cores": usable,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "chromadb": chromadb.__version__,
        "library": library_version(),
        "argv": sys.argv,
    }


def library_version() -> str:
    """Return the git commit plus a hash of rag/ as it is on disk (the tree changes under us)."""
    import hashlib
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        head = "?"
    h = hashlib.sha256()
    for path in sorted((REPO / "rag").rglob("*.py")):
        h.update(path.read_bytes())
    return f"{head or '?'}+rag:{h.hexdigest()[:10]}"


def print_machine(info: dict) -> None:
    """Print the machine line every benchmark starts with."""
    print(
        f"machine: {info['cpu_count']} cores (usable {info['usable_cores']}), "
        f"load avg {info['load_avg_1m']} at start, python {info['python']}, chromadb {info['chromadb']}, "
        f"library {info['library']}"
    )
    if info["load_avg_1m"] > 0.5 * (info["usable_cores"] or 1):
        print("  note: the machine is busy (load average above half the cores): expect noisy timings")


def stats(samples_ms: list[float]) -> dict:
    """Return n, mean and p50/p95/p99/min/max of millisecond samples."""
    if not samples_ms:
        return {"n": 0}
    a = np.asarray(samples_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {
        "n": int(a.size),
        "mean": round(float(a.mean()), 3),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "p99": round(float(p99), 3),
        "min": round(float(a.min()), 3),
        "max": round(float(a.max()), 3),
    }


def stats_row(label: str, s: dict, width: int = 34) -> str:
    """Format one stats dict as a table row (milliseconds)."""
    if not s.get("n"):
        return f"  {label:<{width}} (no samples)"
    return (
        f"  {label:<{width}} n={s['n']:<5} p50 {s['p50']:>9.2f}  p95 {s['p95']:>9.2f}  "
        f"p99 {s['p99']:>9.2f}  max {s['max']:>9.2f} ms"
    )


def ms_since(start: float) -> float:
    """Return milliseconds since a perf_counter() reading."""
    return (time.perf_counter() - start) * 1000


def write_json(path: str | None, data: dict) -> None:
    """Write the benchmark's numbers to `path` (no-op when None)."""
    if not path:
        return
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"numbers written to {out}")


# ---- queries ----
def eval_queries(limit: int | None = None) -> list[tuple[str, str | None]]:
    """Return (query, brand or None) from the retrieval and draft eval sets, in file order."""
    out: list[tuple[str, str | None]] = []
    for name in ("retrieval_dev", "retrieval_test", "draft_dev", "draft_test"):
        path = EVAL_SETS / f"{name}.jsonl"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                case = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(case, dict) and isinstance(case.get("query"), str) and case["query"].strip():
                brand = case.get("brand")
                out.append((case["query"], brand if brand in BRANDS else None))
    if not out:
        out = [(q, None) for q in FALLBACK_QUERIES]
    return out[:limit] if limit else out


FALLBACK_QUERIES = (
    "在吗",
    "拍了两天了怎么还不发货",
    "快递停在中转站三天没动了",
    "地址写错了还能改吗",
    "不想要了能取消订单吗",
    "收到的奶瓶裂了",
    "用了精华脸上起红疹",
    "这件卫衣偏大还是偏小",
    "你们家是正品吗",
    "刚买就降价了能退差价吗",
    "退款怎么还没到账",
    "你们客服态度太差了",
    "再不处理我就打12315",
    "好的谢谢",
    "今天天气怎么样",
)


def with_brands(queries: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Give every query a brand: its own, else the next one round-robin."""
    return [(q, b or BRANDS[i % len(BRANDS)]) for i, (q, b) in enumerate(queries)]


# ---- a synthetic knowledge base ----
# Customer phrases per scenario; {p} is a product noun filled in by the generator.
CUSTOMER: dict[str, tuple[str, ...]] = {
    "greeting": ("在吗", "有人吗想咨询下", "你好，想问问{p}的事", "客服在不在", "哈喽 想了解一下{p}"),
    "needs_discovery": (
        "不知道选哪款{p}好",
        "第一次买{p}，能帮我推荐下吗",
        "想买{p}送人，选哪个合适",
        "{p}有好几款，哪款适合我",
        "预算不多，{p}推荐哪个",
    ),
    "product_function": (
        "这款{p}有什么作用",
        "{p}效果怎么样",
        "{p}主要是干嘛用的",
        "买{p}之前想问下功能",
        "{p}跟介绍里说的一样吗",
    ),
    "product_usage": (
        "{p}怎么用",
        "{p}一天用几次",
        "{p}第一次用要注意什么",
        "{p}的正确用法是啥",
        "{p}用之前要先洗一下吗",
    ),
    "ingredients_safety": (
        "{p}孕妇能用吗",
        "敏感肌用{p}安全吗",
        "{p}里面有没有酒精香精",
        "{p}的成分表在哪看",
        "宝宝皮肤嫩，{p}刺激吗",
    ),
    "size_advice": (
        "{p}我该选哪个码",
        "身高一米六五穿{p}选多大",
        "{p}偏大还是偏小",
        "{p}尺码怎么选",
        "体重一百二 {p}要哪个号",
    ),
    "stock_presale": (
        "{p}还有货吗",
        "{p}什么时候补货",
        "{p}预售什么时候发",
        "{p}缺货了吗 能等吗",
        "{p}现在下单多久能到",
    ),
    "authenticity": (
        "{p}是正品吗",
        "怎么证明{p}不是假货",
        "{p}有没有防伪码",
        "你们家{p}是官方授权的吗",
        "{p}跟专柜的一样吗",
    ),
    "competitor_compare": (
        "{p}跟别家的比有什么区别",
        "为啥选你们的{p}不选别家",
        "{p}和隔壁店的哪个好",
        "别人家{p}便宜，你们好在哪",
        "{p}和大牌的比怎么样",
    ),
    "price_objection": (
        "{p}太贵了能便宜点吗",
        "{p}能不能少点",
        "{p}再优惠点我就买",
        "{p}价格能商量吗",
        "{p}比别家贵了不少",
    ),
    "promotion_coupon": (
        "{p}有优惠券吗",
        "{p}参加满减吗",
        "{p}现在有什么活动",
        "领的券怎么用不了",
        "{p}活动什么时候开始",
    ),
    "shelf_life": (
        "{p}保质期多久",
        "{p}生产日期是什么时候",
        "{p}开封后能放多久",
        "{p}是新货吗",
        "{p}是不是快过期了",
    ),
    "shipping_delay": (
        "{p}怎么还不发货",
        "付款了{p}什么时候发",
        "催一下{p}的发货",
        "{p}下单两天了还没发",
        "{p}今天能发出吗",
    ),
    "logistics_tracking": (
        "{p}物流怎么不动了",
        "{p}到哪里了",
        "快递停在中转站好几天了",
        "{p}物流信息一直没更新",
        "查一下{p}的快递",
    ),
    "address_change": (
        "{p}的地址填错了能改吗",
        "想改一下收货地址",
        "{p}能换个颜色吗 还没发货",
        "收件人电话写错了",
        "{p}能改规格吗",
    ),
    "order_cancel": (
        "{p}不想要了能取消吗",
        "帮我把{p}的订单取消",
        "拍错了，{p}订单怎么取消",
        "{p}取消了钱什么时候退",
        "取消订单要多久",
    ),
    "invoice": (
        "{p}能开发票吗",
        "发票怎么开",
        "{p}的电子发票在哪下载",
        "要开公司抬头的发票",
        "发票开错了能重开吗",
    ),
    "return_exchange": (
        "{p}能退吗",
        "{p}不合适想换一个",
        "{p}七天无理由怎么退",
        "{p}退货运费谁出",
        "{p}换货怎么操作",
    ),
    "refund_progress": (
        "{p}的退款什么时候到",
        "退款怎么还没到账",
        "{p}退货寄回去了 钱呢",
        "退款进度怎么查",
        "{p}退款几天能到",
    ),
    "damaged_or_missing": (
        "{p}收到是坏的",
        "{p}少发了一件",
        "快递到了{p}破了",
        "{p}发错了",
        "包裹里没有{p}",
    ),
    "quality_issue": (
        "{p}用了几天就坏了",
        "{p}有质量问题",
        "{p}开线了",
        "{p}有股怪味",
        "{p}和图片差太多",
    ),
    "adverse_reaction": (
        "用了{p}脸上起红疹",
        "{p}用完皮肤痒",
        "宝宝用了{p}屁屁红了",
        "{p}过敏了怎么办",
        "用{p}后有刺痛感",
    ),
    "price_protection": (
        "{p}刚买就降价了",
        "{p}能保价吗",
        "{p}降价了能退差价吗",
        "昨天买的{p}今天便宜了",
        "{p}价保怎么申请",
    ),
    "complaint_service": (
        "你们客服态度太差了",
        "刚才那个客服说话很冲",
        "我要投诉客服",
        "问了半天{p}没人理",
        "你们客服一直在敷衍我",
    ),
    "complaint_followup": (
        "我投诉的事处理得怎么样了",
        "{p}的投诉有结果了吗",
        "上次说给我回复的呢",
        "投诉几天了还没消息",
        "处理结果什么时候告诉我",
    ),
    "escalation_threat": (
        "{p}再不处理我就差评",
        "我要打12315",
        "不解决我就投诉到平台",
        "{p}这事我要曝光",
        "给不了说法就给差评",
    ),
    "closing": ("好的谢谢", "没问题了 谢谢", "知道了 辛苦了", "行 那就这样", "谢谢你 拜拜"),
    "after_hours": (
        "现在还有人上班吗",
        "晚上有客服吗",
        "你们几点上班",
        "周末有人回复吗",
        "半夜留言明天能回吗",
    ),
    "out_of_scope": (
        "今天天气怎么样",
        "你是机器人吗",
        "帮我写个作业",
        "推荐个好看的电影",
        "附近有什么好吃的",
    ),
}
# The neutral reply per scenario; numbers only where the starter policies state them.
REPLY: dict[str, str] = {
    "greeting": "请问您想了解哪款{p}？直接发商品名称或链接给我，我来为您介绍。",
    "needs_discovery": "想帮您挑到合适的{p}，麻烦说说您的使用情况和需求，我根据情况为您推荐。",
    "product_function": "{p}的功能和适用情况写在商品详情页，您说说想解决什么问题，我帮您对照看看是否合适。",
    "product_usage": "{p}的使用方法在包装和详情页都有说明，我把关键步骤告诉您，第一次使用建议先小范围试用。",
    "ingredients_safety": "{p}的完整成分以包装和详情页为准，如果您是敏感肌或在孕期，建议先咨询医生再使用。",
    "size_advice": "{p}的尺码表在商品页，麻烦您告诉我身高体重，我帮您对照尺码表看看。",
    "stock_presale": "{p}的库存和预计到货时间以商品页显示为准，我帮您查一下最新情况。",
    "authenticity": "{brand_name}店里的{p}都由品牌官方渠道供货，收到后有任何疑问都可以随时联系我。",
    "competitor_compare": "每家的{p}各有特点，我把我们这款的特点和适用人群讲给您，您结合自己的需要来选。",
    "price_objection": "理解您想买得更划算，{p}目前能用的优惠都在活动页，我帮您看看能叠加哪些。",
    "promotion_coupon": "{p}当前的活动和可用优惠券都在活动页，我帮您看一下下单时能用哪张券。",
    "shelf_life": "{p}的生产日期和保质期印在包装上，具体批次我可以帮您查询后告诉您。",
    "shipping_delay": "理解您着急收到{p}，订单在付款后24小时内发货，遇到法定节假日顺延，发货后订单页会显示运单号。",
    "logistics_tracking": "[您的订单{order_id}目前是{order_status}，]我这就帮您联系快递核实{p}的物流情况。",
    "address_change": "包裹发出前可以修改地址和规格，麻烦您把完整的省市区街道门牌号发给我，修改成功后您会收到短信确认。",
    "order_cancel": "[订单{order_id}我已经查到，]订单在发货前可以直接取消，款项原路退回，我来帮您操作。",
    "invoice": "{p}可以开具发票，麻烦您提供抬头和税号，我帮您登记。",
    "return_exchange": "签收后7天内，商品完好、不影响二次销售的，支持7天无理由退换，换尺码不需要您承担费用。",
    "refund_progress": "退货包裹签收后24小时内为您处理退款，款项原路退回，我帮您看一下{p}的退货进度。",
    "damaged_or_missing": "非常抱歉让您收到这样的{p}，麻烦拍一张照片发给我，核实后为您安排补发或退款，运费由我们承担。",
    "quality_issue": "非常抱歉{p}出现这样的问题，麻烦您拍照发给我，我核实后为您安排处理。",
    "adverse_reaction": "请您先停止使用{p}，如果不适持续请及时就医，麻烦把情况和照片发给我，我帮您登记并跟进。",
    "price_protection": "{p}的价保规则以活动页说明为准，我帮您查一下您的订单是否符合。",
    "complaint_service": "非常抱歉给您带来不好的体验，麻烦您说一下当时的时间和经过，我们核实后给您回复。",
    "complaint_followup": "您的投诉我们一直在跟进，我帮您查一下处理进度，有结果马上告诉您。",
    "escalation_threat": "非常抱歉让您这么生气，您的问题由我负责跟进，请把情况告诉我，我们一起尽快解决。",
    "closing": "不客气，感谢您的耐心。",
    "after_hours": "现在是非工作时间，您的留言我们已经收到，上班后会第一时间回复您。",
    "out_of_scope": "这个问题我这边暂时帮不上忙，关于店里的商品和订单有任何问题都可以问我。",
}
PRODUCTS = {
    "lanxu": ("修护精华", "保湿面霜", "补水面膜", "眼霜", "洁面乳"),
    "nuanbei": ("纸尿裤", "奶瓶", "婴儿沐浴露", "湿巾", "安抚奶嘴"),
    "jianyi": ("连帽卫衣", "牛仔裤", "纯棉T恤", "羽绒服", "休闲裤"),
    "all": ("商品", "宝贝", "这个", "买的东西", "订单里的东西"),
}
OPENERS = ("", "你好，", "在吗，", "请问", "麻烦问下，", "客服，", "hello ", "亲，", "您好 ", "问一下，")
DETAILS = (
    "",
    "昨天买的",
    "前天下的单",
    "刚收到",
    "买给家里人的",
    "第二次买了",
    "朋友推荐的",
    "急用",
    "双十一买的",
)
TAILS = ("", "？", "？？", "啊", "呀", "，急", "，在线等", "🙏", "!!", "，谢谢")
CLOSERS = ("", "有其他问题随时告诉我。", "有进展我会第一时间告诉您。", "处理好后我在这里回复您。")


@dataclass(frozen=True)
class BrandMix:
    """How synthetic scripts spread over brand scopes (the rest are single-brand)."""

    all_share: float = 0.4
    two_brand_share: float = 0.05


def _brands_for(rng: random.Random, mix: BrandMix) -> list[str]:
    r = rng.random()
    if r < mix.all_share:
        return ["all"]
    if r < mix.all_share + mix.two_brand_share:
        return sorted(rng.sample(BRANDS, 2))
    return [rng.choice(BRANDS)]


def customer_example(rng: random.Random, scenario: str, product: str) -> str:
    """Return one customer message for `scenario`, from opener, detail, core phrase and tail."""
    detail = rng.choice(DETAILS)
    core = rng.choice(CUSTOMER[scenario]).replace("{p}", product)
    return f"{rng.choice(OPENERS)}{detail}{'，' if detail else ''}{core}{rng.choice(TAILS)}"


def synthetic_script(i: int, seed: int = 7, revision: int = 0, policy_refs=None, mix=BrandMix()) -> dict:
    """Return script number `i` as a knowledge-base YAML mapping; `revision` changes its texts."""
    rng = random.Random(seed * 1_000_003 + i)  # brand and scenario stay put across revisions
    scenario = rng.choice(tuple(CUSTOMER))
    brands = _brands_for(rng, mix)
    rng = random.Random(f"{seed}:{i}:{revision}")
    pool = PRODUCTS[brands[0]] if len(brands) == 1 else PRODUCTS["all"]
    product = rng.choice(pool)
    examples: list[str] = []
    wanted = rng.randint(3, 6)
    while len(examples) < wanted:
        text = customer_example(rng, scenario, rng.choice(pool))
        if text not in examples:
            examples.append(text)
    reply = REPLY[scenario].replace("{p}", product) + rng.choice(CLOSERS)
    refs = list((policy_refs or {}).get(scenario, ()))[:2]
    return {
        "id": f"syn_{i:06d}",
        "scenario": scenario,
        "brands": "all" if brands == ["all"] else brands,
        "title": f"{product}：{rng.choice(CUSTOMER[scenario]).replace('{p}', product)}（{i}）",
        "customer_examples": examples,
        "reply": reply,
        "notes": f"基准测试合成话术，第 {revision} 版。",
        "policy_refs": refs,
    }


def policy_refs_by_scenario(kb_root: Path) -> dict[str, list[str]]:
    """Return {scenario: [policy ids]} from the policies a knowledge base holds."""
    from rag.kb import load_kb

    out: dict[str, list[str]] = {}
    for policy in load_kb(kb_root).policies:
        for scenario in policy.scenarios:
            out.setdefault(scenario, []).append(policy.id)
    return out


def copy_kb_base(dest: Path, src: Path = STARTER_KB) -> None:
    """Copy brands, tone, compliance and policies (not scripts or references) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "brands.yaml", dest / "brands.yaml")
    for sub in ("tone", "compliance", "policies"):
        if (src / sub).is_dir():
            shutil.copytree(src / sub, dest / sub, dirs_exist_ok=True)
    (dest / "scripts").mkdir(exist_ok=True)


def script_file(root: Path, k: int) -> Path:
    """Return the path of synthetic script file number `k`."""
    return root / "scripts" / "syn" / f"part_{k:04d}.yaml"


def write_script_file(
    root: Path, k: int, per_file: int, refs, *, n: int, revision: int = 0, seed: int = 7
) -> Path:
    """Write file `k` holding scripts k*per_file .. (k+1)*per_file-1 (below `n`); return its path."""
    import yaml

    path = script_file(root, k)
    path.parent.mkdir(parents=True, exist_ok=True)
    stop = min(n, (k + 1) * per_file)
    scripts = [synthetic_script(i, seed, revision, refs) for i in range(k * per_file, stop)]
    path.write_text(
        "# 基准测试合成话术（benchmarks/reindex.py 生成）\n"
        + yaml.safe_dump(scripts, allow_unicode=True, sort_keys=False, width=1000),
        encoding="utf-8",
    )
    return path


def write_synthetic_kb(root: Path, n: int, per_file: int = 100, seed: int = 7) -> int:
    """Build a knowledge base of `n` synthetic scripts in `root`; return the number of script files."""
    copy_kb_base(root)
    refs = policy_refs_by_scenario(root)
    files = (n + per_file - 1) // per_file
    for k in range(files):
        write_script_file(root, k, per_file, refs, n=n, seed=seed)
    return files
