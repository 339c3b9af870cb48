"""What the batch tests share: batch worker processes, input lines, uploads and waiting."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Stack
from tests.stack import Process, start_worker

BATCH_QUEUE = "llm.batch"
ENDED = {"completed", "failed", "expired", "cancelled"}


def start_batch_worker(stack: Stack, name: str = "batch-worker") -> Process:
    """A worker of the batch queue only; returns once it heartbeats."""
    return start_worker(stack.env, stack.log_dir, stack.redis_url, name, queue=BATCH_QUEUE)


@pytest.fixture(scope="module")
def batch_worker(stack: Stack) -> Iterator[Process]:
    worker = start_batch_worker(stack)
    try:
        yield worker
    finally:
        worker.stop()


def request_line(custom_id: str, prompt: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "fake", "messages": [{"role": "user", "content": prompt}], **body},
    }


def jsonl(lines: list[Any]) -> bytes:
    return b"".join(
        (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\n" for line in lines
    )


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(jsonl(lines))
    return path


def upload(client: httpx.Client, content: bytes, filename: str = "in.jsonl") -> dict[str, Any]:
    response = client.post(
        "/v1/files", files={"file": (filename, content)}, data={"purpose": "batch"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def create_batch(client: httpx.Client, lines: list[Any], **extra: Any) -> dict[str, Any]:
    file = upload(client, jsonl(lines))
    response = client.post(
        "/v1/batches",
        json={
            "input_file_id": file["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_for_batch(
    client: httpx.Client,
    batch_id: str,
    statuses: set[str] = ENDED,
    timeout_s: float = 60,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        batch: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in statuses:
            return batch
        if time.monotonic() > deadline:
            raise AssertionError(f"batch {batch_id} stayed {batch['status']}, wanted {statuses}")
        time.sleep(0.1)


def file_lines(client: httpx.Client, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    response = client.get(f"/v1/files/{file_id}/content")
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line]
