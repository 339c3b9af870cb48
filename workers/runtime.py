"""The worker's event loop: every provider stream and Redis call of the process runs on it.

Celery's threads pool hands each task to a thread that only waits here for its job to finish,
so late acknowledgement still tracks the job, while one uvloop holds hundreds of streams.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from celery import Celery
from redis.asyncio import Redis

from shared.accounting import Accounting
from shared.billing import JobEnder
from shared.consumers import ConsumerRegistry
from shared.gc_tuning import tune_gc
from shared.heartbeats import WorkerHeartbeats
from shared.jobstore import JobStore
from shared.leases import LeaseBook
from shared.limits import RateLimiter
from shared.provider_catalog import ProviderCatalog
from shared.provider_health import ProviderHealth
from shared.queue import TaskPublisher
from shared.redis_client import connect_redis
from shared.settings import Settings
from shared.telemetry import CURRENT, RequestContext
from workers.batch.service import BatchService
from workers.cancel import CancelRegistry
from workers.catalog import keep_listing
from workers.consumer_watch import ConsumerWatch
from workers.control import Handler, listen_for_control
from workers.lease_keeper import LeaseKeeper
from workers.providers.registry import ProviderPool
from workers.recovery import JobRecovery
from workers.runner import JobRunner
from workers.telemetry import REPORT, JobReport, JobTelemetry

log = logging.getLogger(__name__)
T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is absent only on Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class WorkerRuntime:
    """Owns the loop thread and the resources jobs share: Redis, provider clients, cancels."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str,
        queues: list[str],
        *,
        celery: Celery,
        telemetry: JobTelemetry | None = None,
        watch: ConsumerWatch | None = None,
    ) -> None:
        """``watch``: the Celery consumer's polls; without one, every queue counts as consumed."""
        self.settings = settings
        self.telemetry = telemetry or JobTelemetry.unobserved(settings)
        self.watch = watch
        self.worker_id = worker_id
        self.queues = queues
        self.celery = celery
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="llm-io", daemon=True)
        self._background: list[asyncio.Task[None]] = []
        self._redis: Redis | None = None
        self._providers: ProviderPool | None = None
        self._runner: JobRunner | None = None
        self._health: ProviderHealth | None = None
        self._batches: BatchService | None = None  # on workers of the batch queue
        self._lease_keeper: LeaseKeeper | None = None

    def start(self) -> None:
        self._thread.start()
        self._call(self._startup())
        tune_gc()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def run_job(self, job_id: str, context: RequestContext | None = None) -> JobReport:
        """Run a job to its end and say how it ended; called from a Celery pool thread.
        ``context``: the request it came from (its id and trace, from the task headers)."""
        assert self._runner is not None, "start() the runtime first"
        return self._call(self._run_reported(self._runner, job_id, context))

    async def _run_reported(
        self, runner: JobRunner, job_id: str, context: RequestContext | None
    ) -> JobReport:
        # Its own task (run_coroutine_threadsafe): these context values are this job's alone.
        report = JobReport()
        REPORT.set(report)
        if context is not None:
            CURRENT.set(context)
        await runner.run(job_id)
        return report

    def consuming(self) -> list[str]:
        """The queues whose consumer polls now (all of them when nothing watches it)."""
        return self.queues if self.watch is None else self.watch.consuming()

    def wake_batch(self, batch_id: str) -> None:
        """A new batch: drive it here if there is room (else a batch worker's next look at the
        active batches finds it); called from a Celery pool thread."""
        if self._batches is None:
            log.warning("batch %s reached a worker not serving the batch queue", batch_id)
            return
        self._call(self._batches.adopt(batch_id))

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _startup(self) -> None:
        settings = self.settings
        self._redis = connect_redis(settings)
        store = JobStore(self._redis, settings.keys, events_max_len=settings.events_max_len)
        await store.load_scripts()
        self._providers = ProviderPool(settings.providers)
        for name, config in settings.providers.items():
            if config.enabled:
                self._providers.get(name)  # a bad provider entry fails the worker at start
        cancels = CancelRegistry()
        health = self._health = ProviderHealth(self._redis, settings.keys, settings.circuit)
        await health.load_scripts()
        self._runner = JobRunner(
            settings=settings,
            store=store,
            providers=self._providers,
            cancels=cancels,
            health=health,
            limiter=RateLimiter(self._redis, settings.keys),
            accounting=Accounting(self._redis, settings.keys),
            worker_id=self.worker_id,
            telemetry=self.telemetry,
        )
        heartbeats = WorkerHeartbeats(self._redis, settings.keys)
        self._lease_keeper = LeaseKeeper(
            redis_url=settings.redis_url,
            keys=settings.keys,
            worker_id=self.worker_id,
            running=cancels.running,
            cancel=cancels.cancel,
            loop=self.loop,
        )
        self._lease_keeper.start()
        recovery = JobRecovery(
            leases=LeaseBook(self._redis, settings.keys),
            ender=JobEnder(store, Accounting(self._redis, settings.keys), settings.prices),
            publisher=TaskPublisher.for_settings(self.celery, settings, self._redis),
            worker_id=self.worker_id,
            max_attempts=settings.max_job_attempts,
            interval_s=settings.recovery_interval_s,
        )
        handlers: dict[str, Handler] = {
            settings.keys.cancel_channel: cancels.cancel_message,
            settings.keys.circuit_channel: health.note_change,
        }
        control = listen_for_control(
            self._redis, handlers, on_subscribed=health.sync_view, on_lost=health.forget_view
        )
        catalog = ProviderCatalog(settings, health, self._redis)
        self._background = [
            asyncio.create_task(control),
            asyncio.create_task(self._maintain(heartbeats, health)),
            asyncio.create_task(recovery.run()),
            asyncio.create_task(keep_listing(catalog, self._providers, self.worker_id)),
            asyncio.create_task(self._report_consumers(ConsumerRegistry(heartbeats))),
        ]
        if settings.batch.queue in self.queues:
            self._batches = BatchService.build(settings, store, self._runner, self.worker_id)
            self._background.append(asyncio.create_task(self._batches.maintain()))

    async def _maintain(self, heartbeats: WorkerHeartbeats, health: ProviderHealth) -> None:
        """Heartbeat (while the consumer consumes) and the provider counters, three times a
        lease (the leases themselves are renewed by the LeaseKeeper's thread)."""
        interval_s = self.settings.keys.lease_ttl_s / 3
        while True:
            try:
                consuming = self.consuming()
                if consuming:
                    await heartbeats.beat(self.worker_id, consuming)
                if consuming == self.queues:
                    _touch(self.settings.worker_liveness_file)
                await health.flush_stats()
            except Exception:
                log.warning("worker maintenance failed; retrying", exc_info=True)
            await asyncio.sleep(interval_s)

    async def _report_consumers(self, consumers: ConsumerRegistry) -> None:
        """Say at once when a queue starts or stops being consumed (and keep saying it while
        stalled); the maintenance loop keeps the heartbeats of the consumed ones fresh."""
        reported: tuple[list[str], list[str]] | None = None
        while self.watch is not None:
            consuming, stalled = self.watch.consuming(), self.watch.stalled()
            for queue in self.queues:
                self.telemetry.metrics.consuming.labels(queue=queue).set(queue in consuming)
            if (consuming, stalled) != reported or stalled:
                try:
                    await consumers.report(self.worker_id, self.queues, consuming, stalled)
                    if stalled and (reported is None or not reported[1]):
                        log.error("the consumer stopped polling %s", ", ".join(stalled))
                    reported = (consuming, stalled)
                except Exception:
                    log.warning("reporting the consumer's state failed; retrying", exc_info=True)
            await asyncio.sleep(1.0)

    async def _shutdown(self) -> None:
        if self._batches is not None:  # first: its running requests still need the tick
            await self._batches.stop()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._lease_keeper is not None:
            await asyncio.to_thread(self._lease_keeper.stop)
        if self._health is not None:
            await self._health.flush_stats()
        if self._providers is not None:
            await self._providers.aclose()
        if self._redis is not None:
            try:
                await ConsumerRegistry(WorkerHeartbeats(self._redis, self.settings.keys)).forget(
                    self.worker_id, self.queues
                )
            finally:
                await self._redis.aclose()


def _touch(path: Path | None) -> None:
    """Mark the liveness file: a probe checks that it is recent (deploy/README.md)."""
    if path is not None:
        path.touch()
