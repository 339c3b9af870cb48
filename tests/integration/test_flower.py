"""Flower against a real worker: behind basic auth, workers named by their queue, and each
job's task in the state of the job's outcome, with its id as the only argument."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from gateway.cli.redis_server import free_port
from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, JOBS_URL, STREAM_URL, chat, directive, wait_for_status
from tests.stack import ROOT, create_api_key, start_gateway, start_worker

pytestmark = pytest.mark.integration

LOGIN = ("operator", uuid.uuid4().hex)


@pytest.fixture
def flower(stack: Stack, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            f"--broker={stack.redis_url}",
            "flower",
            "--address=127.0.0.1",
            f"--port={port}",
            f"--basic-auth={LOGIN[0]}:{LOGIN[1]}",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthcheck", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "Flower did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def until(check: Any, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "Flower never showed it"
        time.sleep(0.2)


def test_flower_shows_named_workers_and_true_task_states(
    stack: Stack, flower: str, tmp_path: Path
) -> None:
    assert httpx.get(f"{flower}/api/workers", timeout=10).status_code == 401
    assert httpx.get(f"{flower}/api/tasks", timeout=10).status_code == 401
    assert (
        httpx.get(f"{flower}/api/workers", auth=("operator", "wrong"), timeout=10).status_code
        == 401
    )

    queue = f"flower.{uuid.uuid4().hex[:8]}"
    env = {**stack.env, "LLM_GATEWAY_INTERACTIVE_QUEUE": queue}
    worker = start_worker(env, tmp_path, stack.redis_url, queue=queue, loglevel="INFO")
    gateway, base_url = start_gateway(env, tmp_path)
    try:
        workers = until(
            lambda: [
                name
                for name in httpx.get(
                    f"{flower}/api/workers", params={"refresh": "1"}, auth=LOGIN, timeout=20
                ).json()
                if name.startswith(f"{queue}-")
            ]
        )
        assert len(workers) == 1
        # A worker sends task events once a monitor asks (Flower does every 5 s).
        until(lambda: "Events of group {task} enabled" in worker.log_path.read_text("utf-8"))
        key = create_api_key(base_url, "flower")
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            ok = client.post(COMPLETE_URL, json=chat("hello", model="fake"))
            assert ok.status_code == 200
            submitted = client.post(JOBS_URL, json=chat(directive(status=400), model="fake"))
            failed_id = submitted.json()["id"]
            assert wait_for_status(client, failed_id, {"failed", "succeeded"})["status"] == "failed"
            slow = {"prompt": directive(tokens=200, token_delay_ms=50)}
            with connect_sse(client, "GET", STREAM_URL, params=slow) as source:
                cancelled_id = source.response.headers["x-job-id"]
                for event in source.iter_sse():
                    if event.event == "delta":
                        break  # leaving cancels the job
        expected = {
            ok.headers["x-job-id"]: "SUCCESS",
            failed_id: "FAILURE",
            cancelled_id: "REVOKED",
        }

        def tasks() -> dict[str, Any] | None:
            found: dict[str, Any] = httpx.get(f"{flower}/api/tasks", auth=LOGIN, timeout=10).json()
            states = {job: found.get(job, {}).get("state") for job in expected}
            # A job cancelled at once may be REVOKED in Flower before its task-received event
            # (sent batched, tens of ms later) brings its args.
            received = all(found.get(job, {}).get("args") for job in expected)
            return found if states == expected and received else None

        found = until(tasks)
        for job_id in expected:
            task = found[job_id]
            assert task["args"] == repr([job_id])  # ids only: no prompt, no key
            assert task["worker"] == workers[0]
        assert "provider" in found[failed_id]["exception"]
    finally:
        gateway.stop()
        worker.stop()
