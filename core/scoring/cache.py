"""A small thread-safe LRU for reference statistics, bounded by the characters it covers.

References are scored again and again (every draft of a project meets the same ones), so
their statistics are kept; drafts are not cached. The bound is in characters of source text
because the statistics grow with it; each cache states its own bound.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


def _chars(key: tuple) -> int:
    return sum(len(part) for part in key if isinstance(part, str)) + sum(
        len(text) for part in key if isinstance(part, tuple) for text in part
    )


class TextLRU(Generic[V]):
    """`get(*key)` returns `build(*key)`, kept while the keys' texts total at most `max_chars`.

    Key parts are texts, tuples of texts, or other small hashables (a tokenizer name).
    """

    def __init__(self, build: Callable[..., V], *, max_chars: int) -> None:
        self._build = build
        self._max_chars = max_chars
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, *key: Hashable) -> V:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
        value = self._build(*key)  # outside the lock: two threads may both build it
        size = _chars(key) + 1
        if size <= self._max_chars:
            with self._lock:
                if key not in self._items:
                    self._items[key] = (value, size)
                    self._chars += size
                    while self._chars > self._max_chars:
                        _, (_, old) = self._items.popitem(last=False)
                        self._chars -= old
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._chars = 0
