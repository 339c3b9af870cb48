"""GraphQL subscriptions over both WebSocket protocols, through the real gateway, worker and
Redis: the two-step flow (mutation, then subscribe: before, during and after the job), the
one-step subscription, and which leaving cancels what."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from gql.transport.exceptions import TransportQueryError

from tests.conftest import Stack
from tests.graphql_helpers import (
    COMPLETE_STREAM,
    PROTOCOLS,
    START,
    STREAM,
    codes,
    collect,
    http_client,
    messages,
    request,
    text_of,
    wait_for_job,
    ws_client,
)
from tests.helpers import directive, expected_text, new_tag

pytestmark = pytest.mark.parametrize("protocol", PROTOCOLS)


def new_stream_id() -> str:
    return f"gql-{uuid.uuid4().hex}"


def assert_whole_stream(items: list[dict[str, Any]], tokens: int, job_id: str) -> None:
    """Every event from seq 1, each once, in order, ending with DONE."""
    assert [i["seq"] for i in items] == list(range(1, len(items) + 1))
    assert {i["jobId"] for i in items} == {job_id}
    assert items[0]["type"] == "START"
    assert items[0]["provider"] == "fake"
    assert items[-1]["type"] == "DONE"
    assert [i["done"] for i in items] == [False] * (len(items) - 1) + [True]
    assert items[-1]["finishReason"] == "stop"
    assert text_of(items) == expected_text(tokens)


async def start(stack: Stack, stream_id: str, prompt: str) -> None:
    async with http_client(stack) as session:
        options = {"streamId": stream_id}
        result = await session.execute(request(START, messages=messages(prompt), options=options))
    assert result == {"startStreamCompletion": True}


async def test_subscribed_before_the_job_starts(stack: Stack, protocol: str) -> None:
    stream_id = new_stream_id()
    async with ws_client(stack, protocol) as session:
        reading = asyncio.create_task(collect(session, STREAM, id=stream_id))
        await asyncio.sleep(0.3)  # the subscription is set up and waiting for the job
        await start(stack, stream_id, directive(tokens=20, token_delay_ms=5))
        items = await reading
    assert_whole_stream(items, 20, stream_id)


async def test_subscribed_while_it_runs_and_after_it_ended(stack: Stack, protocol: str) -> None:
    stream_id = new_stream_id()
    await start(stack, stream_id, directive(tokens=30, token_delay_ms=30))
    async with http_client(stack) as session:
        # A few events are out before anyone reads them.
        await wait_for_job(session, stream_id, {"RUNNING"}, min_last_seq=5)
    async with ws_client(stack, protocol) as session:
        during = await collect(session, STREAM, id=stream_id)
        after = await collect(session, STREAM, id=stream_id)
    assert_whole_stream(during, 30, stream_id)
    assert after == during


async def test_a_two_step_reader_leaving_does_not_cancel_and_may_resume(
    stack: Stack, protocol: str
) -> None:
    stream_id = new_stream_id()
    tag = new_tag()
    await start(stack, stream_id, directive(tokens=40, token_delay_ms=20, tag=tag))
    async with ws_client(stack, protocol) as session:
        first = await collect(session, STREAM, stop_after_deltas=3, id=stream_id)
    async with ws_client(stack, protocol) as session:  # a new socket: the old one is gone
        rest = await collect(session, STREAM, id=stream_id, after=first[-1]["seq"])
    assert_whole_stream(first + rest, 40, stream_id)
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] != "client_closed"


async def test_one_step_subscription_streams_a_new_job(stack: Stack, protocol: str) -> None:
    async with ws_client(stack, protocol) as session:
        items = await collect(
            session, COMPLETE_STREAM, messages=messages(directive(tokens=25, token_delay_ms=2))
        )
        assert_whole_stream(items, 25, items[0]["jobId"])
        job = await wait_for_job(session, items[0]["jobId"], {"SUCCEEDED"})
    assert job["kind"] == "stream"


async def test_unsubscribing_a_one_step_subscription_cancels_its_job(
    stack: Stack, protocol: str
) -> None:
    tag = new_tag()
    prompt = directive(tokens=300, token_delay_ms=30, tag=tag)
    async with ws_client(stack, protocol) as session:
        items = await collect(
            session, COMPLETE_STREAM, stop_after_deltas=3, messages=messages(prompt)
        )
        upstream = await asyncio.to_thread(stack.fake.wait_for, tag, timeout=10)
        assert upstream["outcome"] == "client_closed"
        assert upstream["tokens_sent"] < 300
        await wait_for_job(session, items[0]["jobId"], {"CANCELLED"})


async def test_closing_the_socket_of_a_one_step_subscription_cancels_its_job(
    stack: Stack, protocol: str
) -> None:
    tag = new_tag()
    stream_id = new_stream_id()
    prompt = directive(tokens=300, token_delay_ms=30, tag=tag)
    options = {"streamId": stream_id}
    async with ws_client(stack, protocol) as session:
        subscription = request(COMPLETE_STREAM, messages=messages(prompt), options=options)
        deltas = 0
        async for result in session.subscribe(subscription):
            deltas += result["completeStream"]["type"] == "DELTA"
            if deltas == 3:
                break  # and the socket closes with the subscription still open on the server
    upstream = await asyncio.to_thread(stack.fake.wait_for, tag, timeout=10)
    assert upstream["outcome"] == "client_closed"
    async with http_client(stack) as session:
        await wait_for_job(session, stream_id, {"CANCELLED"})


async def test_cancel_completion_ends_the_stream_with_a_cancelled_error(
    stack: Stack, protocol: str
) -> None:
    stream_id = new_stream_id()
    tag = new_tag()
    await start(stack, stream_id, directive(tokens=300, token_delay_ms=30, tag=tag))
    cancel = "mutation($id: String) { cancelCompletion(streamId: $id) { jobId status } }"
    async with ws_client(stack, protocol) as session:
        first = await collect(session, STREAM, stop_after_deltas=2, id=stream_id)
        result = await session.execute(request(cancel, id=stream_id))
        assert result["cancelCompletion"]["jobId"] == stream_id
        rest = await collect(session, STREAM, id=stream_id, after=first[-1]["seq"])
    last = rest[-1]
    assert (last["type"], last["done"], last["error"]["code"]) == ("ERROR", True, "cancelled")
    assert last["error"]["delivered"]["deltas"] >= 2
    assert stack.fake.wait_for(tag, timeout=10)["outcome"] == "client_closed"


async def test_a_refused_subscription_gets_the_error_code(stack: Stack, protocol: str) -> None:
    async with ws_client(stack, protocol) as session:
        with pytest.raises(TransportQueryError) as unknown:
            await collect(
                session, COMPLETE_STREAM, messages=messages("hi"), options={"model": "nope"}
            )
        assert codes(unknown.value) == ["MODEL_NOT_FOUND"]
        with pytest.raises(TransportQueryError) as invalid:
            await collect(
                session, COMPLETE_STREAM, messages=messages("hi"), options={"maxTokens": 0}
            )
        assert codes(invalid.value) == ["INVALID_REQUEST"]
        # The socket is still usable after refusals.
        items = await collect(session, COMPLETE_STREAM, messages=messages(directive(tokens=2)))
        assert text_of(items) == expected_text(2)
