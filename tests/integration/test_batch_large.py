"""A batch of thousands of requests: every custom_id comes back exactly once, failures in the
error file, counts that add up."""

from __future__ import annotations

import collections

import httpx
import pytest

from tests.batch_helpers import batch_worker, create_batch, file_lines, request_line, wait_for_batch
from tests.helpers import directive

__all__ = ["batch_worker"]

REQUESTS = 3000
FAIL_EVERY = 50


@pytest.mark.timeout(600)
def test_thousands_of_requests_each_come_back_once(
    batch_worker: object, client: httpx.Client
) -> None:
    lines = []
    for i in range(REQUESTS):
        if i % FAIL_EVERY == 7:
            prompt = directive(status=400, error_message=f"scripted failure {i}")
        else:
            prompt = directive(tokens=3, token_delay_ms=1)
        lines.append(request_line(f"req-{i}", prompt, max_tokens=16))
    batch = create_batch(client, lines)
    done = wait_for_batch(client, batch["id"], timeout_s=500)
    assert done["status"] == "completed", done

    failures = len([i for i in range(REQUESTS) if i % FAIL_EVERY == 7])
    assert done["request_counts"] == {
        "total": REQUESTS,
        "completed": REQUESTS - failures,
        "failed": failures,
    }
    output = file_lines(client, done["output_file_id"])
    errors = file_lines(client, done["error_file_id"])
    seen = collections.Counter(line["custom_id"] for line in output + errors)
    assert len(seen) == REQUESTS
    assert max(seen.values()) == 1
    assert {e["custom_id"] for e in errors} == {
        f"req-{i}" for i in range(REQUESTS) if i % FAIL_EVERY == 7
    }
    assert all(e["error"]["code"] == "provider_rejected" for e in errors)
    assert all(
        line["response"]["body"]["choices"][0]["message"]["content"] == "t1 t2 t3"
        for line in output
    )
    assert len({line["id"] for line in output + errors}) == REQUESTS
