"""The latest jobs of each API key and of the whole gateway, newest first: what a console
lists as live and recent jobs. An index of ids only; the jobs themselves expire as they do."""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from shared.jobs import JobSpec
from shared.keys import RedisKeys


def listing_indexes(keys: RedisKeys, spec: JobSpec) -> tuple[str, str]:
    """The indexes a listed job goes in: its owner's and the gateway's (the scripts that
    create a job add it, capped at ``keys.recent_jobs_max``: recent_jobs.lua)."""
    return keys.recent_jobs(spec.owner), keys.recent_jobs(None)


async def latest_jobs(redis: Redis, keys: RedisKeys, owner: str | None, limit: int) -> list[str]:
    """Up to ``limit`` job ids, newest first: ``owner``'s, or everyone's (None)."""
    ids = cast("list[bytes]", await redis.zrevrange(keys.recent_jobs(owner), 0, limit - 1))
    return [job_id.decode() for job_id in ids]
