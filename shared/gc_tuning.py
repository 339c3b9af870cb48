"""Garbage collection for a long-running server process: what start-up built is frozen out of
every collection, and the youngest generation is collected less often (each request allocates
thousands of short-lived objects, nearly all freed by reference counting)."""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Call once, when start-up is done."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
