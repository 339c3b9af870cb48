"""Recovery times, measured against real processes with the default lease (10 s) and recovery
tick (1 s): a worker SIGKILLed under 20 streams, then Redis (append-only file) killed and
restarted under 20 more.

    python -m bench.faults

Prints the time from the SIGKILL to the last of the readers being told (goal: at most the lease
TTL plus 5 s), and the time from Redis being back to the first successful completion with no
manual restart (goal: under 10 s).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

from tests.fakes.provider import FakeProvider
from tests.faults import FaultStack, fault_stack, kill
from tests.helpers import COMPLETE_URL, chat, directive
from tests.stack import FAKE_KEY

LEASE_TTL_S = 10
STREAMS = 20


async def read(client: httpx.AsyncClient, started: asyncio.Event, told: list[float]) -> str:
    """One stream to its end (or its break); says when its first delta came, notes its end."""
    body = chat(directive(tokens=500, token_delay_ms=20, first_token_delay_ms=0))
    ending = "broken"
    try:
        async with aconnect_sse(client, "POST", "/api/v1/llm/complete/stream", json=body) as sse:
            async for event in sse.aiter_sse():
                if event.event == "delta":
                    started.set()
                if event.event in ("done", "error"):
                    ending = event.data
    except httpx.HTTPError:
        pass
    told.append(time.monotonic())
    return ending


async def worker_killed(stack: FaultStack) -> float:
    started = [asyncio.Event() for _ in range(STREAMS)]
    told: list[float] = []
    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=120) as c:
        readers = [asyncio.create_task(read(c, event, told)) for event in started]
        await asyncio.gather(*(event.wait() for event in started))
        await asyncio.to_thread(stack.start_worker)
        killed_at = time.monotonic()
        kill(stack.workers[0])
        endings = await asyncio.gather(*readers)
    lost = sum('"worker_lost"' in e for e in endings)
    print(
        f"worker SIGKILL: {lost}/{STREAMS} readers told worker_lost, the last "
        f"{max(told) - killed_at:.2f} s after the kill (lease {LEASE_TTL_S} s)"
    )
    return max(told) - killed_at


async def redis_restarted(stack: FaultStack) -> float:
    started = [asyncio.Event() for _ in range(STREAMS)]
    told: list[float] = []
    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=120) as c:
        readers = [asyncio.create_task(read(c, event, told)) for event in started]
        await asyncio.gather(*(event.wait() for event in started))
        killed_at = time.monotonic()
        stack.redis_server.kill()
        await asyncio.sleep(3)
        await asyncio.to_thread(stack.redis_server.start)
        back_at = time.monotonic()
        while True:
            answer = await c.post(COMPLETE_URL, json=chat(directive(tokens=3)))
            if answer.status_code == 200:
                break
            await asyncio.sleep(0.05)
        first_success = time.monotonic() - back_at
        await asyncio.gather(*readers)
    alive = all(w.popen.poll() is None for w in stack.workers[1:])
    print(
        f"Redis restart: first success {first_success:.2f} s after Redis was back; worker "
        f"{'still the same process' if alive else 'EXITED'}; every reader told "
        f"({max(told) - killed_at:.2f} s after the kill)"
    )
    return first_success


async def main() -> None:
    with (
        FakeProvider(require_key=FAKE_KEY) as fake,
        fault_stack(
            fake,
            Path(tempfile.mkdtemp(prefix="llm-bench-faults-")),
            job_lease_ttl_s=LEASE_TTL_S,
            recovery_interval_s=1.0,
        ) as stack,
    ):
        await worker_killed(stack)
        await redis_restarted(stack)
        print(f"logs: {stack.log_dir}")


if __name__ == "__main__":
    asyncio.run(main())
