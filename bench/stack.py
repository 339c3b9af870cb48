"""The whole stack a benchmark measures: a private redis-server, the fake provider, a worker
(and a batch worker when asked) and a gateway, all stopped on the way out."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.cli.redis_server import EmbeddedRedis
from tests.fakes.provider import FakeProvider
from tests.stack import (
    FAKE_KEY,
    Process,
    create_api_key,
    require_redis_server,
    stack_config,
    stack_env,
    start_gateway,
    start_worker,
    write_config,
)

BATCH_QUEUE = "llm.batch"


@dataclass(frozen=True)
class BenchStack:
    fake: FakeProvider
    base_url: str
    api_key: str
    worker: Process
    log_dir: Path
    gateway: Process
    redis: EmbeddedRedis

    @property
    def redis_url(self) -> str:
        return self.redis.url

    def server_pids(self) -> dict[str, int]:
        """The pid of each process of the stack: gateway, worker, redis (the redis-server) and
        fake (the fake provider), for a benchmark that reads their CPU time."""
        # Both are private to their owners, which expose no pid; reading them here keeps the
        # test helpers as they are.
        redis_process = self.redis._process
        fake_process = self.fake._proc
        if redis_process is None or fake_process is None:
            raise RuntimeError("the stack's redis-server or fake provider is not running")
        return {
            "gateway": self.gateway.popen.pid,
            "worker": self.worker.popen.pid,
            "redis": redis_process.pid,
            "fake": fake_process.pid,
        }


@contextmanager
def bench_stack(name: str, *, batch_worker: bool = False) -> Iterator[BenchStack]:
    redis = require_redis_server()
    log_dir = Path(tempfile.mkdtemp(prefix=f"llm-bench-{name}-"))
    with ExitStack() as running:
        running.callback(print, f"\nlogs: {log_dir}")
        running.callback(redis.stop)
        fake = running.enter_context(FakeProvider(require_key=FAKE_KEY))
        config = {
            **stack_config(fake, keepalive_interval_s=15),
            "batch": {"storage_dir": str(log_dir / "files")},
        }
        env = stack_env(redis.url, write_config(log_dir / "config.yaml", config))
        worker = start_worker(env, log_dir, redis.url)
        running.callback(worker.stop)
        if batch_worker:
            batch = start_worker(env, log_dir, redis.url, "batch-worker", queue=BATCH_QUEUE)
            running.callback(batch.stop)
        gateway, base_url = start_gateway(env, log_dir)
        running.callback(gateway.stop)
        api_key = create_api_key(base_url, f"benchmark-{name}")
        yield BenchStack(fake, base_url, api_key, worker, log_dir, gateway, redis)


def bench_parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's argument parser, with ``--quick`` for fewer requests (a smoke run); a
    benchmark with more options adds them to it."""
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    return parser


def bench_main(run: Callable[[bool], Coroutine[Any, Any, None]], doc: str | None) -> None:
    """The command line of a benchmark: ``--quick`` for fewer requests (a smoke run)."""
    asyncio.run(run(bench_parser(doc).parse_args().quick))
