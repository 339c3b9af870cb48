"""The gateway's and workers' Redis clients never lose a cancellation (redis-py's sends under
``asyncio.wait_for`` do on Python 3.11 when a socket timeout is set)."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio import Redis

from shared.redis_client import connect_pubsub, connect_redis
from shared.settings import Settings


async def test_a_cancelled_redis_call_always_raises_cancelled_error(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url)
    for client in (connect_redis(settings), connect_pubsub(settings)):
        await client.ping()
        lost = 0
        for trial in range(300):
            task = asyncio.create_task(cancelled_call(client))
            for _ in range(trial % 8):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                lost += bool(await task)
        await client.aclose()
        assert lost == 0


async def cancelled_call(client: Redis) -> int:
    """A call; > 0 when it returned though its task was cancelled."""
    await client.hmget("missing", ["field"])
    task = asyncio.current_task()
    assert task is not None
    return task.cancelling()
