"""Batch state in Redis: create, read, move between statuses, record results, hold the lease.

Every change that must not race is one script: a status moves only from the statuses it may
come from, and a request's result is recorded (and counted) once, however many workers try.
"""

from __future__ import annotations

import time
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from shared.batch.index import page
from shared.batch.models import (
    ENDED,
    STATUS_TIME_FIELD,
    USAGE_FIELDS,
    Batch,
    BatchSpec,
    BatchStatus,
    LineError,
)
from shared.errors import BatchFinished, BatchNotFound
from shared.keys import RedisKeys
from shared.lua import lua_source

# Where a status may be entered from.
MOVES_FROM: dict[BatchStatus, tuple[BatchStatus, ...]] = {
    BatchStatus.IN_PROGRESS: (BatchStatus.VALIDATING,),
    BatchStatus.FAILED: (BatchStatus.VALIDATING,),
    BatchStatus.FINALIZING: (BatchStatus.IN_PROGRESS,),
    BatchStatus.COMPLETED: (BatchStatus.FINALIZING,),
    BatchStatus.EXPIRED: (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS),
    BatchStatus.CANCELLING: (BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS),
    BatchStatus.CANCELLED: (BatchStatus.CANCELLING,),
}


class BatchStore:
    """Atomic operations on batches, their results and their leases."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._transition = redis.register_script(lua_source("batch_transition.lua"))
        self._record = redis.register_script(lua_source("batch_record_result.lua"))
        self._renew = redis.register_script(lua_source("batch_lease_renew.lua"))
        self._release = redis.register_script(lua_source("batch_lease_release.lua"))

    async def load_scripts(self) -> None:
        """Load the scripts now: fakeredis's TCP server (``up`` without Redis) drops the
        connection on a NOSCRIPT reply instead of answering it."""
        for script in (self._transition, self._record, self._renew, self._release):
            script.sha = await self.redis.script_load(script.script)

    async def create(self, spec: BatchSpec) -> Batch:
        """Store a new batch as ``validating``, in its owner's index and among the active."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.batch(spec.id),
                mapping={
                    "spec": spec.model_dump_json(),
                    "status": BatchStatus.VALIDATING.value,
                    "total": 0,
                    "completed": 0,
                    "failed": 0,
                },
            )
            # Scored by the time to the microsecond: batches made in one second keep their order.
            pipe.zadd(self.keys.batch_index(spec.owner), {spec.id: time.time()})
            pipe.sadd(self.keys.batches_active, spec.id)
            await pipe.execute()
        return Batch(spec=spec, status=BatchStatus.VALIDATING)

    async def load(self, batch_id: str) -> Batch | None:
        fields = cast("dict[bytes, bytes]", await self.redis.hgetall(self.keys.batch(batch_id)))
        return _batch_from_hash(fields) if fields else None

    async def get(self, batch_id: str, *, owner: str) -> Batch:
        """The batch if ``owner`` owns it; BatchNotFound otherwise."""
        batch = await self.load(batch_id)
        if batch is None or batch.spec.owner != owner:
            raise BatchNotFound(f"no batch {batch_id}", details={"param": "batch_id"})
        return batch

    async def page_of(
        self, owner: str, *, after: str | None, limit: int
    ) -> tuple[list[Batch], bool]:
        """The owner's batches, newest first."""

        async def load(ids: list[str]) -> list[Batch | None]:
            async with self.redis.pipeline(transaction=False) as pipe:
                for batch_id in ids:
                    pipe.hgetall(self.keys.batch(batch_id))
                replies = await pipe.execute()
            return [_batch_from_hash(fields) if fields else None for fields in replies]

        return await page(
            self.redis,
            self.keys.batch_index(owner),
            after=after,
            limit=limit,
            newest_first=True,
            load=load,
        )

    async def move(
        self, batch_id: str, to: BatchStatus, **fields: str | int
    ) -> tuple[bool, BatchStatus | None]:
        """Enter ``to`` (stamping its time) if the batch is in a status it may come from.
        Returns whether it moved, and the status it was in (None: no such batch)."""
        args: list[Any] = [
            to.value,
            " ".join(s.value for s in MOVES_FROM[to]),
            int(to in ENDED),
            self.keys.batch_ttl_s,
            batch_id,
            STATUS_TIME_FIELD[to],
            int(time.time()),
        ]
        for name, value in fields.items():
            args += (name, value)
        moved, before = await self._transition(
            keys=[self.keys.batch(batch_id), self.keys.batches_active], args=args
        )
        return bool(moved), BatchStatus(before.decode()) if before else None

    async def request_cancel(self, batch: Batch) -> None:
        """Ask the batch's driver to stop; BatchFinished if it has already ended."""
        _, before = await self.move(batch.id, BatchStatus.CANCELLING)
        if before is None or before.ended:
            raise BatchFinished(f"batch {batch.id} has already ended ({before or 'expired'})")
        # Not moved from finalizing or cancelling: every request has ended or is being stopped.

    async def record(
        self, batch_id: str, line: int, record: bytes, *, ok: bool, usage: dict[str, int]
    ) -> bool:
        """Record one request's output (``ok``) or error line, once; False when it already was
        (or the batch has ended)."""
        args: list[Any] = [line, record, "completed" if ok else "failed", self.keys.batch_ttl_s]
        for name in USAGE_FIELDS:
            if usage.get(name):
                args += (name, usage[name])
        done = await self._record(
            keys=[self.keys.batch_results(batch_id), self.keys.batch(batch_id)], args=args
        )
        return int(done) == 1

    async def recorded_lines(self, batch_id: str) -> set[int]:
        lines = await self.redis.hkeys(self.keys.batch_results(batch_id))
        return {int(line) for line in lines}

    async def results(self, batch_id: str, lines: list[int]) -> list[bytes | None]:
        if not lines:
            return []
        return cast(
            "list[bytes | None]", await self.redis.hmget(self.keys.batch_results(batch_id), lines)
        )

    async def drop_results(self, batch_id: str) -> None:
        await self.redis.delete(self.keys.batch_results(batch_id))

    async def active(self) -> list[str]:
        """Ids of batches that have not ended."""
        members = cast("set[bytes]", await self.redis.smembers(self.keys.batches_active))
        return sorted(m.decode() for m in members)

    async def input_in_use(self, file_id: str) -> bool:
        """Whether a batch that has not ended reads this file."""
        for batch_id in await self.active():
            raw = await self.redis.hget(self.keys.batch(batch_id), "spec")
            if raw and BatchSpec.model_validate_json(raw).input_file_id == file_id:
                return True
        return False

    async def deactivate(self, batch_id: str) -> None:
        await self.redis.srem(self.keys.batches_active, batch_id)

    async def unleased(self, batch_ids: list[str]) -> list[str]:
        """Those of the batches that no worker drives."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for batch_id in batch_ids:
                pipe.exists(self.keys.batch_lease(batch_id))
            held = await pipe.execute()
        return [b for b, h in zip(batch_ids, held, strict=True) if not h]

    async def take_lease(self, batch_id: str, worker_id: str, ttl_s: float) -> bool:
        taken = await self.redis.set(
            self.keys.batch_lease(batch_id), worker_id, nx=True, px=int(ttl_s * 1000)
        )
        return bool(taken)

    async def renew_lease(self, batch_id: str, worker_id: str, ttl_s: float) -> bool:
        """Extend this worker's lease; False when it is no longer this worker's."""
        kept = await self._renew(
            keys=[self.keys.batch_lease(batch_id)], args=[worker_id, int(ttl_s * 1000)]
        )
        return bool(kept)

    async def release_lease(self, batch_id: str, worker_id: str) -> None:
        await self._release(keys=[self.keys.batch_lease(batch_id)], args=[worker_id])


def _batch_from_hash(fields: dict[bytes, bytes]) -> Batch:
    text = {k.decode(): v.decode() for k, v in fields.items()}
    errors = orjson.loads(text["errors"]) if text.get("errors") else []
    return Batch(
        spec=BatchSpec.model_validate_json(text["spec"]),
        status=BatchStatus(text["status"]),
        total=int(text.get("total", 0)),
        completed=int(text.get("completed", 0)),
        failed=int(text.get("failed", 0)),
        times={f: int(text[f]) for f in STATUS_TIME_FIELD.values() if f in text},
        output_file_id=text.get("output_file_id") or None,
        error_file_id=text.get("error_file_id") or None,
        errors=[LineError.model_validate(e) for e in errors],
        usage={name: int(text.get(f"usage_{name}", 0)) for name in USAGE_FIELDS},
    )
