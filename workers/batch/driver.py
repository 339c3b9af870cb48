"""One batch driven to its end on this worker, while this worker holds the batch's lease.

``validating`` → validation pass → ``in_progress`` → each line run (resuming from what is
recorded) → ``finalizing`` → result files → ``completed``. A cancel or the end of the completion
window stops new requests and the running ones, and the batch ends ``cancelled`` or ``expired``
with the files of what finished. Losing the lease (a pause longer than its TTL) stops the driver
at once, leaving the batch to the worker that took it over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

import orjson

from shared.batch.lines import LineRefused, is_blank, parse_line
from shared.batch.models import Batch, BatchStatus
from shared.errors import GatewayError
from shared.routing import plan_route
from shared.storage import lines_of
from workers.batch import records
from workers.batch.context import BatchContext
from workers.batch.finalize import finalize
from workers.batch.units import UnitRunner
from workers.batch.validate import validate

log = logging.getLogger(__name__)

CANCELLED, EXPIRED, SHUTDOWN = "batch_cancelled", "batch_expired", "shutdown"
STOP_MESSAGES = {
    CANCELLED: "the batch was cancelled before this request finished",
    EXPIRED: "the batch's completion window ended before this request finished",
}


class BatchDriver:
    """Drives one batch; ``run`` returns when it has ended or this worker let go of it."""

    def __init__(self, ctx: BatchContext, batch_id: str) -> None:
        self.ctx = ctx
        self.batch_id = batch_id
        self.stop_reason: str | None = None
        self.lease_lost = False
        self._units: UnitRunner | None = None

    async def run(self) -> None:
        main = asyncio.current_task()
        assert main is not None
        watcher = asyncio.create_task(self._watch(main))
        try:
            await self._drive()
        except asyncio.CancelledError:
            if not self.lease_lost:
                raise
            log.warning("batch %s: lease lost; another worker has it", self.batch_id)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self.ctx.batches.release_lease(self.batch_id, self.ctx.worker_id)

    def stop(self, reason: str) -> None:
        """Start no more requests; a cancel or expiry also stops the running ones."""
        if self.stop_reason is None or self.stop_reason == SHUTDOWN:
            self.stop_reason = reason
        if reason != SHUTDOWN and self._units is not None:
            asyncio.create_task(self._units.cancel_running())  # noqa: RUF006 - ends on its own

    async def _drive(self) -> None:
        batches = self.ctx.batches
        batch = await batches.load(self.batch_id)
        if batch is None or batch.status.ended:
            await batches.deactivate(self.batch_id)
            return
        if batch.status is BatchStatus.VALIDATING and not self._expired(batch):
            checked = await validate(self.ctx, batch)
            if checked.errors:
                errors = orjson.dumps([e.model_dump() for e in checked.errors]).decode()
                await batches.move(self.batch_id, BatchStatus.FAILED, errors=errors)
            else:
                await batches.move(self.batch_id, BatchStatus.IN_PROGRESS, total=checked.total)
            batch = await self._reload()
        if batch.status is BatchStatus.IN_PROGRESS and not self._expired(batch):
            await self._execute(batch)
            batch = await self._reload()
        if self.stop_reason == SHUTDOWN or batch.status.ended:
            return
        await finalize(self.ctx, batch, self._outcome(batch))

    def _outcome(self, batch: Batch) -> BatchStatus:
        if batch.status is BatchStatus.CANCELLING or self.stop_reason == CANCELLED:
            return BatchStatus.CANCELLED
        if self.stop_reason == EXPIRED or self._expired(batch):
            return BatchStatus.EXPIRED
        return BatchStatus.COMPLETED

    async def _reload(self) -> Batch:
        batch = await self.ctx.batches.load(self.batch_id)
        if batch is None:
            raise RuntimeError(f"batch {self.batch_id} vanished while it ran")
        return batch

    def _expired(self, batch: Batch) -> bool:
        return time.time() >= batch.spec.expires_at

    async def _execute(self, batch: Batch) -> None:
        """Start a job for every line not yet recorded, within the batch's and the providers'
        concurrency; wait for them all."""
        ctx = self.ctx
        key = await ctx.api_keys.get(batch.spec.owner)
        units = self._units = UnitRunner(ctx, batch, key, lambda: self.stop_reason)
        recorded = await ctx.batches.recorded_lines(batch.id)
        batch_slots = asyncio.Semaphore(ctx.settings.batch.concurrency_per_batch)
        running: set[asyncio.Task[None]] = set()
        try:
            async for number, raw in lines_of(ctx.storage.open(batch.spec.input_file_id)):
                if self.stop_reason:
                    break
                if number in recorded or is_blank(raw):
                    continue
                try:
                    item = parse_line(number, raw, batch.spec.endpoint)
                    model, route = plan_route(ctx.settings, item.request)
                except (LineRefused, GatewayError) as exc:  # the configuration changed since
                    error = exc.error if isinstance(exc, LineRefused) else exc
                    record = records.not_run(
                        batch.id, number, None, error.code, getattr(error, "message", "")
                    )
                    await ctx.batches.record(batch.id, number, record, ok=False, usage={})
                    continue
                provider_slots = ctx.provider_slots(route[0].provider)
                await batch_slots.acquire()
                await provider_slots.acquire()
                if self.stop_reason:
                    provider_slots.release()
                    batch_slots.release()
                    break
                task = asyncio.create_task(units.run(item, model, route))
                running.add(task)
                task.add_done_callback(running.discard)
                # A callback, not a finally: a task cancelled before it starts runs no finally.
                task.add_done_callback(functools.partial(_release, (provider_slots, batch_slots)))
                task.add_done_callback(self._log_failure)
            if running:
                await asyncio.wait(running)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)

    def _log_failure(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("batch %s: a request failed", self.batch_id, exc_info=task.exception())

    async def _watch(self, main: asyncio.Task[None]) -> None:
        """Renew the lease; notice a cancel and the end of the completion window."""
        ctx = self.ctx
        ttl_s = ctx.settings.batch.lease_ttl_s
        interval_s = min(1.0, ttl_s / 3)
        while True:
            await asyncio.sleep(interval_s)
            try:
                if not await ctx.batches.renew_lease(self.batch_id, ctx.worker_id, ttl_s):
                    self.lease_lost = True
                    main.cancel()
                    return
                batch = await ctx.batches.load(self.batch_id)
            except Exception:
                log.warning("batch %s: lease renewal failed; retrying", self.batch_id)
                continue
            if batch is None:
                continue
            if batch.status is BatchStatus.CANCELLING:
                self.stop(CANCELLED)
            elif self._expired(batch) and not batch.status.ended:
                self.stop(EXPIRED)


def _release(slots: tuple[asyncio.Semaphore, ...], _: asyncio.Task[None]) -> None:
    for semaphore in slots:
        semaphore.release()
