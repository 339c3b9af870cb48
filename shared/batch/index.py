"""Cursor pages over a key's sorted index of ids (files, batches), as OpenAI pages them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from redis.asyncio import Redis

T = TypeVar("T")


async def page(
    redis: Redis,
    index_key: str,
    *,
    after: str | None,
    limit: int,
    newest_first: bool,
    load: Callable[[list[str]], Awaitable[list[T | None]]],
    keep: Callable[[T], bool] = lambda _: True,
) -> tuple[list[T], bool]:
    """Up to ``limit`` items after the id ``after`` and whether more follow. ``load`` reads the
    items of some ids (None for one that is gone: it is pruned from the index); ``keep``
    filters them."""
    start = 0
    if after is not None:
        rank = cast(
            "int | None", await (redis.zrevrank if newest_first else redis.zrank)(index_key, after)
        )
        if rank is None:
            return [], False
        start = rank + 1
    found: list[T] = []
    step = max(limit + 1, 50)
    while len(found) <= limit:
        read = redis.zrevrange if newest_first else redis.zrange
        members = cast("list[bytes]", await read(index_key, start, start + step - 1))
        ids = [i.decode() for i in members]
        if not ids:
            break
        items = await load(ids)
        gone = [i for i, item in zip(ids, items, strict=True) if item is None]
        if gone:
            await redis.zrem(index_key, *gone)
            start -= len(gone)  # the ranks after them moved down
        found.extend(item for item in items if item is not None and keep(item))
        start += len(ids)
    return found[:limit], len(found) > limit
