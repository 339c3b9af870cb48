"""Cooperative cancellation: which jobs run in this process, and stopping one on request.

``revoke(terminate=True)`` does nothing on a threads pool, so a cancel is a Redis message every
worker hears (``workers.control``), plus a flag on the job, checked at claim time and on each
maintenance tick.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

# A job whose task has not caught its cancellation this long after it was sent is cancelled
# again: a library may swallow a CancelledError (seen in a Redis call under load).
RECANCEL_AFTER_S = 1.0


class CancelRegistry:
    """The jobs running in this process, each with the task that runs it."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[object]] = {}
        self._cancelled: dict[str, float] = {}  # job id -> when its task was last cancelled
        self._acknowledged: set[str] = set()

    @contextmanager
    def track(self, job_id: str) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._running[job_id] = task
        try:
            yield
        finally:
            self._running.pop(job_id, None)
            self._cancelled.pop(job_id, None)
            self._acknowledged.discard(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop the job if it runs here; its task then ends the job as cancelled. Asked again
        (each maintenance tick asks for flagged jobs), it cancels again only a task that has not
        caught the first cancellation within RECANCEL_AFTER_S."""
        task = self._running.get(job_id)
        if task is None or job_id in self._acknowledged:
            return False
        sent_at = self._cancelled.get(job_id)
        now = time.monotonic()
        if sent_at is not None and now - sent_at < RECANCEL_AFTER_S:
            return False
        self._cancelled[job_id] = now
        task.cancel()
        return True

    def acknowledge(self, job_id: str) -> None:
        """The job's task caught its cancellation and is ending the job: cancel it no more."""
        self._acknowledged.add(job_id)

    def cancel_message(self, data: bytes) -> None:
        """A message on the cancel channel: the id of the job to stop."""
        self.cancel(data.decode())

    def is_cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled

    def running(self) -> list[str]:
        return list(self._running)
