"""Small helpers the integration tests share."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
from httpx_sse import ServerSentEvent

STREAM_URL = "/api/v1/llm/complete/stream"
COMPLETE_URL = "/api/v1/llm/complete"
JOBS_URL = "/api/v1/jobs"


def directive(**scenario: Any) -> str:
    """The fake provider's instructions for one request, carried in the prompt."""
    return "FAKE" + json.dumps(scenario)


def new_tag() -> str:
    return uuid.uuid4().hex[:12]


def chat(text: str, **options: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **options}


def expected_text(tokens: int) -> str:
    return " ".join(f"t{i}" for i in range(1, tokens + 1))


def data(event: ServerSentEvent) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(event.data)
    return parsed


def content_of(events: list[ServerSentEvent]) -> str:
    return "".join(data(e).get("content", "") for e in events if e.event == "delta")


def wait_for_status(
    client: httpx.Client, job_id: str, statuses: set[str], timeout_s: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = client.get(f"{JOBS_URL}/{job_id}").json()
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stayed {job['status']}, wanted {statuses}")
        time.sleep(0.05)
