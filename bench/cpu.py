"""CPU time per request of every server process, against a direct call to the same fake provider.

Run from the repository root:  python -m bench.cpu [--quick] [--requests N] [--concurrency C]
    [--ttft-requests M] [--shapes NAME,...] (--help lists them)
    [--json [PATH]] [--profile DIR] [--monitor K]

It starts a private redis-server, the fake OpenAI-style provider, one worker and one gateway
(bench.stack), then, for each request shape, all through ``POST /v1/chat/completions`` with
OpenAI's body (``responses``: ``POST /v1/responses``; ``messages*``: Anthropic's
``POST /v1/messages``) and, in the same run, the call the gateway makes straight to the fake
provider (the same chat completion; for an Anthropic model, the same Messages request):
  json       a JSON answer of 16 tokens;
  stream     a stream of 32 tokens 5 ms apart (``stream_options.include_usage``);
  hit        the JSON request at temperature 0, repeated: answered from the response cache;
  hit-stream a stream of 64 tokens 5 ms apart at temperature 0, repeated: replayed from the
             cache (the entry holds the deltas as the worker stored them);
  responses  the stream's request on the Responses API (``stream: true``);
  messages      the stream's request on the Messages API, to an Anthropic model (``claude``);
  messages-oai  the same to an OpenAI-compatible model (``fake``: translated both ways);
  tools      the stream's request with a tool, answered by one call whose arguments stream in
             32 fragments 5 ms apart;
  embeddings eight inputs to ``POST /v1/embeddings`` (base64, the response cache bypassed).
It measures, per shape:
  1. CPU ms per request (user + system, every thread) of the gateway, the worker and the
     redis-server, their sum, and of the fake provider, read with psutil before and after
     ``--requests`` requests at ``--concurrency`` (the load client's own CPU is reported apart,
     never counted in the server figures);
  2. requests per second of that load, gateway vs direct;
  3. time to first token at concurrency 1 (the whole answer for a JSON one), gateway vs direct;
  4. Redis commands per request by command (INFO commandstats; commands a Lua script runs are
     counted as well as the EVALSHA), and Redis reads per request (total_reads_processed: about
     one per round trip, a pipeline being one).
``--monitor K`` also records K sequential requests per shape with MONITOR and attributes each
command to the process whose connection sent it (top level, or run inside which script).
``--profile DIR`` runs ``py-spy record`` on the gateway and the worker during each shape's load
(raw collapsed stacks in DIR; the CPU figures of such a run include py-spy's sampling cost);
``python -m bench.pyspy_summary DIR/*.txt`` summarises them.

The machine's other work competes for the same cores: the tables say how busy it was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis
from rich.console import Console
from rich.table import Table

from bench.overhead import percentile
from bench.profiling import profiling, py_spy
from bench.redis_monitor import monitored
from bench.sampling import Phase, Sample, run_load
from bench.shapes import SHAPES, Call, Shape, direct_call, gateway_call, make_call
from bench.stack import BenchStack, bench_parser, bench_stack

SERVERS = ("gateway", "worker", "redis")
# The goals for the server's CPU per request (gateway + worker + Redis), in ms.
TARGET_MS = {
    "json": 5.0,
    "stream": 7.0,
    "hit": 1.0,
    "responses": 7.0,
    "messages": 7.0,
    "messages-oai": 7.0,
    "tools": 7.0,
}

# --- one shape ------------------------------------------------------------------------------


@dataclass
class ShapeResult:
    shape: Shape
    direct: Phase
    gateway: Phase
    ttft_direct_ms: list[float]
    ttft_gateway_ms: list[float]
    monitor: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        g, d = self.gateway, self.direct
        servers = {name: g.per_request(name) for name in SERVERS}
        return {
            "shape": self.shape.name,
            "title": self.shape.title,
            "requests": g.requests,
            "failures": {"gateway": g.failures, "direct": d.failures},
            "cpu_ms_per_request": {
                **servers,
                "server_total": sum(servers.values()),
                "fake_via_gateway": g.per_request("fake"),
                "fake_direct": d.per_request("fake"),
                "client_via_gateway": g.per_request("client"),
                "client_direct": d.per_request("client"),
            },
            "worker_threads_ms_per_request": {
                name: ms / g.requests for name, ms in g.worker_threads_ms.items()
            },
            "machine_cores_busy_by_others": {
                "gateway_phase": g.cpu_ms["other"] / 1e3 / g.elapsed_s,
                "direct_phase": d.cpu_ms["other"] / 1e3 / d.elapsed_s,
            },
            "background_cpu_ms_per_s": {  # during the direct load: the stack idles
                name: d.cpu_ms[name] / d.elapsed_s for name in SERVERS
            },
            "requests_per_s": {"gateway": g.rate, "direct": d.rate, "ratio": g.rate / d.rate},
            "ttft_ms": ttft_summary(self.ttft_direct_ms, self.ttft_gateway_ms),
            "redis_commands_per_request": {
                name: calls / g.requests
                for name, calls in sorted(g.commands.items(), key=lambda item: -item[1])
            },
            "redis_commands_total_per_request": sum(g.commands.values()) / g.requests,
            "redis_reads_per_request": g.reads / g.requests,
            "monitor_commands_per_request": self.monitor,
        }


def ttft_summary(direct: list[float], gateway: list[float]) -> dict[str, float]:
    if not direct or not gateway:
        return {}
    d50, d99 = percentile(direct, 0.5), percentile(direct, 0.99)
    g50, g99 = percentile(gateway, 0.5), percentile(gateway, 0.99)
    return {
        "direct_p50": d50,
        "direct_p99": d99,
        "gateway_p50": g50,
        "gateway_p99": g99,
        "overhead_p50": g50 - d50,
        "overhead_p99": g99 - d99,
    }


async def measure_load(
    stack: BenchStack,
    call: Call,
    requests: int,
    concurrency: int,
    stats: redis.Redis,
) -> Phase:
    processes = {name: psutil.Process(pid) for name, pid in stack.server_pids().items()}
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await run_load(call, client, concurrency * 2, concurrency)  # connections, code paths
        await asyncio.sleep(0.3)  # the worker's acks and task events of the warm-up
        before = Sample.take(processes, stats)
        failures = await run_load(call, client, requests, concurrency)
        after = Sample.take(processes, stats)
    stack.fake.clear()  # its request records would grow for the whole run
    return Phase.between(before, after, requests, failures, stack.server_pids()["worker"])


async def ttft_samples(call: Call, requests: int) -> list[float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(20):
            await call(client)
        return [(await call(client)).ttft_s * 1e3 for _ in range(requests)]


async def prime_cache(call: Call) -> None:
    """Store the answer, then wait until the gateway answers it from the cache."""
    deadline = time.monotonic() + 10
    async with httpx.AsyncClient(timeout=60) as client:
        while True:
            try:
                await call(client)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def measure_shape(
    stack: BenchStack, shape: Shape, options: argparse.Namespace, stats: redis.Redis
) -> ShapeResult:
    gateway, direct = gateway_call(stack, shape), direct_call(stack, shape)
    if shape.cached:
        miss = make_call(
            f"{stack.base_url}/v1/chat/completions",
            shape.body("fake"),
            {"Authorization": f"Bearer {stack.api_key}"},
            Shape(shape.name, shape.title, shape.stream, shape.tokens, shape.token_delay_ms),
        )
        async with httpx.AsyncClient(timeout=60) as client:
            await miss(client)
        await prime_cache(gateway)
    direct_phase = await measure_load(stack, direct, options.requests, options.concurrency, stats)
    with profiling(options.profile, shape.name, stack.server_pids(), options.profile_rate):
        gateway_phase = await measure_load(
            stack, gateway, options.requests, options.concurrency, stats
        )
    ttft_direct = await ttft_samples(direct, options.ttft_requests)
    ttft_gateway = await ttft_samples(gateway, options.ttft_requests)
    result = ShapeResult(shape, direct_phase, gateway_phase, ttft_direct, ttft_gateway)
    if options.monitor:
        result.monitor = await monitored(stack, gateway, options.monitor, shape.name)
    stack.fake.clear()
    return result


# --- report ---------------------------------------------------------------------------------


def report(console: Console, results: list[dict[str, Any]], header: dict[str, Any]) -> None:
    console.print(
        f"\n[bold]CPU per request[/bold]: {header['requests']} requests at concurrency "
        f"{header['concurrency']} per shape; load average before {header['load_before']}, "
        f"after {header['load_after']}; {header['cores']} cores"
        + (
            " [red](py-spy attached: CPU figures include its sampling)[/red]"
            if header["profiling"]
            else ""
        )
    )
    for r in results:
        console.print(f"  {r['shape']:>7}: {r['title']}")
    cpu = Table(title="CPU ms per request (user + system), gateway load vs direct load")
    for column in (
        "shape",
        "gateway",
        "worker",
        "redis",
        "server sum",
        "target",
        "fake (via gw)",
        "fake (direct)",
        "client (gw)",
        "client (direct)",
        "others' cores",
    ):
        cpu.add_column(column, justify="left" if column == "shape" else "right")
    for r in results:
        c = r["cpu_ms_per_request"]
        busy = r["machine_cores_busy_by_others"]
        cpu.add_row(
            r["shape"],
            f"{c['gateway']:.2f}",
            f"{c['worker']:.2f}",
            f"{c['redis']:.2f}",
            f"[bold]{c['server_total']:.2f}[/bold]",
            f"<= {TARGET_MS[r['shape']]:.0f}" if r["shape"] in TARGET_MS else "-",
            f"{c['fake_via_gateway']:.2f}",
            f"{c['fake_direct']:.2f}",
            f"{c['client_via_gateway']:.2f}",
            f"{c['client_direct']:.2f}",
            f"{busy['gateway_phase']:.2f} / {busy['direct_phase']:.2f}",
        )
    console.print(cpu)
    console.print(
        "  others' cores: CPU the rest of the machine used meanwhile (cores busy, gateway "
        "phase / direct phase)."
    )
    for r in results:
        threads = r["worker_threads_ms_per_request"]
        console.print(
            f"  worker {r['shape']:>6}: Celery consumer (main thread) {threads['consumer']:.2f},"
            f" jobs' event loop {threads['loop']:.2f}, pool and other threads {threads['pool']:.2f}"
            " ms per request"
        )
    background = results[0]["background_cpu_ms_per_s"] if results else {}
    console.print(
        "  idle stack (during the first direct load), CPU ms per s: "
        + ", ".join(f"{name} {value:.1f}" for name, value in background.items())
    )

    speed = Table(title="Requests per second and time to first token")
    for column in (
        "shape",
        "direct req/s",
        "gateway req/s",
        "ratio",
        "TTFT direct p50/p99",
        "gateway p50/p99",
        "overhead p50/p99 (ms)",
        "failures gw/direct",
    ):
        speed.add_column(column, justify="left" if column == "shape" else "right")
    for r in results:
        rps, t = r["requests_per_s"], r["ttft_ms"]
        speed.add_row(
            r["shape"],
            f"{rps['direct']:.0f}",
            f"{rps['gateway']:.0f}",
            f"{rps['ratio']:.2f}",
            f"{t['direct_p50']:.2f} / {t['direct_p99']:.2f}",
            f"{t['gateway_p50']:.2f} / {t['gateway_p99']:.2f}",
            f"{t['overhead_p50']:.2f} / {t['overhead_p99']:.2f}",
            f"{r['failures']['gateway']} / {r['failures']['direct']}",
        )
    console.print(speed)
    console.print(
        f"  TTFT at concurrency 1, {header['ttft_requests']} requests each; for a JSON answer "
        "the whole answer. Goals: overhead p50 <= 1.5 ms, p99 <= 4 ms; ratio >= 0.8."
    )

    commands = Table(title="Redis commands per request (INFO commandstats, in-script included)")
    commands.add_column("command")
    for r in results:
        commands.add_column(r["shape"], justify="right")
    names = sorted(
        {n for r in results for n in r["redis_commands_per_request"]},
        key=lambda n: -max(r["redis_commands_per_request"].get(n, 0) for r in results),
    )
    for name in names:
        commands.add_row(
            name, *(f"{r['redis_commands_per_request'].get(name, 0):.2f}" for r in results)
        )
    commands.add_row(
        "[bold]total[/bold]",
        *(f"[bold]{r['redis_commands_total_per_request']:.1f}[/bold]" for r in results),
    )
    commands.add_row(
        "reads (~ round trips)", *(f"{r['redis_reads_per_request']:.1f}" for r in results)
    )
    console.print(commands)

    for r in results:
        if not r["monitor_commands_per_request"]:
            continue
        table = Table(title=f"MONITOR, {r['shape']}: commands per request by process (script)")
        table.add_column("process, script, command")
        table.add_column("per request", justify="right")
        for name, value in r["monitor_commands_per_request"].items():
            table.add_row(name, f"{value:.2f}")
        console.print(table)


async def run(options: argparse.Namespace) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header (run conditions) and one summary per shape."""
    shapes = [SHAPES[name] for name in options.shapes.split(",")]
    load_before = os.getloadavg()
    results = []
    with bench_stack("cpu") as stack:
        stats = redis.Redis.from_url(stack.redis_url)
        try:
            for shape in shapes:
                print(f"measuring {shape.title} ...", file=sys.stderr)
                result = await measure_shape(stack, shape, options, stats)
                results.append(result.summary())
        finally:
            stats.close()
    header = {
        "requests": options.requests,
        "concurrency": options.concurrency,
        "ttft_requests": options.ttft_requests,
        "cores": psutil.cpu_count(),
        "load_before": " ".join(f"{v:.2f}" for v in load_before),
        "load_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "profiling": options.profile is not None,
        "shapes": [asdict(shape) for shape in shapes],
    }
    return header, results


