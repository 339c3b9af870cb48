"""The job store's guards, on fakeredis: one end per job, one runner per job, cancel rules."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.errors import Conflict
from shared.events import DeltaEvent, StartEvent
from shared.jobs import JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.leases import LeaseBook
from tests.unit.specs import demo_spec, done_event


@pytest.fixture
async def store() -> AsyncIterator[JobStore]:
    redis = FakeAsyncRedis()
    yield JobStore(redis, RedisKeys(prefix="t"))
    await redis.aclose()


async def new_job(store: JobStore) -> JobSpec:
    spec = demo_spec()
    await store.create(spec)
    return spec


async def test_events_get_consecutive_seqs_and_nothing_follows_the_end(store: JobStore) -> None:
    spec = await new_job(store)
    assert await store.append(spec.id, StartEvent(provider="p", model="m")) == 1
    assert await store.append(spec.id, DeltaEvent(content="a")) == 2
    done = await store.append(spec.id, done_event(), ends_as=JobStatus.SUCCEEDED)
    assert done == 3
    assert await store.append(spec.id, DeltaEvent(content="late")) == 0
    assert await store.append("missing", DeltaEvent()) == -1

    events = await store.events_after(spec.id, 0)
    assert [(e.seq, e.type) for e in events] == [(1, "start"), (2, "delta"), (3, "done")]
    assert [e.seq for e in await store.events_after(spec.id, 2)] == [3]
    job = await store.load(spec.id)
    assert job is not None
    assert job.status is JobStatus.SUCCEEDED
    assert job.last_seq == 3


async def test_a_job_is_claimed_once_and_taken_over_only_when_its_lease_lapses(
    store: JobStore,
) -> None:
    spec = await new_job(store)
    first = await store.claim(spec.id, "w1")
    assert first.state == "claimed"
    assert first.spec == spec
    assert (await store.claim(spec.id, "w2")).state == "busy"

    await store.release(spec.id)  # as if w1's lease expired
    resumed = await store.claim(spec.id, "w2")
    assert resumed.state == "resumed"

    await store.append(spec.id, done_event(), ends_as=JobStatus.SUCCEEDED)
    await store.release(spec.id)
    assert (await store.claim(spec.id, "w3")).state == "finished"
    assert (await store.claim("missing", "w3")).state == "missing"


async def test_cancel_ends_a_queued_job_and_flags_a_running_one(store: JobStore) -> None:
    queued = await new_job(store)
    assert await store.request_cancel(queued.id) is JobStatus.QUEUED
    assert await store.status_of(queued.id) is JobStatus.CANCELLED
    assert (await store.claim(queued.id, "w")).state == "finished"

    running = await new_job(store)
    await store.claim(running.id, "w")
    assert await store.request_cancel(running.id) is JobStatus.RUNNING
    assert await store.status_of(running.id) is JobStatus.RUNNING
    untouched = await new_job(store)
    await store.claim(untouched.id, "w")
    renewal = await LeaseBook(store.redis, store.keys).renew("w", [running.id, untouched.id])
    assert renewal.cancel == [running.id]
    assert renewal.lost == []


async def test_a_claim_after_cancel_sees_the_flag(store: JobStore) -> None:
    spec = await new_job(store)
    await store.redis.hset(store.keys.job(spec.id), "cancel", "1")
    claim = await store.claim(spec.id, "w")
    assert claim.cancel_requested


async def test_an_exclusive_create_refuses_an_id_in_use(store: JobStore) -> None:
    first = await new_job(store)
    again = first.model_copy(update={"owner": "someone else"})
    with pytest.raises(Conflict):
        await store.create(again, exclusive=True)
    job = await store.load(first.id)
    assert job is not None and job.owner == "o"  # untouched
    await store.append(first.id, StartEvent(provider="p", model="m"))
    await store.redis.delete(store.keys.job(first.id))  # the hash expired, its events did not
    with pytest.raises(Conflict):
        await store.create(again, exclusive=True)


async def test_an_exclusive_create_of_a_new_id_stores_the_job(store: JobStore) -> None:
    spec = demo_spec(kind="background", job_id="client-chosen-id")
    await store.create(spec, exclusive=True)
    assert await store.status_of("client-chosen-id") == JobStatus.QUEUED
