"""Serving generations: everything a draft depends on, as one immutable bundle swapped whole.

A `Generation` holds the index reader (records, keyword scopes, centroids), the brands, the tone profiles and
the compliance filter of one index generation, all read from the index rather than from live files. A
`GenerationHolder` keeps the current one; a reload builds the next one aside and replaces a single
reference, so a draft that picked up a generation uses it to the end and no draft waits for a reload.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInputError, ConfigError, HuashuError
from .kbconfig import BRANDS_FILE, RULES_FILE, ServingConfig, parse_config
from .reader import IndexReader, RetrievalConfig
from .store import Store
from .storelock import StoreBusyError, io_lock
from .types import Brand, ToneProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """One index generation and the brands, tones and rules that were accepted with it."""

    gen: int
    kb_fingerprint: str
    built_at: str
    reader: IndexReader
    config: ServingConfig
    filter: object  # a ComplianceFilter built from config.rules
    loaded_ms: float
    notices: tuple[str, ...] = ()

    @property
    def brands(self) -> Mapping[str, Brand]:
        return self.config.brands

    @property
    def tones(self) -> Mapping[str, ToneProfile]:
        return self.config.tones

    def check_brand(self, brand: str | None) -> str | None:
        """Return `brand` if known (None stays None); raise with the known ones otherwise."""
        if brand is not None and brand not in self.brands:
            raise BadInputError(f"未知品牌 {brand!r}。已知品牌：{', '.join(sorted(self.brands))}。")
        return brand

    def brand_and_tone(self, brand: str | None) -> tuple[Brand, ToneProfile]:
        """Return a brand and its tone profile; raise a clear error when either is missing."""
        if not brand:
            raise BadInputError(f"请指定品牌。已知品牌：{', '.join(sorted(self.brands))}。")
        found = self.brands[self.check_brand(brand)]
        tone = self.tones.get(found.tone)
        if tone is None:
            raise ConfigError(
                f"品牌 {brand} 的语气档案 {found.tone!r} 不存在；请检查 knowledge_base/tone/ 并重新索引。"
            )
        return found, tone


def load_generation(
    store: Store,
    embeddings,
    config: RetrievalConfig,
    kb_path: Path,
    previous: Generation | None = None,
    wait_s: float = 30.0,
    make_filter: Callable[[ServingConfig], object] | None = None,
) -> Generation:
    """Build the generation the manifest names; reuse the previous one's parsed config when it is unchanged.

    While a re-index in another process writes the store's files, a first load waits up to `wait_s` seconds
    and a reload does not wait at all (`StoreBusyError`): the previous generation keeps serving meanwhile.
    `make_filter` builds the compliance filter from the serving config (default: its rules alone)."""
    from .compliance import ComplianceFilter

    started = time.perf_counter()
    lock = io_lock(store)
    try:
        lock.acquire(shared=True, wait_s=0 if previous is not None else wait_s)
        log.debug("store lock taken after %.1f ms", (time.perf_counter() - started) * 1000)
        with store.errors():  # a damaged, read-only or full store says so, with the next step
            manifest = store.read_manifest()
            reader = IndexReader(store, embeddings, config, manifest, previous.reader if previous else None)
            reader.warm()
    finally:
        lock.close()
    manifest = reader.manifest
    notices: list[str] = []
    if previous is not None and manifest.config and previous.config.hash == manifest.config:
        serving, rules_filter = previous.config, previous.filter
    else:
        texts = store.read_config(manifest.config) if manifest.config else None
        if texts is None:  # an index built before the config was stored with it
            from .kb import config_texts

            texts = config_texts(Path(kb_path))
            notices.append(
                "索引里没有存品牌、语气和合规规则：暂时读取知识库文件；请运行 `huashu index` 固定下来。"
            )
            log.warning("generation %s has no stored serving config: reading live files", manifest.gen)
        serving = parse_config(texts)
        if not serving.brands:
            problems = "; ".join(str(p) for p in serving.problems if p.file == BRANDS_FILE)
            raise ConfigError(f"知识库里没有可用的品牌设置：{problems or 'brands.yaml 为空'}")
        if serving.rules is None:
            problems = "; ".join(str(p) for p in serving.problems if p.file == RULES_FILE) or "文件不存在"
            raise ConfigError(
                f"合规规则 compliance/rules.yaml 不可用（{problems}）：没有合规检查不能出草稿，请修好后重新索引。"
            )
        rules_filter = make_filter(serving) if make_filter else ComplianceFilter(serving.rules)
    return Generation(
        gen=manifest.gen,
        kb_fingerprint=manifest.kb_fingerprint,
        built_at=manifest.built_at,
        reader=reader,
        config=serving,
        filter=rules_filter,
        loaded_ms=round((time.perf_counter() - started) * 1000, 1),
        notices=tuple(notices),
    )


@contextmanager
def _responsive(interval_s: float = 0.00005):
    """Keep drafting threads responsive while a generation is built on another thread.

    Two things would stall them: at the default 5 ms switch interval every numpy call a draft makes (the
    embedding alone makes hundreds) can wait a whole interval for the GIL; and the build allocates enough to
    trigger full garbage collections, each a 100 ms pause of every thread at the starter knowledge base.
    So the build runs with a short switch interval and no cyclic GC; afterwards what it built is frozen
    (`gc.freeze`): a long-lived generation is never scanned again, and a replaced one is freed by reference
    counting like everything else.
    """
    before, was_enabled = sys.getswitchinterval(), gc.isenabled()
    sys.setswitchinterval(min(before, interval_s))
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
        sys.setswitchinterval(before)


class GenerationHolder:
    """Hold the serving generation; reload it in the background when the store's manifest moves on."""

    def __init__(
        self,
        load: Callable[[Generation | None], Generation],
        probe: Callable[[], int | None],
        poll_s: float,
    ):
        self._load = load
        self._probe = probe
        self.poll_s = poll_s
        self._current: Generation | None = None
        self._lock = threading.Lock()  # one build at a time; drafts never take it once a generation exists
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str = ""
        self.reloads = 0

    @property
    def loaded(self) -> bool:
        return self._current is not None

    def current(self) -> Generation:
        """Return the serving generation, loading the first one now if there is none yet."""
        gen = self._current
        if gen is None:
            with self._lock:
                if self._current is None:
                    with _responsive():
                        self._current = self._load(None)
                    self._start_watcher()
                gen = self._current
        return gen

    def reload(self, *, if_newer_than: int | None = None, force: bool = False) -> bool:
        """Build the next generation aside and swap it in; return whether it was swapped.

        With `if_newer_than`, nothing is built when the store's generation is still that one; with `force`,
        the generation is rebuilt and swapped even when the store has not moved on.
        """
        with self._lock:
            previous = self._current
            if previous is None:
                return False
            if if_newer_than is not None and self._probe() in (None, if_newer_than):
                return False
            with _responsive():
                nxt = self._load(None if force else previous)
            same = nxt.gen == previous.gen and nxt.kb_fingerprint == previous.kb_fingerprint
            if same and not force:
                return False
            self._current = nxt  # the swap: one reference; drafts in flight keep the one they took
            self.reloads += 1
            self.last_error = ""
            log.info("serving generation %s (was %s), built in %.0f ms", nxt.gen, previous.gen, nxt.loaded_ms)
            return True

    def _start_watcher(self) -> None:
        if self.poll_s <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._watch, name="huashu-reload", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_s):
            current = self._current
            try:
                self.reload(if_newer_than=current.gen if current else None)
            except StoreBusyError:  # a re-index in another process is writing: look again next time
                log.debug("store busy, still serving generation %s", current and current.gen)
            except HuashuError as exc:
                self.last_error = str(exc)
                log.warning("reload failed, still serving generation %s: %s", current and current.gen, exc)
            except Exception as exc:  # never let the watcher die: the last good generation keeps serving
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("reload failed, still serving generation %s", current and current.gen)

    def close(self) -> None:
        """Stop watching for new generations."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
