"""The latest jobs of each API key and of the whole gateway, newest first: what a console
lists as live and recent jobs. An index of ids only; the jobs themselves expire as they do."""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from shared.jobs import JobSpec
from shared.keys import RedisKeys
from shared.lua import lua_source

# Sent whole (EVAL, which Redis caches compiled): inside a transaction, an EVALSHA that met
# a restarted Redis would fail alone while the rest of the transaction ran.
LIST_JOB = lua_source("list_job.lua")


def list_job(pipe: Any, keys: RedisKeys, spec: JobSpec) -> None:
    """Queue, in ``pipe`` (a Redis pipeline), the adding of a job to its owner's index and
    the gateway's, each capped at ``keys.recent_jobs_max``: one command."""
    indexes = (keys.recent_jobs(spec.owner), keys.recent_jobs(None))
    pipe.eval(
        LIST_JOB, 2, *indexes, spec.id, spec.created_at, keys.recent_jobs_max, keys.result_ttl_s
    )


async def latest_jobs(redis: Redis, keys: RedisKeys, owner: str | None, limit: int) -> list[str]:
    """Up to ``limit`` job ids, newest first: ``owner``'s, or everyone's (None)."""
    ids = cast("list[bytes]", await redis.zrevrange(keys.recent_jobs(owner), 0, limit - 1))
    return [job_id.decode() for job_id in ids]
