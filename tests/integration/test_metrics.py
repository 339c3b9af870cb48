"""Prometheus metrics after real requests: the gateway's /metrics and the worker's own port,
read as a scraper reads them, through every front end, streamed and not."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from gql import gql
from httpx_sse import connect_sse
from openai import OpenAI

from gateway.cli.redis_server import free_port
from shared.queue import create_celery, redis_broker_message
from shared.queue_stats import read_queues
from shared.settings import Settings
from shared.telemetry import HEADER_ENQUEUED_AT
from tests.conftest import Stack
from tests.graphql_helpers import COMPLETE_STREAM, TRANSPORT_WS, collect, http_client, ws_session
from tests.helpers import COMPLETE_URL, STREAM_URL, chat, directive
from tests.metrics_helpers import Samples, label_values, scrape, total, value, wait_until
from tests.stack import ADMIN_KEY, create_api_key

# /metrics on the API port takes the metrics key or the admin key.
SCRAPER = {"Authorization": f"Bearer {ADMIN_KEY}"}

pytestmark = pytest.mark.integration


def both(stack: Stack) -> tuple[Samples, Samples]:
    return scrape(f"{stack.base_url}/metrics", SCRAPER), scrape(stack.worker_metrics_url)


def succeeded(worker: Samples, model: str, provider: str) -> float:
    return value(
        worker,
        "llm_gateway_jobs_total",
        model=model,
        provider=provider,
        outcome="succeeded",
        code="",
    )


def test_every_front_end_counts_its_requests_and_jobs(stack: Stack) -> None:
    gateway_before, worker_before = both(stack)
    prompt = directive(tokens=5)
    with stack.client() as client:
        assert client.post(COMPLETE_URL, json=chat(prompt, model="fake")).status_code == 200
        with connect_sse(client, "GET", STREAM_URL, params={"prompt": prompt}) as source:
            assert [e.event for e in source.iter_sse()][-1] == "done"
    with OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0) as sdk:
        messages = [{"role": "user", "content": prompt}]
        sdk.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]
        stream = sdk.chat.completions.create(
            model="fake",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        )
        assert [chunk for chunk in stream]

    async def graphql() -> None:
        query = gql(
            'query Q($m: [ChatMessageInput!]!) { complete(messages: $m, options: {model: "fake"})'
            " { content } }"
        )
        async with http_client(stack) as session:
            await session.execute(query, variable_values={"m": messages})
        async with ws_session(stack, TRANSPORT_WS) as session:
            items = await collect(
                session, COMPLETE_STREAM, messages=messages, options={"model": "fake"}
            )
            assert items[-1]["type"] == "DONE"

    asyncio.run(graphql())
    wait_until(
        lambda: (
            succeeded(both(stack)[1], "fake", "fake")
            >= succeeded(worker_before, "fake", "fake") + 6
        )
    )
    gateway, worker = both(stack)

    def grew(samples: Samples, before: Samples, name: str, **labels: str) -> float:
        return total(samples, name, **labels) - total(before, name, **labels)

    requests = "llm_gateway_http_requests_total"
    for route, method, count in (
        ("/api/v1/llm/complete", "POST", 1),
        ("/api/v1/llm/complete/stream", "GET", 1),
        ("/v1/chat/completions", "POST", 2),
        ("/graphql", "POST", 1),
    ):
        labels = {"route": route, "method": method, "status": "200"}
        assert grew(gateway, gateway_before, requests, **labels) == count, route
    # Route templates, never raw paths: the query string holds the prompt.
    assert not any("FAKE" in str(labels) for _, labels in gateway)
    assert grew(gateway, gateway_before, "llm_gateway_jobs_submitted_total", model="fake") == 6
    # Every HTTP request's gateway time is measured (a WebSocket has no one arrival time).
    assert grew(gateway, gateway_before, "llm_gateway_overhead_seconds_count", model="fake") == 5
    assert grew(gateway, gateway_before, "llm_gateway_http_request_duration_seconds_count") >= 5

    assert succeeded(worker, "fake", "fake") - succeeded(worker_before, "fake", "fake") == 6
    duration = "llm_gateway_job_duration_seconds_count"
    assert grew(worker, worker_before, duration, model="fake", provider="fake") == 6
    # Three of the six were streamed; the JSON ones were asked for whole, with no first token.
    ttft = "llm_gateway_time_to_first_token_seconds_count"
    assert grew(worker, worker_before, ttft, model="fake", provider="fake") == 3
    assert grew(worker, worker_before, "llm_gateway_queue_wait_seconds_count", model="fake") == 6
    tokens = "llm_gateway_tokens_total"
    # The fake answers 5 tokens to each of the six.
    assert grew(worker, worker_before, tokens, model="fake", provider="fake", type="output") == 30
    assert grew(worker, worker_before, tokens, model="fake", type="input") >= 6
    assert grew(worker, worker_before, "llm_gateway_cost_usd_total", model="fake") > 0
    assert value(worker, "llm_gateway_worker_consuming", queue="llm.interactive") == 1
    # Every session has closed.
    wait_until(
        lambda: (
            value(scrape(f"{stack.base_url}/metrics", SCRAPER), "llm_gateway_active_streams") == 0
        )
    )


def test_failures_fallbacks_and_cancellations_are_told_apart(stack: Stack) -> None:
    _, before = both(stack)
    with stack.client() as client:
        fell_back = client.post(
            COMPLETE_URL, json=chat('FAKE:fake-a{"status": 503}', model="chain")
        )
        assert fell_back.status_code == 200
        refused = client.post(COMPLETE_URL, json=chat(directive(status=400), model="fake"))
        assert refused.status_code >= 400
        code = refused.json()["error"]["code"]
        slow = directive(tokens=200, token_delay_ms=50)
        with connect_sse(client, "GET", STREAM_URL, params={"prompt": slow}) as source:
            for event in source.iter_sse():
                if event.event == "delta":
                    break  # leaving cancels the job

    def failed(samples: Samples) -> float:
        return total(samples, "llm_gateway_jobs_total", model="fake", outcome="failed", code=code)

    def cancelled(samples: Samples) -> float:
        return total(samples, "llm_gateway_jobs_total", model="fake", outcome="cancelled")

    wait_until(lambda: cancelled(scrape(stack.worker_metrics_url)) == cancelled(before) + 1)
    after = scrape(stack.worker_metrics_url)
    assert failed(after) == failed(before) + 1
    assert succeeded(after, "chain", "fake_backup") == succeeded(before, "chain", "fake_backup") + 1
    fallbacks = "llm_gateway_fallbacks_total"
    assert total(after, fallbacks, model="chain", provider="fake") == (
        total(before, fallbacks, model="chain", provider="fake") + 1
    )
    errors = "llm_gateway_provider_errors_total"
    assert label_values(after, errors, "code", model="chain", provider="fake")
    assert (
        total(after, errors, model="fake", code=code)
        == total(before, errors, model="fake", code=code) + 1
    )


def test_rate_limit_and_budget_refusals_by_reason(stack: Stack) -> None:
    before = scrape(f"{stack.base_url}/metrics", SCRAPER)
    limited = create_api_key(stack.base_url, "metrics-rpm", limits={"requests_per_minute": 1})
    budgeted = create_api_key(
        stack.base_url, "metrics-budget", budget={"limit_usd": 0.00001, "period": "day"}
    )
    statuses: dict[str, list[int]] = {}
    for key in (limited, budgeted):
        with httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            for _ in range(3):
                answer = client.post(COMPLETE_URL, json=chat(directive(tokens=4), model="fake"))
                statuses.setdefault(key, []).append(answer.status_code)
    assert statuses[limited][-1] == 429
    assert statuses[budgeted][-1] == 402
    after = scrape(f"{stack.base_url}/metrics", SCRAPER)
    refusals = "llm_gateway_rate_limit_refusals_total"
    # The limit that refused: requests, tokens or concurrency.
    assert value(after, refusals, limit="requests") == value(before, refusals, limit="requests") + 2
    budget = "llm_gateway_budget_refusals_total"
    assert value(after, budget, period="day") >= value(before, budget, period="day") + 1


def test_circuits_and_queues_are_read_on_scrape(stack: Stack) -> None:
    with stack.client() as client:
        for _ in range(3):  # the stack's circuits open after three failures
            client.post(COMPLETE_URL, json=chat(directive(status=503), model="metrics-circuit"))
    samples = scrape(f"{stack.base_url}/metrics", SCRAPER)
    state = "llm_gateway_circuit_state"
    assert value(samples, state, provider="fake", model="fake-metrics-circuit", state="open") == 1
    assert value(samples, state, provider="fake", model="fake-metrics-circuit", state="closed") == 0
    assert value(samples, state, provider="fake_backup", model="fake-b", state="closed") == 1
    assert ("llm_gateway_queue_depth", frozenset({("queue", "llm.interactive")})) in samples
    assert ("llm_gateway_queue_depth", frozenset({("queue", "llm.batch")})) in samples
    assert value(samples, "llm_gateway_queue_depth", queue="llm.interactive") == 0


async def test_queue_depth_and_oldest_age_from_the_broker_lists(stack: Stack) -> None:
    from redis.asyncio import Redis

    queue = f"metrics.q{free_port()}"
    app = create_celery(Settings(redis_url=stack.redis_url))
    broker = Redis.from_url(stack.redis_url)
    try:
        assert (await read_queues(broker, [queue]))[0][0].depth == 0
        for age_s in (30, 20, 10):  # pushed on the left: the oldest is popped first
            headers = {HEADER_ENQUEUED_AT: time.time() - age_s}
            await broker.lpush(queue, redis_broker_message(app, f"job-{age_s}", queue, headers))
        readings, unacked = await read_queues(broker, [queue])
        assert readings[0].depth == 3
        assert 29 <= readings[0].oldest_age_s < 60
        assert unacked >= 0
    finally:
        await broker.delete(queue)
        await broker.aclose()
