"""Readiness tells the truth and recovers by itself: 503 while Redis is gone or no worker
consumes the interactive queue (a worker alive whose consumer stopped counts as none), 200 once
they are back."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from gateway.cli.redis_server import free_port, wait_for_port
from shared.queue import create_celery
from shared.settings import Settings
from tests.conftest import Stack
from tests.stack import Process, create_api_key, start_gateway, start_worker

pytestmark = pytest.mark.integration


def ready(base_url: str) -> int:
    try:
        return httpx.get(f"{base_url}/api/v1/health/ready", timeout=5).status_code
    except httpx.HTTPError:
        return 0


def wait_for(wanted: int, base_url: str, timeout_s: float = 40) -> None:
    deadline = time.monotonic() + timeout_s
    while ready(base_url) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"readiness never became {wanted}")
        time.sleep(0.05)


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        executable = shutil.which("redis-server")
        assert executable is not None
        self.process = subprocess.Popen(
            [
                *(executable, "--bind", "127.0.0.1", "--port", str(self.port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port, timeout_s=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_readiness_follows_redis_down_and_back(
    stack: Stack, own_redis: RedisServer, tmp_path: Path
) -> None:
    env = {**stack.env, "REDIS_URL": own_redis.url}
    worker = start_worker(env, tmp_path, own_redis.url)
    processes: list[Process] = [worker]
    try:
        gateway, base_url = start_gateway(env, tmp_path)
        processes.append(gateway)
        assert ready(base_url) == 200
        own_redis.stop()
        wait_for(503, base_url)
        own_redis.start()  # empty: the worker's heartbeat and the broker come back on their own
        wait_for(200, base_url)
        key = create_api_key(base_url, "after-outage")
        answer = httpx.post(
            f"{base_url}/api/v1/llm/complete",
            json={"messages": [{"role": "user", "content": "hi"}], "model": "fake"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert answer.status_code == 200
    finally:
        for process in processes:
            process.stop()


def test_a_worker_that_stops_consuming_is_reported_and_restarts_its_consumer(
    stack: Stack, tmp_path: Path
) -> None:
    queue = f"ready.{uuid.uuid4().hex[:8]}"
    env = {
        **stack.env,
        "LLM_GATEWAY_INTERACTIVE_QUEUE": queue,
        "LLM_GATEWAY_CONSUMER_STALL_S": "2",
    }
    worker = start_worker(env, tmp_path, stack.redis_url, queue=queue, loglevel="INFO")
    gateway, base_url = start_gateway(env, tmp_path)
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        # Members are "<redis run id>|<worker name>" (shared/lua/worker_heartbeat.lua).
        (name,) = [str(m).split("|", 1)[1] for m in client.zrange(f"llm:workers:{queue}", 0, -1)]
        assert name.startswith(f"{queue}-")  # its name says its queue
        assert ready(base_url) == 200
        # Celery's own remote control: the process lives on, its consumer stops polling.
        app = create_celery(Settings(redis_url=stack.redis_url))
        replies = app.control.cancel_consumer(queue, destination=[name], reply=True, timeout=5)
        assert replies, "the worker did not answer the remote control"
        wait_for(503, base_url)
        health = httpx.get(
            f"{base_url}/api/v1/health",
            headers={"Authorization": f"Bearer {create_api_key(base_url, 'ready')}"},
            timeout=10,
        ).json()
        assert health["checks"]["workers"]["live"] == 0
        assert health["checks"]["workers"]["stalled"] == [name]
        assert worker.popen.poll() is None  # alive, and saying it does not consume
        wait_for(200, base_url)  # it restarted its consumer
        log = worker.log_path.read_text()
        assert "stopped polling" in log and "restarting it" in log
        answer = httpx.post(
            f"{base_url}/api/v1/llm/complete",
            json={"messages": [{"role": "user", "content": "hi"}], "model": "fake"},
            headers={"Authorization": f"Bearer {create_api_key(base_url, 'after')}"},
            timeout=30,
        )
        assert answer.status_code == 200
    finally:
        client.close()
        gateway.stop()
        worker.stop()
