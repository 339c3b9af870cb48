"""Lease recovery's atomic steps, on fakeredis: a lapsed job is queued again or handed over to
end, once; a queued job whose task no live worker holds is found, one still waiting is not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.events import DeltaEvent
from shared.job_records import JobFields
from shared.jobs import JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.leases import LeaseBook, Orphan, Recovery
from tests.unit.specs import demo_spec

QUEUE = "q"


@pytest.fixture
async def stores() -> AsyncIterator[tuple[JobStore, LeaseBook]]:
    redis = FakeAsyncRedis()
    keys = RedisKeys(prefix="t", lease_ttl_s=2)
    yield JobStore(redis, keys), LeaseBook(redis, keys)
    await redis.aclose()


async def running_job(store: JobStore, worker: str = "dead") -> str:
    spec = demo_spec()
    await store.create(spec, fields={"queue": QUEUE})
    await store.claim(spec.id, worker)
    return spec.id


async def test_a_lapsed_job_that_streamed_nothing_is_queued_again_once(
    stores: tuple[JobStore, LeaseBook],
) -> None:
    store, leases = stores
    job_id = await running_job(store)
    assert await leases.lapsed() == []  # its lease holds
    await store.release(job_id)
    await store.redis.zadd(store.keys.leased_jobs, {job_id: 0})
    [orphan] = await leases.lapsed()
    assert orphan == Orphan(job_id, QUEUE)
    assert await leases.recover(orphan, "w2", max_attempts=3, message=b"task") is Recovery.REQUEUED
    assert await leases.recover(orphan, "w3", max_attempts=3, message=b"task") is Recovery.GONE
    assert await store.status_of(job_id) is JobStatus.QUEUED
    assert await store.redis.lrange(QUEUE, 0, -1) == [b"task"]
    assert (await store.claim(job_id, "w2")).state == "claimed"


async def test_a_lapsed_job_that_streamed_is_handed_to_its_recoverer_to_end(
    stores: tuple[JobStore, LeaseBook],
) -> None:
    store, leases = stores
    job_id = await running_job(store)
    fields = JobFields(first_token_at=time.time())
    await store.append(job_id, DeltaEvent(content="t1"), fields=fields)
    await store.release(job_id)
    orphan = Orphan(job_id, QUEUE)
    assert await leases.recover(orphan, "w2", max_attempts=3, message=b"task") is Recovery.LOST
    # w2 now holds it: another recoverer leaves it, and the dead worker's appends are refused.
    assert await leases.recover(orphan, "w3", max_attempts=3, message=b"task") is Recovery.ALIVE
    assert await store.append(job_id, DeltaEvent(content="t2"), holder="dead") == 0
    assert await store.redis.llen(QUEUE) == 0


async def test_a_queued_job_no_live_worker_took_is_found_and_a_waiting_one_is_not(
    stores: tuple[JobStore, LeaseBook],
) -> None:
    store, leases = stores
    keys = store.keys
    lost, held, waiting = demo_spec(), demo_spec(), demo_spec()
    # Enqueued a minute ago (lost, held), and 15 s ago (still waiting: the oldest in its queue,
    # so the lost one, enqueued well before it, cannot be waiting behind it).
    for spec, age_s in ((lost, 60), (held, 60), (waiting, 15)):
        await store.create(spec, fields={"queue": QUEUE})
        await store.redis.zadd(keys.queued_jobs, {spec.id: int((time.time() - age_s) * 1000)})
    await store.redis.hset(keys.broker_unacked, held.id, b"[]")  # a dead worker's delivery
    await store.redis.lpush(QUEUE, b'{"headers": {"id": "%s"}}' % waiting.id.encode())
    found = {o.job_id for o in await leases.stale_queued(10)}
    assert found == {lost.id, held.id}
    assert await leases.requeue(Orphan(held.id, QUEUE), b"again", older_than_s=10)
    assert not await leases.requeue(Orphan(held.id, QUEUE), b"again", older_than_s=10)
    assert not await store.redis.hexists(keys.broker_unacked, held.id)
