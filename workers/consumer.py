"""Celery's consumer, with task events sent in batches.

Celery flushes buffered task events (for Flower) on the hub's next turn, which is the moment the
job starts: their serialising and publishing then competes with the job for the GIL. Sending
them a few tens of milliseconds later, together, takes that off the first token's path; Flower
still receives every event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.worker.consumer import Consumer

EVENT_FLUSH_DELAY_S = 0.05


class BatchedEventsConsumer(Consumer):
    # Attributes Celery sets that its type stubs leave out.
    hub: Any
    _flush_events: Callable[[], None]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flush_scheduled = False

    def on_send_event_buffered(self) -> None:  # type: ignore[override]  # stubs: wrong return
        if self.hub and not self._flush_scheduled:
            self._flush_scheduled = True
            self.hub.call_later(EVENT_FLUSH_DELAY_S, self._flush_batch)

    def _flush_batch(self) -> None:
        self._flush_scheduled = False
        self._flush_events()
