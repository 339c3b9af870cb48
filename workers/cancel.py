"""Cooperative cancellation: which jobs run in this process, and stopping one on request.

``revoke(terminate=True)`` does nothing on a threads pool, so a cancel is a Redis message every
worker hears (plus a flag on the job, checked at claim time and on each maintenance tick).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis

from shared.keys import RedisKeys

log = logging.getLogger(__name__)


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

    def is_cancelled(self, job_id: str) -> bool:
        return job_id in self._cancelled

    def running(self) -> list[str]:
        return list(self._running)


async def listen_for_cancels(
    redis: Redis, keys: RedisKeys, registry: CancelRegistry, *, retry_delay_s: float = 1.0
) -> None:
    """Cancel local jobs named on the cancel channel, until this task is cancelled."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(keys.cancel_channel)
                async for message in pubsub.listen():
                    registry.cancel(message["data"].decode())
        except asyncio.CancelledError:
            raise
        except Exception:
            # Missed messages are caught by the maintenance tick, which reads the jobs' flags.
            log.warning("cancel listener lost Redis; reconnecting", exc_info=True)
            await asyncio.sleep(retry_delay_s)
