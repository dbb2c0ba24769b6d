"""An in-process LRU cache of finished translations. Live chat repeats itself ("price?", "❤️",
"link"), and a hit skips the model entirely."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from babelcast.translation.engine import Translation

K = TypeVar("K")
V = TypeVar("V")

# (route, src, tgt, glossary cache_id, glossary version, text), per unit a back end runs (a
# whole route, or one hop of it). The route names the engine (or both engines of a pivot), so a
# model swapped in under the same pair is never served the old model's output; the cache_id
# (name:version:fingerprint) names the glossary's content.
CacheKey = tuple[str, str, str, str, int, str]


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class LRUCache(Generic[K, V]):
    """Least-recently-used map with hit/miss/eviction counters. Event-loop only."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[K, V] = OrderedDict()
        self.stats = CacheStats()

    def get(self, key: K) -> V | None:
        """The cached value, refreshed as most recent, or None."""
        value = self._data.get(key)
        if value is None:
            self.stats.misses += 1
            return None
        self._data.move_to_end(key)
        self.stats.hits += 1
        return value

    def put(self, key: K, value: V) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        if self.max_entries <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)
            self.stats.evictions += 1

    def __len__(self) -> int:
        return len(self._data)


class TranslationCache(LRUCache[CacheKey, Translation]):
    """Finished translations (the text and the engine that made it) by ``CacheKey``, in
    front of every engine."""
