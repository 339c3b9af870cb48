"""Stopping a batch: a cancel or the end of its completion window stops new and running
requests, keeps what finished, and lists every other request as not run."""

from __future__ import annotations

import json
import time

import httpx
import redis

from tests.batch_helpers import batch_worker, create_batch, file_lines, request_line, wait_for_batch
from tests.conftest import Stack
from tests.helpers import directive

__all__ = ["batch_worker"]

REQUESTS = 300


def slow_lines(prefix: str) -> list[dict[str, object]]:
    return [
        request_line(f"{prefix}-{i}", directive(tokens=10, token_delay_ms=30))
        for i in range(REQUESTS)
    ]


def wait_for_completed(client: httpx.Client, batch_id: str, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while client.get(f"/v1/batches/{batch_id}").json()["request_counts"]["completed"] < at_least:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def check_stopped(client: httpx.Client, batch: dict[str, object], status: str, code: str) -> None:
    counts = batch["request_counts"]
    assert isinstance(counts, dict)
    assert batch["status"] == status, batch
    assert counts["total"] == REQUESTS
    assert counts["completed"] + counts["failed"] == REQUESTS
    assert 0 < counts["completed"] < REQUESTS
    output = file_lines(client, str(batch["output_file_id"]))
    errors = file_lines(client, str(batch["error_file_id"]))
    assert len(output) == counts["completed"]
    assert all(line["response"]["status_code"] == 200 for line in output)
    assert {e["error"]["code"] for e in errors} == {code}
    assert all(e["response"] is None for e in errors)
    ids = [line["custom_id"] for line in output + errors]
    assert len(ids) == len(set(ids)) == REQUESTS


def test_cancelling_keeps_finished_results(batch_worker: object, client: httpx.Client) -> None:
    batch = create_batch(client, slow_lines("c"))
    wait_for_completed(client, batch["id"], 40)
    answer = client.post(f"/v1/batches/{batch['id']}/cancel")
    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelling"
    assert answer.json()["cancelling_at"] is not None
    done = wait_for_batch(client, batch["id"])
    assert done["cancelled_at"] is not None
    check_stopped(client, done, "cancelled", "batch_cancelled")
    again = client.post(f"/v1/batches/{batch['id']}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "batch_finished"


def test_a_batch_past_its_window_expires_with_what_finished(
    batch_worker: object, stack: Stack, client: httpx.Client
) -> None:
    batch = create_batch(client, slow_lines("e"))
    wait_for_completed(client, batch["id"], 40)
    # Bring the end of the completion window forward to now.
    store = redis.Redis.from_url(stack.redis_url)
    key = f"llm:batch:{{{batch['id']}}}"
    spec = json.loads(store.hget(key, "spec") or b"{}")
    spec["expires_at"] = int(time.time())
    store.hset(key, "spec", json.dumps(spec))
    store.close()
    done = wait_for_batch(client, batch["id"])
    assert done["expired_at"] is not None
    check_stopped(client, done, "expired", "batch_expired")
