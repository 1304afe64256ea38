"""A bounded, thread-safe map of the values most recently used, by text."""

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

V = TypeVar("V")


class RecentlyUsed(Generic[V]):
    """At most `capacity` values; the least recently used goes first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(
        self, keys: Sequence[str], compute: Callable[[list[str]], dict[str, V]]
    ) -> list[V]:
        """The value of each key, those not kept computed together by `compute` (given each
        missing key once) and then kept."""
        with self._lock:  # copy the hits out: another thread may evict them meanwhile
            found = {k: self._kept[k] for k in dict.fromkeys(keys) if k in self._kept}
            for key in found:
                self._kept.move_to_end(key)
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            fresh = compute(missing)
            found.update(fresh)
            with self._lock:
                self._kept.update(fresh)
                while len(self._kept) > self._capacity:
                    self._kept.popitem(last=False)
        return [found[key] for key in keys]
