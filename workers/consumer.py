"""Celery's consumer, with task events sent in batches and a quick reconnect.

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
# Reconnecting to a lost broker: kombu's default waits 2 s, then 2 s more each try, up to 30 s,
# which leaves a worker idle for up to 30 s after its broker is back. Try often instead.
RECONNECT_FIRST_S = 0.2
RECONNECT_MAX_S = 1.0


class BatchedEventsConsumer(Consumer):
    # Attributes Celery sets that its type stubs leave out.
    hub: Any
    _flush_events: Callable[[], None]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._flush_scheduled = False

    def ensure_connected(self, conn: Any) -> Any:
        """Celery's, with a reconnection delay of at most RECONNECT_MAX_S."""
        ensure_connection = conn.ensure_connection

        def bounded(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("interval_start", RECONNECT_FIRST_S)
            kwargs.setdefault("interval_step", RECONNECT_FIRST_S)
            kwargs.setdefault("interval_max", RECONNECT_MAX_S)
            return ensure_connection(*args, **kwargs)

        conn.ensure_connection = bounded  # Celery passes no interval to it
        try:
            return super().ensure_connected(conn)
        finally:
            del conn.ensure_connection

    def on_send_event_buffered(self) -> None:  # type: ignore[override]  # stubs: wrong return
        if self.hub and not self._flush_scheduled:
            self._flush_scheduled = True
            self.hub.call_later(EVENT_FLUSH_DELAY_S, self._flush_batch)

    def _flush_batch(self) -> None:
        self._flush_scheduled = False
        self._flush_events()
