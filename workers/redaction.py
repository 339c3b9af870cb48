"""Output filters that also hold on streams, where a match can span two deltas.

The redactor holds back the last ``max_match_chars`` characters of what it has seen: any match
not yet complete starts inside them. A match is replaced only once it lies wholly before that
tail; one that reaches into the tail waits for more text (or the end of the stream).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.config import OutputFilter


@dataclass(frozen=True, slots=True)
class FilterSet:
    """The configured filters, compiled once per worker process."""

    regex: re.Pattern[str]
    replacements: tuple[str, ...]
    hold_chars: int

    @classmethod
    def compile(cls, filters: list[OutputFilter]) -> FilterSet | None:
        if not filters:
            return None
        alternatives = "|".join(f"(?P<f{i}>{f.regex})" for i, f in enumerate(filters))
        return cls(
            regex=re.compile(alternatives),
            replacements=tuple(f.replacement for f in filters),
            hold_chars=max(f.max_match_chars for f in filters),
        )

    def redactor(self) -> Redactor:
        return Redactor(self)


class Redactor:
    """One per stream (content and reasoning each have their own)."""

    def __init__(self, filters: FilterSet) -> None:
        self.filters = filters
        self._pending = ""

    def feed(self, text: str) -> str:
        """What may be sent now of everything seen so far."""
        buffer = self._pending + text
        cut = len(buffer) - self.filters.hold_chars
        sent, pos = [], 0
        for match in self.filters.regex.finditer(buffer):
            if match.end() > cut:  # may still grow with the next delta: decide later
                cut = min(cut, match.start())
                break
            sent += [buffer[pos : match.start()], self._replacement(match)]
            pos = match.end()
        cut = max(cut, pos)
        sent.append(buffer[pos:cut])
        self._pending = buffer[cut:]
        return "".join(sent)

    def flush(self) -> str:
        """The rest, at the end of the stream."""
        rest, self._pending = self._pending, ""
        return self.filters.regex.sub(self._replacement, rest)

    def _replacement(self, match: re.Match[str]) -> str:
        index = next(i for i, value in enumerate(match.groups()) if value is not None)
        return self.filters.replacements[index]
