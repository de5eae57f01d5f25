"""A small in-process sliding-window rate limiter.

Per process: with N gunicorn workers the effective limit is up to N times the configured one,
which is acceptable for flood protection; lockout that must hold across workers (login) is
stored in the database instead.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class RateLimiter:
    """Allow at most ``limit`` events per ``window`` seconds for each key."""

    def __init__(self, clock=time.monotonic) -> None:
        self._events: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._clock = clock

    def hit(self, key: str, limit: int, window: float) -> bool:
        """Record an event; False when the key is over its limit (the event is not recorded)."""
        now = self._clock()
        with self._lock:
            q = self._events[key]
            while q and q[0] <= now - window:
                q.popleft()
            if len(q) >= limit:
                return False
            q.append(now)
            return True

    def reset(self) -> None:
        """Forget every key (tests)."""
        with self._lock:
            self._events.clear()


limiter = RateLimiter()
