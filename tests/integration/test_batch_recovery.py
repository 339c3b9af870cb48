"""A batch worker killed with SIGKILL mid-batch: another takes the batch over by its lapsed
lease, and nothing is lost or recorded twice; a request that had finished never runs again."""

from __future__ import annotations

import collections
import signal
import time
import uuid

import httpx
import pytest

from tests.batch_helpers import (
    create_batch,
    file_lines,
    request_line,
    start_batch_worker,
    wait_for_batch,
)
from tests.conftest import Stack
from tests.helpers import directive

REQUESTS = 1200
CONCURRENCY = 32  # the default concurrency_per_batch


@pytest.mark.timeout(600)
def test_a_killed_batch_worker_loses_and_duplicates_nothing(
    stack: Stack, client: httpx.Client
) -> None:
    run = uuid.uuid4().hex[:8]
    lines = [
        request_line(
            f"k-{i}", directive(tokens=4, token_delay_ms=5, tag=f"kill-{run}-{i}"), max_tokens=8
        )
        for i in range(REQUESTS)
    ]
    first = start_batch_worker(stack, "batch-worker-doomed")
    second = None
    try:
        batch = create_batch(client, lines)
        deadline = time.monotonic() + 120
        while client.get(f"/v1/batches/{batch['id']}").json()["request_counts"]["completed"] < 300:
            assert time.monotonic() < deadline, "the batch did not get going"
            time.sleep(0.05)
        first.popen.send_signal(signal.SIGKILL)
        first.popen.wait()
        before = client.get(f"/v1/batches/{batch['id']}").json()
        assert before["status"] == "in_progress"
        assert before["request_counts"]["completed"] < REQUESTS

        second = start_batch_worker(stack, "batch-worker-successor")
        done = wait_for_batch(client, batch["id"], timeout_s=400)
    finally:
        first.stop()
        if second is not None:
            second.stop()

    assert done["status"] == "completed", done
    assert done["request_counts"] == {"total": REQUESTS, "completed": REQUESTS, "failed": 0}
    output = file_lines(client, done["output_file_id"])
    assert done["error_file_id"] is None
    seen = collections.Counter(line["custom_id"] for line in output)
    assert set(seen) == {f"k-{i}" for i in range(REQUESTS)}
    assert max(seen.values()) == 1

    # Provider calls per line: one, except for the few in flight when the worker died.
    calls = collections.Counter(
        r["tag"] for r in stack.fake.requests() if (r["tag"] or "").startswith(f"kill-{run}-")
    )
    assert len(calls) == REQUESTS
    rerun = sum(count - 1 for count in calls.values())
    assert rerun <= CONCURRENCY
