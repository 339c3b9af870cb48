"""The streaming spine end to end: gateway → Celery worker → fake provider → Redis → SSE."""

from __future__ import annotations

import asyncio
import threading

import httpx
from httpx_sse import aconnect_sse, connect_sse

from tests.conftest import Stack
from tests.helpers import (
    COMPLETE_URL,
    JOBS_URL,
    STREAM_URL,
    chat,
    content_of,
    data,
    directive,
    expected_text,
    new_tag,
    wait_for_status,
)


def test_stream_delivers_every_token_in_order(client: httpx.Client) -> None:
    with connect_sse(
        client, "POST", STREAM_URL, json=chat(f"hello {directive(tokens=60)}")
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = list(source.iter_sse())

    assert [int(e.id) for e in events] == list(range(1, len(events) + 1))
    assert [data(e)["seq"] for e in events] == [int(e.id) for e in events]
    assert all(data(e)["type"] == e.event for e in events)
    assert events[0].event == "start"
    assert data(events[0])["provider"] == "fake"
    assert events[-1].event == "done"
    assert {e.event for e in events[1:-1]} == {"delta"}
    assert content_of(events) == expected_text(60)
    assert data(events[-1])["finish_reason"] == "stop"


def test_concurrent_streams_each_get_their_own_tokens(client: httpx.Client) -> None:
    results: dict[int, str] = {}

    def run(n: int) -> None:
        with connect_sse(
            client, "POST", STREAM_URL, json=chat(directive(tokens=n, token_delay_ms=2))
        ) as source:
            results[n] = content_of(list(source.iter_sse()))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(5, 25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: expected_text(n) for n in range(5, 25)}


def test_late_reader_and_reconnect_get_exactly_what_they_lack(client: httpx.Client) -> None:
    tokens = 30
    job = client.post(JOBS_URL, json=chat(directive(tokens=tokens, token_delay_ms=40))).json()
    events_url = job["links"]["events"]

    first = []
    with connect_sse(client, "GET", events_url) as source:
        for event in source.iter_sse():
            first.append(event)
            if int(event.id) == 10:
                break  # the connection drops here; the background job goes on

    with connect_sse(client, "GET", events_url, headers={"Last-Event-ID": "10"}) as source:
        rest = list(source.iter_sse())

    assert [int(e.id) for e in first] == list(range(1, 11))
    assert [int(e.id) for e in rest] == list(range(11, 11 + len(rest)))
    assert rest[-1].event == "done"
    assert content_of(first + rest) == expected_text(tokens)

    # A reader arriving after the end replays the whole job, identical to what was streamed.
    with connect_sse(client, "GET", events_url) as source:
        replay = list(source.iter_sse())
    assert [e.data for e in replay] == [e.data for e in first + rest]
    # ... and one that already has the last event gets 204: nothing more (EventSource stops).
    ended = client.get(events_url, headers={"Last-Event-ID": rest[-1].id})
    assert (ended.status_code, ended.content) == (204, b"")

    assert client.get(job["links"]["self"]).json()["status"] == "succeeded"


def test_json_completion_equals_the_stream_and_records_usage(client: httpx.Client) -> None:
    prompt = f"one two three {directive(tokens=12)}"
    with connect_sse(client, "POST", STREAM_URL, json=chat(prompt)) as source:
        events = list(source.iter_sse())

    response = client.post(COMPLETE_URL, json=chat(prompt))
    assert response.status_code == 200
    body = response.json()
    assert body["content"] == content_of(events) == expected_text(12)
    assert body["finish_reason"] == "stop"
    assert (body["provider"], body["provider_model"], body["model"]) == (
        "fake",
        "fake-model",
        "fake",
    )
    # The fake counts whitespace-separated words of the prompt, and one token per chunk.
    prompt_words = len(prompt.split())
    assert body["usage"]["prompt_tokens"] == prompt_words
    assert body["usage"]["completion_tokens"] == 12
    assert body["usage"]["estimated"] is False
    assert data(events[-1])["usage"] == body["usage"]
    timings = body["timings"]
    assert timings["queued_at"] <= timings["started_at"] <= timings["first_token_at"]
    assert timings["first_token_at"] <= timings["finished_at"]

    stored = client.get(f"{JOBS_URL}/{body['id']}").json()
    assert stored["usage"] == body["usage"]
    assert stored["result"]["content"] == body["content"]


def test_client_disconnect_cancels_job_and_closes_upstream(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    with connect_sse(
        client, "POST", STREAM_URL, json=chat(directive(tokens=300, token_delay_ms=30, tag=tag))
    ) as source:
        job_id = source.response.headers["x-job-id"]
        deltas = 0
        for event in source.iter_sse():
            deltas += event.event == "delta"
            if deltas == 3:
                break

    upstream = stack.fake.wait_for(tag, timeout=10)
    assert upstream["outcome"] == "client_closed"
    assert upstream["tokens_sent"] < 300
    job = wait_for_status(client, job_id, {"cancelled", "succeeded", "failed"})
    assert job["status"] == "cancelled"
    with connect_sse(client, "GET", f"{JOBS_URL}/{job_id}/events") as source:
        last = list(source.iter_sse())[-1]
    assert last.event == "error"
    assert data(last)["code"] == "cancelled"
    assert data(last)["delivered"]["deltas"] >= 3


def test_delete_cancels_a_background_job(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    job = client.post(JOBS_URL, json=chat(directive(tokens=300, token_delay_ms=30, tag=tag))).json()
    stack.fake.wait_for(tag, finished=False)

    response = client.delete(job["links"]["cancel"])
    assert response.status_code == 202
    assert response.json()["status"] == "cancelling"
    assert wait_for_status(client, job["id"], {"cancelled", "succeeded"})["status"] == "cancelled"
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] == "client_closed"

    again = client.delete(job["links"]["cancel"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"


def test_get_stream_takes_the_request_in_query_parameters(
    client: httpx.Client, stack: Stack
) -> None:
    tag = new_tag()
    params: dict[str, str | int | float] = {
        "prompt": f"hi {directive(tokens=5, tag=tag)}",
        "system": "be brief",
        "temperature": 0.2,
        "max_tokens": 50,
    }
    with connect_sse(client, "GET", STREAM_URL, params=params) as source:
        events = list(source.iter_sse())
    assert content_of(events) == expected_text(5)

    sent = stack.fake.wait_for(tag)["body"]
    assert sent["model"] == "fake-model"
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert (sent["temperature"], sent["max_tokens"]) == (0.2, 50)
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert stack.fake.wait_for(tag)["auth"] == "present"


def test_keepalive_comments_while_waiting_for_the_first_token(client: httpx.Client) -> None:
    body = chat(directive(tokens=2, first_token_delay_ms=1600))
    with client.stream("POST", STREAM_URL, json=body) as response:
        raw = b"".join(response.iter_bytes())
    before_first_delta = raw.split(b"event: delta")[0]
    assert b": keep-alive\n" in before_first_delta
    assert raw.rstrip().endswith(b"}") and b"event: done" in raw


def test_job_past_its_deadline_ends_with_an_error(client: httpx.Client, stack: Stack) -> None:
    tag = new_tag()
    body = chat(directive(tokens=3, first_token_delay_ms=5000, tag=tag), timeout_s=1)
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        events = list(source.iter_sse())
    assert events[-1].event == "error"
    assert data(events[-1])["code"] == "deadline_exceeded"
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] == "client_closed"


def test_provider_failure_ends_the_stream_with_an_error_event(client: httpx.Client) -> None:
    with connect_sse(client, "POST", STREAM_URL, json=chat(directive(status=401))) as source:
        events = list(source.iter_sse())
    assert events[-1].event == "error"
    assert data(events[-1])["code"] == "provider_rejected"
    assert "FAKE" not in events[-1].data  # the prompt is not echoed back

    response = client.post(COMPLETE_URL, json=chat(directive(status=503)))
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert response.json()["error"]["retryable"] is True


def test_health_reports_redis_broker_and_workers(client: httpx.Client) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert health["checks"]["redis"]["ok"]
    assert health["checks"]["broker"]["ok"]
    assert health["checks"]["workers"]["live"] >= 1


async def test_a_burst_beyond_redis_pool_defaults_streams_completely(stack: Stack) -> None:
    """More concurrent jobs than redis-py's default pool of 100 connections per process."""
    body = chat(directive(tokens=40, token_delay_ms=2))

    async def one(client: httpx.AsyncClient) -> str:
        async with aconnect_sse(client, "POST", STREAM_URL, json=body) as source:
            events = [event async for event in source.aiter_sse()]
        assert events[-1].event == "done", events[-1].data
        return content_of(events)

    limits = httpx.Limits(max_connections=300)
    async with httpx.AsyncClient(
        base_url=stack.base_url, timeout=60, limits=limits, headers=stack.auth_headers
    ) as client:
        texts = await asyncio.gather(*(one(client) for _ in range(250)))
    assert texts == [expected_text(40)] * 250


def test_keepalives_are_not_events_for_sse_clients(client: httpx.Client) -> None:
    body = chat(directive(tokens=2, first_token_delay_ms=1600))
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        events = list(source.iter_sse())
    assert {e.event for e in events} == {"start", "delta", "done"}  # no empty phantom events
    assert content_of(events) == expected_text(2)


def test_an_address_split_across_two_deltas_is_redacted(client: httpx.Client) -> None:
    pieces = ["Mail ", "jane.d", "oe@exam", "ple.org", " soon."]
    body = chat(directive(pieces=pieces, token_delay_ms=30), model="filtered")
    with connect_sse(client, "POST", STREAM_URL, json=body) as source:
        events = list(source.iter_sse())
    assert content_of(events) == "Mail [email] soon."
    job = client.get(f"{JOBS_URL}/{source.response.headers['x-job-id']}").json()
    assert job["result"]["content"] == "Mail [email] soon."
    assert "jane" not in "".join(e.data for e in events)


def test_a_json_answer_is_asked_for_whole_and_stored_in_one_piece(
    client: httpx.Client, stack: Stack
) -> None:
    """Only the JSON request reads its job, and only at the end: the worker asks the provider
    for one answer (no stream to read token by token) and stores it with the done event. A
    stream of the same prompt still streams from the provider."""
    tag = new_tag()
    slow = directive(tokens=20, token_delay_ms=25, tag=tag)
    body = client.post(COMPLETE_URL, json=chat(f"whole {slow}")).json()
    assert body["content"] == expected_text(20)
    assert body["usage"]["completion_tokens"] == 20
    assert body["usage"]["estimated"] is False
    timings = body["timings"]
    # The first token is not seen apart from the rest: it is when the answer came.
    assert timings["started_at"] <= timings["first_token_at"] <= timings["finished_at"]
    with connect_sse(client, "GET", f"{JOBS_URL}/{body['id']}/events") as source:
        events = list(source.iter_sse())
    assert [e.event for e in events] == ["start", "delta", "done"]
    assert data(events[1])["content"] == expected_text(20)
    assert data(events[0])["provider"] == "fake"
    with connect_sse(client, "POST", STREAM_URL, json=chat(f"streamed {slow}")) as source:
        assert content_of(list(source.iter_sse())) == expected_text(20)
    upstream = stack.fake.requests(tag=tag)
    assert [r["stream"] for r in upstream] == [False, True]
    assert "stream_options" not in upstream[0]["body"]
