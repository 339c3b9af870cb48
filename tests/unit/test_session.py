"""The completion session in process, on fakeredis: the gateway's real hub, feed and job store,
with the test appending the events a worker would."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Awaitable
from functools import partial
from typing import Any

import pytest
from fakeredis import FakeAsyncRedis, FakeServer

from gateway.admission import Admission
from gateway.app import build_gateway
from gateway.completions import start_session
from gateway.jobs import Gateway
from gateway.session import CompletionSession, Events, Interrupted, KeepAlive, Read
from shared.apikeys import KeySettings
from shared.cache import plan_cache
from shared.errors import ProviderRejected, ServiceUnavailable
from shared.events import DeltaEvent, ErrorEvent, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobResult, JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.settings import Settings
from shared.usage import Usage
from tests.unit.specs import demo_spec, done_event

KEEPALIVE_S = 0.05


@pytest.fixture
async def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
async def gateway(server: FakeServer) -> AsyncIterator[Gateway]:
    gateway = in_memory_gateway(server)
    await gateway.hub.start()
    yield gateway
    await gateway.hub.stop()
    await gateway.redis.aclose()


def in_memory_gateway(server: FakeServer) -> Gateway:
    """The gateway's resources on one fakeredis server, with no socket timeout as
    shared.redis_client connects (else cancellations get lost)."""
    return build_gateway(
        Settings(keepalive_interval_s=KEEPALIVE_S, key_prefix="t"),
        FakeAsyncRedis(server=server, socket_timeout=None),
        FakeAsyncRedis(server=server, socket_timeout=None),
    )


def admission_of(gateway: Gateway, spec: JobSpec) -> Admission:
    plan = plan_cache(gateway.settings.cache, gateway.settings.models[spec.model], spec)
    return Admission(spec, {"x-ratelimit-remaining-requests": "9"}, plan)


async def run_job(
    store: JobStore, job_id: str, text: str = "hello", *, in_one_step: bool = False
) -> None:
    """What a worker appends for a job that succeeds; ``in_one_step``: all three events in one
    append, as a reader that lags behind the stream reads them."""
    start, delta = StartEvent(provider="demo", model="demo-1"), DeltaEvent(content=text)
    if not in_one_step:
        await store.append(job_id, start)
        await store.append(job_id, delta)
    usage = Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    await store.append(
        job_id,
        done_event(usage=usage),
        ends_as=JobStatus.SUCCEEDED,
        fields=JobFields(
            usage=usage,
            provider="demo",
            provider_model="demo-1",
            result=JobResult(content=text, finish_reason="stop"),
        ),
        before=[start, delta] if in_one_step else (),
    )


async def read_all(session: CompletionSession) -> list[Read]:
    async with asyncio.timeout(5):
        return [read async for read in session.reads()]


def events_of(reads: list[Read]) -> list[Any]:
    return [event.body for read in reads if isinstance(read, Events) for event in read.events]


async def test_a_quiet_job_gets_keep_alive_ticks_then_its_events_to_the_last(
    gateway: Gateway,
) -> None:
    spec = demo_spec()
    session = await start_session(gateway, admission_of(gateway, spec))
    reads = session.reads()
    async with asyncio.timeout(5):
        assert isinstance(await anext(reads), KeepAlive)
    await run_job(gateway.store, spec.id)
    rest = [read async for read in reads]
    await session.close()
    assert [type(e).__name__ for e in events_of(rest)] == ["StartEvent", "DeltaEvent", "DoneEvent"]
    assert await gateway.store.status_of(spec.id) is JobStatus.SUCCEEDED
    assert session.headers["X-Job-Id"] == spec.id


async def test_a_started_job_reaches_its_reader_and_a_follower_each_event_once(
    gateway: Gateway,
) -> None:
    """The job's creator reads it off the hub's own channel, with no subscription to the
    job's; a second reader on the same gateway (a resumed stream) subscribes to it."""
    spec = demo_spec()
    channel = gateway.settings.keys.job_channel(spec.id)

    async def subscribers() -> int:
        [(_, count)] = await gateway.redis.pubsub_numsub(channel)
        return int(count)

    session = await start_session(gateway, admission_of(gateway, spec))
    assert await subscribers() == 0
    follower = gateway.feed(spec.id, spec.deadline_at)
    await follower.open()
    assert await subscribers() == 1
    await gateway.store.append(spec.id, StartEvent(provider="demo", model="demo-1"))
    reads = session.reads()
    async with asyncio.timeout(5):
        first = await anext(reads)
    await run_job(gateway.store, spec.id)
    seen = events_of([first, *await read_all(session)])
    async with asyncio.timeout(5):
        followed = [e.body async for batch in follower.batches() for e in batch]
    await session.close()
    assert await subscribers() == 1  # the follower still reads
    await follower.close()
    assert await subscribers() == 0
    for events in (seen, followed):
        assert [(e.seq, type(e).__name__) for e in events] == [
            (1, "StartEvent"),
            (2, "StartEvent"),
            (3, "DeltaEvent"),
            (4, "DoneEvent"),
        ]


