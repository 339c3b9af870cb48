"""Which workers are alive: heartbeats on Redis' clock, valid only in the run of Redis that took
them (one restored from the append-only file after a restart is not a live worker)."""

from __future__ import annotations

from redis.asyncio import Redis

from shared.keys import RedisKeys
from shared.lua import lua_source


class WorkerHeartbeats:
    """Workers record heartbeats here; readiness and health read the live ones."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._beat = redis.register_script(lua_source("worker_heartbeat.lua"))
        self._live = redis.register_script(lua_source("live_workers.lua"))

    async def beat(self, worker_id: str, queues: list[str]) -> None:
        await self._beat(keys=[self.keys.workers(q) for q in queues], args=[worker_id, "0"])

    async def forget(self, worker_id: str, queues: list[str]) -> None:
        await self._beat(keys=[self.keys.workers(q) for q in queues], args=[worker_id, "1"])

    async def live(self, queue: str) -> list[str]:
        """Workers consuming ``queue`` whose heartbeat is recent and from this run of Redis."""
        members = await self._live(
            keys=[self.keys.workers(queue)], args=[self.keys.worker_heartbeat_ttl_s]
        )
        return [m.decode() for m in members]
