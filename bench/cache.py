"""Requests per second answered from the response cache, against the same requests uncached and
against a direct call to the same fake provider, in one run.

Run from the repository root:  python -m bench.cache [--quick]

Every request asks for the same 20-token answer. "uncached" sends ``X-Cache-Control: no-cache,
no-store``, so each one goes through the queue to the provider (and none joins another);
"hit" sends the same body once the answer is cached. Both forms are measured: the blocking JSON
call and the SSE stream read to its last event. Latency (c=1) and throughput (c=32) each.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import httpx
from httpx_sse import aconnect_sse

from bench.overhead import percentile
from bench.stack import bench_main, bench_stack
from tests.fakes.provider import FakeProvider
from tests.stack import (
    FAKE_KEY,
)

TEXT = "benchmark FAKE" + json.dumps({"tokens": 20})
UNCACHED = {"X-Cache-Control": "no-cache, no-store"}
Call = Callable[[httpx.AsyncClient], Awaitable[None]]


def direct_call(fake: FakeProvider) -> Call:
    url = f"{fake.openai_base_url}/chat/completions"
    body = {"model": "fake-model", "messages": [{"role": "user", "content": TEXT}]}
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}

    async def call(client: httpx.AsyncClient) -> None:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.text

    return call


def gateway_call(base_url: str, api_key: str, *, stream: bool, cached: bool) -> Call:
    path = "/api/v1/llm/complete/stream" if stream else "/api/v1/llm/complete"
    url = base_url + path
    body = {"model": "cached", "messages": [{"role": "user", "content": TEXT}]}
    headers = {"Authorization": f"Bearer {api_key}", **({} if cached else UNCACHED)}
    expected = "HIT" if cached else "MISS"

    async def call(client: httpx.AsyncClient) -> None:
        if not stream:
            response = await client.post(url, json=body, headers=headers)
            assert response.headers.get("x-cache") == expected, response.text
            return
        async with aconnect_sse(client, "POST", url, json=body, headers=headers) as source:
            assert source.response.headers.get("x-cache") == expected
            last = [event async for event in source.aiter_sse()][-1]
        assert last.event == "done", last.data

    return call


async def latency_ms(call: Call, requests: int) -> tuple[float, float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(20):
            await call(client)
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            await call(client)
            samples.append(time.perf_counter() - started)
    return percentile(samples, 0.5) * 1e3, percentile(samples, 0.99) * 1e3


async def requests_per_s(call: Call, concurrency: int, seconds: float) -> float:
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(*(call(client) for _ in range(concurrency)))
        done = 0
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()

        async def loop() -> None:
            nonlocal done
            while time.perf_counter() < stop_at:
                await call(client)
                done += 1

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


async def run(quick: bool) -> None:
    requests, seconds, concurrency = (100, 3.0, 32) if quick else (300, 8.0, 32)
    with bench_stack("cache") as stack:
        base_url, key = stack.base_url, stack.api_key
        cases = {"direct (provider)": direct_call(stack.fake)}
        for form in ("json", "stream"):
            for cached in (False, True):
                name = f"{form} {'hit' if cached else 'uncached'}"
                cases[name] = gateway_call(base_url, key, stream=form == "stream", cached=cached)
        async with httpx.AsyncClient(timeout=60) as warm:  # store the answer once
            body = {"model": "cached", "messages": [{"role": "user", "content": TEXT}]}
            headers = {"Authorization": f"Bearer {key}"}
            await warm.post(f"{base_url}/api/v1/llm/complete", json=body, headers=headers)
        results = {}
        for name, call in cases.items():
            p50, p99 = await latency_ms(call, requests)
            results[name] = (p50, p99, await requests_per_s(call, concurrency, seconds))
    direct_rps = results["direct (provider)"][2]
    print(f"\nOne 20-token answer; latency c=1 ({requests} requests), throughput c={concurrency}")
    print(
        f"{'':>18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8} {'vs direct':>10} {'vs uncached':>12}"
    )
    for name, (p50, p99, rps) in results.items():
        uncached = results.get(name.replace("hit", "uncached"))
        gain = f"{rps / uncached[2]:11.2f}x" if uncached and "hit" in name else ""
        print(f"{name:>18} {p50:8.2f} {p99:8.2f} {rps:8.0f} {rps / direct_rps:9.2f}x {gain:>12}")


def main() -> None:
    bench_main(run, __doc__)


if __name__ == "__main__":
    main()
