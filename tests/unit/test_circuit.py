"""The shared circuit breaker: opens after N failures in a window, probes once, closes again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.config import CircuitConfig
from shared.keys import RedisKeys
from shared.provider_health import ProviderHealth

CIRCUIT = CircuitConfig(failure_threshold=3, window_s=10, open_s=0.3, probe_timeout_s=0.3)


@pytest.fixture
async def redis() -> AsyncIterator[FakeAsyncRedis]:
    client = FakeAsyncRedis()
    yield client
    await client.aclose()


async def test_opens_after_threshold_then_one_probe_closes_it(redis: FakeAsyncRedis) -> None:
    worker_a = ProviderHealth(redis, RedisKeys(prefix="t"), CIRCUIT)
    worker_b = ProviderHealth(redis, RedisKeys(prefix="t"), CIRCUIT)  # another process
    for _ in range(2):
        await worker_a.record("p", "m", ok=False)
    assert await worker_b.permission("p", "m") == "closed"
    await worker_a.record("p", "m", ok=False)
    assert await worker_b.permission("p", "m") == "open"
    assert await worker_b.permission("p", "other-model") == "closed"

    await asyncio.sleep(0.35)
    assert await worker_b.permission("p", "m") == "probe"  # exactly one caller probes
    assert await worker_a.permission("p", "m") == "open"
    await worker_b.record("p", "m", ok=True, ttft_s=0.1)
    assert await worker_a.permission("p", "m") == "closed"
    assert await worker_a.states([("p", "m")]) == ["closed"]

    await worker_a.flush_stats()
    await worker_b.flush_stats()
    stats = await worker_a.recent("p")
    assert (stats.requests, stats.failures) == (4, 3)
    assert stats.avg_ttft_ms == 100.0


async def test_a_failed_probe_reopens_and_a_lost_probe_expires(redis: FakeAsyncRedis) -> None:
    health = ProviderHealth(redis, RedisKeys(prefix="t"), CIRCUIT)
    for _ in range(3):
        await health.record("p", "m", ok=False)
    await asyncio.sleep(0.35)
    assert await health.permission("p", "m") == "probe"
    await health.record("p", "m", ok=False)
    assert await health.permission("p", "m") == "open"
    await asyncio.sleep(0.35)
    assert await health.permission("p", "m") == "probe"  # this probe never reports back
    await asyncio.sleep(0.35)
    assert await health.permission("p", "m") == "probe"


async def test_the_local_view_follows_changes_and_skips_the_round_trip(
    redis: FakeAsyncRedis,
) -> None:
    keys = RedisKeys(prefix="t")
    worker = ProviderHealth(redis, keys, CIRCUIT)
    other = ProviderHealth(redis, keys, CIRCUIT)
    for _ in range(3):
        await other.record("p", "m", ok=False)  # opened by another process
    await worker.sync_view()  # as after subscribing: the scan finds it open
    assert await worker.permission("p", "m") == "open"

    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.circuit_channel)
    assert (await pubsub.get_message(timeout=1))["type"] == "subscribe"
    await asyncio.sleep(0.35)
    assert await other.permission("p", "m") == "probe"
    await other.record("p", "m", ok=True)
    changes = []
    while message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2):
        changes.append(message["data"])
    assert changes == [b"p|m=half_open", b"p|m=closed"]
    for change in changes:
        worker.note_change(change)
    await redis.delete(*keys.circuit("p", "m"))  # a check now would not reach Redis at all
    assert await worker.permission("p", "m") == "closed"
    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
