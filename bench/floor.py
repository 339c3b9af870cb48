"""How far the gateway's CPU per request is from the floor of its architecture, in one run.

On one private redis-server and one fake provider, the JSON request of ``bench.cpu`` (16
tokens) is sent four ways, 1,000 requests at concurrency 32, and 200 at concurrency 1 for the
latency:

- direct: straight to the fake provider (its own CPU per request, for scale);
- HTTP floor: a FastAPI route on uvicorn that parses the body and answers a constant;
- relay floor: the least a FastAPI + Redis + Celery + aiohttp gateway can do per request
  (``bench.floor_relay``: no keys, limits, events, leases, usage or metrics), and the same
  without Celery (the worker's event loop pops the job id itself), for Celery's share;
- the gateway itself, as ``bench.cpu`` runs it.

It prints server CPU ms per request for each process, requests/s against direct and the
latency over direct: what the gateway spends above the relay floor is its own features;
the floor is what DESIGN.md's parts cost before any of them.

    python -m bench.floor [--quick] [--requests N] [--json PATH]
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from rich.console import Console
from rich.table import Table

from bench.cpu import ttft_samples
from bench.overhead import percentile
from bench.sampling import process_cpu_s, run_load
from bench.shapes import SHAPES, UPSTREAMS, Call, Timing, make_call
from bench.stack import BenchStack, bench_parser, bench_stack
from gateway.cli.redis_server import free_port
from tests.stack import FAKE_KEY, ROOT

SHAPE = SHAPES["json"]


@dataclass(frozen=True)
class Way:
    """One way of serving the request: its call and the server processes it costs."""

    name: str
    title: str
    call: Call
    servers: dict[str, psutil.Process]


@dataclass(frozen=True)
class Figures:
    way: Way
    cpu_ms: dict[str, float]  # per request, by server process
    requests_per_s: float
    latency_p50_ms: float
    latency_p99_ms: float
    failures: int

    def summary(self, direct: Figures) -> dict[str, Any]:
        return {
            "way": self.way.name,
            "title": self.way.title,
            "cpu_ms_per_request": self.cpu_ms,
            "server_total_ms": sum(self.cpu_ms.values()),
            "requests_per_s": self.requests_per_s,
            "ratio_to_direct": self.requests_per_s / direct.requests_per_s,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p99_ms": self.latency_p99_ms,
            "latency_over_direct_p50_ms": self.latency_p50_ms - direct.latency_p50_ms,
            "failures": self.failures,
        }


def spawn(log_dir: Path, name: str, *arguments: str) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bench.floor_relay", *arguments],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_until_up(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    """Until the relay answers a request end to end (its worker consumes too)."""
    deadline = time.monotonic() + 30
    body = SHAPE.body(UPSTREAMS["fake"][0])
    while True:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a floor process exited; see its log")
        try:
            if httpx.post(url, json=body, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the floor relay did not answer at {url}")
        time.sleep(0.2)


@contextmanager
def floor_relay(stack: BenchStack) -> Iterator[tuple[str, dict[str, psutil.Process]]]:
    port = free_port()
    upstream = f"{stack.fake.openai_base_url}/chat/completions"
    upstream_args = (stack.redis_url, upstream, FAKE_KEY)
    gateway = spawn(stack.log_dir, "floor-gateway", "gateway", str(port), stack.redis_url)
    worker = spawn(stack.log_dir, "floor-worker", "worker", *upstream_args)
    bare = spawn(stack.log_dir, "floor-bare-worker", "bare-worker", *upstream_args)
    processes = [gateway, worker, bare]
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base_url}/v1/chat/completions", processes)
        wait_until_up(f"{base_url}/v1/bare/chat/completions", processes)
        yield (
            base_url,
            {
                name: psutil.Process(process.pid)
                for name, process in (("gateway", gateway), ("worker", worker), ("bare", bare))
            },
        )
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


async def measure(way: Way, requests: int, concurrency: int, latency_requests: int) -> Figures:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await run_load(way.call, client, concurrency * 4, concurrency)  # connections, code paths
        await asyncio.sleep(0.3)
        before = {name: process_cpu_s(p) for name, p in way.servers.items()}
        started = time.perf_counter()
        failures = await run_load(way.call, client, requests, concurrency)
        elapsed_s = time.perf_counter() - started
        after = {name: process_cpu_s(p) for name, p in way.servers.items()}
    latencies = await ttft_samples(way.call, latency_requests)
    return Figures(
        way,
        {name: (after[name] - before[name]) * 1e3 / requests for name in way.servers},
        requests / elapsed_s,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        failures,
    )


async def run(requests: int, latency_requests: int, concurrency: int) -> list[dict[str, Any]]:
    with bench_stack("floor") as stack, floor_relay(stack) as (floor_url, floor_servers):
        pids = stack.server_pids()
        redis = psutil.Process(pids["redis"])
        fake = psutil.Process(pids["fake"])
        direct_body = SHAPE.body(UPSTREAMS["fake"][0])
        direct_headers = {"Authorization": f"Bearer {FAKE_KEY}"}
        ours_headers = {"Authorization": f"Bearer {stack.api_key}"}
        ways = [
            Way(
                "direct",
                "the fake provider, direct",
                make_call(
                    f"{stack.fake.openai_base_url}/chat/completions",
                    direct_body,
                    direct_headers,
                    SHAPE,
                ),
                {"fake": fake},
            ),
            Way(
                "http",
                "HTTP floor: FastAPI + uvicorn",
                echo_call(f"{floor_url}/echo", direct_body),
                {"gateway": floor_servers["gateway"]},
            ),
            Way(
                "bare",
                "relay floor without Celery: FastAPI + Redis + aiohttp",
                make_call(f"{floor_url}/v1/bare/chat/completions", direct_body, {}, SHAPE),
                {
                    "gateway": floor_servers["gateway"],
                    "worker": floor_servers["bare"],
                    "redis": redis,
                },
            ),
            Way(
                "relay",
                "relay floor: FastAPI + Redis + Celery + aiohttp",
                make_call(f"{floor_url}/v1/chat/completions", direct_body, {}, SHAPE),
                {
                    "gateway": floor_servers["gateway"],
                    "worker": floor_servers["worker"],
                    "redis": redis,
                },
            ),
            Way(
                "gateway",
                "the gateway",
                make_call(
                    f"{stack.base_url}/v1/chat/completions",
                    SHAPE.body("fake"),
                    ours_headers,
                    SHAPE,
                ),
                {
                    "gateway": psutil.Process(pids["gateway"]),
                    "worker": psutil.Process(pids["worker"]),
                    "redis": redis,
                },
            ),
        ]
        figures = []
        for way in ways:
            print(f"measuring {way.title} ...", file=sys.stderr)
            figures.append(await measure(way, requests, concurrency, latency_requests))
            stack.fake.clear()
    return [each.summary(figures[0]) for each in figures]


def echo_call(url: str, body: dict[str, Any]) -> Call:
    """A POST of the request's body to the HTTP floor's route, which answers a constant."""
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}

    async def call(client: httpx.AsyncClient) -> Timing:
        started = time.perf_counter()
        response = await client.post(url, content=payload, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:300]}")
        elapsed = time.perf_counter() - started
        return Timing(elapsed, elapsed)

    return call


def report(results: list[dict[str, Any]], requests: int, concurrency: int) -> None:
    console = Console() if Console().is_terminal else Console(width=160)
    table = Table(
        title=f"{SHAPE.title}: {requests} requests at concurrency {concurrency}; "
        "server CPU ms per request by process"
    )
    for column in ("way", "gateway", "worker", "redis", "fake", "server sum", "req/s", "ratio"):
        table.add_column(column, justify="left" if column == "way" else "right")
    table.add_column("latency p50 / over direct (ms)", justify="right")
    for row in results:
        cpu = row["cpu_ms_per_request"]
        table.add_row(
            row["title"],
            *(f"{cpu[name]:.2f}" if name in cpu else "" for name in ("gateway", "worker", "redis")),
            f"{cpu['fake']:.2f}" if "fake" in cpu else "",
            f"{row['server_total_ms']:.2f}",
            f"{row['requests_per_s']:.0f}",
            f"{row['ratio_to_direct']:.2f}",
            f"{row['latency_p50_ms']:.2f} / {row['latency_over_direct_p50_ms']:.2f}",
        )
    console.print(table)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, help="requests per load (default 1000; quick 200)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--json", type=Path, help="write the figures as JSON to PATH")
    options = parser.parse_args()
    requests = options.requests or (200 if options.quick else 1000)
    latency_requests = 50 if options.quick else 200
    results = asyncio.run(run(requests, latency_requests, options.concurrency))
    if options.json is not None:
        options.json.write_text(json.dumps(results, indent=2))
    report(results, requests, options.concurrency)


if __name__ == "__main__":
    main()
