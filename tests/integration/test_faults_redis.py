"""Redis (with its append-only file) killed and restarted under load, against real processes: the
worker outlives it, every job ends, new requests succeed with no manual restart, and readiness
trusts no heartbeat restored from the file."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.fakes.provider import FakeProvider
from tests.faults import fault_stack, kill, wait_until
from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL, chat, data, directive, expected_text

pytestmark = pytest.mark.integration
FINISHED = ("succeeded", "failed", "cancelled")


async def follow(client: httpx.AsyncClient, body: dict[str, object]) -> tuple[str, int, str]:
    """Read a stream until it ends or breaks: (job id, last seq seen, how it ended)."""
    last_seq, ending = 0, "broken"
    try:
        async with aconnect_sse(client, "POST", STREAM_URL, json=body) as source:
            job_id = source.response.headers["x-job-id"]
            async for event in source.aiter_sse():
                if event.id:
                    last_seq = int(event.id)
                if event.event == "error" and not event.id:
                    ending = "interrupted: " + str(data(event)["code"])  # not one of the job's
                elif event.event in ("done", "error"):
                    ending = event.event
    except httpx.HTTPError:
        pass
    return job_id, last_seq, ending


async def resume(client: httpx.AsyncClient, job_id: str, after: int) -> str:
    """Resume a job's events after ``after``; the type of the last event."""
    headers = {"Last-Event-ID": str(after)}
    async with aconnect_sse(client, "GET", f"{JOBS_URL}/{job_id}/events", headers=headers) as sse:
        events = [event async for event in sse.aiter_sse()]
    assert events, f"job {job_id}: nothing after {after}"
    return events[-1].event


async def test_a_worker_outlives_a_redis_restart_and_every_job_ends(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    with fault_stack(fake_provider, tmp_path) as stack:
        worker = stack.workers[0]
        async with httpx.AsyncClient(
            base_url=stack.base_url, headers=stack.headers, timeout=60
        ) as client:
            body = chat(directive(tokens=300, token_delay_ms=20, first_token_delay_ms=0))
            readers = [asyncio.create_task(follow(client, body)) for _ in range(8)]
            background = [(await client.post(JOBS_URL, json=body)).json()["id"] for _ in range(4)]

            async def streaming() -> bool:
                jobs = [(await client.get(f"{JOBS_URL}/{j}")).json() for j in background]
                return all(j["timings"]["first_token_at"] for j in jobs)

            deadline = time.monotonic() + 30
            while not await streaming():
                assert time.monotonic() < deadline, "the jobs did not start"
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            stack.redis_server.kill()
            await asyncio.sleep(2)
            stack.redis_server.start()
            back_at = time.monotonic()
            small = chat(directive(tokens=3))
            while True:
                answer = await client.post(COMPLETE_URL, json=small, timeout=15)
                if answer.status_code == 200:
                    break
                assert answer.status_code == 503, answer.text
                assert time.monotonic() - back_at < 60, "no success after Redis came back"
                await asyncio.sleep(0.1)
            print(f"\nRedis back to the first success: {time.monotonic() - back_at:.2f} s")
            assert answer.json()["content"] == expected_text(3)
            assert worker.popen.poll() is None, "the worker exited:\n" + worker.tail()

            followed = await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
            for job_id, last_seq, _ in followed:
                assert await resume(client, job_id, last_seq) in ("done", "error")
            for job_id in background + [job_id for job_id, _, _ in followed]:
                deadline = time.monotonic() + 30
                while (await client.get(f"{JOBS_URL}/{job_id}")).json()["status"] not in FINISHED:
                    assert time.monotonic() < deadline, f"job {job_id} never ended"
                    await asyncio.sleep(0.1)
            # And a stream started now runs to its end on the same worker.
            _, _, ending = await follow(client, chat(directive(tokens=20, tag=uuid.uuid4().hex)))
            assert ending == "done"
        assert worker.popen.poll() is None


def test_readiness_counts_no_heartbeat_restored_from_the_append_only_file(
    fake_provider: FakeProvider, tmp_path: Path
) -> None:
    with fault_stack(fake_provider, tmp_path) as stack, stack.client() as probe:
        assert probe.get("/api/v1/health/ready").status_code == 200
        time.sleep(1.5)  # the latest heartbeat is in the append-only file (fsync'd each second)
        kill(stack.workers[0])
        stack.redis_server.kill()
        stack.redis_server.start()
        with stack.redis() as redis:
            assert redis.zcard("llm:workers:llm.interactive") >= 1  # the dead worker's, restored
        wait_until(
            lambda: probe.get("/api/v1/health").json().get("checks", {}).get("redis", {}).get("ok"),
            30,
            "the gateway to reach Redis again",
        )
        health = probe.get("/api/v1/health").json()
        assert health["checks"]["workers"]["live"] == 0, health
        assert probe.get("/api/v1/health/ready").status_code == 503
        stack.start_worker()
        wait_until(lambda: probe.get("/api/v1/health/ready").status_code == 200, 30, "readiness")
