"""Script calls of one loop turn go to a real redis-server as one pipeline, and each caller
still gets its own reply or error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError, ResponseError

from gateway.cli.redis_server import free_port
from shared.auto_pipeline import AutoPipeline
from shared.events import DeltaEvent
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.redis_client import connect_redis
from shared.settings import Settings
from tests.unit.specs import demo_spec

# Counts its calls; fails when asked to.
COUNTER = """
if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end
return redis.call('INCR', KEYS[1])
"""


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect_redis(Settings(redis_url=redis_url))
    yield client
    await client.aclose()


async def reads(redis: Redis) -> int:
    """Reads the server has processed: about one per round trip, a pipeline being one."""
    return int((await redis.info("stats"))["total_reads_processed"])


async def test_appends_of_many_jobs_in_one_turn_take_one_round_trip(redis: Redis) -> None:
    store = JobStore(redis, RedisKeys(prefix="autopipe"))
    await store.load_scripts()
    specs = [demo_spec() for _ in range(40)]
    await asyncio.gather(*(store.create(spec) for spec in specs))
    before = await reads(redis)
    seqs = await asyncio.gather(
        *(store.append(spec.id, DeltaEvent(content=spec.id)) for spec in specs)
    )
    # The INFO of `reads` itself is one read each time.
    assert await reads(redis) - before <= 3
    assert seqs == [1] * len(specs)
    for spec in specs:
        (event,) = await store.events_after(spec.id, 0)
        assert isinstance(event.body, DeltaEvent)
        assert event.body.content == spec.id


async def test_commands_of_one_turn_take_one_round_trip_and_keep_their_replies(
    redis: Redis,
) -> None:
    await redis.mset({f"autopipe:key:{n}": f"value {n}" for n in range(30)})
    pipeline = AutoPipeline(redis)
    before = await reads(redis)
    values = await asyncio.gather(
        *(pipeline.execute("GET", f"autopipe:key:{n}") for n in range(30))
    )
    assert await reads(redis) - before <= 3
    assert values == [f"value {n}".encode() for n in range(30)]


async def test_one_failing_call_fails_alone(redis: Redis) -> None:
    await redis.delete("autopipe:count")
    script = AutoPipeline(redis).script(COUNTER)
    results = await asyncio.gather(
        *(script(keys=["autopipe:count"], args=["fail" if i == 3 else "ok"]) for i in range(6)),
        return_exceptions=True,
    )
    assert isinstance(results[3], ResponseError)
    assert "asked to fail" in str(results[3])
    assert [r for i, r in enumerate(results) if i != 3] == [1, 2, 3, 4, 5]


async def test_calls_after_redis_forgot_the_script_load_it_again(redis: Redis) -> None:
    await redis.delete("autopipe:count")
    script = AutoPipeline(redis).script(COUNTER)
    assert await script(keys=["autopipe:count"], args=["ok"]) == 1
    await redis.script_flush()
    results = await asyncio.gather(
        *(script(keys=["autopipe:count"], args=["ok"]) for _ in range(5))
    )
    assert sorted(results) == [2, 3, 4, 5, 6]


async def test_a_call_cancelled_before_its_batch_goes_is_dropped(redis: Redis) -> None:
    await redis.delete("autopipe:count")
    script = AutoPipeline(redis).script(COUNTER)
    calls = [asyncio.create_task(script(keys=["autopipe:count"], args=["ok"])) for _ in range(5)]
    await asyncio.sleep(0)  # all five are in the batch
    calls[2].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await calls[2]
    assert calls[2].cancelled()
    others = [await call for i, call in enumerate(calls) if i != 2]
    # The batch goes after the cancellation, without the cancelled call.
    assert others == [1, 2, 3, 4]
    assert int(await redis.get("autopipe:count") or 0) == 4


async def test_every_caller_of_a_batch_gets_the_lost_connection() -> None:
    unreachable = Redis(port=free_port(), socket_connect_timeout=1)
    script = AutoPipeline(unreachable).script(COUNTER)
    results = await asyncio.wait_for(
        asyncio.gather(
            *(script(keys=["autopipe:count"], args=["ok"]) for _ in range(4)),
            return_exceptions=True,
        ),
        timeout=30,
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    await unreachable.aclose()
