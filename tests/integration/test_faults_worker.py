"""A worker killed mid-stream (SIGKILL: an OOM kill, a lost node) or stopped (SIGTERM), against
real processes: nobody waits for a deadline, and no job runs twice."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse
from redis.asyncio import Redis

from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.jobs import JobSpec
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.queue import create_celery, redis_broker_message
from shared.settings import Settings
from tests.fakes.provider import FakeProvider
from tests.faults import LEASE_TTL_S, FaultStack, fault_stack, kill, wait_until
from tests.helpers import JOBS_URL, STREAM_URL, chat, data, directive, expected_text
from tests.stack import ADMIN_KEY

pytestmark = pytest.mark.integration
QUEUE = "llm.interactive"


@dataclass
class Reader:
    """One SSE reader of a stream, noting when it got its first delta and its last event."""

    tag: str
    deltas: int = 0
    last: dict[str, object] = field(default_factory=dict)
    told_at: float | None = None


async def read_stream(client: httpx.AsyncClient, reader: Reader, tokens: int) -> None:
    body = chat(directive(tokens=tokens, token_delay_ms=20, first_token_delay_ms=0, tag=reader.tag))
    async with aconnect_sse(client, "POST", STREAM_URL, json=body) as source:
        async for event in source.aiter_sse():
            if event.event == "delta":
                reader.deltas += 1
            if event.event in ("done", "error"):
                reader.last = data(event)
                reader.told_at = time.monotonic()


def job_of(client: httpx.Client, job_id: str) -> dict[str, object]:
    job: dict[str, object] = client.get(f"{JOBS_URL}/{job_id}").json()
    return job


async def orphan_queued_job(stack: FaultStack, *, delivered: bool) -> tuple[str, str]:
    """A queued job as a dead worker leaves it: its task delivered to that worker (in kombu's
    unacknowledged set) and never claimed, or lost altogether. Returns (job id, tag)."""
    redis = Redis.from_url(stack.redis_server.url)
    keys = RedisKeys()
    tag = uuid.uuid4().hex[:10]
    request = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": directive(tokens=3, tag=tag)}]}
    )
    spec = JobSpec.new(
        owner=stack.api_key.split("-")[1],
        kind="background",
        model="fake",
        request=request,
        route=[RouteStep(provider="fake", model="fake-model")],
        deadline_s=120,
    )
    await JobStore(redis, keys).create(spec, fields={"queue": QUEUE})
    await redis.zadd(keys.queued_jobs, {spec.id: int(time.time() * 1000)})
    if delivered:
        message = redis_broker_message(create_celery(Settings()), spec.id, QUEUE)
        raw = orjson.dumps([orjson.loads(message), "", QUEUE])
        await redis.hset(keys.broker_unacked, spec.id, raw)
        await redis.zadd(keys.broker_unacked_index, {spec.id: time.time()})
    await redis.aclose()
    return spec.id, tag


async def push_task(stack: FaultStack, job_id: str) -> None:
    """A stray copy of the job's task, waiting in the queue."""
    redis = Redis.from_url(stack.redis_server.url)
    await redis.lpush(QUEUE, redis_broker_message(create_celery(Settings()), job_id, QUEUE))
    await redis.aclose()


