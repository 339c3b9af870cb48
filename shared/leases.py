"""Job leases and their recovery: renewing a worker's leases, and finding the jobs a dead worker
(or a lost broker message) left behind, each one atomic step.

A running job is held under a lease its worker renews a few times per TTL; the leased-jobs index
scores each by when its lease lapses, on Redis' clock, so a recovery tick reads only what has
lapsed. A job that streamed nothing is queued again (the claim guard runs it once wherever it
lands); one that had is ended ``worker_lost`` by the recovering worker. Jobs handed to the
broker but never claimed are indexed too, and enqueued again when no live worker took them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from redis.asyncio import Redis

from shared.keys import RedisKeys
from shared.lua import lua_source


class Recovery(StrEnum):
    """What recovering one lapsed job did."""

    GONE = "gone"  # it had ended, or was queued again already
    ALIVE = "alive"  # its lease was renewed after all
    REQUEUED = "requeued"  # queued again (and its task pushed)
    PUBLISH = "publish"  # queued again; the caller publishes its task (broker elsewhere)
    LOST = "lost"  # tokens were out (or too many attempts): the caller ends it, holding it


@dataclass(frozen=True, slots=True)
class Renewal:
    """What renewing a worker's leases found."""

    cancel: list[str]  # jobs flagged for cancelling
    lost: list[str]  # jobs whose lease this worker no longer holds: stop them


@dataclass(frozen=True, slots=True)
class Orphan:
    """A job to recover, and the broker queue its task goes to (None: a batch line)."""

    job_id: str
    queue: str | None


class LeaseBook:
    """Leases of running jobs, and the indexes recovery reads."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._renew = redis.register_script(lua_source("renew_leases.lua"))
        self._lapsed = redis.register_script(lua_source("lapsed_leases.lua"))
        self._recover = redis.register_script(lua_source("recover_job.lua"))
        self._stale = redis.register_script(lua_source("stale_queued.lua"))
        self._requeue = redis.register_script(lua_source("requeue_job.lua"))
        self._abandon = redis.register_script(lua_source("abandon_job.lua"))

    @property
    def ttl_ms(self) -> int:
        return self.keys.lease_ttl_s * 1000

    async def renew(self, worker_id: str, job_ids: list[str]) -> Renewal:
        """Renew the leases this worker holds; say which jobs to cancel or to stop."""
        if not job_ids:
            return Renewal([], [])
        keys, args = renewal_call(self.keys, worker_id, job_ids)
        return parse_renewal(await self._renew(keys=keys, args=args))

    async def abandon(self, worker_id: str, job_id: str) -> bool:
        """Give up a job this worker holds, for the next recovery tick to queue again."""
        keys = [self.keys.job_lease(job_id), self.keys.leased_jobs]
        return bool(await self._abandon(keys=keys, args=[worker_id, job_id]))

    async def lapsed(self, limit: int = 100) -> list[Orphan]:
        """Running jobs whose lease has lapsed."""
        before, after = self.keys.job_affixes
        reply = cast(
            "list[bytes]",
            await self._lapsed(keys=[self.keys.leased_jobs], args=[limit, before, after]),
        )
        return [
            Orphan(reply[i].decode(), reply[i + 1].decode() or None)
            for i in range(0, len(reply), 2)
        ]

    async def recover(
        self, orphan: Orphan, worker_id: str, *, max_attempts: int, message: bytes | None
    ) -> Recovery:
        """Queue the job again, or take it for the caller to end (``LOST``). ``message``: its
        task, pushed in the same step; None when the broker is not this Redis."""
        keys = self.keys
        job_id = orphan.job_id
        reply = await self._recover(
            keys=[
                keys.job(job_id),
                keys.job_lease(job_id),
                keys.leased_jobs,
                keys.queued_jobs,
                keys.broker_unacked,
                keys.broker_unacked_index,
                orphan.queue or "",
            ],
            args=[job_id, worker_id, self.ttl_ms, max_attempts, message or b""],
        )
        return Recovery(reply.decode())

    async def stale_queued(self, older_than_s: float, *, limit: int = 100) -> list[Orphan]:
        """Queued jobs enqueued over ``older_than_s`` ago that no live worker took and whose
        task no longer waits in its queue."""
        before, after = self.keys.job_affixes
        reply = cast(
            "list[bytes]",
            await self._stale(
                keys=[self.keys.queued_jobs, self.keys.broker_unacked],
                args=[self._ms_ago(older_than_s), CLOCK_MARGIN_MS, limit, before, after],
            ),
        )
        return [Orphan(reply[i].decode(), reply[i + 1].decode()) for i in range(0, len(reply), 2)]

    async def requeue(self, orphan: Orphan, message: bytes, *, older_than_s: float) -> bool:
        """Push a stale queued job's task again, unless it was claimed or re-pushed meanwhile."""
        assert orphan.queue is not None
        keys = self.keys
        job_id = orphan.job_id
        reply = await self._requeue(
            keys=[
                keys.job(job_id),
                keys.queued_jobs,
                keys.broker_unacked,
                keys.broker_unacked_index,
                orphan.queue,
            ],
            args=[job_id, message, self._ms_ago(older_than_s), self._ms_ago(0)],
        )
        return bool(reply)

    @staticmethod
    def _ms_ago(seconds: float) -> int:
        return int((time.time() - seconds) * 1000)


def renewal_call(
    keys: RedisKeys, worker_id: str, job_ids: list[str]
) -> tuple[list[str], list[str | int]]:
    """The KEYS and ARGV of renew_leases.lua for these jobs."""
    names: list[str] = [keys.leased_jobs]
    for job_id in job_ids:
        names += (keys.job(job_id), keys.job_lease(job_id))
    return names, [worker_id, keys.lease_ttl_s * 1000, *job_ids]


def parse_renewal(reply: list[list[bytes]]) -> Renewal:
    flagged, lost = reply
    return Renewal([i.decode() for i in flagged], [i.decode() for i in lost])


# Gateways score the queued-jobs index by their own clocks: a job counts as enqueued before the
# oldest waiting task only when it is older by more than this.
CLOCK_MARGIN_MS = 2000
