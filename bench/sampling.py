"""What the stack's processes spent, read before and after a load: CPU per process and per
worker thread, Redis commands and reads; and the load itself."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from bench.shapes import Call

# Redis commands the benchmark itself sends between its samples.
OWN_COMMANDS = {"info", "client|list", "monitor", "echo"}


def process_cpu_s(process: psutil.Process, *, children: bool = True) -> float:
    """User + system seconds of the process (all its threads) and of its live children."""
    total = 0.0
    family = [process, *process.children(recursive=True)] if children else [process]
    for each in family:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
        if children:
            total += times.children_user + times.children_system
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent on anything but idling, every core summed."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass
class Sample:
    at: float
    cpu_s: dict[str, float]
    commands: dict[str, int]
    reads: int
    worker_threads: dict[int, float]  # thread id -> user + system s

    @staticmethod
    def take(processes: dict[str, psutil.Process], stats: redis.Redis) -> Sample:
        cpu = {name: process_cpu_s(p) for name, p in processes.items()}
        # The benchmark's own process: every server is its child, so without them.
        cpu["client"] = process_cpu_s(psutil.Process(), children=False)
        cpu["machine"] = machine_busy_s()
        commandstats: dict[str, Any] = stats.info("commandstats")
        commands = {
            name.removeprefix("cmdstat_"): int(values["calls"])
            for name, values in commandstats.items()
        }
        reads = int(stats.info("stats")["total_reads_processed"])
        return Sample(time.perf_counter(), cpu, commands, reads, thread_cpu_s(processes["worker"]))


def thread_cpu_s(process: psutil.Process) -> dict[int, float]:
    """CPU seconds of each thread: from schedstat where Linux has it (nanoseconds, where
    psutil's per-thread ticks would round a pool thread's short turns away)."""
    times = {}
    for thread in process.threads():
        try:
            schedstat = Path(f"/proc/{process.pid}/task/{thread.id}/schedstat").read_text()
            times[thread.id] = int(schedstat.split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            times[thread.id] = thread.user_time + thread.system_time
    return times


def worker_thread_ms(before: Sample, after: Sample, worker_pid: int) -> dict[str, float]:
    """The worker's CPU by thread: the main thread runs Celery's consumer (kombu's hub), the
    busiest other one is the jobs' event loop (``llm-io``), the rest are Celery's pool threads
    (each waits for its job) and helpers."""
    spent = {
        tid: (cpu - before.worker_threads.get(tid, 0.0)) * 1e3
        for tid, cpu in after.worker_threads.items()
    }
    consumer = spent.pop(worker_pid, 0.0)
    loop = max(spent.values(), default=0.0)
    return {"consumer": consumer, "loop": loop, "pool": sum(spent.values()) - loop}


@dataclass
class Phase:
    """What one load of ``requests`` requests cost: totals over the phase."""

    requests: int
    failures: int
    elapsed_s: float
    cpu_ms: dict[str, float]  # per process, and client, machine, other (everything else)
    commands: dict[str, int]
    reads: int
    worker_threads_ms: dict[str, float]

    @staticmethod
    def between(
        before: Sample, after: Sample, requests: int, failures: int, worker_pid: int
    ) -> Phase:
        cpu_ms = {name: (after.cpu_s[name] - before.cpu_s[name]) * 1e3 for name in after.cpu_s}
        accounted = sum(v for name, v in cpu_ms.items() if name != "machine")
        cpu_ms["other"] = max(0.0, cpu_ms["machine"] - accounted)
        commands = {
            name: calls - before.commands.get(name, 0)
            for name, calls in after.commands.items()
            if name not in OWN_COMMANDS and calls - before.commands.get(name, 0) > 0
        }
        return Phase(
            requests,
            failures,
            after.at - before.at,
            cpu_ms,
            commands,
            after.reads - before.reads,
            worker_thread_ms(before, after, worker_pid),
        )

    def per_request(self, name: str) -> float:
        return self.cpu_ms[name] / max(self.requests, 1)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s


async def run_load(call: Call, client: httpx.AsyncClient, requests: int, concurrency: int) -> int:
    """``requests`` calls, ``concurrency`` at a time; returns how many failed."""
    remaining = requests
    failures = 0
    errors: Counter[str] = Counter()

    async def loop() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            try:
                await call(client)
            except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
                failures += 1
                errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    for error, count in errors.most_common(3):
        print(f"  {count} failed: {error}", file=sys.stderr)
    return failures