async def test_a_gateway_whose_hub_is_not_listening_refuses_before_storing_the_job(
    server: FakeServer,
) -> None:
    """Until Redis confirms the hub's own channel, a job started here could not be followed:
    the request is refused with a retryable error and nothing is queued."""
    gateway = in_memory_gateway(server)  # its hub never started
    spec = demo_spec()
    with pytest.raises(ServiceUnavailable) as refused:
        await start_session(gateway, admission_of(gateway, spec))
    assert refused.value.retryable
    assert await gateway.store.status_of(spec.id) is None
    await gateway.redis.aclose()


async def test_a_reader_leaving_early_gives_the_job_up_once(gateway: Gateway) -> None:
    spec = demo_spec()
    session = await start_session(gateway, admission_of(gateway, spec))
    await gateway.store.claim(spec.id, "worker")  # running: a worker must be told
    await gateway.store.append(spec.id, StartEvent(provider="demo", model="demo-1"))
    reads = session.reads()
    async with asyncio.timeout(5):
        while not isinstance(await anext(reads), Events):
            pass
    await session.close()
    await session.close()  # a second close does nothing
    flagged = await gateway.redis.hget(gateway.settings.keys.job(spec.id), "cancel")
    assert flagged == b"1"
    assert await gateway.store.status_of(spec.id) is JobStatus.RUNNING  # its worker ends it


async def test_a_cancelled_reader_still_closes_and_gives_up(gateway: Gateway) -> None:
    spec = demo_spec()
    session = await start_session(gateway, admission_of(gateway, spec))

    async def read() -> None:
        async with session:
            async for _ in session.reads():
                pass

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.02)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    # Still queued: the give-up ended it at once.
    assert await gateway.store.status_of(spec.id) is JobStatus.CANCELLED


async def test_a_lost_redis_ends_the_read_with_a_retryable_error_and_keeps_the_job(
    gateway: Gateway, server: FakeServer
) -> None:
    spec = demo_spec()
    session = await start_session(gateway, admission_of(gateway, spec))
    await gateway.store.append(spec.id, StartEvent(provider="demo", model="demo-1"))
    reads = session.reads()
    async with asyncio.timeout(5):
        assert isinstance(await anext(reads), Events)
        server.connected = False
        last = [read async for read in reads][-1]
    assert isinstance(last, Interrupted)
    assert isinstance(last.error, ServiceUnavailable) and last.error.retryable
    await session.close()  # no give-up is attempted, and nothing raises
    server.connected = True
    assert await gateway.redis.hget(gateway.settings.keys.job(spec.id), "cancel") is None


async def test_an_error_before_any_answer_is_raised_by_begin_with_the_admission_headers(
    gateway: Gateway,
) -> None:
    spec = demo_spec()
    session = await start_session(gateway, admission_of(gateway, spec))
    rejected = ProviderRejected("the prompt was refused")
    await gateway.store.append(spec.id, StartEvent(provider="demo", model="demo-1"))
    await gateway.store.append(spec.id, ErrorEvent.of(rejected), ends_as=JobStatus.FAILED)
    with pytest.raises(ProviderRejected) as raised:
        await session.begin()
    assert raised.value.headers["x-ratelimit-remaining-requests"] == "9"
    assert gateway.hub._readers == {}  # closed: the subscription is gone


