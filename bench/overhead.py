"""What the gateway and its queue cost, against a direct call to the same fake provider.

Run from the repository root:  python -m bench.overhead [--quick]

It starts a private redis-server, the fake OpenAI-style provider, one worker and one gateway,
then measures in the same run:
  1. time to first token, concurrency 1: direct vs through the gateway (p50/p99, and the overhead);
  2. streamed tokens per second at concurrency 64, direct vs gateway, and their ratio;
  3. the same two for a stream of one tool call, its 256 characters of arguments in 32
     fragments (time to the first argument characters; argument characters per second);
  4. how many concurrent streams one worker process holds, and its memory per stream.
Both sides use the same client code (httpx + httpx-sse) and the same prompt.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
from httpx_sse import aconnect_sse

from bench.stack import bench_main, bench_stack
from tests.fakes.provider import FakeProvider
from tests.stack import (
    FAKE_KEY,
    Process,
)

TOKEN = re.compile(r"t\d+")
TOOL_NAME = "search"
TOOLS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": TOOL_NAME,
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]
# 256 characters of JSON: the fake streams them 8 to a fragment.
ARGUMENTS = {"query": "q" * 243}
ARGUMENT_CHARS = len(json.dumps(ARGUMENTS))


@dataclass(frozen=True)
class Ask:
    """What a stream asks for: the prompt, and tools when the answer is a tool call."""

    text: str
    tools: list[dict[str, Any]] | None = None


Streamer = Callable[[httpx.AsyncClient, Ask], Awaitable["StreamResult"]]


@dataclass
class StreamResult:
    ttft_s: float
    tokens: int
    total_s: float


def prompt(tokens: int, token_delay_ms: float) -> Ask:
    return Ask("benchmark FAKE" + json.dumps({"tokens": tokens, "token_delay_ms": token_delay_ms}))


def tool_call(token_delay_ms: float) -> Ask:
    call = {"name": TOOL_NAME, "arguments": ARGUMENTS}
    directive = {"tool_calls": [call], "token_delay_ms": token_delay_ms}
    return Ask("benchmark FAKE" + json.dumps(directive), TOOLS)


def units(delta: dict[str, Any]) -> int:
    """Text tokens and tool-call argument characters in one delta (OpenAI's or ours)."""
    found = len(TOKEN.findall(delta.get("content") or ""))
    for call in delta.get("tool_calls") or ():
        found += len((call.get("function") or call).get("arguments") or "")
    return found


def direct_streamer(fake: FakeProvider) -> Streamer:
    url = f"{fake.openai_base_url}/chat/completions"

    async def run(client: httpx.AsyncClient, ask: Ask) -> StreamResult:
        body: dict[str, Any] = {
            "model": "fake-model",
            "messages": [{"role": "user", "content": ask.text}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if ask.tools:
            body["tools"] = ask.tools
        headers = {"Authorization": f"Bearer {FAKE_KEY}"}
        started = time.perf_counter()
        ttft = 0.0
        tokens = 0
        async with aconnect_sse(client, "POST", url, json=body, headers=headers) as source:
            async for event in source.aiter_sse():  # to the end: the connection is then reused
                if event.data.startswith("[DONE]"):
                    continue
                for choice in json.loads(event.data)["choices"]:
                    found = units(choice["delta"])
                    if found and not tokens:
                        ttft = time.perf_counter() - started
                    tokens += found
        return StreamResult(ttft, tokens, time.perf_counter() - started)

    return run


def gateway_streamer(base_url: str, api_key: str) -> Streamer:
    url = f"{base_url}/api/v1/llm/complete/stream"
    headers = {"Authorization": f"Bearer {api_key}"}

    async def run(client: httpx.AsyncClient, ask: Ask) -> StreamResult:
        body: dict[str, Any] = {"messages": [{"role": "user", "content": ask.text}]}
        if ask.tools:
            body["tools"] = ask.tools
        started = time.perf_counter()
        ttft = 0.0
        tokens = 0
        async with aconnect_sse(client, "POST", url, json=body, headers=headers) as source:
            async for event in source.aiter_sse():
                if event.event == "delta":
                    found = units(json.loads(event.data))
                    if found and not tokens:
                        ttft = time.perf_counter() - started
                    tokens += found
                elif event.event == "error":
                    raise RuntimeError(event.data)
        return StreamResult(ttft, tokens, time.perf_counter() - started)

    return run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def ttft_samples(
    stream: Streamer, requests: int, ask: Ask | None = None, expected: int = 3
) -> list[float]:
    ask = ask or prompt(3, 0)
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(20):  # warm up connections and code paths
            await stream(client, ask)
        samples = []
        for _ in range(requests):
            result = await stream(client, ask)
            assert result.tokens == expected, f"{result.tokens} of {expected}"
            samples.append(result.ttft_s)
        return samples


async def throughput(
    stream: Streamer, concurrency: int, ask: Ask, expected: int, rounds: int
) -> float:
    """Tokens (or argument characters) per second of ``concurrency * rounds`` streams."""
    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(stream(client, prompt(3, 0)) for _ in range(concurrency)))
        started = time.perf_counter()
        results = await asyncio.gather(*(stream(client, ask) for _ in range(concurrency * rounds)))
        elapsed = time.perf_counter() - started
    assert all(r.tokens == expected for r in results), "a stream lost tokens"
    return sum(r.tokens for r in results) / elapsed


async def worker_capacity(
    base_url: str, api_key: str, fake: FakeProvider, worker: Process, streams: int
) -> dict[str, float]:
    """Start `streams` slow background jobs at once; count how many the fake sees open."""
    process = psutil.Process(worker.popen.pid)
    idle_rss = process.memory_info().rss
    text = "capacity FAKE" + json.dumps({"tokens": 80, "token_delay_ms": 250, "tag": "capacity"})
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=headers) as client:
        submitted = await asyncio.gather(
            *(
                client.post("/api/v1/jobs", json={"messages": [{"role": "user", "content": text}]})
                for _ in range(streams)
            )
        )
        ids = [r.json()["id"] for r in submitted]
        peak_open, peak_rss = 0, idle_rss
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = fake.requests("capacity")
            open_now = sum(1 for r in records if r["ended_at"] is None)
            peak_open = max(peak_open, open_now)
            peak_rss = max(peak_rss, process.memory_info().rss)
            if records and len(records) >= streams and open_now == 0:
                break
            await asyncio.sleep(0.25)
        jobs = await wait_until_ended(client, ids)
        statuses = [job["status"] for job in jobs]
        failures = collections.Counter(
            (job["status"], (job.get("error") or {}).get("code"))
            for job in jobs
            if job["status"] != "succeeded"
        )
        if failures:
            print(f"  jobs that did not succeed: {dict(failures)}")
    fake.clear()
    return {
        "submitted": streams,
        "peak_open_streams": peak_open,
        "succeeded": statuses.count("succeeded"),
        "idle_rss_mb": idle_rss / 2**20,
        "peak_rss_mb": peak_rss / 2**20,
        "kib_per_stream": (peak_rss - idle_rss) / max(peak_open, 1) / 1024,
    }


async def wait_until_ended(
    client: httpx.AsyncClient, ids: list[str], timeout_s: float = 60
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = [(await client.get(f"/api/v1/jobs/{i}")).json() for i in ids]
        if time.monotonic() > deadline or all(
            j["status"] not in ("queued", "running") for j in jobs
        ):
            return jobs
        await asyncio.sleep(0.5)


def report_ttft(direct: list[float], gateway: list[float]) -> None:
    print(f"\nTime to first token, concurrency 1 ({len(direct)} requests each)")
    print(f"{'':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for name, values in (("direct", direct), ("gateway", gateway)):
        print(
            f"{name:>10} {percentile(values, 0.5) * 1e3:9.2f} {percentile(values, 0.99) * 1e3:9.2f}"
        )
    print(
        f"{'overhead':>10} {(percentile(gateway, 0.5) - percentile(direct, 0.5)) * 1e3:9.2f}"
        f" {(percentile(gateway, 0.99) - percentile(direct, 0.99)) * 1e3:9.2f}"
        f"   (bars: p50 <= 3 ms, p99 <= 10 ms)"
    )
    ratio = statistics.median(gateway) / statistics.median(direct)
    print(f"{'ratio':>10} {ratio:9.2f}x  gateway/direct at p50")


async def run(quick: bool) -> None:
    with bench_stack("overhead") as stack:
        direct = direct_streamer(stack.fake)
        via_gateway = gateway_streamer(stack.base_url, stack.api_key)
        requests = 100 if quick else 400
        report_ttft(await ttft_samples(direct, requests), await ttft_samples(via_gateway, requests))

        print("\nStreamed tokens per second, concurrency 64")
        print(f"{'token delay':>12} {'direct':>10} {'gateway':>10} {'ratio':>7}")
        rounds = 1 if quick else 2
        for tokens, delay_ms in ((200, 5.0), (400, 0.0)):
            d = await throughput(direct, 64, prompt(tokens, delay_ms), tokens, rounds)
            g = await throughput(via_gateway, 64, prompt(tokens, delay_ms), tokens, rounds)
            print(f"{delay_ms:>10.0f}ms {d:10.0f} {g:10.0f} {g / d:7.2f}   (bar: >= 0.50)")

        print(f"\nA tool call's stream: {ARGUMENT_CHARS} characters of arguments in 32 fragments")
        quick_call = tool_call(0)
        report_ttft(
            await ttft_samples(direct, requests, quick_call, ARGUMENT_CHARS),
            await ttft_samples(via_gateway, requests, quick_call, ARGUMENT_CHARS),
        )
        print("Argument characters per second, concurrency 64, fragments 5 ms apart")
        paced = tool_call(5.0)
        d = await throughput(direct, 64, paced, ARGUMENT_CHARS, rounds)
        g = await throughput(via_gateway, 64, paced, ARGUMENT_CHARS, rounds)
        print(f"{'':>12} {d:10.0f} {g:10.0f} {g / d:7.2f}   (direct, gateway, ratio)")

        streams = 200 if quick else 1000
        capacity = await worker_capacity(
            stack.base_url, stack.api_key, stack.fake, stack.worker, streams
        )
        print("\nOne worker process (threads pool, one uvloop for all streams)")
        for name, value in capacity.items():
            print(f"  {name:>18}: {value:,.1f}")


def main() -> None:
    bench_main(run, __doc__)


if __name__ == "__main__":
    main()
