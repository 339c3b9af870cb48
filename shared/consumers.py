"""Which workers consume which queue, as they report it: a queue a worker consumes gets its
heartbeat; a queue its consumer stopped polling is taken out of it and listed as stalled, so
readiness and /api/v1/health say what is true."""

from __future__ import annotations

import time

from shared.heartbeats import WorkerHeartbeats


class ConsumerRegistry:
    """The workers' own reports of their consumers, next to their heartbeats."""

    def __init__(self, heartbeats: WorkerHeartbeats) -> None:
        self.heartbeats = heartbeats
        self.redis = heartbeats.redis
        self.keys = heartbeats.keys

    async def report(
        self, worker_id: str, queues: list[str], consuming: list[str], stalled: list[str]
    ) -> None:
        """Heartbeat the queues being consumed; take the others out; list the stalled ones."""
        if consuming:
            await self.heartbeats.beat(worker_id, consuming)
        idle = [queue for queue in queues if queue not in consuming]
        if idle:
            await self.heartbeats.forget(worker_id, idle)
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                if queue in stalled:
                    pipe.zadd(self.keys.workers_stalled(queue), {worker_id: now})
                else:
                    pipe.zrem(self.keys.workers_stalled(queue), worker_id)
            await pipe.execute()

    async def forget(self, worker_id: str, queues: list[str]) -> None:
        """The worker leaves: no heartbeat and no stall of its remains."""
        await self.heartbeats.forget(worker_id, queues)
        async with self.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.zrem(self.keys.workers_stalled(queue), worker_id)
            await pipe.execute()

    async def stalled(self, queue: str) -> list[str]:
        """Workers that said lately that they are alive but not consuming ``queue``."""
        key = self.keys.workers_stalled(queue)
        oldest = time.time() - self.keys.worker_heartbeat_ttl_s
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(key, "-inf", oldest)
            pipe.zrange(key, 0, -1)
            _, members = await pipe.execute()
        return [m.decode() for m in members]
