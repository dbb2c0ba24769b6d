"""An in-process LRU cache of finished translations."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

CacheKey = tuple[str, str, str, str, int]  # (src, tgt, text, glossary name, glossary version)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class TranslationCache:
    """Least-recently-used map from ``CacheKey`` to translated text. Event-loop only."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[CacheKey, str] = OrderedDict()
        self.stats = CacheStats()

    def get(self, key: CacheKey) -> str | None:
        """The cached text, refreshed as most recent, or None."""
        value = self._data.get(key)
        if value is None:
            self.stats.misses += 1
            return None
        self._data.move_to_end(key)
        self.stats.hits += 1
        return value

    def put(self, key: CacheKey, value: str) -> None:
        """Store ``value``, evicting the least recently used entry when full."""
        if self.max_entries <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
