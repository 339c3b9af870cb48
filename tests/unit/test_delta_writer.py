"""The delta writer: order kept, deltas merged only while an append is in flight, errors surface."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import pytest

from shared.events import DeltaEvent, ToolCallDelta
from workers.delta_writer import DeltaWriter


class SlowStore:
    def __init__(self) -> None:
        self.appended: list[tuple[dict[str, str], bool]] = []
        self.release = asyncio.Event()

    async def append(self, delta: DeltaEvent, first_at: float | None) -> None:
        self.appended.append(
            (delta.model_dump(include={"content", "reasoning"}), first_at is not None)
        )
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
    async def failing(delta: DeltaEvent, first_at: float | None) -> None:
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

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        await asyncio.sleep(0.01)
        appended.append(delta.model_dump(include={"content", "reasoning"}))

    writer = DeltaWriter(store)
    await writer.put_and_store("a", "")
    assert appended == [{"content": "a"}]
    await writer.close()

    async def failing(delta: DeltaEvent, first_at: float | None) -> None:
        raise LookupError("job ended elsewhere")

    with pytest.raises(LookupError):
        await DeltaWriter(failing).put_and_store("a", "")


async def test_abort_stops_a_writer_whose_append_swallowed_the_cancellation() -> None:
    class SwallowingStore:
        """Like a client library that catches CancelledError inside a call and carries on."""

        def __init__(self) -> None:
            self.entered = asyncio.Event()

        async def append(self, delta: DeltaEvent, first_at: float | None) -> None:
            self.entered.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    store = SwallowingStore()
    writer = DeltaWriter(store.append)
    writer.put("a", "")
    await store.entered.wait()
    async with asyncio.timeout(2):  # before the fix it waited for more deltas for ever
        await writer.abort()


async def test_after_the_first_delta_appends_wait_out_the_interval_and_merge() -> None:
    appended: list[tuple[str, bool, float]] = []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append((delta.content, first_at is not None, loop.time() - started))

    writer = DeltaWriter(store, interval_s=0.05)
    writer.put("t0", "")
    await asyncio.sleep(0)
    assert [(text, first) for text, first, _ in appended] == [("t0", True)]  # not held back
    for n in range(1, 10):  # ten tokens over about 90 ms
        await asyncio.sleep(0.01)
        writer.put(f"t{n}", "")
    await writer.close()
    assert "".join(text for text, _, _ in appended) == "".join(f"t{n}" for n in range(10))
    assert 2 <= len(appended) <= 4  # one event per interval, not one per token
    starts = [at for _, _, at in appended][:-1]  # the last goes when the stream closes
    assert all(later - earlier >= 0.045 for earlier, later in itertools.pairwise(starts))


async def test_close_does_not_wait_out_the_interval() -> None:
    appended: list[str] = []

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append(delta.content)

    writer = DeltaWriter(store, interval_s=30)
    writer.put("a", "")
    await asyncio.sleep(0)
    writer.put("b", "")
    await asyncio.sleep(0.01)  # the writer is waiting out its interval with "b"
    assert appended == ["a"]
    async with asyncio.timeout(2):  # the end of a stream is never held back
        await writer.close()
    assert appended == ["a", "b"]


async def test_a_tool_calls_header_does_not_hold_back_its_first_arguments() -> None:
    appended: list[DeltaEvent] = []

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append(delta)

    writer = DeltaWriter(store, interval_s=30)
    writer.put("", "", [ToolCallDelta(index=0, id="call_1", name="search", arguments="")])
    await asyncio.sleep(0)
    writer.put("", "", [ToolCallDelta(index=0, arguments='{"q')])
    await asyncio.sleep(0.01)
    assert [f.arguments for delta in appended for f in delta.tool_calls] == ["", '{"q']
    writer.put("", "", [ToolCallDelta(index=0, arguments='":1}')])
    await asyncio.sleep(0.01)
    assert len(appended) == 2  # the rest waits out the interval
    await writer.close()
    assert [f.arguments for delta in appended for f in delta.tool_calls] == ["", '{"q', '":1}']


async def test_hand_over_leaves_what_is_not_stored_to_the_last_event() -> None:
    appended: list[str] = []
    release = asyncio.Event()

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append(delta.content)
        await release.wait()

    writer = DeltaWriter(store, interval_s=30)
    writer.put("a", "")
    await asyncio.sleep(0)  # "a" is being stored
    writer.put("b", "")
    writer.put("c", "")
    handing = asyncio.ensure_future(writer.hand_over())
    await asyncio.sleep(0.01)
    assert not handing.done()  # an append in flight finishes first
    release.set()
    async with asyncio.timeout(2):  # nor does it wait out the interval
        rest, first_at = await handing
    assert appended == ["a"]
    assert rest is not None and rest.content == "bc" and first_at is None
    assert writer.delivered().deltas == 2 and writer.delivered().content_chars == 3


async def test_hand_over_with_nothing_left_or_nothing_stored() -> None:
    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        pass

    idle = DeltaWriter(store)
    assert await idle.hand_over() == (None, None)
    stored = DeltaWriter(store)
    await stored.put_and_store("a", "")
    assert await stored.hand_over() == (None, None)
    assert stored.delivered().deltas == 1


async def test_a_held_writer_stores_nothing_and_hands_over_the_whole_answer() -> None:
    appended: list[DeltaEvent] = []

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append(delta)

    writer = DeltaWriter(store, hold=True)
    before = time.time()
    await writer.put_and_store("Hel", "think")  # returns at once: nothing is stored
    writer.put("lo", "", [ToolCallDelta(index=0, id="call_1", name="f", arguments="{}")])
    after = time.time()
    await asyncio.sleep(0.01)
    assert appended == []
    rest, first_at = await writer.hand_over()
    assert appended == []
    assert rest is not None and (rest.content, rest.reasoning) == ("Hello", "think")
    assert [call.arguments for call in rest.tool_calls] == ["{}"]
    assert first_at is not None and before <= first_at <= after  # when the first text came
    assert writer.delivered().deltas == 1 and writer.delivered().content_chars == 5


async def test_a_held_writer_closed_stores_what_it_held_in_one_append() -> None:
    appended: list[tuple[str, float | None]] = []

    async def store(delta: DeltaEvent, first_at: float | None) -> None:
        appended.append((delta.content, first_at))

    writer = DeltaWriter(store, interval_s=30, hold=True)
    writer.put("a", "")
    writer.put("b", "")
    await asyncio.sleep(0.01)
    async with asyncio.timeout(2):  # the job is failing: what it read goes out now
        await writer.close()
    assert [text for text, _ in appended] == ["ab"]
    assert appended[0][1] is not None
    assert writer.delivered().deltas == 1
