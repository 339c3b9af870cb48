"""The batch side of a worker process: which batches it drives, and taking over orphans.

A batch is driven by the one worker holding its lease. The Celery task only wakes a worker for
a new batch; every batch worker also looks at the active batches a few times per lease and
adopts any whose lease has lapsed (its worker died), as long as it has room. So recovery after
a SIGKILL takes one lease TTL, not the broker's visibility timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.batch.files import FileStore
from shared.batch.store import BatchStore
from shared.cache import ResponseCache
from shared.jobstore import JobStore
from shared.settings import Settings
from shared.storage import LocalDirectoryStorage
from workers.batch.context import BatchContext
from workers.batch.driver import SHUTDOWN, BatchDriver
from workers.runner import JobRunner

log = logging.getLogger(__name__)


class BatchService:
    """Drives up to ``active_batches_per_worker`` batches on the worker's event loop."""

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self._drivers: dict[str, tuple[BatchDriver, asyncio.Task[None]]] = {}
        self._stopping = False

    @classmethod
    def build(
        cls, settings: Settings, jobs: JobStore, runner: JobRunner, worker_id: str
    ) -> BatchService:
        redis, keys = jobs.redis, jobs.keys
        storage = LocalDirectoryStorage(settings.batch.storage_dir)
        return cls(
            BatchContext(
                settings=settings,
                worker_id=worker_id,
                jobs=jobs,
                runner=runner,
                batches=BatchStore(redis, keys),
                files=FileStore(redis, keys, storage),
                storage=storage,
                api_keys=KeyStore(redis, keys),
                accounting=Accounting(redis, keys),
                cache=ResponseCache(redis, keys),
            )
        )

    @property
    def has_room(self) -> bool:
        limit = self.ctx.settings.batch.active_batches_per_worker
        return not self._stopping and len(self._drivers) < limit

    async def adopt(self, batch_id: str) -> bool:
        """Drive the batch here if nobody does and there is room."""
        if batch_id in self._drivers or not self.has_room:
            return False
        ctx = self.ctx
        ttl_s = ctx.settings.batch.lease_ttl_s
        if not await ctx.batches.take_lease(batch_id, ctx.worker_id, ttl_s):
            return False
        driver = BatchDriver(ctx, batch_id)
        task = asyncio.create_task(self._drive(driver))
        self._drivers[batch_id] = (driver, task)
        return True

    async def _drive(self, driver: BatchDriver) -> None:
        try:
            await driver.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("batch %s: driver failed; another look will resume it", driver.batch_id)
        finally:
            self._drivers.pop(driver.batch_id, None)

    async def look_for_work(self) -> None:
        """Adopt active batches that no worker drives."""
        if not self.has_room:
            return
        batches = self.ctx.batches
        for batch_id in await batches.unleased(await batches.active()):
            if not self.has_room:
                break
            await self.adopt(batch_id)

    async def maintain(self) -> None:
        """Look for work a few times per lease, until cancelled."""
        interval_s = min(5.0, self.ctx.settings.batch.lease_ttl_s / 3)
        with contextlib.suppress(Exception):  # else loaded on first use
            await self.ctx.batches.load_scripts()
        while True:
            try:
                await self.look_for_work()
            except Exception:
                log.warning("looking for batches failed; retrying", exc_info=True)
            await asyncio.sleep(interval_s)

    async def stop(self) -> None:
        """Start nothing new, let running requests finish for ``drain_s``, then let go of the
        batches (their leases are released, so another worker resumes them at once)."""
        self._stopping = True
        for driver, _ in self._drivers.values():
            driver.stop(SHUTDOWN)
        tasks = [task for _, task in self._drivers.values()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self.ctx.settings.batch.drain_s)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
