"""Stored files: the record in Redis (who owns it, its size and name), the bytes in storage."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import cast

from redis.asyncio import Redis

from shared.batch.index import page
from shared.batch.models import FilePurpose, FileRecord
from shared.errors import FileNotFound
from shared.keys import RedisKeys
from shared.storage import FileStorage


class FileStore:
    """Files of every API key; each is visible only to the key that owns it."""

    def __init__(self, redis: Redis, keys: RedisKeys, storage: FileStorage) -> None:
        self.redis = redis
        self.keys = keys
        self.storage = storage

    async def save(self, record: FileRecord) -> None:
        """Record a file whose bytes are already in storage under its id."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.file(record.id), record.model_dump_json())
            # Scored by the time to the microsecond: files made in one second keep their order.
            pipe.zadd(self.keys.file_index(record.owner), {record.id: time.time()})
            await pipe.execute()

    async def find(self, file_id: str) -> FileRecord | None:
        raw = await self.redis.get(self.keys.file(file_id))
        return FileRecord.model_validate_json(raw) if raw else None

    async def get(self, file_id: str, *, owner: str) -> FileRecord:
        """The file if ``owner`` owns it; FileNotFound otherwise."""
        record = await self.find(file_id)
        if record is None or record.owner != owner:
            raise FileNotFound(f"no file {file_id}", details={"param": "file_id"})
        return record

    async def page_of(
        self,
        owner: str,
        *,
        after: str | None,
        limit: int,
        newest_first: bool,
        purpose: FilePurpose | None = None,
    ) -> tuple[list[FileRecord], bool]:
        async def load(ids: list[str]) -> list[FileRecord | None]:
            raws = cast(
                "list[bytes | None]", await self.redis.mget([self.keys.file(i) for i in ids])
            )
            return [FileRecord.model_validate_json(r) if r else None for r in raws]

        return await page(
            self.redis,
            self.keys.file_index(owner),
            after=after,
            limit=limit,
            newest_first=newest_first,
            load=load,
            keep=lambda record: purpose is None or record.purpose == purpose,
        )

    def content(self, record: FileRecord) -> AsyncIterator[bytes]:
        return self.storage.open(record.id)

    async def delete(self, file_id: str, *, owner: str) -> None:
        record = await self.get(file_id, owner=owner)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.file(record.id))
            pipe.zrem(self.keys.file_index(owner), record.id)
            await pipe.execute()
        await self.storage.delete(record.id)
