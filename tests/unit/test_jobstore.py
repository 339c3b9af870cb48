"""The job store's guards, on fakeredis: one end per job, one runner per job, cancel rules."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.accounting import Accounting, Charge, utc_day
from shared.errors import Conflict
from shared.events import DeltaEvent, ErrorEvent, StartEvent, decode_published, numbered
from shared.jobs import JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.leases import LeaseBook
from shared.recent_jobs import latest_jobs
from shared.usage import Usage
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


async def test_events_appended_together_are_numbered_stored_and_published_in_order(
    store: JobStore,
) -> None:
    spec = await new_job(store)
    pubsub = store.redis.pubsub()
    await pubsub.subscribe(store.keys.job_channel(spec.id))
    await pubsub.get_message(timeout=1)  # the confirmation
    assert await store.append(spec.id, DeltaEvent(content="a\nb")) == 1
    last = await store.append(
        spec.id,
        done_event(),
        ends_as=JobStatus.SUCCEEDED,
        before=[DeltaEvent(content="c"), DeltaEvent(content="d\n")],
    )
    assert last == 4
    events = await store.events_after(spec.id, 0)
    assert [(e.seq, e.type) for e in events] == [
        (1, "delta"),
        (2, "delta"),
        (3, "delta"),
        (4, "done"),
    ]
    assert [getattr(e.body, "content", None) for e in events[:3]] == ["a\nb", "c", "d\n"]
    published = [await pubsub.get_message(timeout=1) for _ in range(2)]  # one per append
    received = [e for m in published if m for e in decode_published(m["data"])]
    assert [e.raw for e in received] == [e.raw for e in events]
    assert await pubsub.get_message(timeout=0.1) is None
    assert await store.status_of(spec.id) is JobStatus.SUCCEEDED
    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]


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


async def test_a_created_job_is_queued_listed_and_pushed_in_one_step() -> None:
    keys = RedisKeys(prefix="t", recent_jobs_max=3)
    store = JobStore(FakeAsyncRedis(), keys)
    specs = [demo_spec(str(n)) for n in range(keys.recent_jobs_max + 2)]
    for spec in specs:
        await store.create(spec, enqueue=("broker-list", spec.id.encode()), listed=True)
    await store.create(demo_spec("unlisted"), listed=False)

    newest = [spec.id for spec in reversed(specs)][: keys.recent_jobs_max]
    assert await latest_jobs(store.redis, keys, "o", 100) == newest  # capped, newest first
    assert await latest_jobs(store.redis, keys, None, 100) == newest
    assert await store.redis.lrange("broker-list", 0, -1) == [s.id.encode() for s in specs[::-1]]
    assert await store.redis.zcard(keys.queued_jobs) == len(specs)
    ttl_s = await store.redis.ttl(keys.job(specs[0].id))
    assert 30 < ttl_s <= 30 + keys.live_margin_s  # the deadline and a margin


async def test_a_job_created_finished_reads_like_any_ended_job(store: JobStore) -> None:
    spec = demo_spec(kind="background", job_id="from-the-cache")
    events = [numbered(StartEvent(provider="p", model="m"), 1), numbered(done_event(), 2)]
    await store.create(spec, exclusive=True, finished_with=events, listed=True)

    assert [(e.seq, e.type) for e in await store.events_after(spec.id, 0)] == [
        (1, "start"),
        (2, "done"),
    ]
    job = await store.load(spec.id)
    assert job is not None and job.status is JobStatus.SUCCEEDED and job.last_seq == 2
    assert await store.redis.ttl(store.keys.job_events(spec.id)) > 0
    assert await store.redis.ttl(store.keys.job(spec.id)) > 30 + store.keys.live_margin_s
    assert await latest_jobs(store.redis, store.keys, "o", 10) == ["from-the-cache"]
    assert await store.redis.zcard(store.keys.queued_jobs) == 0  # nothing to run
    with pytest.raises(Conflict):
        await store.create(spec, exclusive=True, finished_with=events)


async def test_a_coalescable_job_is_listed_once_and_joined_while_it_runs(store: JobStore) -> None:
    first, twin = demo_spec("same"), demo_spec("same")
    assert await store.create_or_join(first, inflight_key="in-flight", may_join=True) is None
    joined = await store.create_or_join(twin, inflight_key="in-flight", may_join=True)
    assert joined is not None and joined[0] == first.id
    assert joined[1] == pytest.approx(first.deadline_at)
    assert await latest_jobs(store.redis, store.keys, "o", 10) == [first.id]


async def test_a_jobs_usage_is_charged_once_with_its_last_event(store: JobStore) -> None:
    accounting = Accounting(store.redis, store.keys)
    spec = await new_job(store)
    usage = Usage(prompt_tokens=3, completion_tokens=5, total_tokens=8, estimated=True)

    def charge() -> Charge:
        return accounting.charge(
            owner="o", model="demo", provider="p", usage=usage, cost=0.5, succeeded=False
        )

    cancelled = ErrorEvent(code="cancelled", message="gone")
    assert await store.append(spec.id, cancelled, ends_as=JobStatus.CANCELLED, charge=charge())
    # A second ending (a late worker, a recovery) is refused, and charges nothing.
    late = ErrorEvent(code="worker_lost", message="late")
    assert not await store.append(spec.id, late, ends_as=JobStatus.FAILED, charge=charge())
    today = utc_day(time.time())
    [row] = await accounting.report(since=today, until=today, group_by=["key"])
    assert (row["requests"], row["incomplete_requests"]) == (1, 1)
    assert (row["prompt_tokens"], row["completion_tokens"], row["estimated_requests"]) == (3, 5, 1)
    assert row["cost_usd"] == 0.5
    assert await accounting.spent("o", "day") == 0.5


async def test_an_append_needing_a_lease_its_worker_lost_is_refused(store: JobStore) -> None:
    spec = await new_job(store)
    await store.claim(spec.id, "w1")
    assert await store.append(spec.id, StartEvent(provider="p", model="m"), holder="w1") == 1
    await store.release(spec.id)  # w1's lease lapsed; recovery may have given the job away
    assert await store.append(spec.id, DeltaEvent(content="a"), holder="w1") == 0
    await store.claim(spec.id, "w2")
    assert await store.append(spec.id, DeltaEvent(content="b"), holder="w2") == 2


@pytest.mark.parametrize("stored_before_the_owner_field", [False, True])
async def test_a_jobs_end_frees_its_owners_slot(
    store: JobStore, stored_before_the_owner_field: bool
) -> None:
    spec = await new_job(store)
    job_key = store.keys.job(spec.id)
    assert await store.redis.hget(job_key, "owner") == spec.owner.encode()
    if stored_before_the_owner_field:  # an older gateway's job: the owner is in its spec only
        await store.redis.hdel(job_key, "owner")
    running = store.keys.running_jobs(spec.owner)
    await store.redis.zadd(running, {spec.id: time.time() + 60})
    assert await store.append(spec.id, done_event(), ends_as=JobStatus.SUCCEEDED) == 1
    assert await store.redis.zscore(running, spec.id) is None
