"""The cache entries a process parsed lately, reused while Redis holds the very same bytes.

A hot entry is read again and again, and parsing it (then numbering its events for replay)
costs more than reading it, more the longer the answer. An entry is reused only when Redis
returned exactly the bytes it was parsed from, so a rewritten or dropped entry is never
answered from here.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class ParsedEntries(Generic[T]):
    """The ``max_entries`` entries parsed last, each of at most ``max_entry_bytes`` (larger
    ones are parsed each time: the memory is bounded by ``max_entries * max_entry_bytes``)."""

    def __init__(self, *, max_entries: int = 64, max_entry_bytes: int = 64 * 1024) -> None:
        self.max_entries = max_entries
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[str, tuple[bytes, T]] = OrderedDict()

    def get(self, key: str, raw: bytes) -> T | None:
        """What ``raw`` parsed to, if it is the entry kept under ``key``."""
        kept = self._entries.get(key)
        if kept is None or kept[0] != raw:
            return None
        self._entries.move_to_end(key)
        return kept[1]

    def put(self, key: str, raw: bytes, parsed: T) -> None:
        if len(raw) > self.max_entry_bytes:
            self._entries.pop(key, None)
            return
        self._entries[key] = (raw, parsed)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
