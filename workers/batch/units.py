"""One input line run to its end as a stored job, and its result recorded once.

The line's job id is fixed by (batch, line, attempt). A worker that takes a batch over finds the
jobs its predecessor started: a finished one is only recorded, a running one whose worker is
alive is waited for, and one whose worker died is claimed again by the JobRunner (rerun if it
had streamed nothing; else it ends ``worker_lost`` and the line gets its next attempt). The
result goes in with HSETNX, so however often this runs for a line, the line counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shared.apikeys import KeyRecord
from shared.batch.lines import RequestLine
from shared.batch.models import Batch, unit_job_id
from shared.cache import plan_cache
from shared.config import RouteStep
from shared.errors import BudgetExceeded, Conflict, WorkerLost
from shared.jobs import Delivery, Job, JobSpec, JobStatus
from workers.batch import records
from workers.batch.context import BatchContext

log = logging.getLogger(__name__)

BUSY_POLL_S = 0.5


class UnitRunner:
    """Runs the lines of one batch; ``stop_reason`` (set by the driver) stops new jobs."""

    def __init__(
        self,
        ctx: BatchContext,
        batch: Batch,
        key: KeyRecord | None,
        stop_reason: Callable[[], str | None],
    ) -> None:
        self.ctx = ctx
        self.batch = batch
        self.key = key
        self.stop_reason = stop_reason
        self.running: dict[int, str] = {}  # line -> the job running it

    async def run(self, item: RequestLine, model: str, route: list[RouteStep]) -> None:
        """Run the line unless the batch is stopping; record how it ended."""
        batch_id = self.batch.id
        attempts = self.ctx.settings.batch.attempts
        job: Job | None = None
        try:
            for attempt in range(1, attempts + 1):
                job_id = unit_job_id(batch_id, item.line, attempt)
                self.running[item.line] = job_id
                job = await self._run_job(job_id, item, model, route)
                if job is None:
                    return
                if not (_worker_lost(job) and attempt < attempts):
                    break
        except BudgetExceeded as exc:
            await self._record(item, records.refused(batch_id, item.line, item.custom_id, exc))
            return
        finally:
            self.running.pop(item.line, None)
        assert job is not None
        if job.status is JobStatus.CANCELLED:
            reason = self.stop_reason() or "cancelled"
            record = records.not_run(
                batch_id, item.line, item.custom_id, reason, "stopped before it finished"
            )
            await self._record(item, record)
        else:
            record = records.of_job(batch_id, item, job)
            await self._record(item, record, usage=records.usage_of(job))
        await self.ctx.jobs.shorten_life(job.id, self.ctx.jobs.keys.recorded_batch_job_ttl_s)

    async def _run_job(
        self, job_id: str, item: RequestLine, model: str, route: list[RouteStep]
    ) -> Job | None:
        """The job, run here or elsewhere, once it has ended; None if stopped before it began."""
        jobs = self.ctx.jobs
        status = await jobs.status_of(job_id)
        if status is None:
            if self.stop_reason():
                return None
            if self.key is not None:
                await self.ctx.accounting.check_budget(self.key)
            await self._create(job_id, item, model, route)
            if self.stop_reason():  # stopped meanwhile: the driver may have missed this job
                await jobs.request_cancel(job_id)
        while True:
            await self.ctx.runner.run(job_id)  # does nothing if a live worker runs it
            job = await jobs.load(job_id)
            if job is None:
                raise RuntimeError(f"job {job_id} of batch {self.batch.id} vanished")
            if job.status.finished:
                return job
            await asyncio.sleep(BUSY_POLL_S)

    async def _create(
        self, job_id: str, item: RequestLine, model: str, route: list[RouteStep]
    ) -> None:
        settings = self.ctx.settings
        spec = JobSpec.new(
            owner=self.batch.spec.owner,
            kind="background",
            model=model,
            route=route,
            request=item.request,
            deadline_s=settings.job_deadline_for(item.request.timeout_s),
            job_id=job_id,
            delivery=Delivery.WHOLE,  # a batch's results are read once the job has ended
        )
        plan = plan_cache(settings.cache, settings.models[model], spec)
        answer = await self.ctx.cache.lookup(plan) if plan is not None else None
        # Conflict: a predecessor created it between its check and ours; run that one.
        with contextlib.suppress(Conflict):
            if answer is None:
                fields = self.ctx.cache.job_fields(plan) if plan is not None else None
                await self.ctx.jobs.create(spec, exclusive=True, fields=fields)
                return
            # Answered from the cache: stored as a job that has already succeeded.
            await self.ctx.jobs.create(
                spec,
                exclusive=True,
                fields=answer.job_fields().as_hash(),
                finished_with=answer.events(),
            )
            await self.ctx.accounting.record_saved(
                owner=spec.owner, model=model, usage=answer.usage, cost=answer.cost, coalesced=False
            )

    async def _record(
        self, item: RequestLine, record: bytes, usage: dict[str, int] | None = None
    ) -> None:
        ok = records.is_output(record)
        await self.ctx.batches.record(self.batch.id, item.line, record, ok=ok, usage=usage or {})
        metrics = self.ctx.runner.telemetry.metrics
        metrics.batch_requests.labels(status="completed" if ok else "failed").inc()

    async def cancel_running(self) -> None:
        """Stop the jobs running now (their lines are recorded as stopped)."""
        for job_id in list(self.running.values()):
            await self.ctx.jobs.request_cancel(job_id)


def _worker_lost(job: Job) -> bool:
    return (
        job.status is JobStatus.FAILED
        and job.error is not None
        and job.error.code == WorkerLost.code
    )
