"""A circuit breaker: after repeated LLM failures, skip the LLM for a cool-down, then let one draft probe it.

Closed: every draft may call. After `threshold` failures in a row it opens: no draft calls until
`cooldown_s` have passed. Then it is half-open: one draft (the probe) calls; success closes the breaker,
failure opens it for another cool-down. A dead endpoint so costs one timeout per cool-down, not one per draft.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Count failures in a row; open after `threshold`, probe again after `cooldown_s`. Thread-safe."""

    def __init__(self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic):
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """Return closed, open or half_open."""
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.cooldown_s else "half_open"

    def available(self) -> bool:
        """Return whether a draft may call now (closed, or half-open with no probe in flight)."""
        with self._lock:
            state = self._state()
            return state == "closed" or (state == "half_open" and not self.probing)

    def acquire(self) -> bool:
        """Claim the right to call; in half-open state only one caller (the probe) gets it."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self.probing:
                self.probing = True
                return True
            return False

    def remaining_s(self) -> float:
        """Return the seconds left of the cool-down (0 when not open)."""
        with self._lock:
            if self.opened_at is None:
                return 0.0
            return max(0.0, self.cooldown_s - (self.clock() - self.opened_at))

    def success(self) -> None:
        with self._lock:
            if self.opened_at is not None:
                log.info("LLM endpoint answered again: circuit closed")
            self.failures, self.opened_at, self.probing = 0, None, False

    def failure(self) -> None:
        with self._lock:
            self.failures += 1
            if self.probing or self.failures >= self.threshold:
                if self.opened_at is None or self.probing:
                    log.warning(
                        "LLM failed %d times in a row: skipping it for %.0f s", self.failures, self.cooldown_s
                    )
                self.opened_at = self.clock()
            self.probing = False

    def release(self) -> None:
        """Give back a claimed call that ended with no verdict (the caller stopped reading)."""
        with self._lock:
            self.probing = False
