"""Huashu (话术助手): reply drafts for e-commerce customer service, grounded in standard scripts.

The public API. Names are imported on first use, so `import rag` (and `huashu --help`) pays for nothing
it does not touch: the vector store, the embedding model and LangChain load only for work that needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "Huashu": "app",
    "Composed": "drafters",
    "DraftContext": "drafters",
    "Drafter": "drafters",
    "ScriptDrafter": "drafters",
    "DraftDelta": "pipeline",
    "LLMConfig": "llm",
    "LLMDrafter": "llm",
    "PROMPT_VERSION": "prompts",
    "run_checks": "doctor",
    "Generation": "serving",
    "IndexReport": "index",
    "KnowledgeBase": "kb",
    "load_kb": "kb",
    "Retrieval": "retrieve",
    "RetrievalConfig": "reader",
    "Settings": "settings",
    "load_settings": "settings",
    "DraftRequest": "types",
    "DraftResult": "types",
    "FilterResult": "types",
    "Hit": "types",
    "Policy": "types",
    "ReferenceChunk": "types",
    "Script": "types",
    "Turn": "types",
    "Violation": "types",
    "draft_result_dict": "serialize",
    "draft_result_from_dict": "serialize",
    "filter_result_dict": "serialize",
    "hit_dict": "serialize",
    "index_report_dict": "serialize",
    "retrieval_dict": "serialize",
    "violation_dict": "serialize",
    # feedback store (rag/feedback)
    "Decision": "feedback",
    "FeedbackStore": "feedback",
    "open_feedback_store": "feedback",
    "try_open_feedback_store": "feedback",
    "REJECT_REASONS": "feedback",
    # workspace (ui/): uploads into the knowledge base, eval runs and their history
    "UPLOAD_KINDS": "uploads",
    "Upload": "uploads",
    "save_upload": "uploads",
    "safe_file_name": "uploads",
    "EvalRunner": "evaluation",
    "read_eval_files": "evaluation",
    "results_json": "evaluation",
    "compare_runs": "evaluation.history",
    "list_runs": "evaluation.history",
    "retrieval_confusion": "evaluation.history",
    "run_metric": "evaluation.history",
    "runs_dir": "evaluation.history",
    "save_run": "evaluation.history",
    # HTTP API keys (rag/feedback/keys.py)
    "ApiKey": "feedback",
    "ApiKeys": "feedback",
    **{
        name: "errors"
        for name in (
            "BadInputError",
            "BusyError",
            "ConfigError",
            "DecisionConflictError",
            "FeedbackUnavailableError",
            "FilterError",
            "HuashuError",
            "IndexBusyError",
            "IndexMismatchError",
            "IndexNotBuiltError",
            "KnowledgeBaseError",
            "LLMUnavailableError",
            "NotFoundError",
            "StoreUnavailableError",
            "UnavailableError",
        )
    },
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from .app import Huashu  # noqa: F401
    from .doctor import run_checks  # noqa: F401
    from .drafters import Composed, DraftContext, Drafter, ScriptDrafter  # noqa: F401
    from .errors import (  # noqa: F401
        BadInputError,
        BusyError,
        ConfigError,
        DecisionConflictError,
        FeedbackUnavailableError,
        FilterError,
        HuashuError,
        IndexBusyError,
        IndexMismatchError,
        IndexNotBuiltError,
        KnowledgeBaseError,
        LLMUnavailableError,
        NotFoundError,
        StoreUnavailableError,
        UnavailableError,
    )
    from .evaluation import EvalRunner, read_eval_files, results_json  # noqa: F401
    from .evaluation.history import (  # noqa: F401
        compare_runs,
        list_runs,
        retrieval_confusion,
        run_metric,
        runs_dir,
        save_run,
    )
    from .feedback import (  # noqa: F401
        REJECT_REASONS,
        ApiKey,
        ApiKeys,
        Decision,
        FeedbackStore,
        open_feedback_store,
        try_open_feedback_store,
    )
    from .index import IndexReport  # noqa: F401
    from .kb import KnowledgeBase, load_kb  # noqa: F401
    from .llm import LLMConfig, LLMDrafter  # noqa: F401
    from .pipeline import DraftDelta  # noqa: F401
    from .prompts import PROMPT_VERSION  # noqa: F401
    from .reader import RetrievalConfig  # noqa: F401
    from .retrieve import Retrieval  # noqa: F401
    from .serialize import (  # noqa: F401
        draft_result_dict,
        draft_result_from_dict,
        filter_result_dict,
        hit_dict,
        index_report_dict,
        retrieval_dict,
        violation_dict,
    )
    from .serving import Generation  # noqa: F401
    from .settings import Settings, load_settings  # noqa: F401
    from .types import (  # noqa: F401
        DraftRequest,
        DraftResult,
        FilterResult,
        Hit,
        Policy,
        ReferenceChunk,
        Script,
        Turn,
        Violation,
    )
    from .uploads import UPLOAD_KINDS, Upload, safe_file_name, save_upload  # noqa: F401
