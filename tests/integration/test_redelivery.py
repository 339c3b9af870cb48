"""A task delivered again after its worker died: rerun if nothing was streamed, else end loudly."""

from __future__ import annotations

import asyncio
import time

import httpx
from redis.asyncio import Redis

from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.events import DeltaEvent, StartEvent
from shared.job_records import JobFields
from shared.jobs import JobSpec
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.queue import create_celery, redis_broker_message
from shared.settings import Settings
from tests.conftest import Stack
from tests.helpers import JOBS_URL, directive, expected_text, wait_for_status


async def orphan_job(stack: Stack, *, streamed: bool) -> str:
    """A job as a worker that died leaves it: running, its lease lapsed, maybe a token out."""
    redis = Redis.from_url(stack.redis_url)
    store = JobStore(redis, RedisKeys())
    request = ChatRequest.model_validate(
        {"messages": [{"role": "user", "content": directive(tokens=6)}]}
    )
    spec = JobSpec.new(
        owner=stack.key_id,
        kind="background",
        model="fake",
        request=request,
        route=[RouteStep(provider="fake", model="fake-model")],
        deadline_s=60,
    )
    await store.create(spec)
    assert (await store.claim(spec.id, "dead-worker")).state == "claimed"
    await store.append(spec.id, StartEvent(provider="fake", model="fake-model"))
    if streamed:
        await store.append(
            spec.id, DeltaEvent(content="t1 "), fields=JobFields(first_token_at=time.time())
        )
    await store.release(spec.id)  # the dead worker's lease runs out
    app = create_celery(Settings(redis_url=stack.redis_url))
    await redis.lpush("llm.interactive", redis_broker_message(app, spec.id, "llm.interactive"))
    await redis.aclose()
    return spec.id


def test_redelivered_job_that_streamed_nothing_runs_again(
    stack: Stack, client: httpx.Client
) -> None:
    job_id = asyncio.run(orphan_job(stack, streamed=False))
    job = wait_for_status(client, job_id, {"succeeded", "failed"})
    assert job["status"] == "succeeded"
    assert job["result"]["content"] == expected_text(6)


def test_redelivered_job_that_had_streamed_ends_with_worker_lost(
    stack: Stack, client: httpx.Client
) -> None:
    job_id = asyncio.run(orphan_job(stack, streamed=True))
    job = wait_for_status(client, job_id, {"succeeded", "failed"})
    assert job["status"] == "failed"
    assert job["error"]["code"] == "worker_lost"
    assert job["error"]["retryable"] is True
    events = client.get(f"{JOBS_URL}/{job_id}/events").text
    assert events.count("event: error") == 1
    assert "event: done" not in events
