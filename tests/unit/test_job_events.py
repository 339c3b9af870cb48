"""A job's start event: carried by the first delta or fallback within its hold, else alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.events import DeltaEvent, DoneEvent, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.usage import Usage
from tests.unit.specs import demo_spec
from workers.job_events import JobEvents


@pytest.fixture
async def store() -> AsyncIterator[JobStore]:
    redis = FakeAsyncRedis()
    yield JobStore(redis, RedisKeys(prefix="t"))
    await redis.aclose()


async def stored(store: JobStore, job_id: str) -> list[tuple[int, str]]:
    return [(e.seq, e.type) for e in await store.events_after(job_id, 0)]


async def test_a_first_delta_within_the_hold_carries_the_start(store: JobStore) -> None:
    spec = demo_spec()
    await store.create(spec)
    events = JobEvents(store, spec.id, start_hold_s=30)
    events.announce_start("p", "m")
    await asyncio.sleep(0.01)
    assert await stored(store, spec.id) == []  # held back
    await events.after_start(DeltaEvent(content="hi"), JobFields(first_token_at=1.5))
    assert await stored(store, spec.id) == [(1, "start"), (2, "delta")]
    job = await store.load(spec.id)
    assert job is not None and job.provider == "p" and job.provider_model == "m"
    assert job.timings.first_token_at == 1.5
    await events.settle()  # nothing more to store
    assert await stored(store, spec.id) == [(1, "start"), (2, "delta")]


async def test_a_start_without_a_delta_is_stored_after_its_hold_or_at_settle(
    store: JobStore,
) -> None:
    spec = demo_spec()
    await store.create(spec)
    events = JobEvents(store, spec.id, start_hold_s=0.02)
    events.announce_start("p", "m")
    await asyncio.sleep(0.1)
    assert await stored(store, spec.id) == [(1, "start")]
    await events.after_start(DeltaEvent(content="late"))
    assert await stored(store, spec.id) == [(1, "start"), (2, "delta")]

    other = demo_spec()
    await store.create(other)
    held = JobEvents(store, other.id, start_hold_s=30)
    held.announce_start("p", "m")
    async with asyncio.timeout(2):  # the job ends before any delta: its start is not lost
        await held.settle()
    events_after = await store.events_after(other.id, 0)
    assert [(e.seq, type(e.body)) for e in events_after] == [(1, StartEvent)]


async def test_a_start_held_for_the_last_event_goes_out_with_it(store: JobStore) -> None:
    spec = demo_spec()
    await store.create(spec)
    events = JobEvents(store, spec.id, start_hold_s=None)  # nobody follows the job live
    events.announce_start("p", "m")
    await asyncio.sleep(0.05)
    assert await stored(store, spec.id) == []
    done = DoneEvent(finish_reason="stop", provider="p2", model="m2", usage=Usage(), cost=None)
    await events.after_start(
        done,
        JobFields(provider="p2", provider_model="m2", first_token_at=1.5),
        ends_as=JobStatus.SUCCEEDED,
        before=[DeltaEvent(content="whole answer")],
    )
    assert await stored(store, spec.id) == [(1, "start"), (2, "delta"), (3, "done")]
    job = await store.load(spec.id)
    assert job is not None and job.status is JobStatus.SUCCEEDED
    assert (job.provider, job.provider_model) == ("p2", "m2")  # the last event's fields win
    assert job.timings.first_token_at == 1.5
    await events.settle()
    assert await stored(store, spec.id) == [(1, "start"), (2, "delta"), (3, "done")]