async def test_result_raises_the_terminal_error_and_returns_none_when_the_client_left(
    gateway: Gateway,
) -> None:
    failing = demo_spec()
    session = await start_session(gateway, admission_of(gateway, failing))
    await gateway.store.append(
        failing.id, ErrorEvent(code="provider_rejected", message="no"), ends_as=JobStatus.FAILED
    )
    with pytest.raises(ProviderRejected):
        await session.result()

    waiting = demo_spec()
    session = await start_session(gateway, admission_of(gateway, waiting))
    assert await session.result(partial(asyncio.sleep, 0.05)) is None
    assert await gateway.store.status_of(waiting.id) is JobStatus.CANCELLED


async def test_a_cache_hit_replays_the_stored_answer_and_leaves_nothing_to_give_up(
    gateway: Gateway,
) -> None:
    first = demo_spec("same question", temperature=0)
    admission = admission_of(gateway, first)
    assert admission.cache is not None
    session = await start_session(gateway, admission)
    await run_job(gateway.store, first.id, text="cached answer")
    assert (await session.result()) is not None

    again = demo_spec("same question", temperature=0)
    plan = plan_cache(gateway.settings.cache, gateway.settings.models["demo"], again)
    assert plan is not None
    hit = await gateway.cache.lookup(plan)
    assert hit is not None
    replay = await start_session(gateway, Admission(again, {}, plan, hit))
    bodies = events_of(await read_all(replay))
    assert [b.content for b in bodies if isinstance(b, DeltaEvent)] == ["cached answer"]
    assert replay.headers["X-Cache"] == "HIT" and "X-Job-Id" not in replay.headers
    watched: list[str] = []

    def client_gone() -> Awaitable[object]:  # the answer is all here: no race to run
        watched.append("client")
        return asyncio.sleep(0)

    session = await start_session(gateway, Admission(again, {}, plan, hit))
    answer = await session.result(client_gone)
    assert answer is not None and answer.result is not None
    assert answer.result.content == "cached answer"
    assert answer.last_seq == len(bodies) == 3  # start, delta, done: what a reader resumes after
    assert watched == []
    assert await gateway.store.status_of(again.id) is None  # no job was stored


async def test_a_coalesced_reader_shares_the_job_and_counts_what_it_saved(
    gateway: Gateway,
) -> None:
    first, second = (demo_spec("twin", temperature=0) for _ in range(2))
    leader = await start_session(gateway, admission_of(gateway, first))
    joiner = await start_session(gateway, admission_of(gateway, second))
    assert joiner.job_id == first.id
    assert joiner.headers["X-Cache-Coalesced"] == "true"

    await gateway.store.claim(first.id, "worker")
    await leader.close()  # one reader leaving does not cancel a shared job
    assert await gateway.redis.hget(gateway.settings.keys.job(first.id), "cancel") is None

    await run_job(gateway.store, first.id)
    assert (await joiner.result()) is not None
    usage = await gateway.accounting.report(since=_today(), until=_today(), group_by=["provider"])
    saved = {row["provider"]: row for row in usage}["cache"]
    assert (saved["coalesced_requests"], saved["saved_tokens"]) == (1, 2)


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


async def test_a_cached_key_is_dropped_on_every_gateway_when_it_changes(
    gateway: Gateway, server: FakeServer
) -> None:
    other = in_memory_gateway(server)  # a second gateway process on the same Redis
    await other.hub.start()
    try:
        record, plaintext = await gateway.api_keys.create(KeySettings(name="k"))
        assert await other.key_cache.verify(plaintext) is not None  # now cached there
        await gateway.api_keys.revoke(record.id)
        for _ in range(500):  # the announcement takes a moment to arrive; the cache holds 30 s
            if await other.key_cache.verify(plaintext) is None:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the other gateway still takes the revoked key")
    finally:
        await other.hub.stop()
