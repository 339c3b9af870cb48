"""The latest jobs of each API key and of the whole gateway, newest first: what a console
lists as live and recent jobs. An index of ids only; the jobs themselves expire as they do."""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from shared.jobs import JobSpec
from shared.keys import RedisKeys


class RecentJobs:
    """Writes and reads the capped indexes ``RedisKeys.recent_jobs``."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys

    async def record(self, spec: JobSpec) -> None:
        """Add a job just stored to its owner's index and the gateway's."""
        cap = self.keys.recent_jobs_max
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (self.keys.recent_jobs(spec.owner), self.keys.recent_jobs(None)):
                pipe.zadd(key, {spec.id: spec.created_at})
                pipe.zremrangebyrank(key, 0, -(cap + 1))
                pipe.expire(key, self.keys.result_ttl_s)
            await pipe.execute()

    async def latest(self, owner: str | None, limit: int) -> list[str]:
        """Up to ``limit`` job ids, newest first: ``owner``'s, or everyone's (None)."""
        ids = cast(
            "list[bytes]", await self.redis.zrevrange(self.keys.recent_jobs(owner), 0, limit - 1)
        )
        return [job_id.decode() for job_id in ids]
