"""A cancel that lands while the worker claims the job still ends the job, as cancelled."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fakeredis import FakeAsyncRedis

from shared.job_records import Claim
from shared.jobs import JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.settings import Settings
from tests.unit.specs import demo_spec
from workers.cancel import CancelRegistry
from workers.runner import JobRunner


class SlowClaims(JobStore):
    """A store whose claim takes a while to reach Redis (a busy loop, a slow network)."""

    async def claim(self, job_id: str, worker_id: str) -> Claim:
        await asyncio.sleep(0.05)
        return await super().claim(job_id, worker_id)


async def test_a_cancel_during_the_claim_ends_the_job_cancelled() -> None:
    redis = FakeAsyncRedis()
    store = SlowClaims(redis, RedisKeys(prefix="t"))
    spec = demo_spec()
    await store.create(spec)
    cancels = CancelRegistry()
    unused = cast(Any, None)  # a cancelled job reaches no provider, limiter or accounting
    runner = JobRunner(
        settings=Settings(),
        store=store,
        providers=unused,
        cancels=cancels,
        health=unused,
        limiter=unused,
        accounting=unused,
        worker_id="w",
    )
    running = asyncio.create_task(runner.run(spec.id))
    await asyncio.sleep(0.01)
    assert cancels.cancel(spec.id)  # mid-claim
    await running
    job = await store.load(spec.id)
    assert job is not None
    assert job.status is JobStatus.CANCELLED
    await redis.aclose()
