"""Requests per token per second, as a token bucket per key, in this process.

Why per token: a provisioning client (an IdP, a script) is one token, and one
runaway client must not take the server from the others. Why in process: the
check is on every request and costs a dict lookup; with several server
processes the limit applies per process (each gets its share of the clients),
which is what a load balancer spreading requests makes of it anyway.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.per_second = per_second
        self.burst = max(burst, 1.0)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def take(self, key: str) -> int | None:
        """Spend one request of ``key``'s budget: None if allowed, else whole seconds to wait."""
        if not self.enabled:
            return None
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.per_second)
            if tokens >= 1:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()  # forgetting budgets only ever grants more
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.per_second))
