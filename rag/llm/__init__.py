"""LLM drafting on any OpenAI-compatible endpoint: the chain, its faults, retries and circuit breaker.

Imported only when an LLM is configured and a draft needs it; LangChain's OpenAI package loads on the
first LLM draft, never for `huashu --help` or script mode.
"""

from __future__ import annotations

from .breaker import CircuitBreaker
from .chain import ChatChain, LLMConfig
from .drafter import LLMDrafter
from .faults import LLMFault, classify

__all__ = ["ChatChain", "CircuitBreaker", "LLMConfig", "LLMDrafter", "LLMFault", "classify"]
