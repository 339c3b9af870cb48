"""The Responses stream over the completion session, in process on fakeredis: the gateway's
real hub, feed and job store, the test appending what a worker would, and a stored response
whose outcome is written before the client hears the response completed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from fakeredis import FakeServer

from gateway.completions import follow_session, start_session
from gateway.jobs import Gateway
from gateway.openai.responses_store import ResponseStore, StoredResponse
from gateway.openai.responses_stream import response_stream
from shared.responses_format import (
    ResponseEcho,
    ResponseEvents,
    ResponseOutcome,
    ResponseShell,
    ResponseStatus,
    response_id,
)
from shared.responses_format.errors import PreviousResponseNotFound, ResponseInProgress
from tests.unit.specs import demo_spec
from tests.unit.test_session import admission_of, in_memory_gateway, run_job


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    gateway = in_memory_gateway(FakeServer())
    await gateway.hub.start()
    yield gateway
    await gateway.hub.stop()
    await gateway.redis.aclose()


def shell_of(spec_id: str) -> ResponseShell:
    return ResponseShell(id=response_id(spec_id), created_at=1, model="demo", echo=ResponseEcho())


def parsed(frames: list[bytes]) -> list[dict[str, object]]:
    events = []
    for block in b"".join(frames).split(b"\n\n"):
        for line in block.split(b"\n"):
            if line.startswith(b"data: "):
                events.append(orjson.loads(line[6:]))
    return events


async def test_the_outcome_is_stored_before_the_completed_frame(gateway: Gateway) -> None:
    spec = demo_spec()
    store = ResponseStore(gateway.redis, gateway.settings.keys, gateway.store)
    session = await start_session(gateway, admission_of(gateway, spec))
    record = StoredResponse(shell=shell_of(spec.id), job_id=spec.id, conversation=[])
    await store.save("o", record)
    sent: list[bytes] = []
    stored_after: list[int] = []

    async def finish(outcome: ResponseOutcome) -> None:
        stored_after.append(len(parsed(sent)))
        await store.finish("o", record, outcome)

    async def read() -> None:
        async for frame in response_stream(
            session, ResponseEvents(record.shell), on_outcome=finish
        ):
            sent.append(frame)

    reader = asyncio.create_task(read())
    await run_job(gateway.store, spec.id, text="hello", in_one_step=True)
    async with asyncio.timeout(5):
        await reader
    events = parsed(sent)
    assert events[-1]["type"] == "response.completed"
    assert stored_after == [2]  # only created and in_progress had gone out
    again = await store.load("o", record.shell.id)
    assert again.outcome is not None and again.outcome.status is ResponseStatus.COMPLETED
    assert again.outcome.message is not None and again.outcome.message.content == "hello"
    history = await store.history("o", record.shell.id)
    assert [(m.role, m.content) for m in history] == [("assistant", "hello")]


async def test_a_replay_numbers_events_as_the_live_stream_did(gateway: Gateway) -> None:
    spec = demo_spec(kind="background")
    await gateway.start_background(spec)
    await run_job(gateway.store, spec.id, text="hello")
    job = await gateway.load(spec.id, owner=spec.owner)
    live = [
        f
        async for f in response_stream(
            await follow_session(gateway, job), ResponseEvents(shell_of(spec.id))
        )
    ]
    rest = [
        f
        async for f in response_stream(
            await follow_session(gateway, job), ResponseEvents(shell_of(spec.id)), after=3
        )
    ]
    assert parsed(rest) == [e for e in parsed(live) if int(e["sequence_number"]) > 3]  # type: ignore[call-overload]


async def test_a_continuation_waits_for_its_previous_response(gateway: Gateway) -> None:
    spec = demo_spec(kind="background")
    await gateway.start_background(spec)
    store = ResponseStore(gateway.redis, gateway.settings.keys, gateway.store)
    record = StoredResponse(shell=shell_of(spec.id), job_id=spec.id, conversation=[])
    await store.save("o", record)
    with pytest.raises(ResponseInProgress):
        await store.history("o", record.shell.id)
    with pytest.raises(PreviousResponseNotFound):
        await store.history("someone-else", record.shell.id)
    await run_job(gateway.store, spec.id, text="done now")
    assert [m.content for m in await store.history("o", record.shell.id)] == ["done now"]
    stored = await store.load("o", record.shell.id)
    assert stored.outcome is not None  # written by the first read that saw the job end
