"""Does a large batch slow interactive users down? And how fast does a batch run?

Run from the repository root:  python -m bench.batch_interference [--quick]

It starts a private redis-server, the fake OpenAI-style provider, one interactive worker, one
batch worker and one gateway (as bench.overhead does), then measures in the same run:
  1. interactive time to first token, concurrency 1, direct to the fake and through the
     gateway, with nothing else running (idle);
  2. the same (gateway and direct) while a large batch runs against the same fake provider,
     and the ratios busy/idle: the direct figures show what the busier provider alone costs;
  3. the batch's throughput in requests per second, from in_progress to completed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.overhead import direct_streamer, gateway_streamer, percentile, prompt
from bench.stack import bench_main, bench_stack

BATCH_QUEUE = "llm.batch"


async def ttft(stream: Any, requests: int, *, while_: Any = None) -> list[float]:
    """``requests`` times to first token at concurrency 1 (stopping early once ``while_``
    says the condition is over)."""
    samples: list[float] = []
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(20):
            await stream(client, prompt(3, 0))
        for i in range(requests):
            if while_ is not None and i % 20 == 0 and not await while_():
                break
            result = await stream(client, prompt(3, 0))
            assert result.tokens == 3
            samples.append(result.ttft_s)
    return samples


def batch_lines(requests: int, tokens: int, delay_ms: float) -> bytes:
    text = "batch FAKE" + json.dumps({"tokens": tokens, "token_delay_ms": delay_ms})
    lines = [
        {
            "custom_id": f"b{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "fake", "messages": [{"role": "user", "content": text}]},
        }
        for i in range(requests)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


async def start_batch(client: httpx.AsyncClient, content: bytes) -> str:
    file = await client.post(
        "/v1/files", files={"file": ("bench.jsonl", content)}, data={"purpose": "batch"}
    )
    file.raise_for_status()
    batch = await client.post(
        "/v1/batches",
        json={
            "input_file_id": file.json()["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        },
    )
    batch.raise_for_status()
    batch_id: str = batch.json()["id"]
    return batch_id


async def batch_state(client: httpx.AsyncClient, batch_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/batches/{batch_id}")).json()
    return body


async def wait_for(
    client: httpx.AsyncClient, batch_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    while True:
        state = await batch_state(client, batch_id)
        if done(state):
            return state
        await asyncio.sleep(0.05)


def report(name: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = percentile(values, 0.5) * 1e3, percentile(values, 0.99) * 1e3
    print(f"{name:>22} {p50:9.2f} {p99:9.2f}   ({len(values)} requests)")
    return p50, p99


async def run(quick: bool) -> None:
    with bench_stack("batch", batch_worker=True) as stack:
        fake, base_url, api_key = stack.fake, stack.base_url, stack.api_key
        via_gateway = gateway_streamer(base_url, api_key)
        samples = 100 if quick else 300
        print(f"\nTime to first token, concurrency 1{'':>8}p50 ms    p99 ms")
        direct = report("direct", await ttft(direct_streamer(fake), samples))
        idle = report("gateway, idle", await ttft(via_gateway, samples))

        requests = 2000 if quick else 6000
        headers = {"Authorization": f"Bearer {api_key}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as c:
            batch_id = await start_batch(c, batch_lines(requests, tokens=20, delay_ms=5))
            await wait_for(c, batch_id, lambda b: b["status"] == "in_progress")
            started = time.perf_counter()

            async def batch_running() -> bool:
                state = await batch_state(c, batch_id)
                return bool(state["status"] == "in_progress")

            await wait_for(c, batch_id, lambda b: b["request_counts"]["completed"] >= 200)
            busy_samples = await ttft(via_gateway, samples, while_=batch_running)
            direct_busy_samples = await ttft(direct_streamer(fake), samples, while_=batch_running)
            overlapped = await batch_running()
            busy = report("gateway, batch running", busy_samples)
            direct_busy = report("direct, batch running", direct_busy_samples)
            state = await wait_for(
                c, batch_id, lambda b: b["status"] in ("completed", "failed", "expired")
            )
            elapsed = time.perf_counter() - started
        counts = state["request_counts"]
        print(f"{'busy / idle':>22} {busy[0] / idle[0]:8.2f}x {busy[1] / idle[1]:8.2f}x")
        print(
            f"{'direct busy / idle':>22} {direct_busy[0] / direct[0]:8.2f}x"
            f" {direct_busy[1] / direct[1]:8.2f}x   (the fake provider serves the batch too)"
        )
        print(
            f"{'gateway overhead ms':>22} idle {idle[0] - direct[0]:.2f}"
            f" / {idle[1] - direct[1]:.2f},"
            f" busy {busy[0] - direct_busy[0]:.2f} / {busy[1] - direct_busy[1]:.2f} (p50 / p99)"
        )
        if not overlapped:
            print("  (the batch ended before the samples did: raise the batch size)")
        print(
            f"\nBatch of {requests} requests (20 tokens, 5 ms apart each): {state['status']}, "
            f"{counts['completed']} completed, {counts['failed']} failed, "
            f"{counts['completed'] / elapsed:.0f} requests/s "
            f"({elapsed:.1f} s from in_progress to {state['status']})"
        )


def main() -> None:
    bench_main(run, __doc__)


if __name__ == "__main__":
    main()
