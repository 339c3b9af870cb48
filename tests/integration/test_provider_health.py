"""Provider health shared by every worker: the circuit opens, is skipped by all workers, is
probed once after a pause and closes again; the gateway reports it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.conftest import Stack
from tests.helpers import STREAM_URL, chat, data, new_tag
from tests.stack import start_worker


@pytest.fixture
def second_worker(stack: Stack) -> Iterator[None]:
    worker = start_worker(stack.env, stack.log_dir, stack.redis_url, name="worker2")
    try:
        yield
    finally:
        worker.stop()


def stream_events(stack: Stack, body: dict[str, Any]) -> list[Any]:
    with (
        stack.client() as client,
        connect_sse(client, "POST", STREAM_URL, json=body) as source,
    ):
        return list(source.iter_sse())


def circuit_of(client: httpx.Client, provider: str, model: str) -> str:
    providers = client.get("/api/v1/llm/providers").json()["data"]
    report = next(p for p in providers if p["name"] == provider)
    return str(next(c["state"] for c in report["circuits"] if c["model"] == model))


def test_circuit_opens_is_shared_by_all_workers_then_probes_and_closes(
    stack: Stack, client: httpx.Client, second_worker: None
) -> None:
    for key in stack.redis.scan_iter("llm:circuit:*"):
        stack.redis.delete(key)
    failing = new_tag()
    failing_prompt = "FAKE:fake-c" + json.dumps({"status": 503, "tag": failing})
    for _ in range(3):  # the test stack opens a circuit after 3 failures
        events = stream_events(stack, chat(failing_prompt, model="guarded"))
        assert events[-1].event == "done"  # fallback still served every one of them
    assert circuit_of(client, "fake", "fake-c") == "open"
    assert len(stack.fake.requests(failing)) == 3

    # While it is open, no worker (two are running) sends fake-c anything.
    skipped = new_tag()
    prompt = "FAKE:fake-c" + json.dumps({"tag": skipped})
    with ThreadPoolExecutor(8) as pool:
        runs = list(
            pool.map(lambda _: stream_events(stack, chat(prompt, model="guarded")), range(8))
        )
    assert all(run[-1].event == "done" for run in runs)
    assert all(data(run[0])["provider"] == "fake_backup" for run in runs)
    assert stack.fake.requests(skipped) == []
    health = client.get("/api/v1/health").json()
    assert health["providers"]["fake"] == "degraded"
    assert health["status"] == "ok"  # an upstream outage does not make the gateway unready

    time.sleep(1.6)  # open_s in the test stack is 1.5 s: the next request probes
    probe = new_tag()
    events = stream_events(stack, chat("FAKE:fake-c" + json.dumps({"tag": probe}), model="guarded"))
    assert data(events[0])["provider"] == "fake"
    assert len(stack.fake.requests(probe)) == 1
    assert circuit_of(client, "fake", "fake-c") == "closed"


def test_provider_list_reports_health_error_rate_and_latency(
    stack: Stack, client: httpx.Client
) -> None:
    stream_events(stack, chat("FAKE{}", model="fake"))
    deadline = time.monotonic() + 10  # workers add their counters every few seconds
    while True:
        providers = {p["name"]: p for p in client.get("/api/v1/llm/providers").json()["data"]}
        if providers["fake"]["recent"]["requests"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {"fake", "fake_backup", "demo"} <= set(providers)
    fake = providers["fake"]
    assert fake["kind"] == "openai_compatible"
    assert fake["enabled"] is True
    assert {"fake-model", "fake-a"} <= {c["model"] for c in fake["circuits"]}
    recent = fake["recent"]
    assert recent["requests"] >= 1
    assert recent["avg_time_to_first_token_ms"] is not None
    assert 0 <= recent["error_rate"] <= 1


def test_provider_models_lists_configured_and_upstream(client: httpx.Client) -> None:
    body = client.get("/api/v1/llm/providers/fake/models").json()
    assert {"fake-model", "fake-a", "fake-c"} <= set(body["configured"])
    assert body["upstream"]  # the fake's own /models answered
    assert body["upstream_error"] is None
    missing = client.get("/api/v1/llm/providers/nobody/models")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "provider_not_found"
