"""Prompt caching, deterministically: a prefix reads from the cache when an earlier request in
the same fake process (same format and model) already sent it.

Two rules, as the providers differ:
* explicit (Anthropic, and Anthropic models on OpenRouter): only prefixes ending at a block with
  `cache_control` (or the last block, for a top-level `cache_control`) are cached. The longest
  such prefix seen before is read; the breakpoints after it are written, each segment billed at
  its breakpoint's TTL (5m or 1h).
* automatic (OpenAI, DeepSeek, other OpenRouter models): every prefix that ends at a message
  boundary is cached; the longest one seen before is read. Nothing is reported as written.
Prefixes shorter than the minimum are silently not cached, as the providers do.
"""

from __future__ import annotations

from dataclasses import dataclass

from .prompt import PromptBlock

AUTOMATIC_MIN_TOKENS = 1024  # OpenAI's documented minimum; keeps short test prompts uncached
EXPLICIT_MIN_TOKENS = 0


@dataclass(frozen=True)
class CacheUsage:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def write(self) -> int:
        return self.write_5m + self.write_1h


def _ttl(marker: object) -> str:
    ttl = marker.get("ttl") if isinstance(marker, dict) else None
    return "1h" if ttl == "1h" else "5m"


class PromptCache:
    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def clear(self) -> int:
        count = len(self._seen)
        self._seen.clear()
        return count

    def automatic(self, blocks: list[PromptBlock], min_tokens: int | None) -> CacheUsage:
        floor = AUTOMATIC_MIN_TOKENS if min_tokens is None else min_tokens
        read, total = 0, 0
        for block in blocks:
            total += block.tokens
            if not block.ends_message or total < floor or total == 0:
                continue
            if block.digest in self._seen:
                read = total
            self._seen.add(block.digest)
        return CacheUsage(read=read)

    def explicit(
        self, blocks: list[PromptBlock], top_level: object, min_tokens: int | None
    ) -> CacheUsage:
        floor = EXPLICIT_MIN_TOKENS if min_tokens is None else min_tokens
        points: list[tuple[int, bytes, str]] = []  # (prefix tokens, digest, ttl)
        total = 0
        for i, block in enumerate(blocks):
            total += block.tokens
            marker = block.cache_control
            if marker is None and top_level is not None and i == len(blocks) - 1:
                marker = top_level
            if marker is not None:
                points.append((total, block.digest, _ttl(marker)))
        eligible = [p for p in points if p[0] >= floor and p[0] > 0]
        read = max((t for t, digest, _ in eligible if digest in self._seen), default=0)
        written = {"5m": 0, "1h": 0}
        position = read
        for tokens, digest, ttl in eligible:
            if tokens > position:
                written[ttl] += tokens - position
                position = tokens
            self._seen.add(digest)
        return CacheUsage(read=read, write_5m=written["5m"], write_1h=written["1h"])