def output(options: argparse.Namespace, header: dict[str, Any], results: list[Any]) -> None:
    if options.json is not None:
        document = json.dumps({"header": header, "results": results}, indent=2)
        if options.json == "-":
            print(document)
            return
        Path(options.json).write_text(document)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    report(console, results, header)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--requests", type=int, help="requests per load (default 1000; quick 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="of the load (default 32)")
    parser.add_argument(
        "--ttft-requests", type=int, help="requests at concurrency 1 (default 300; quick 60)"
    )
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}"
    )
    parser.add_argument(
        "--json", nargs="?", const="-", help="write the figures as JSON to PATH (- or none: stdout)"
    )
    parser.add_argument(
        "--monitor",
        type=int,
        default=0,
        metavar="K",
        help="record K sequential requests per shape with MONITOR (by process and script)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy record the gateway and the worker"
    )
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per s")
    options = parser.parse_args()
    unknown = set(options.shapes.split(",")) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")
    if options.profile is not None and py_spy() is None:
        parser.error("--profile needs py-spy (pip install py-spy) and ptrace rights (root)")
    if options.requests is None:
        options.requests = 200 if options.quick else 1000
    if options.ttft_requests is None:
        options.ttft_requests = 60 if options.quick else 300
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        output(options, *asyncio.run(run(options)))
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # a lighter client
        output(options, *runner.run(run(options)))


if __name__ == "__main__":
    main()
