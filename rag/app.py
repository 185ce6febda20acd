"""The one object a UI, an API, the CLI or the eval runner calls: message in, draft out.

A `Huashu` is cheap to create: nothing is imported, opened or loaded until a call needs it. Work that embeds
loads the model; work that serves loads the current index generation and then keeps it fresh in the
background (every `reload_poll_s` seconds), swapping whole generations so no call waits for a reload.
Any number of threads may call one `Huashu` at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date

from .errors import BadInputError, FilterError
from .reader import RetrievalConfig
from .settings import Settings, load_settings
from .types import DraftRequest, DraftResult, FilterResult, Script, Turn

log = logging.getLogger(__name__)


class Huashu:
    """Huashu over one knowledge base and one index: draft, retrieve, check, re-index."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embeddings=None,
        retrieval: RetrievalConfig | None = None,
        drafters: Mapping | None = None,
        watch: bool = True,
    ):
        from .serving import GenerationHolder

        self.settings = settings or load_settings()
        self.retrieval_config = retrieval or RetrievalConfig(**self.settings.retrieval_overrides())
        self._embeddings = embeddings
        self._model_started = embeddings is not None  # a provider given to us is the caller's to load
        self._store = None
        self._lock = threading.Lock()
        self._drafters = drafters
        self._written: set[int] = set()  # generations this object's own re-indexes wrote
        self._pipeline = None
        self._serving = GenerationHolder(
            self._load_generation, self._probe, self.settings.reload_poll_s if watch else 0
        )

    # ---- parts, made on first use ----
    @property
    def embeddings(self):
        """The embedding provider the settings name (created on first use, model loaded on first embed)."""
        from .embeddings import make_embeddings

        return self._once("_embeddings", lambda: make_embeddings(self.settings))

    @property
    def store(self):
        """The Chroma store (opened on first use)."""
        from .store import Store

        return self._once("_store", lambda: Store(self.settings))

    def _once(self, attr: str, make):
        """Return the part held in `attr`, making it first if no thread has yet."""
        if getattr(self, attr) is None:
            with self._lock:
                if getattr(self, attr) is None:
                    setattr(self, attr, make())
        return getattr(self, attr)

    @property
    def pipeline(self):
        if self._pipeline is None:
            from .drafters import ScriptDrafter
            from .pipeline import Pipeline

            drafters = dict(self._drafters or {}) or {"script": ScriptDrafter()}
            drafters.setdefault("script", ScriptDrafter())
            if "llm" not in drafters and self.settings.llm_base_url:  # LLM drafting: configured, not imported
                from .llm import LLMDrafter

                drafters["llm"] = LLMDrafter.from_settings(self.settings)
            self._pipeline = Pipeline(drafters, max_message_chars=self.settings.max_message_chars)
        return self._pipeline

    def _start_model(self) -> None:
        """Start loading the embedding model in the background, once: it overlaps with loading the index."""
        if not self._model_started:
            self._model_started = True
            self.embeddings.preload()

    # ---- the serving generation ----
    def _load_generation(self, previous):
        from .serving import load_generation

        store = self.store
        if previous is not None and self._probe() not in self._written:
            # another process wrote this generation: an embedded client only sees it when opened anew
            store = self._store = store.reopened()
        return load_generation(
            store,
            self.embeddings,
            self.retrieval_config,
            self.settings.kb_path,
            previous,
            wait_s=self.settings.store_wait_s,
            make_filter=self._make_filter,
        )

    @property
    def _model_cache(self):
        return self.settings.data_dir / "compliance_models"

    def _make_filter(self, config):
        """Build the compliance filter of a generation: its rules, and the learned stage unless switched off."""
        from .compliance import build_filter

        return build_filter(
            config.rules,
            config.examples if self.settings.compliance_learned else (),
            cache_dir=self._model_cache,
            threshold=self.settings.compliance_learned_threshold,
        )

    def _probe(self) -> int | None:
        state = self.store.manifest_gen()
        return state[0] if state else None

    @property
    def generation(self):
        """The generation serving drafts now (loaded on first use, then kept fresh in the background)."""
        return self._serving.current()

    def reload(self, *, force: bool = False) -> bool:
        """Pick up a new index generation now, if there is one (`force`: rebuild it anyway); return whether
        a generation was swapped in. Drafts in flight finish on the generation they started with."""
        if not self._serving.loaded:
            self._serving.current()
            return True
        return self._serving.reload(force=force)

    @property
    def reader(self):
        """The serving index reader (of the current generation)."""
        return self.generation.reader

    @property
    def brands(self):
        return self.generation.brands

    @property
    def tones(self):
        return self.generation.tones

    @property
    def filter(self):
        return self.generation.filter

    def warm_up(self) -> None:
        """Load the model and the index now, so the first draft is fast."""
        self._start_model()
        _ = self.generation
        self.embeddings.warm_up()
        for drafter in self.pipeline.drafters.values():  # an LLM drafter imports its client here
            getattr(drafter, "warm_up", lambda: None)()

    def close(self) -> None:
        """Stop the background reload."""
        self._serving.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- index ----
    def index(
        self, *, full: bool = False, progress=None, allow_mass_delete: bool = False, repair: bool = False
    ):
        """Re-index the knowledge base (incremental unless `full`); serve the new generation at once.

        A run that would remove a large share of the index stops unless `allow_mass_delete`; `repair` checks
        that the store holds every record the index names and writes back what it lost."""
        from .documents import ReferenceLimits
        from .index import Indexer, NoopStamp
        from .kb import load_kb

        started = time.perf_counter()
        kb = load_kb(
            self.settings.kb_path,
            cache=self.settings.data_dir / "kb-cache",
            limits=ReferenceLimits.from_settings(self.settings),
        )
        if not (full or repair) and self._store is None:
            # the last run left word of what the store holds: an unchanged knowledge base needs no Chroma
            provider = self._embeddings.name if self._embeddings is not None else self.settings.embedding
            report = NoopStamp(self.settings, provider).report(kb)
            if report is not None:
                report.seconds = time.perf_counter() - started
                return report
        indexer = Indexer(self.store, self.embeddings, mass_delete_share=self.settings.mass_delete_share)
        report = indexer.run(
            kb, full=full, progress=progress, allow_mass_delete=allow_mass_delete, repair=repair
        )
        self._written.add(report.gen)
        if self.settings.compliance_learned and kb.config is not None and kb.config.examples:
            # train the filter's learned stage now, so the first draft of a fresh process reads it from the cache
            from .compliance.learned import load_or_train

            load_or_train(kb.config.examples, self._model_cache)
        if self._serving.loaded:
            self._serving.reload()
        return report

    # ---- input checks ----
    def check_brand(self, brand: str | None) -> str | None:
        """Return `brand` if known (None stays None); raise with the known ones otherwise."""
        return self.generation.check_brand(brand)

    # ---- retrieval ----
    def retrieve(
        self,
        message: str,
        *,
        brand: str | None = None,
        k: int = 10,
        mode: str = "fused",
        today: date | None = None,
    ):
        """Return ranked scripts (with scores and why), grounding policies and reference chunks."""
        from .pipeline import clean_message
        from .retrieve import Retriever

        self._start_model()
        gen = self.generation
        query, _ = clean_message(message, self.settings.max_message_chars)
        return Retriever(gen.reader).search(query, brand=gen.check_brand(brand), k=k, mode=mode, today=today)

    def scripts(self) -> list[Script]:
        """Return every script the serving generation holds."""
        return self.generation.reader.scripts()

    # ---- compliance ----
    def policy_texts(self, brand: str | None, today: date | None = None) -> list[str]:
        """Return the bodies of the policies in force for `brand`."""
        return [p.body for p in self.generation.reader.policies(brand, today or date.today())]

    def check(
        self,
        text: str,
        *,
        brand: str | None = None,
        sources: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
    ) -> FilterResult:
        """Run the compliance filter; without `sources`, the brand's valid policies ground numbers."""
        from .normalize import scrub
        from .order import clean_order

        gen = self.generation
        brand = gen.check_brand(brand)
        if sources is None:
            sources = [p.body for p in gen.reader.policies(brand, date.today())]
        text = scrub(text) if isinstance(text, str) else text
        if isinstance(text, str) and (reason := self._too_long(text)):
            raise BadInputError(reason)
        return gen.filter.check(text, brand=brand, sources=list(sources), order_facts=clean_order(order))

    # ---- drafting ----
    def _request(self, message, brand, conversation, order, today, mode, script_id) -> DraftRequest:
        from .normalize import scrub
        from .pipeline import clean_conversation

        if isinstance(message, bytes):
            raise BadInputError("顾客消息应该是文字，不是字节串。")
        return DraftRequest(
            message=scrub(message) if isinstance(message, str) else message,
            brand=brand,
            conversation=clean_conversation(conversation),
            order=dict(order or {}),
            mode=mode,
            script_id=script_id,
            today=today,
        )

    def draft(
        self,
        message: str,
        *,
        brand: str,
        conversation: Sequence[Turn | Mapping] = (),
        order: Mapping[str, str] | None = None,
        today: date | None = None,
        mode: str = "auto",
        script_id: str | None = None,
    ) -> DraftResult:
        """Draft a reply to the latest customer message (script mode unless an LLM drafter is set up)."""
        self._start_model()
        request = self._request(message, brand, conversation, order, today, mode, script_id)
        return self.pipeline.run(self.generation, request)

    def stream_draft(
        self,
        message: str,
        *,
        brand: str,
        conversation: Sequence[Turn | Mapping] = (),
        order: Mapping[str, str] | None = None,
        today: date | None = None,
        mode: str = "auto",
        script_id: str | None = None,
    ) -> Iterator:
        """Yield `DraftDelta`s as the draft is written (each one already passed by the filter), then the result."""
        self._start_model()
        request = self._request(message, brand, conversation, order, today, mode, script_id)
        return self.pipeline.stream(self.generation, request)

    def recheck(self, result: DraftResult, edited: str) -> DraftResult:
        """Check an agent's edited draft before it is sent, against what the original draft was grounded in."""
        from .normalize import scrub

        if isinstance(edited, str) and (reason := self._too_long(edited)):
            return replace(result, draft=edited, violations=(), blocked=True, block_reason=reason)
        try:
            checked = self.generation.filter.check(
                scrub(edited) if isinstance(edited, str) else edited,
                brand=result.brand,
                sources=list(result.grounding),
                order_facts=result.order,
            )
        except FilterError:
            from .pipeline import FILTER_FAILED

            log.exception("compliance filter failed on an edited draft")
            checked = FilterResult(edited, blocked=True, block_reason=FILTER_FAILED)
        return replace(
            result,
            draft=checked.text,
            violations=checked.violations,
            blocked=checked.blocked,
            block_reason=checked.block_reason,
        )

    def _too_long(self, text: str) -> str:
        """Return why `text` is too long to check ("" when it is not): a reply is never that long, and the
        filter's time grows faster than the text."""
        limit = self.settings.max_check_chars
        if len(text) <= limit:
            return ""
        return f"要检查的文字有 {len(text)} 个字，超过了上限 {limit} 个字。一条回复不会这么长，请删减或分段后再检查。"

    # ---- what serves ----
    def config_summary(self) -> dict:
        """Return what built this answer: embedding, LLM or script mode, knowledge-base fingerprint."""
        gen = self.generation
        llm = self.pipeline.drafters.get("llm")
        return {
            "embedding": self.embeddings.name,
            "llm": f"llm:{llm.model}" if llm is not None and getattr(llm, "model", "") else "script",
            "kb_fingerprint": gen.kb_fingerprint,
            "index_gen": gen.gen,
            "retrieval": dict(vars(self.retrieval_config)),
            "compliance_model": gen.filter.clauses.info if getattr(gen.filter, "clauses", None) else None,
            # the classifier these results were ranked with: its version, what it learned from, or why none
            "scenario_model": {
                k: v
                for k, v in gen.reader.manifest.scenario_model.items()
                if k in ("version", "fingerprint", "digest", "status", "examples")
            }
            | {"serving": gen.reader.scenario_model is not None},
        }

    def stats(self):
        """Return what the serving index holds and how it was built."""
        from .serialize import index_stats

        return index_stats(self.generation, self.store.location)

    def status(self) -> dict:
        """Return the serving state for a health check: generation, last reload error, reload count."""
        loaded = self._serving.loaded
        gen = self._serving.current() if loaded else None
        return {
            "loaded": loaded,
            "index_gen": gen.gen if gen else None,
            "kb_fingerprint": gen.kb_fingerprint if gen else None,
            "reloads": self._serving.reloads,
            "last_reload_error": self._serving.last_error,
        }
