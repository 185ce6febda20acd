"""The one object a UI, an API, the CLI or the eval runner calls: message in, draft out."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from .errors import BadInputError, ConfigError
from .index import Indexer, IndexReport, Progress
from .kb import ORDER_SLOTS, KnowledgeBase, load_kb
from .normalize import normalize_query
from .retrieve import IndexReader, Retrieval, RetrievalConfig, Retriever
from .scenarios import NO_MATCH_SCENARIO
from .settings import Settings, load_settings
from .store import Store
from .types import DraftResult, FilterResult, Turn

log = logging.getLogger(__name__)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


class Huashu:
    """Huashu over one knowledge base and one index: draft, retrieve, check, re-index."""

    def __init__(
        self, settings: Settings | None = None, *, embeddings=None, retrieval: RetrievalConfig | None = None
    ):
        from .compliance import ComplianceFilter
        from .embeddings import make_embeddings

        self.settings = settings or load_settings()
        self.embeddings = embeddings or make_embeddings(self.settings)
        if embeddings is None:
            self.embeddings.preload()  # overlaps the model load with opening the store and the index
        self.store = Store(self.settings)
        self.kb: KnowledgeBase = self._load_kb()
        self.brands = self.kb.brands
        self.tones = self.kb.tones
        if not self.brands:
            problems = (
                "; ".join(str(p) for p in self.kb.problems if p.file == "brands.yaml") or "brands.yaml 为空"
            )
            raise ConfigError(f"知识库里没有可用的品牌设置：{problems}")
        # rules already parsed and validated with the knowledge base; from_file raises the clear error otherwise
        rules = self.kb.rules
        self.filter = (
            ComplianceFilter(rules) if rules is not None else ComplianceFilter.from_file(self.kb.rules_path)
        )
        self.retrieval_config = retrieval or RetrievalConfig(
            **(
                {"no_match_threshold": self.settings.no_match_threshold}
                if self.settings.no_match_threshold
                else {}
            )
        )
        self._reader: IndexReader | None = None

    def _load_kb(self) -> KnowledgeBase:
        """Load the knowledge base, reusing parsed script files that have not changed."""
        return load_kb(self.settings.kb_path, cache=self.settings.data_dir / "kb-cache")

    # ---- index ----
    def index(self, *, full: bool = False, progress: Progress | None = None) -> IndexReport:
        """Re-index the knowledge base (incremental unless `full`); reload what this object serves."""
        self.kb = self._load_kb()
        self.brands, self.tones = self.kb.brands or self.brands, self.kb.tones or self.tones
        indexer = Indexer(self.store, self.embeddings, self.settings.data_dir / "index.lock")
        report = indexer.run(self.kb, full=full, progress=progress)
        if self._reader is not None and report.gen != self._reader.gen:
            self._reader.load()
        return report

    @property
    def reader(self) -> IndexReader:
        """The serving index, loaded on first use."""
        if self._reader is None:
            self._reader = IndexReader(self.store, self.embeddings, self.retrieval_config)
        else:
            self._reader.refresh()
        return self._reader

    def warm_up(self) -> None:
        """Load the model and the index now, so the first draft is fast."""
        self.embeddings.warm_up()
        _ = self.reader

    # ---- input checks ----
    def check_brand(self, brand: str | None) -> str | None:
        """Return `brand` if known (None stays None); raise with the known ones otherwise."""
        if brand is not None and brand not in self.brands:
            raise BadInputError(f"未知品牌 {brand!r}。已知品牌：{', '.join(sorted(self.brands))}。")
        return brand

    def _message(self, message: str) -> tuple[str, list[str]]:
        if message is None or not str(message).strip():
            raise BadInputError("顾客消息是空的：请输入顾客发来的内容。")
        notices = []
        limit = self.settings.max_message_chars
        if len(message) > limit:
            notices.append(f"消息有 {len(message)} 个字，超过 {limit} 字；只用前 {limit} 字来检索话术。")
            message = message[:limit]
        return normalize_query(message), notices

    @staticmethod
    def _order(order: Mapping[str, str] | None) -> dict[str, str]:
        order = dict(order or {})
        unknown = sorted(set(order) - ORDER_SLOTS)
        if unknown:
            raise BadInputError(
                f"不认识的订单信息 {', '.join(unknown)}；可用：{', '.join(sorted(ORDER_SLOTS))}。"
            )
        return {k: str(v) for k, v in order.items() if v is not None and str(v).strip()}

    # ---- retrieval ----
    def retrieve(
        self,
        message: str,
        *,
        brand: str | None = None,
        k: int = 10,
        mode: str = "fused",
        today: date | None = None,
    ) -> Retrieval:
        """Return ranked scripts (with scores and why) and grounding policies for a message."""
        query, _ = self._message(message)
        return Retriever(self.reader).search(
            query, brand=self.check_brand(brand), k=k, mode=mode, today=today
        )

    # ---- compliance ----
    def policy_texts(self, brand: str | None, today: date | None = None) -> list[str]:
        """Return the bodies of the policies in force for `brand`."""
        return [p.body for p in self.reader.policies(brand, today or date.today())]

    def check(
        self,
        text: str,
        *,
        brand: str | None = None,
        sources: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
    ) -> FilterResult:
        """Run the compliance filter; without `sources`, the brand's valid policies ground numbers."""
        if sources is None:
            sources = self.policy_texts(self.check_brand(brand))
        return self.filter.check(text, brand=brand, sources=list(sources), order_facts=self._order(order))

    # ---- drafting ----
    def draft(
        self,
        message: str,
        *,
        brand: str,
        conversation: Sequence[Turn | Mapping] = (),
        order: Mapping[str, str] | None = None,
        today: date | None = None,
    ) -> DraftResult:
        """Draft a reply to the latest customer message, in script mode."""
        from .draft import script_draft

        start = time.perf_counter()
        brand_obj = self.brands.get(self.check_brand(brand) or "")
        if brand_obj is None:
            raise BadInputError(f"请指定品牌。已知品牌：{', '.join(sorted(self.brands))}。")
        tone = self.tones.get(brand_obj.tone)
        if tone is None:
            raise ConfigError(
                f"品牌 {brand} 的语气档案 {brand_obj.tone!r} 不存在；请检查 knowledge_base/tone/。"
            )
        turns = [
            t if isinstance(t, Turn) else Turn(str(t.get("role", "customer")), str(t.get("text", "")))
            for t in conversation
        ]
        order_facts = self._order(order)
        query, notices = self._message(message)
        today = today or date.today()
        retriever = Retriever(self.reader)
        t = time.perf_counter()
        found = retriever.search(query, brand=brand, today=today)
        earlier = [
            x.text
            for x in turns
            if x.role == "customer" and x.text.strip() and x.text.strip() != message.strip()
        ]
        if (
            not found.matched and earlier
        ):  # a short follow-up: read it together with what the customer said before
            context, _ = self._message(earlier[-1] + "。" + message)
            again = retriever.search(context, brand=brand, today=today)
            found = again if again.matched else found
        timings = {"retrieve": _ms(t)} | {f"retrieve.{k}": round(v, 3) for k, v in found.timings_ms.items()}
        t = time.perf_counter()
        best = found.best if found.matched else None
        text = script_draft(
            best.item if best else None, brand_obj, tone, order=order_facts, conversation=turns
        )
        timings["compose"] = _ms(t)
        t = time.perf_counter()
        sources = [best.item.reply] if best else []
        # the retrieved policies are usually among the brand's valid ones: ground each text once
        sources = list(
            dict.fromkeys(sources + [p.item.body for p in found.policies] + self.policy_texts(brand, today))
        )
        checked = self.filter.check(text, brand=brand, sources=sources, order_facts=order_facts)
        timings["filter"] = _ms(t)
        if not found.matched:
            notices.append("没有匹配的话术：这是一条礼貌的暂缓回复，请客服人工处理。")
        timings["total"] = _ms(start)
        hits = tuple(s.hit for s in found.scripts[:5]) + tuple(p.hit for p in found.policies)
        return DraftResult(
            draft=checked.text,
            scenario=best.item.scenario if best else NO_MATCH_SCENARIO,
            mode="script",
            brand=brand,
            sources=hits,
            violations=checked.violations,
            matched=found.matched,
            blocked=checked.blocked,
            notices=tuple(notices + ([checked.block_reason] if checked.blocked else [])),
            script_id=best.item.id if best else "",
            grounding=tuple(sources),
            order=order_facts,
            timings_ms=timings,
        )

    def recheck(self, result: DraftResult, edited: str) -> DraftResult:
        """Check an agent's edited draft before it is sent, against what the original draft was grounded in."""
        checked = self.filter.check(
            edited, brand=result.brand, sources=list(result.grounding), order_facts=result.order
        )
        return replace(result, draft=checked.text, violations=checked.violations, blocked=checked.blocked)

    def config_summary(self) -> dict:
        """Return what built this answer: embedding, LLM or script mode, knowledge-base fingerprint."""
        manifest = self.reader.manifest
        return {
            "embedding": self.embeddings.name,
            "llm": "script" if not self.settings.llm_base_url else f"llm:{self.settings.llm_model}",
            "kb_fingerprint": manifest.kb_fingerprint if manifest else self.kb.fingerprint(),
            "index_gen": manifest.gen if manifest else 0,
            "retrieval": {k: v for k, v in vars(self.retrieval_config).items()},
        }
