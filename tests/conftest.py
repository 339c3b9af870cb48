"""Session-wide real parts: a private redis-server, the fake provider, a worker and a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from gateway.cli.redis_server import free_port
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


@dataclass
class Stack:
    base_url: str
    redis_url: str
    redis: redis.Redis
    fake: FakeProvider
    env: dict[str, str]
    log_dir: Path
    worker: Process
    gateway: Process
    api_key: str | None = None  # sent by every client when the stack requires keys
    worker_metrics_url: str = ""  # the session worker's Prometheus metrics

    @property
    def key_id(self) -> str:
        """The owner of the jobs this stack's key starts (keys read lgw-<id>-<secret>)."""
        return self.api_key.split("-")[1] if self.api_key else "anonymous"

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def client(self, timeout_s: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=timeout_s, headers=self.auth_headers)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server = require_redis_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=FAKE_KEY) as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(
    redis_url: str, fake_provider: FakeProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("stack")
    config = write_config(
        log_dir / "config.yaml",
        {
            **stack_config(fake_provider, keepalive_interval_s=0.5),
            "http_head_timeout_s": 2,  # a stalled request is cut within a test's patience
            # Files in the session's directory; a short lease, so a killed batch worker's
            # batch is taken over within seconds.
            "batch": {"storage_dir": str(log_dir / "files"), "lease_ttl_s": 3},
        },
    )
    env = stack_env(redis_url, config)
    # Only the session's worker serves metrics: workers that tests start share the env.
    metrics_port = free_port()
    worker_env = {**env, "LLM_GATEWAY_WORKER_METRICS_PORT": str(metrics_port)}
    worker = start_worker(worker_env, log_dir, redis_url)
    try:
        gateway, base_url = start_gateway(env, log_dir)
    except BaseException:
        worker.stop()
        raise
    client = redis.Redis.from_url(redis_url)
    api_key = create_api_key(base_url, "tests")
    try:
        yield Stack(
            base_url,
            redis_url,
            client,
            fake_provider,
            env,
            log_dir,
            worker,
            gateway,
            api_key,
            worker_metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        )
    finally:
        gateway.stop()
        worker.stop()
        client.close()


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client() as http:
        yield http
