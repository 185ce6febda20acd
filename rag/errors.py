"""Errors Huashu raises; every message says in plain words what to do next."""

from __future__ import annotations


class HuashuError(Exception):
    """Base class: the CLI and the UI catch this and show the message, never a traceback."""


class ConfigError(HuashuError):
    """A setting is missing or has a value we cannot use."""


class KnowledgeBaseError(HuashuError):
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


class IndexNotBuiltError(HuashuError):
    """No index exists yet."""


class IndexMismatchError(HuashuError):
    """The index was built with another embedding provider or dimension."""


class BadInputError(HuashuError):
    """A message, brand or order fact that cannot be used as given."""


class EvalFileError(HuashuError):
    """An eval file that cannot be read at all."""
