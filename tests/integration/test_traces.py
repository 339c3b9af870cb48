"""One trace per request across gateway, queue and worker, read with the OpenTelemetry SDK's
in-memory exporter: the gateway (uvicorn) and a Celery worker run in this process, on real
sockets, real Redis and the fake provider; the trace context crosses in the task's headers."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from celery.contrib.testing.worker import start_worker
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.cli.redis_server import free_port
from shared.queue import create_celery
from shared.settings import Settings, load_settings
from shared.tracing import Tracing
from tests.conftest import Stack
from tests.helpers import COMPLETE_URL, chat, directive
from tests.stack import FAKE_KEY, stack_config, write_config
from workers.main import register_tasks
from workers.metrics import WorkerMetrics
from workers.runtime import WorkerRuntime
from workers.task_events import TaskEventsGate
from workers.telemetry import JobTelemetry

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, InMemorySpanExporter]]:
    monkeypatch.setenv("FAKE_PROVIDER_KEY", FAKE_KEY)
    queue = f"traces.{uuid.uuid4().hex[:8]}"
    config = write_config(
        tmp_path / "config.yaml", stack_config(stack.fake, keepalive_interval_s=1)
    )
    settings: Settings = load_settings(
        config, redis_url=stack.redis_url, interactive_queue=queue, auth_enabled=False
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = Tracing(provider)

    worker_id = f"{queue}-traces@test"
    telemetry = JobTelemetry(settings, WorkerMetrics(), tracing, queue=queue)
    app = create_celery(settings)
    runtime = WorkerRuntime(settings, worker_id, [queue], celery=app, telemetry=telemetry)
    register_tasks(app, runtime, TaskEventsGate(settings.task_events))
    runtime.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, tracing=tracing), port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            queues=[queue],
            hostname=worker_id,
            loglevel="WARNING",
        ):
            while not server.started:
                time.sleep(0.02)
            yield base_url, exporter
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        runtime.stop()


def spans_of(exporter: InMemorySpanExporter, trace_id: int, wanted: int) -> list[ReadableSpan]:
    deadline = time.monotonic() + 15
    while True:
        spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
        if len(spans) >= wanted or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def test_one_trace_spans_gateway_queue_and_worker(
    traced: tuple[str, InMemorySpanExporter],
) -> None:
    base_url, exporter = traced
    answer = httpx.post(
        f"{base_url}{COMPLETE_URL}",
        json=chat(f'{directive(tokens=4)} FAKE:fake-a{{"status": 503}}', model="chain"),
        timeout=30,
    )
    assert answer.status_code == 200
    (server,) = [s for s in exporter.get_finished_spans() if s.name == "POST /api/v1/llm/complete"]
    spans = spans_of(exporter, server.context.trace_id, wanted=6)
    by_name = {s.name: s for s in spans}
    assert attributes(server)["http.route"] == "/api/v1/llm/complete"
    enqueue, job = by_name["enqueue"], by_name["job chain"]
    assert enqueue.parent is not None and enqueue.parent.span_id == server.context.span_id
    # The worker's spans continue the gateway's trace, under the enqueue span.
    assert job.parent is not None and job.parent.span_id == enqueue.context.span_id
    assert by_name["queue wait"].parent.span_id == enqueue.context.span_id  # type: ignore[union-attr]
    attempts = [s for s in spans if s.name.startswith("chat ")]
    assert [s.name for s in attempts] == ["chat fake-a", "chat fake-b"]
    failed, answered = attempts
    for attempt in attempts:
        assert attempt.parent is not None and attempt.parent.span_id == job.context.span_id
    fallback_attributes = dict(job.events[0].attributes or {})
    assert attributes(failed)["error.type"] == fallback_attributes["error.type"]
    gen_ai = attributes(answered)
    assert gen_ai["gen_ai.operation.name"] == "chat"
    assert gen_ai["gen_ai.system"] == "openai"
    assert gen_ai["gen_ai.request.model"] == gen_ai["gen_ai.response.model"] == "fake-b"
    assert gen_ai["gen_ai.usage.output_tokens"] == 4
    assert gen_ai["gen_ai.usage.input_tokens"] > 0
    # A JSON request's answer is asked for whole: the attempt saw no first token apart from it.
    assert "gen_ai.server.time_to_first_token" not in gen_ai
    (fallback,) = job.events
    assert fallback.name == "llm_gateway.fallback"
    assert fallback.attributes is not None
    assert fallback.attributes["llm_gateway.next_provider"] == "fake_backup"
    assert attributes(job)["llm_gateway.outcome"] == "succeeded"
