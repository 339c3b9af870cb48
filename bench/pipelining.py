"""What pipelining the job store's scripts saves, in process against a private redis-server.

Concurrent jobs run as a worker's loop runs them: each is created, then, from a random phase,
streams ``--tokens`` tokens ``--token-delay-ms`` apart through the worker's own delta writer
(appends at most every 20 ms after the first) into ``JobStore.append``, and ends with its done
event. Two ways, in
alternating rounds of one run:

- one call each: every script call goes on its own, as redis-py sends it (the way before);
- pipelined: the calls of one loop turn go as one pipeline (``shared.auto_pipeline``).

It prints, per job, this process's CPU ms (the store's side: redis-py, the socket, the loop),
redis-server's CPU ms, Redis reads (about one per round trip) and appends, medians over rounds.

    python -m bench.pipelining [--quick] [--jobs N] [--concurrency C] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psutil
import uvloop
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, KeyT
from rich.console import Console
from rich.table import Table

from shared.auto_pipeline import AutoPipeline
from shared.events import DeltaEvent, StartEvent
from shared.jobs import JobStatus
from shared.jobstore import JobStore
from shared.keys import RedisKeys
from shared.redis_client import connect_redis
from shared.settings import Settings
from tests.stack import require_redis_server
from tests.unit.specs import demo_spec, done_event
from workers.delta_writer import DeltaWriter

DELTA_INTERVAL_S = Settings.model_fields["delta_interval_s"].default


class OneCallEach(AutoPipeline):
    """Every call on its own, as redis-py's script objects send them."""

    async def run(
        self, script: AsyncScript | None, keys: Sequence[KeyT], args: Sequence[EncodableT]
    ) -> Any:
        if script is None:
            return await self.redis.execute_command(*args)  # type: ignore[no-untyped-call,unused-ignore]
        return await script(keys=keys, args=args)


@dataclass(frozen=True)
class Round:
    way: str
    jobs: int
    client_ms: float
    redis_ms: float
    reads: int
    appends: int

    def per_job(self) -> dict[str, float]:
        return {
            "client_ms": self.client_ms / self.jobs,
            "redis_ms": self.redis_ms / self.jobs,
            "reads": self.reads / self.jobs,
            "appends": self.appends / self.jobs,
        }


async def stream_job(store: JobStore, tokens: int, delay_s: float) -> int:
    """One job as the worker runs it; returns its appends."""
    spec = demo_spec()
    await store.create(spec)
    appends = 0

    async def append(delta: DeltaEvent, first_at: float | None) -> None:
        nonlocal appends
        appends += 1
        await store.append(spec.id, delta)

    await asyncio.sleep(random.uniform(0, delay_s))  # streams do not tick in step
    await store.append(spec.id, StartEvent(provider="p", model="m"))
    writer = DeltaWriter(append, DELTA_INTERVAL_S)
    for _ in range(tokens):
        await asyncio.sleep(delay_s)
        writer.put("token ", "")
    await writer.close()
    await store.append(spec.id, done_event(), ends_as=JobStatus.SUCCEEDED)
    return appends + 3


async def run_round(
    way: str, redis: Redis, server: psutil.Process, options: argparse.Namespace
) -> Round:
    scripts = OneCallEach(redis) if way == "one call each" else AutoPipeline(redis)
    keys = RedisKeys(prefix=f"bench-pipelining-{time.monotonic_ns()}")
    store = JobStore(redis, keys, scripts=scripts)
    await store.load_scripts()
    limit = asyncio.Semaphore(options.concurrency)

    async def one() -> int:
        async with limit:
            return await stream_job(store, options.tokens, options.token_delay_ms / 1e3)

    await asyncio.gather(*(one() for _ in range(options.concurrency)))  # warm-up
    reads_before = int((await redis.info("stats"))["total_reads_processed"])
    cpu_before, server_before = time.process_time(), _cpu_s(server)
    appends = sum(await asyncio.gather(*(one() for _ in range(options.jobs))))
    cpu_after, server_after = time.process_time(), _cpu_s(server)
    reads_after = int((await redis.info("stats"))["total_reads_processed"])
    return Round(
        way,
        options.jobs,
        client_ms=(cpu_after - cpu_before) * 1e3,
        redis_ms=(server_after - server_before) * 1e3,
        reads=reads_after - reads_before - 1,  # the INFO before
        appends=appends,
    )


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def run(options: argparse.Namespace) -> list[Round]:
    server = require_redis_server()
    try:
        redis = connect_redis(Settings(redis_url=server.url))
        # EmbeddedRedis exposes no pid (bench.stack reads it the same way).
        assert server._process is not None
        process = psutil.Process(server._process.pid)
        rounds = []
        for number in range(options.rounds):
            ways = ("one call each", "pipelined")
            for way in ways if number % 2 == 0 else reversed(ways):
                rounds.append(await run_round(way, redis, process, options))
        await redis.aclose()
        return rounds
    finally:
        server.stop()


def report(rounds: list[Round], options: argparse.Namespace) -> None:
    table = Table(
        title=f"{options.jobs} jobs per round at concurrency {options.concurrency}, "
        f"{options.tokens} tokens {options.token_delay_ms:g} ms apart, "
        f"medians of {options.rounds} rounds"
    )
    for column in ("way", "this process CPU ms / job", "redis CPU ms / job", "reads / job"):
        table.add_column(column, justify="right")
    table.add_column("appends / job", justify="right")
    for way in ("one call each", "pipelined"):
        figures = [r.per_job() for r in rounds if r.way == way]
        median = {name: statistics.median(f[name] for f in figures) for name in figures[0]}
        table.add_row(
            way,
            f"{median['client_ms']:.3f}",
            f"{median['redis_ms']:.3f}",
            f"{median['reads']:.1f}",
            f"{median['appends']:.1f}",
        )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs, for a smoke run")
    parser.add_argument("--jobs", type=int, default=None, help="per round (default 1000)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--token-delay-ms", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=None, help="per way (default 4)")
    options = parser.parse_args()
    options.jobs = options.jobs or (100 if options.quick else 1000)
    options.rounds = options.rounds or (2 if options.quick else 4)
    report(uvloop.run(run(options)), options)


if __name__ == "__main__":
    main()
