"""Coalescing: identical requests in flight share one provider call, and one reader leaving
does not cancel the answer the others wait for. GraphQL's view of the cache is here too."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError
from httpx_sse import aconnect_sse

from tests.conftest import Stack
from tests.graphql_helpers import codes, http_client, messages, request
from tests.helpers import (
    COMPLETE_URL,
    STREAM_URL,
    chat,
    content_of,
    directive,
    expected_text,
    new_tag,
)
from tests.stack import create_api_key

SLOW = {"tokens": 20, "token_delay_ms": 25}


def ask(tag: str, **scenario: Any) -> dict[str, Any]:
    return chat(f"question {directive(tag=tag, **scenario)}", model="cached")


def async_client(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.base_url, timeout=30, headers=stack.auth_headers)


async def read_stream(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    stop_after_deltas: int | None = None,
    *,
    opened: asyncio.Event | None = None,
    leave_after: asyncio.Event | None = None,
) -> tuple[httpx.Headers, list[Any]]:
    """Read the stream; set ``opened`` once its headers are in (its job is chosen by then);
    leave after ``stop_after_deltas`` deltas, but not before ``leave_after`` is set."""
    async with aconnect_sse(client, "POST", STREAM_URL, json=body) as source:
        if opened is not None:
            opened.set()
        events = []
        async for event in source.aiter_sse():
            events.append(event)
            deltas = sum(e.event == "delta" for e in events)
            if stop_after_deltas is not None and deltas == stop_after_deltas:
                if leave_after is not None:
                    await leave_after.wait()
                break
        return source.response.headers, events


async def test_ten_identical_streams_make_one_provider_call(stack: Stack) -> None:
    tag = new_tag()
    async with async_client(stack) as client:
        results = await asyncio.gather(*(read_stream(client, ask(tag, **SLOW)) for _ in range(10)))

    assert [content_of(events) for _, events in results] == [expected_text(20)] * 10
    assert all(events[-1].event == "done" for _, events in results)
    assert len(stack.fake.requests(tag)) == 1
    headers = [h for h, _ in results]
    assert sum(h.get("x-cache-coalesced") == "true" for h in headers) == 9
    assert len({h["x-job-id"] for h in headers}) == 1  # all of them read the one job


async def test_ten_identical_json_requests_make_one_provider_call(stack: Stack) -> None:
    tag = new_tag()
    key = create_api_key(stack.base_url, "coalescing-usage")
    async with async_client(stack) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        responses = await asyncio.gather(
            *(client.post(COMPLETE_URL, json=ask(tag, **SLOW)) for _ in range(10))
        )
        usage = (await client.get("/api/v1/usage", params={"group_by": "provider"})).json()
    assert [r.json()["content"] for r in responses] == [expected_text(20)] * 10
    assert len(stack.fake.requests(tag)) == 1
    rows = {row["provider"]: row for row in usage["data"]}
    total = responses[0].json()["usage"]["total_tokens"]
    assert (rows["fake"]["requests"], rows["cache"]["coalesced_requests"]) == (1, 9)
    assert rows["cache"]["saved_tokens"] == 9 * total


async def test_the_first_reader_leaving_does_not_cancel_the_others_answer(stack: Stack) -> None:
    tag = new_tag()
    joined = asyncio.Event()

    async def join_and_stay(client: httpx.AsyncClient) -> tuple[httpx.Headers, list[Any]]:
        await asyncio.to_thread(stack.fake.wait_for, tag, finished=False)
        return await read_stream(client, ask(tag, **SLOW), opened=joined)

    async with async_client(stack) as client:
        (_, left), (headers, stayed) = await asyncio.gather(
            read_stream(client, ask(tag, **SLOW), stop_after_deltas=1, leave_after=joined),
            join_and_stay(client),
        )

    assert left[-1].event == "delta"
    assert headers["x-cache-coalesced"] == "true"
    assert content_of(stayed) == expected_text(20)
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] == "completed"
    assert len(stack.fake.requests(tag)) == 1


async def test_the_job_is_cancelled_when_every_reader_has_left(stack: Stack) -> None:
    tag = new_tag()
    slow = {"tokens": 300, "token_delay_ms": 25}
    joined = asyncio.Event()
    async with async_client(stack) as client:
        first = asyncio.create_task(
            read_stream(client, ask(tag, **slow), stop_after_deltas=2, leave_after=joined)
        )
        await asyncio.to_thread(stack.fake.wait_for, tag, finished=False)
        second_headers, _ = await read_stream(
            client, ask(tag, **slow), stop_after_deltas=1, opened=joined
        )
        await first
    assert second_headers["x-cache-coalesced"] == "true"
    upstream = stack.fake.wait_for(tag, timeout=10)
    assert upstream["outcome"] == "client_closed"
    assert upstream["tokens_sent"] < 300


async def test_no_cache_does_not_join_a_request_in_flight(stack: Stack) -> None:
    tag = new_tag()
    fresh = {**ask(tag, **SLOW), "cache": {"no_cache": True}}
    async with async_client(stack) as client:
        first = asyncio.create_task(client.post(COMPLETE_URL, json=ask(tag, **SLOW)))
        await asyncio.to_thread(stack.fake.wait_for, tag, finished=False)
        second = await client.post(COMPLETE_URL, json=fresh)
        results = [await first, second]
    assert [r.json()["content"] for r in results] == [expected_text(20)] * 2
    assert "x-cache-coalesced" not in second.headers
    assert len(stack.fake.requests(tag)) == 2


async def test_a_stream_does_not_join_a_json_request_in_flight(stack: Stack) -> None:
    """A JSON request's job stores its answer only at the end: a stream joining it would see
    nothing until then, so it makes its own call and streams live."""
    tag = new_tag()
    async with async_client(stack) as client:
        answering = asyncio.create_task(client.post(COMPLETE_URL, json=ask(tag, **SLOW)))
        await asyncio.to_thread(stack.fake.wait_for, tag, finished=False)
        headers, events = await read_stream(client, ask(tag, **SLOW))
        answered = await answering
    assert answered.json()["content"] == content_of(events) == expected_text(20)
    assert "x-cache-coalesced" not in headers
    assert headers["x-job-id"] != answered.headers["x-job-id"]
    assert sum(e.event == "delta" for e in events) > 1  # it streamed, not one piece at the end
    assert len(stack.fake.requests(tag)) == 2


COMPLETE = """
query Complete($messages: [ChatMessageInput!]!, $options: CompletionOptionsInput) {
  complete(messages: $messages, options: $options) { jobId content cache }
}"""


async def test_graphql_reports_and_controls_the_cache(stack: Stack) -> None:
    prompt = messages(f"question {directive(tag=new_tag(), tokens=3)}")
    options: dict[str, Any] = {"model": "cached"}
    async with http_client(stack) as session:
        first = await session.execute(request(COMPLETE, messages=prompt, options=options))
        second = await session.execute(request(COMPLETE, messages=prompt, options=options))
        fresh = await session.execute(
            request(COMPLETE, messages=prompt, options={**options, "cache": {"noCache": True}})
        )
        negative = {**options, "cache": {"maxAgeS": -1}}
        with pytest.raises(TransportQueryError) as refused:
            await session.execute(request(COMPLETE, messages=prompt, options=negative))
        assert codes(refused.value) == ["INVALID_REQUEST"]

    assert [r["complete"]["cache"] for r in (first, second, fresh)] == ["MISS", "HIT", "MISS"]
    assert second["complete"]["content"] == first["complete"]["content"] == expected_text(3)
