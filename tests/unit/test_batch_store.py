"""The batch store's guards, on fakeredis: statuses move only forward, a line's result counts
once, a lease is only its holder's to renew; and input lines parse as the workers read them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from shared.batch.lines import LineRefused, parse_line
from shared.batch.models import Batch, BatchSpec, BatchStatus
from shared.batch.store import BatchStore
from shared.chat import ChatRequest
from shared.errors import BatchFinished
from shared.keys import RedisKeys
from shared.storage import lines_of


@pytest.fixture
async def store() -> AsyncIterator[BatchStore]:
    redis = FakeAsyncRedis()
    yield BatchStore(redis, RedisKeys(prefix="t"))
    await redis.aclose()


async def new_batch(store: BatchStore, batch_id: str = "batch_1") -> Batch:
    now = int(time.time())
    spec = BatchSpec(
        id=batch_id,
        owner="o",
        input_file_id="file-1",
        completion_window="24h",
        created_at=now,
        expires_at=now + 86_400,
    )
    return await store.create(spec)


async def test_statuses_move_only_from_where_they_may(store: BatchStore) -> None:
    batch = await new_batch(store)
    assert await store.active() == [batch.id]
    assert await store.move(batch.id, BatchStatus.COMPLETED) == (False, BatchStatus.VALIDATING)
    assert await store.move(batch.id, BatchStatus.IN_PROGRESS, total=3) == (
        True,
        BatchStatus.VALIDATING,
    )
    assert (await store.move(batch.id, BatchStatus.FINALIZING))[0]
    await store.request_cancel(batch)  # finalizing: too late to cancel, not an error
    assert (await store.move(batch.id, BatchStatus.COMPLETED))[0]
    loaded = await store.load(batch.id)
    assert loaded is not None
    assert loaded.status is BatchStatus.COMPLETED
    assert loaded.total == 3
    assert set(loaded.times) == {"in_progress_at", "finalizing_at", "completed_at"}
    assert await store.active() == []
    with pytest.raises(BatchFinished):
        await store.request_cancel(loaded)
    assert await store.move("batch_missing", BatchStatus.CANCELLING) == (False, None)


async def test_a_line_is_recorded_and_counted_once(store: BatchStore) -> None:
    batch = await new_batch(store)
    await store.move(batch.id, BatchStatus.IN_PROGRESS, total=2)
    usage = {"input_tokens": 5, "output_tokens": 7}
    assert await store.record(batch.id, 1, b"o{first}", ok=True, usage=usage)
    assert not await store.record(batch.id, 1, b"e{second}", ok=False, usage=usage)
    assert await store.record(batch.id, 2, b"e{}", ok=False, usage={})
    assert await store.results(batch.id, [1, 2]) == [b"o{first}", b"e{}"]
    loaded = await store.load(batch.id)
    assert loaded is not None
    assert (loaded.completed, loaded.failed) == (1, 1)
    assert loaded.usage["input_tokens"] == 5
    assert loaded.to_openai()["usage"]["total_tokens"] == 12
    await store.move(batch.id, BatchStatus.CANCELLING)
    await store.move(batch.id, BatchStatus.CANCELLED)
    assert not await store.record(batch.id, 3, b"o{late}", ok=True, usage={})


async def test_a_lease_is_its_holders(store: BatchStore) -> None:
    batch = await new_batch(store)
    assert await store.take_lease(batch.id, "w1", 5)
    assert not await store.take_lease(batch.id, "w2", 5)
    assert await store.unleased([batch.id]) == []
    assert not await store.renew_lease(batch.id, "w2", 5)
    await store.release_lease(batch.id, "w2")
    assert await store.renew_lease(batch.id, "w1", 5)
    await store.release_lease(batch.id, "w1")
    assert await store.unleased([batch.id]) == [batch.id]


async def test_lines_split_across_chunks_keep_their_numbers() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b'{"a"', b":1}\r\n\n", b"x\ny"):
            yield piece

    assert [item async for item in lines_of(chunks())] == [
        (1, b'{"a":1}'),
        (2, b""),
        (3, b"x"),
        (4, b"y"),
    ]


def test_a_line_parses_to_its_request_or_names_what_is_wrong() -> None:
    good = parse_line(
        3,
        b'{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",'
        b' "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}],'
        b' "max_completion_tokens": 9}}',
    )
    assert isinstance(good.request, ChatRequest)
    assert (good.line, good.custom_id, good.request.max_tokens) == (3, "c", 9)
    with pytest.raises(LineRefused) as refused:
        parse_line(
            4,
            b'{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",'
            b' "body": {"messages": [{"role": "user", "content": 1}]}}',
        )
    assert refused.value.error.line == 4
    assert refused.value.error.param is not None
    assert refused.value.error.param.startswith("body.messages")
