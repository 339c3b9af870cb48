"""What to do after a provider fails before the first token: retry it, move on, or stop.

DESIGN's rules: connect errors, timeouts, 408/409/429/5xx/529 and error frames retry (honouring
Retry-After within the job's deadline) and then fall back; quota errors fall back at once;
400/401/403/404/422 stop; a context-length error falls back only to a step with a larger
context window.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.config import RouteStep
from shared.errors import ContextLengthExceeded, ProviderError, ProviderQuotaExhausted

MAX_BACKOFF_S = 8.0


@dataclass(frozen=True, slots=True)
class Move:
    """Try ``route[index]`` next, after ``wait_s``."""

    index: int
    wait_s: float = 0.0


def next_move(
    error: ProviderError, route: list[RouteStep], index: int, attempt: int, remaining_s: float
) -> Move | None:
    """The next try after ``route[index]`` failed on its ``attempt``-th try; None to stop."""
    if isinstance(error, ContextLengthExceeded):
        window = route[index].context_window or 0
        larger = (
            i for i in range(index + 1, len(route)) if (route[i].context_window or 0) > window
        )
        found = next(larger, None)
        return None if found is None else Move(found)
    if not error.retryable:
        return None
    if not isinstance(error, ProviderQuotaExhausted) and attempt < route[index].attempts:
        wait_s = error.retry_after_s if error.retry_after_s is not None else backoff_s(attempt)
        if wait_s < remaining_s:
            return Move(index, wait_s)
    return Move(index + 1) if index + 1 < len(route) else None


def backoff_s(attempt: int) -> float:
    """0.5 s doubling per attempt, capped at 8 s, with up to 25% taken off (as the SDKs do)."""
    return float(min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF_S)) * (1 - 0.25 * random.random())
