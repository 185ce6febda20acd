"""Huashu (话术助手): reply drafts for e-commerce customer service, grounded in standard scripts."""

from .app import Huashu
from .errors import (
    BadInputError,
    ConfigError,
    HuashuError,
    IndexMismatchError,
    IndexNotBuiltError,
    KnowledgeBaseError,
)
from .index import IndexReport
from .kb import KnowledgeBase, load_kb
from .retrieve import Retrieval, RetrievalConfig
from .settings import Settings, load_settings
from .types import DraftResult, FilterResult, Hit, Policy, Script, Turn, Violation

__all__ = [
    "BadInputError",
    "ConfigError",
    "DraftResult",
    "FilterResult",
    "Hit",
    "Huashu",
    "HuashuError",
    "IndexMismatchError",
    "IndexNotBuiltError",
    "IndexReport",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Policy",
    "Retrieval",
    "RetrievalConfig",
    "Script",
    "Settings",
    "Turn",
    "Violation",
    "load_kb",
    "load_settings",
]
