"""Errors Huashu raises; every message says in plain words what to do next.

Each class carries a `code` so a shell maps it to its own form without string matching: the CLI to an exit
status, the HTTP API to a status code, the workspace to a message. The families are bad input, not found,
busy, unavailable and configuration; `HuashuError` itself is an internal error.
"""

from __future__ import annotations


class HuashuError(Exception):
    """Base class: the CLI and the UI catch this and show the message, never a traceback."""

    code = "internal"


class BadInputError(HuashuError):
    """A message, brand, order fact or file that cannot be used as given."""

    code = "bad_input"


class NotFoundError(HuashuError):
    """Something asked for by id (a draft, a script, a file) does not exist."""

    code = "not_found"


class BusyError(HuashuError):
    """The work cannot start now because other work holds what it needs; try again shortly."""

    code = "busy"


class IndexBusyError(BusyError):
    """Another re-index of the same store is running."""


class UnavailableError(HuashuError):
    """A part Huashu depends on cannot be reached or is not there yet."""

    code = "unavailable"


class StoreUnavailableError(UnavailableError):
    """The vector store (embedded Chroma or a Chroma server) cannot be opened or reached."""


class LLMUnavailableError(UnavailableError):
    """The LLM endpoint failed, timed out or is cooling down after repeated failures."""


class IndexNotBuiltError(UnavailableError):
    """No index exists yet."""


class ConfigError(HuashuError):
    """A setting is missing or has a value we cannot use."""

    code = "config"


class IndexMismatchError(ConfigError):
    """The index was built with another embedding provider or dimension."""


class FilterError(HuashuError):
    """The compliance filter itself failed: a bug, never a verdict on the text."""


class KnowledgeBaseError(BadInputError):
    """A knowledge-base file is broken; says file, line, field and what is wrong."""

    def __init__(self, file: str, message: str, *, line: int | None = None, field: str | None = None):
        self.file = file
        self.line = line
        self.field = field
        self.detail = message
        where = file if line is None else f"{file}:{line}"
        if field:
            where += f" [{field}]"
        super().__init__(f"{where}: {message}")


class EvalFileError(BadInputError):
    """An eval file that cannot be read at all."""


class FeedbackUnavailableError(UnavailableError):
    """The feedback store cannot be opened or reached; drafting goes on, decisions are not recorded."""


class DecisionConflictError(BadInputError):
    """A draft already has another decision; one draft, one decision (the HTTP API answers 409)."""


# ---- storage faults and guarded re-indexes (issue 16) ----
class StoreWriteError(StoreUnavailableError):
    """The store cannot be written: the disk is full, or the directory is read-only."""


class StoreCorruptError(StoreUnavailableError):
    """A file of the embedded store is missing or damaged."""


class MassDeleteError(BadInputError):
    """A re-index would remove a large share of the index; it stops and says what would go."""
