"""Runs one job: claim it, stream from its provider, append every event, end it exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace

from redis.exceptions import RedisError

from shared.accounting import Accounting, utc_day
from shared.config import price_at
from shared.errors import (
    DeadlineExceeded,
    GatewayError,
    JobCancelled,
    ServiceUnavailable,
    WorkerLost,
)
from shared.events import DoneEvent, ErrorEvent
from shared.jobs import JobSpec, JobStatus
from shared.jobstore import Claim, ClaimState, JobFields, JobStore
from shared.limits import RateLimiter, estimate_prompt_tokens
from shared.provider_health import ProviderHealth
from shared.settings import Settings
from shared.usage import Usage
from workers.cancel import CancelRegistry
from workers.job_events import JobEvents, JobGone
from workers.providers.registry import ProviderPool
from workers.redaction import FilterSet
from workers.route_streamer import RouteStreamer
from workers.telemetry import JobOutcome, JobTelemetry
from workers.transcript import Transcript

log = logging.getLogger(__name__)


class JobRunner:
    """Executes jobs on the worker's event loop; one instance per worker process."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: JobStore,
        providers: ProviderPool,
        cancels: CancelRegistry,
        health: ProviderHealth,
        limiter: RateLimiter,
        accounting: Accounting,
        worker_id: str,
        telemetry: JobTelemetry | None = None,
    ) -> None:
        self.telemetry = telemetry or JobTelemetry.unobserved(settings)
        self.accounting = accounting
        self._filters: dict[str, FilterSet | None] = {}
        self._provider_limits = {name: p.limits for name, p in settings.providers.items()}
        self.settings = settings
        self.store = store
        self.health = health
        self.limiter = limiter
        self.providers = providers
        self.cancels = cancels
        self.worker_id = worker_id

    async def run(self, job_id: str) -> None:
        """Run the job if this delivery should; a duplicate delivery does nothing."""
        with self.cancels.track(job_id):
            claim = await self._claim(job_id)
            if claim.spec is None:
                log.info("job %s not run: %s", job_id, claim.state)
                return
            self.telemetry.claimed(claim.spec)
            try:
                await self._run_claimed(claim)
                self.cancels.acknowledge(job_id)  # it has ended: nothing left to cancel
            finally:
                await asyncio.shield(self.store.release(job_id))

    async def _claim(self, job_id: str) -> Claim:
        """Claim the job; a cancellation arriving meanwhile is kept for the claimed job to
        honour (else the claim could be taken in Redis with nobody left to end the job)."""
        claiming = asyncio.ensure_future(self.store.claim(job_id, self.worker_id))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            if not self.cancels.is_cancelled(job_id):
                raise  # the worker is shutting down: the task will be redelivered
            self.cancels.acknowledge(job_id)
            _consume_cancellation()
            claim = await claiming
            return replace(claim, cancel_requested=True)

    async def _run_claimed(self, claim: Claim) -> None:
        assert claim.spec is not None
        spec = claim.spec
        events = JobEvents(self.store, spec.id)
        transcript = Transcript()
        if claim.cancel_requested:
            await self._end_cancelled(events, transcript)
            return
        if claim.state is ClaimState.RESUMED and claim.tokens_delivered:
            # Its worker died mid-stream: starting over would splice two answers together.
            await self._fail(events, WorkerLost("the worker running this job died"), transcript)
            return
        try:
            async with asyncio.timeout(spec.deadline_at - time.time()):
                await self._stream(spec, events, transcript)
        except asyncio.CancelledError:
            if self.cancels.is_cancelled(spec.id):
                self.cancels.acknowledge(spec.id)  # before any await: no second cancel lands
            await transcript.settle(flush=False)
            if not self.cancels.is_cancelled(spec.id):
                raise  # the worker is shutting down: the task will be redelivered
            _consume_cancellation()
            await self._end_cancelled(events, transcript)
        except TimeoutError:
            await transcript.settle(flush=False)
            await self._fail(events, DeadlineExceeded("the job ran past its deadline"), transcript)
        except JobGone:
            await transcript.settle(flush=False)
            log.info("job %s ended elsewhere while it ran", spec.id)
            self.telemetry.ended(spec.id, JobOutcome.ABANDONED)
        except GatewayError as exc:
            await self._fail_after_flush(events, exc, transcript)
        except RedisError:
            log.exception("job %s lost Redis", spec.id)
            await transcript.settle(flush=False)
            await self._fail(events, ServiceUnavailable("the worker lost Redis"), transcript)
        except Exception:
            log.exception("job %s failed unexpectedly", spec.id)
            await transcript.settle(flush=False)
            await self._fail(events, GatewayError("the worker failed"), transcript)

    async def _stream(self, spec: JobSpec, events: JobEvents, transcript: Transcript) -> None:
        streamer = RouteStreamer(
            spec=spec,
            events=events,
            transcript=transcript,
            providers=self.providers,
            health=self.health,
            filters=self._filters_of(spec.model),
            limiter=self.limiter,
            provider_limits=self._provider_limits,
            observer=self.telemetry.observer(spec.id),
        )
        await streamer.run()
        await transcript.settle(flush=True)
        await self._end_succeeded(spec, events, transcript)

    def _filters_of(self, model: str) -> FilterSet | None:
        """The model's own output filters, else the global ones; compiled once per model."""
        if model not in self._filters:
            own = self.settings.models[model].output_filters
            chosen = self.settings.output_filters if own is None else own
            self._filters[model] = FilterSet.compile(chosen)
        return self._filters[model]

    async def _end_succeeded(
        self, spec: JobSpec, events: JobEvents, transcript: Transcript
    ) -> None:
        usage = transcript.usage or _estimate_usage(spec, transcript)
        # An embedding job's answer is its vectors; a completion's, its message.
        embeddings = transcript.embeddings
        result = transcript.result() if embeddings is None else None
        step = transcript.step
        assert step is not None
        price = price_at(
            self.settings.prices.get(step.provider, {}).get(step.model, []), utc_day(time.time())
        )
        cost = price.cost(usage) if price else None
        if spec.tokens_per_minute and not usage.estimated:
            await self.limiter.correct_tokens(
                spec.owner, spec.tokens_per_minute, usage.total_tokens - spec.tokens_estimate
            )
        await events.append(
            DoneEvent(
                finish_reason=result.finish_reason or "stop" if result else "stop",
                provider=step.provider,
                model=step.model,
                usage=usage,
                cost=cost,
                message=transcript.message() if result else None,
                embeddings=embeddings,
            ),
            ends_as=JobStatus.SUCCEEDED,
            fields=JobFields(
                provider=step.provider,
                provider_model=step.model,
                result=result,
                embeddings=embeddings,
                usage=usage,
                cost=cost,
                attempts=transcript.attempts,
                finished_at=time.time(),
            ),
        )
        await self.accounting.record(
            owner=spec.owner, model=spec.model, provider=step.provider, usage=usage, cost=cost
        )
        self.telemetry.ended(spec.id, JobOutcome.SUCCEEDED, usage=usage, cost=cost)

    async def _end_cancelled(self, events: JobEvents, transcript: Transcript) -> None:
        cancelled = JobCancelled("the job was cancelled")
        await self.store.append(
            events.job_id,
            ErrorEvent.of(cancelled, transcript.delivered()),
            ends_as=JobStatus.CANCELLED,
            fields=JobFields(finished_at=time.time()),
        )
        self.telemetry.ended(events.job_id, JobOutcome.CANCELLED, code=cancelled.code)

    async def _fail_after_flush(
        self, events: JobEvents, error: GatewayError, transcript: Transcript
    ) -> None:
        """A provider failure: what it sent before failing is delivered, then the error."""
        try:
            await transcript.settle(flush=True)
        except JobGone:
            return
        await self._fail(events, error, transcript)

    async def _fail(self, events: JobEvents, error: GatewayError, transcript: Transcript) -> None:
        failure = ErrorEvent.of(error, transcript.delivered())
        await self.store.append(
            events.job_id,
            failure,
            ends_as=JobStatus.FAILED,
            fields=JobFields(error=failure, attempts=transcript.attempts, finished_at=time.time()),
        )
        self.telemetry.ended(events.job_id, JobOutcome.FAILED, code=error.code)


def _consume_cancellation() -> None:
    """Mark the cancellation handled so the job's own clean-up awaits run normally."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _estimate_usage(spec: JobSpec, transcript: Transcript) -> Usage:
    """Rough counts (four characters a token) for a provider that reported none."""
    prompt = estimate_prompt_tokens(spec.request)
    generated = transcript.content + transcript.reasoning
    generated += [piece for call in transcript.calls for piece in call.arguments]
    completion = sum(map(len, generated)) // 4 + 1
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        estimated=True,
    )
