"""Settings, built once from the environment (prefix HUASHU_) and a .env file, then passed in.

Every field is documented in .env.example (a test keeps the two in step). Retrieval knobs default to None,
meaning "the tuned default in RetrievalConfig"; any value that is set, 0 included, is used as given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
EMBEDDING_KINDS = ("use-m3", "sentence-transformers", "openai")
# Settings field -> RetrievalConfig field, for the knobs of hybrid retrieval.
RETRIEVAL_KNOBS = {
    "retrieval_tokenizer": "tokenizer",
    "retrieval_fusion": "fusion",
    "rrf_k": "rrf_k",
    "dense_weight": "dense_weight",
    "keyword_weight": "keyword_weight",
    "keyword_saturation": "keyword_saturation",
    "brand_bonus": "brand_bonus",
    "centroid_weight": "centroid_weight",
    "no_match_threshold": "no_match_threshold",
    "dense_candidates": "dense_candidates",
    "policy_min_score": "policy_min_score",
    "reference_min_score": "reference_min_score",
    "references_shown": "references_shown",
    "scenario_model": "scenario_model",
    "scenario_weight": "scenario_weight",
}


class Settings(BaseSettings):
    """Every knob Huashu has; each field is documented in .env.example."""

    model_config = SettingsConfigDict(
        env_prefix="HUASHU_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default=REPO_ROOT / "data", description="Where all state lives.")
    kb_path: Path = Field(default=REPO_ROOT / "knowledge_base", description="The knowledge base to index.")
    chroma_path: Path | None = Field(
        default=None, description="Embedded Chroma store; default data_dir/chroma."
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Where the embedding's parsed tokenizer is kept; default data_dir/model_cache. "
        "Processes over several data dirs may share one.",
    )
    chroma_url: str | None = Field(default=None, description="A Chroma server, e.g. http://127.0.0.1:8000.")
    collection_prefix: str = Field(default="huashu", description="Prefix of every Chroma collection name.")
    embedding: str = Field(
        default="use-m3",
        description="use-m3 | sentence-transformers:<model or path> | openai:<model>.",
    )
    embedding_threads: int = Field(
        default=1, ge=1, description="BLAS threads for use-m3 (1 is fastest for one query)."
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset = script mode."
    )
    llm_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HUASHU_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the endpoint; OPENAI_API_KEY when unset.",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Chat model name at the endpoint.")
    llm_timeout_s: float = Field(default=20.0, gt=0, description="Seconds before an LLM call gives up.")
    # ---- LLM drafting (rag/llm): generation and the circuit breaker ----
    llm_temperature: float = Field(default=0.3, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(default=512, gt=0, description="Most tokens the model may write per draft.")
    llm_breaker_threshold: int = Field(
        default=3, ge=1, description="Failures in a row after which the LLM is skipped for a cool-down."
    )
    llm_breaker_cooldown_s: float = Field(
        default=30.0, gt=0, description="Seconds the LLM is skipped before one draft probes it again."
    )
    max_message_chars: int = Field(
        default=2000, gt=0, description="Longer messages are truncated for retrieval."
    )
    max_check_chars: int = Field(
        default=8000,
        gt=0,
        description="Longest text the compliance check takes (a reply, an agent's edit); longer is refused.",
    )
    reload_poll_s: float = Field(
        default=2.0,
        ge=0,
        description="How often a long-running process looks for a new index generation; 0 = never.",
    )

    # ---- feedback store (rag/feedback) ----
    feedback_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the feedback store (PostgreSQL); unset = SQLite under data_dir.",
    )

    # ---- workspace (ui/): uploads on the knowledge page ----
    upload_max_mb: float = Field(default=10.0, gt=0, description="Largest file the workspace accepts, in MB.")
    upload_types: str = Field(
        default="md,txt,docx,pdf,html,htm,yaml,yml",
        description="File types the workspace accepts for upload, comma-separated.",
    )

    # ---- HTTP API (rag/api, `huashu serve`) ----
    api_host: str = Field(default="127.0.0.1", description="Address `huashu serve` listens on.")
    api_port: int = Field(default=8080, ge=1, le=65535, description="Port `huashu serve` listens on.")
    api_workers: int = Field(default=1, ge=1, description="uvicorn worker processes of `huashu serve`.")
    api_max_body_bytes: int = Field(
        default=65536, ge=1024, description="Request bodies larger than this are refused (413)."
    )
    api_rate_per_minute: int = Field(
        default=600, ge=1, description="Requests per minute per API key (a key may set its own)."
    )
    api_rate_burst: int = Field(
        default=30, ge=1, description="Requests a key may send at once above the rate."
    )

    # ---- retrieval knobs: None = the tuned default (RetrievalConfig) ----
    retrieval_tokenizer: Literal["char", "jieba"] | None = Field(
        default=None, description="Keyword tokenizer: char (unigrams + bigrams) or jieba."
    )
    retrieval_fusion: Literal["weighted", "rrf"] | None = Field(
        default=None, description="How dense and keyword scores are combined."
    )
    rrf_k: int | None = Field(default=None, ge=1, description="The k of reciprocal-rank fusion.")
    dense_weight: float | None = Field(default=None, ge=0, description="Weight of the dense score.")
    keyword_weight: float | None = Field(default=None, ge=0, description="Weight of the keyword score.")
    keyword_saturation: float | None = Field(
        default=None, gt=0, description="s in bm25 / (bm25 + s): maps BM25 onto 0..1."
    )
    brand_bonus: float | None = Field(
        default=None, ge=0, description="Added to a brand's own script over a generic one."
    )
    centroid_weight: float | None = Field(
        default=None, ge=0, le=1, description="Share of a script's example centroid in its dense score."
    )
    no_match_threshold: float | None = Field(
        default=None, description="Fused score below which no script fits (holding reply)."
    )
    dense_candidates: int | None = Field(
        default=None, ge=1, description="Nearest neighbours fetched per partition."
    )
    policy_min_score: float | None = Field(
        default=None, description="Cosine a policy needs to join the grounding by similarity."
    )
    reference_min_score: float | None = Field(
        default=None, description="Cosine a reference chunk needs to be shown as context."
    )
    references_shown: int | None = Field(
        default=None, ge=0, description="At most this many reference chunks per draft."
    )
    scenario_model: Literal["on", "off"] | None = Field(
        default=None,
        description="The scenario classifier: trained by `huashu index`, fused into retrieval (default on).",
    )
    scenario_weight: float | None = Field(
        default=None, ge=0, description="w in hybrid + w * P(script's scenario)."
    )

    # ---- compliance filter: the learned second stage (rag/compliance/learned.py) ----
    compliance_learned: bool = Field(
        default=True,
        description="Flag clauses the rules miss with a classifier learned from compliance/examples/*.jsonl.",
    )
    compliance_learned_threshold: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Probability at which the learned stage flags a clause, for every category; unset: each "
        "category's own, chosen by cross-validation.",
    )

    # ---- faults and hostile input: limits and guards of a re-index ----
    max_reference_mb: float = Field(
        default=20.0, gt=0, description="A reference document larger than this is refused, not read."
    )
    max_reference_chars: int = Field(
        default=300_000, gt=0, description="A reference document with more text than this is refused."
    )
    mass_delete_share: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="A re-index removing more than this share of the index stops (--allow-mass-delete).",
    )
    store_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="How long a process waits for a re-index in another process to finish writing the store.",
    )

    @field_validator("embedding")
    @classmethod
    def _check_embedding(cls, value: str) -> str:
        kind = value.split(":", 1)[0]
        if kind not in EMBEDDING_KINDS:
            raise ValueError(
                f"unknown embedding provider {kind!r}; choose one of: {', '.join(EMBEDDING_KINDS)}"
            )
        if kind != "use-m3" and ":" not in value:
            raise ValueError(f"{kind} needs a model: {kind}:<model name or path>")
        return value

    @property
    def chroma_dir(self) -> Path:
        """Return where the embedded Chroma store lives."""
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def model_cache(self) -> Path:
        """Return where files made from the installed model packages are kept."""
        return self.cache_dir or self.data_dir / "model_cache"

    @property
    def upload_type_list(self) -> tuple[str, ...]:
        """Return the accepted upload types, lower case, without dots."""
        return tuple(t.strip().lstrip(".").lower() for t in self.upload_types.split(",") if t.strip())

    def retrieval_overrides(self) -> dict:
        """Return the retrieval knobs that are set, under RetrievalConfig's field names."""
        return {
            cfg: getattr(self, name)
            for name, cfg in RETRIEVAL_KNOBS.items()
            if getattr(self, name) is not None
        }


def load_settings(**overrides) -> Settings:
    """Build settings from the environment and .env, with explicit overrides on top."""
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(
            f"Bad setting: {exc}. Fix it in .env or the HUASHU_* environment variables."
        ) from exc
