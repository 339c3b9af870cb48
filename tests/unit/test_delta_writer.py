"""The delta writer: order kept, deltas merged only while an append is in flight, errors surface."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.events import DeltaEvent
from workers.delta_writer import DeltaWriter


class SlowStore:
    def __init__(self) -> None:
        self.appended: list[tuple[dict[str, str], bool]] = []
        self.release = asyncio.Event()

    async def append(self, delta: DeltaEvent, first: bool) -> None:
        self.appended.append((delta.model_dump(include={"content", "reasoning"}), first))
        await self.release.wait()


async def test_a_lone_delta_goes_out_at_once_and_a_backlog_is_merged() -> None:
    store = SlowStore()
    writer = DeltaWriter(store.append)
    writer.put("a", "")
    await asyncio.sleep(0)
    assert store.appended == [({"content": "a"}, True)]  # not held back

    writer.put("b", "")  # arrives while "a" is being stored
    writer.put("c", "r")
    store.release.set()
    await writer.close()
    assert store.appended == [
        ({"content": "a"}, True),
        ({"content": "bc", "reasoning": "r"}, False),
    ]
    assert writer.delivered().model_dump() == {
        "deltas": 2,
        "content_chars": 3,
        "reasoning_chars": 1,
        "tool_call_chars": 0,
    }


async def test_a_failed_append_stops_the_reader() -> None:
    async def failing(delta: DeltaEvent, first: bool) -> None:
        raise LookupError("job ended elsewhere")

    writer = DeltaWriter(failing)
    writer.put("a", "")
    await asyncio.sleep(0)
    with pytest.raises(LookupError):
        writer.put("b", "")
    with pytest.raises(LookupError):
        await writer.close()


async def test_abort_drops_what_was_not_stored() -> None:
    store = SlowStore()
    writer = DeltaWriter(store.append)
    writer.put("a", "")
    await asyncio.sleep(0)
    writer.put("b", "")
    await writer.abort()
    assert [fields for fields, _ in store.appended] == [{"content": "a"}]
    assert writer.delivered().deltas == 0


async def test_put_and_store_returns_once_stored_or_raises_the_writers_error() -> None:
    appended: list[dict[str, str]] = []

    async def store(delta: DeltaEvent, first: bool) -> None:
        await asyncio.sleep(0.01)
        appended.append(delta.model_dump(include={"content", "reasoning"}))

    writer = DeltaWriter(store)
    await writer.put_and_store("a", "")
    assert appended == [{"content": "a"}]
    await writer.close()

    async def failing(delta: DeltaEvent, first: bool) -> None:
        raise LookupError("job ended elsewhere")

    with pytest.raises(LookupError):
        await DeltaWriter(failing).put_and_store("a", "")


async def test_abort_stops_a_writer_whose_append_swallowed_the_cancellation() -> None:
    class SwallowingStore:
        """Like a client library that catches CancelledError inside a call and carries on."""

        def __init__(self) -> None:
            self.entered = asyncio.Event()

        async def append(self, delta: DeltaEvent, first: bool) -> None:
            self.entered.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    store = SwallowingStore()
    writer = DeltaWriter(store.append)
    writer.put("a", "")
    await store.entered.wait()
    async with asyncio.timeout(2):  # before the fix it waited for more deltas for ever
        await writer.abort()
