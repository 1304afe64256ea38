"""Remembering which Slack events were already handled, so retries and duplicate
deliveries never produce a second reply."""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable


class SeenEvents:
    """Keys seen within the last `ttl` seconds (Slack retries within minutes)."""

    def __init__(
        self, ttl: float = 3600, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, keys: Iterable[str]) -> bool:
        """True once for an event: records all its keys; False if any was seen before."""
        keys = [k for k in keys if k]
        with self._lock:
            now = self._clock()
            while self._seen and (
                len(self._seen) > self._capacity
                or next(iter(self._seen.values())) < now - self._ttl
            ):
                self._seen.popitem(last=False)
            if any(k in self._seen for k in keys):
                return False
            for key in keys:
                self._seen[key] = now
            return True
