"""``Idempotency-Key`` on job and batch submission: a repeated request gets what the first one
created instead of running again; the same key with a different body is a conflict (409).

Keys are scoped per API key and per kind of submission, and kept ``idempotency_ttl_s``. The
first request claims the key (SET NX) before it creates anything, so two concurrent requests
with one key create one job: the second is told the first is in progress (409, retryable).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, cast

import orjson
from fastapi import Header
from redis.asyncio import Redis

from shared.errors import IdempotencyConflict, IdempotencyInProgress
from shared.keys import RedisKeys
from shared.settings import Settings

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="repeat the request safely: the same key returns what the first created",
    ),
]


@dataclass(frozen=True, slots=True)
class Claim:
    """A key claimed for a new submission: ``created`` records what it made."""

    created: Callable[[str], Awaitable[None]]


class Idempotency:
    """The keys of one kind of submission (``scope``: jobs, batches)."""

    @classmethod
    def for_batches(cls, redis: Redis, settings: Settings) -> Idempotency:
        """Native and OpenAI batch creation share one scope: a key names one batch."""
        return cls(redis, settings.keys, "batches", settings.idempotency_ttl_s)

    def __init__(self, redis: Redis, keys: RedisKeys, scope: str, ttl_s: int) -> None:
        self.redis = redis
        self.keys = keys
        self.scope = scope
        self.ttl_s = ttl_s

    @asynccontextmanager
    async def submission(
        self, owner: str, key: str | None, body: Any
    ) -> AsyncIterator[str | Claim | None]:
        """Yields the id the key already names (answer with it), a Claim (create, then call
        ``claim.created(id)``), or None without a key. A submission that fails frees the key."""
        if key is None:
            yield None
            return
        name = self.keys.idempotency(owner, self.scope, key)
        digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
        pending = orjson.dumps({"digest": digest, "id": None})
        if not await self.redis.set(name, pending, nx=True, ex=self.ttl_s):
            yield self._existing(cast("bytes | None", await self.redis.get(name)), digest)
            return
        done = False

        async def created(resource_id: str) -> None:
            nonlocal done
            record = orjson.dumps({"digest": digest, "id": resource_id})
            await self.redis.set(name, record, ex=self.ttl_s)
            done = True

        try:
            yield Claim(created)
        finally:
            if not done:
                await self.redis.delete(name)

    def _existing(self, raw: bytes | None, digest: str) -> str:
        if raw is None:  # expired between the two calls: rare enough to ask for a retry
            raise IdempotencyInProgress("the Idempotency-Key is being released; retry")
        record = orjson.loads(raw)
        if record["digest"] != digest:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        if record["id"] is None:
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still in progress; retry shortly"
            )
        return str(record["id"])
