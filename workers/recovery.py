"""Each worker's recovery tick: jobs a dead worker left behind are ended or run again within a
lease TTL plus a tick, never at their deadline (nor at the broker's visibility timeout).

A lapsed lease with nothing streamed: the job is queued again (the claim guard runs it once,
wherever its task lands). Tokens out, or ``max_job_attempts`` runs that each lost their worker:
it ends ``worker_lost``, with what was generated charged. A queued job whose task sat in a dead
worker's prefetch, or that the broker lost, has its task pushed again. Every worker runs the
tick; each step is atomic in Redis, so two workers recovering the same job do it once.
"""

from __future__ import annotations

import asyncio
import logging

from shared.billing import JobEnder
from shared.errors import WorkerLost
from shared.jobs import JobStatus
from shared.leases import LeaseBook, Orphan, Recovery
from shared.queue import TaskPublisher

log = logging.getLogger(__name__)


class JobRecovery:
    """Finds and recovers orphaned jobs; one per worker process."""

    def __init__(
        self,
        *,
        leases: LeaseBook,
        ender: JobEnder,
        publisher: TaskPublisher,
        worker_id: str,
        max_attempts: int,
        interval_s: float,
    ) -> None:
        self.leases = leases
        self.ender = ender
        self.publisher = publisher
        self.worker_id = worker_id
        self.max_attempts = max_attempts
        self.interval_s = interval_s

    @property
    def stale_after_s(self) -> float:
        """A task delivered this long ago and still unclaimed has lost its worker (a live one
        claims within milliseconds of delivery)."""
        return float(self.leases.keys.lease_ttl_s)

    async def run(self) -> None:
        """Tick until cancelled; a failed tick (Redis away) is tried again at the next."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.warning("job recovery failed; retrying", exc_info=True)
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> None:
        for orphan in await self.leases.lapsed():
            await self.recover(orphan)
        if not self.publisher.shares_store:
            return  # the broker is elsewhere: its own redelivery is all there is
        for orphan in await self.leases.stale_queued(self.stale_after_s):
            assert orphan.queue is not None
            message = self._message(orphan)
            if message is not None and await self.leases.requeue(
                orphan, message, older_than_s=self.stale_after_s
            ):
                log.warning("job %s: its task was lost or held by a dead worker", orphan.job_id)

    async def recover(self, orphan: Orphan) -> Recovery:
        """Queue a lapsed job again, or end it ``worker_lost``."""
        outcome = await self.leases.recover(
            orphan,
            self.worker_id,
            max_attempts=self.max_attempts,
            message=self._message(orphan),
        )
        if outcome is Recovery.PUBLISH and orphan.queue is not None:
            await self.publisher.publish(orphan.job_id, orphan.queue)
        if outcome is Recovery.LOST:
            await self.ender.fail(
                orphan.job_id,
                WorkerLost("the worker running this job died"),
                holder=self.worker_id,
                only_if=JobStatus.RUNNING,
            )
        if outcome in (Recovery.REQUEUED, Recovery.PUBLISH, Recovery.LOST):
            log.warning("job %s: its worker's lease lapsed; %s", orphan.job_id, outcome.value)
        return outcome

    def _message(self, orphan: Orphan) -> bytes | None:
        if orphan.queue is None:
            return None
        entry = self.publisher.same_redis_entry(orphan.job_id, orphan.queue)
        return entry[1] if entry is not None else None
