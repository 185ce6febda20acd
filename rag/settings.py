"""Settings, built once from the environment (prefix HUASHU_) and a .env file, then passed in."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
EMBEDDING_KINDS = ("use-m3", "sentence-transformers", "openai")


class Settings(BaseSettings):
    """Every knob Huashu has; each field is documented in .env.example."""

    model_config = SettingsConfigDict(env_prefix="HUASHU_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data", description="Where all state lives.")
    kb_path: Path = Field(default=REPO_ROOT / "knowledge_base", description="The knowledge base to index.")
    chroma_path: Path | None = Field(
        default=None, description="Embedded Chroma store; default data_dir/chroma."
    )
    chroma_url: str | None = Field(default=None, description="A Chroma server, e.g. http://127.0.0.1:8000.")
    collection_prefix: str = Field(default="huashu", description="Prefix of every Chroma collection name.")
    embedding: str = Field(
        default="use-m3",
        description="use-m3 | sentence-transformers:<model or path> | openai:<model>.",
    )
    embedding_threads: int = Field(
        default=1, description="BLAS threads for use-m3 (1 is fastest for one query)."
    )
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint; unset = script mode."
    )
    llm_api_key: str | None = Field(default=None, description="API key for the endpoint.")
    llm_model: str = Field(default="gpt-4o-mini", description="Chat model name at the endpoint.")
    llm_timeout_s: float = Field(default=20.0, description="Seconds before an LLM call gives up.")
    max_message_chars: int = Field(default=2000, description="Longer messages are truncated for retrieval.")
    no_match_threshold: float | None = Field(
        default=None, description="Fused score below which no script fits; unset = the tuned default."
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


def load_settings(**overrides) -> Settings:
    """Build settings from the environment and .env, with explicit overrides on top."""
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(
            f"Bad setting: {exc}. Fix it in .env or the HUASHU_* environment variables."
        ) from exc
