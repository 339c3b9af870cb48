"""A stack of its own for fault tests, whose parts a test may kill: a redis-server with an
append-only file that can be killed and restarted on the same port, workers and gateways
started and stopped at will, all real processes (the session's stack stays untouched)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from gateway.cli.redis_server import free_port, wait_for_port, wait_until_loaded
from tests.fakes.provider import FakeProvider
from tests.stack import (
    Process,
    create_api_key,
    stack_config,
    stack_env,
    start_gateway,
    start_worker,
    write_config,
)

# Short leases, so a killed worker's jobs are recovered within seconds.
LEASE_TTL_S = 2
RECOVERY_INTERVAL_S = 0.5


@dataclass
class AofRedis:
    """redis-server keeping an append-only file (fsync'd every second), as `up --data-dir` runs
    it; ``kill()`` is SIGKILL, ``start()`` brings it back on the same port with its data."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None, "fault tests need redis-server"
        self.process = subprocess.Popen(
            [
                executable,
                *("--bind", "127.0.0.1", "--port", str(self.port), "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "everysec"),
                *("--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port, timeout_s=10)
        wait_until_loaded(self.url, timeout_s=30)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class FaultStack:
    """Redis, the fake provider, workers and gateways of one fault test module."""

    redis_server: AofRedis
    fake: FakeProvider
    env: dict[str, str]
    log_dir: Path
    workers: list[Process] = field(default_factory=list)
    gateways: list[tuple[Process, str]] = field(default_factory=list)
    api_key: str = ""

    @property
    def base_url(self) -> str:
        return self.gateways[0][1]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_server.url)

    def client(self, base_url: str | None = None, timeout_s: float = 30) -> httpx.Client:
        return httpx.Client(
            base_url=base_url or self.base_url, timeout=timeout_s, headers=self.headers
        )

    def start_worker(self, name: str | None = None) -> Process:
        name = name or f"worker-{len(self.workers) + 1}"
        worker = start_worker(self.env, self.log_dir, self.redis_server.url, name=name)
        self.workers.append(worker)
        return worker

    def start_gateway(self) -> tuple[Process, str]:
        started = start_gateway(self.env, self.log_dir, name=f"gateway-{len(self.gateways) + 1}")
        self.gateways.append(started)
        return started

    def stop(self) -> None:
        for process, _ in self.gateways:
            process.stop()
        for worker in self.workers:
            worker.stop()
        self.redis_server.kill()


@contextlib.contextmanager
def fault_stack(
    fake: FakeProvider, log_dir: Path, *, workers: int = 1, **config: Any
) -> Iterator[FaultStack]:
    """A fresh stack: its own Redis (AOF) in ``log_dir``, ``workers`` workers, one gateway."""
    redis_server = AofRedis(log_dir / "redis")
    redis_server.directory.mkdir(parents=True, exist_ok=True)
    redis_server.start()
    settings = {
        **stack_config(fake, keepalive_interval_s=0.5),
        "job_lease_ttl_s": LEASE_TTL_S,
        "recovery_interval_s": RECOVERY_INTERVAL_S,
        **config,
    }
    env = stack_env(redis_server.url, write_config(log_dir / "config.yaml", settings))
    stack = FaultStack(redis_server, fake, env, log_dir)
    try:
        for _ in range(workers):
            stack.start_worker()
        stack.start_gateway()
        stack.api_key = create_api_key(stack.base_url, "faults")
        yield stack
    finally:
        stack.stop()


def kill(process: Process, signum: signal.Signals = signal.SIGKILL) -> None:
    process.popen.send_signal(signum)


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
