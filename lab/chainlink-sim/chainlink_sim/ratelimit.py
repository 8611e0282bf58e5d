# Copyright: contributors to nodeops.chainlink
# SPDX-License-Identifier: GPL-3.0-or-later
"""The router's rate limiters (``core/web/router.go`` ``rateLimiter``: ulule/limiter v3 with its in-memory store).

Semantics of that store, per key (the client IP): a counter and an expiry. A request after the expiry (or the first
one) starts a new window, count 1, expiring one period later; every other request increments the count, rejected or
not. A request is rejected (429, body ``Limit exceeded``) when the count exceeds the limit. So at most ``limit``
requests pass per window, and the window starts at the first request, not on a clock boundary.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
import typing as t


@dataclasses.dataclass(frozen=True)
class Decision:
    reached: bool
    limit: int
    remaining: int
    reset_at: float  # wall-clock seconds (the X-RateLimit-Reset header is a Unix time)

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining), "X-RateLimit-Reset": str(math.ceil(self.reset_at))}


class FixedWindowLimiter:
    """``limit`` requests per ``period`` seconds per key, in fixed windows that start at a key's first request."""

    def __init__(self, limit: int, period: float, clock: t.Callable[[], float] = time.monotonic, wall: t.Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.period = period
        self.clock = clock
        self.wall = wall
        self._windows: dict[str, tuple[int, float]] = {}  # key -> (count, expiry on self.clock)
        self._lock = threading.Lock()

    def hit(self, key: str) -> Decision:
        now = self.clock()
        with self._lock:
            count, expiry = self._windows.get(key, (0, 0.0))
            if now >= expiry:
                count, expiry = 0, now + self.period
            count += 1
            self._windows[key] = (count, expiry)
        return Decision(count > self.limit, self.limit, max(0, self.limit - count), self.wall() + (expiry - now))
