"""Cooperative cancellation: which jobs run in this process, and stopping one on request.

``revoke(terminate=True)`` does nothing on a threads pool, so a cancel is a Redis message every
worker hears (``workers.control``), plus a flag on the job, checked at claim time and on each
maintenance tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class CancelRegistry:
    """The jobs running in this process, each with the task that runs it."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[object]] = {}
        self._cancelled: set[str] = set()

    @contextmanager
    def track(self, job_id: str) -> Iterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._running[job_id] = task
        try:
            yield
        finally:
            self._running.pop(job_id, None)
            self._cancelled.discard(job_id)

    def cancel(self, job_id: str) -> bool:
        """Stop the job if it runs here; its task then ends the job as cancelled."""
        task = self._running.get(job_id)
        if task is None or job_id in self._cancelled:
            return False
        self._cancelled.add(job_id)
        task.cancel()
        return True

    def cancel_message(self, data: bytes) -> None:
        """A message on the cancel channel: the id of the job to stop."""
        self.cancel(data.decode())

    def is_cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled

    def running(self) -> list[str]:
        return list(self._running)