async def test_a_killed_workers_jobs_end_or_run_again_within_a_lease(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    with fault_stack(fake_provider, tmp_path) as stack:
        dying = stack.workers[0]
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers=stack.headers, timeout=60, limits=limits
        ) as aclient:
            readers = [Reader(uuid.uuid4().hex[:10]) for _ in range(5)]
            tasks = [asyncio.create_task(read_stream(aclient, r, 400)) for r in readers]
            with stack.client() as client:
                body = chat(directive(tokens=400, token_delay_ms=20, first_token_delay_ms=0))
                streamed = [client.post(JOBS_URL, json=body).json()["id"] for _ in range(2)]
                await asyncio.to_thread(
                    wait_until,
                    lambda: (
                        all(r.deltas for r in readers)
                        and all(_first_token_at(client, j) for j in streamed)
                    ),
                    30,
                    "the streams to start on the first worker",
                )
                fake_provider.set_defaults({"first_token_delay_ms": 60_000})
                marker = uuid.uuid4().hex
                silent = [
                    client.post(JOBS_URL, json=chat(f"rerun {marker} {n}")).json()["id"]
                    for n in range(2)
                ]
                try:
                    await asyncio.to_thread(
                        wait_until,
                        lambda: all(job_of(client, j)["status"] == "running" for j in silent),
                        30,
                        "the silent jobs to run on the first worker",
                    )
                    stack.start_worker()
                    prefetched, prefetched_tag = await orphan_queued_job(stack, delivered=True)
                    lost, lost_tag = await orphan_queued_job(stack, delivered=False)
                    fake_provider.set_defaults({"tokens": 5})  # what the rerun gets
                    killed_at = time.monotonic()
                    kill(dying)
                    # A second task for the job recovery re-enqueues: the claim guard still
                    # runs it once.
                    await push_task(stack, prefetched)
                    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)

                    told = [r.told_at - killed_at for r in readers if r.told_at is not None]
                    print(f"\nSIGKILL to all readers told: {max(told):.2f} s, lease {LEASE_TTL_S}")
                    for reader in readers:
                        assert reader.last["code"] == "worker_lost", reader.last
                        assert reader.last["retryable"] is True
                    for job_id in streamed:
                        ended = await asyncio.to_thread(_ended, client, job_id)
                        assert ended["error"]["code"] == "worker_lost"  # type: ignore[index]
                    # Nothing had streamed: each ran again on the live worker, once.
                    for job_id in silent:
                        ended = await asyncio.to_thread(_ended, client, job_id)
                        assert ended["status"] == "succeeded", ended
                        assert ended["result"]["content"] == expected_text(5)  # type: ignore[index]
                        events = client.get(f"{JOBS_URL}/{job_id}/events").text
                        assert events.count("event: done") == 1
                    reruns = [r for r in fake_provider.requests() if marker in str(r["body"])]
                    assert len(reruns) == 4  # each: the dead worker's try, then the rerun
                    for job_id, tag in ((prefetched, prefetched_tag), (lost, lost_tag)):
                        ended = await asyncio.to_thread(_ended, client, job_id)
                        assert ended["status"] == "succeeded", ended
                        assert len(fake_provider.requests(tag)) == 1  # once, despite two tasks
                    report = await aclient.get(
                        "/api/v1/usage",
                        params={"key": stack.api_key.split("-")[1], "group_by": "key"},
                        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                    )
                    usage = report.json()["data"][0]
                    # The tokens the lost streams had generated are billed, as estimates.
                    assert usage["incomplete_requests"] >= len(readers) + len(streamed)
                    assert usage["completion_tokens"] > 0
                    assert usage["estimated_requests"] >= len(readers) + len(streamed)
                finally:
                    fake_provider.set_defaults(None)


def _first_token_at(client: httpx.Client, job_id: str) -> object:
    timings = job_of(client, job_id)["timings"]
    assert isinstance(timings, dict)
    return timings["first_token_at"]


def _ended(client: httpx.Client, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while True:
        job = job_of(client, job_id)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stayed {job['status']}"
        time.sleep(0.1)


async def test_a_stopped_worker_finishes_its_streams_and_takes_no_new_job(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    with fault_stack(fake_provider, tmp_path) as stack:
        stopping = stack.workers[0]
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers=stack.headers, timeout=60
        ) as aclient:
            readers = [Reader(uuid.uuid4().hex[:10]) for _ in range(3)]
            # 4 s each, twice the lease: they end "done" only if their leases are renewed.
            tasks = [asyncio.create_task(read_stream(aclient, r, 200)) for r in readers]
            await asyncio.to_thread(
                wait_until, lambda: all(r.deltas for r in readers), 30, "the streams to start"
            )
            stack.start_worker()
            kill(stopping, signal.SIGTERM)
            late = Reader(uuid.uuid4().hex[:10])
            await asyncio.wait_for(
                asyncio.gather(*tasks, read_stream(aclient, late, 5)), timeout=60
            )
        for reader in [*readers, late]:
            assert reader.last["type"] == "done", reader.last
        assert stopping.popen.wait(timeout=30) == 0
        upstream = fake_provider.wait_for(late.tag)
        assert upstream["outcome"] == "completed"
