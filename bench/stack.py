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
    gateway: Process | None = None
    redis_pid: int | None = None


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
        redis_pid = redis._process.pid if redis._process is not None else None
        yield BenchStack(fake, base_url, api_key, worker, log_dir, gateway, redis_pid)


def bench_main(run: Callable[[bool], Coroutine[Any, Any, None]], doc: str | None) -> None:
    """The command line of a benchmark: ``--quick`` for fewer requests (a smoke run)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    asyncio.run(run(parser.parse_args().quick))
