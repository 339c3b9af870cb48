"""Runs one job: claim it, stream from its provider, append every event, end it exactly once."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import NamedTuple

from redis.exceptions import RedisError

from shared.accounting import Accounting, Charge
from shared.billing import cost_of, estimated_usage
from shared.errors import (
    DeadlineExceeded,
    GatewayError,
    JobCancelled,
    ServiceUnavailable,
    WorkerLost,
)
from shared.events import DoneEvent, ErrorEvent
from shared.job_records import Claim, ClaimState, JobFields
from shared.jobs import Delivery, JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.leases import LeaseBook
from shared.limits import RateLimiter
from shared.provider_health import ProviderHealth
from shared.settings import Settings
from shared.usage import Usage
from workers.cancel import CancelRegistry
from workers.job_events import START_HOLD_S, JobEvents, JobGone
from workers.providers.registry import ProviderPool
from workers.redaction import FilterSet
from workers.route_streamer import RouteStreamer
from workers.telemetry import JobOutcome, JobTelemetry
from workers.transcript import Transcript

log = logging.getLogger(__name__)

# A claim that fails on a lost Redis is tried again this long (the task must not end with its
# job neither run nor queued); past that, recovery finds the job queued and unclaimed.
CLAIM_RETRY_S = 30.0
REDIS_RETRY_S = 0.5


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
        self._leases = LeaseBook(store.redis, store.keys)

    async def run(self, job_id: str) -> None:
        """Run the job if this delivery should; a duplicate delivery does nothing."""
        with self.cancels.track(job_id):
            claim = await self._claim(job_id)
            if claim.spec is None:
                log.info("job %s not run: %s", job_id, claim.state)
                return
            self.telemetry.claimed(claim.spec)
            ended = False
            try:
                await self._run_claimed(claim)
                ended = True
                self.cancels.acknowledge(job_id)  # it has ended: nothing left to cancel
            finally:
                # A job left unfinished (a shutdown) is recovered at once by the rule. One that
                # ended needs nothing more: its last event dropped the lease with it.
                if not ended:
                    await asyncio.shield(self._leases.abandon(self.worker_id, job_id))

    async def _claim(self, job_id: str) -> Claim:
        """Claim the job; a cancellation arriving meanwhile is kept for the claimed job to
        honour (else the claim could be taken in Redis with nobody left to end the job)."""
        claiming = asyncio.ensure_future(self._claim_retrying(job_id))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            if not self.cancels.is_cancelled(job_id):
                raise  # the worker is shutting down: the task will be redelivered
            self.cancels.acknowledge(job_id)
            _consume_cancellation()
            claim = await claiming
            return replace(claim, cancel_requested=True)

    async def _claim_retrying(self, job_id: str) -> Claim:
        """The claim, tried again while Redis is away (up to CLAIM_RETRY_S)."""
        deadline = time.monotonic() + CLAIM_RETRY_S
        while True:
            try:
                return await self.store.claim(job_id, self.worker_id)
            except RedisError:
                if time.monotonic() > deadline:
                    raise
                log.warning("job %s: claiming it lost Redis; trying again", job_id)
                await asyncio.sleep(REDIS_RETRY_S)

    async def _run_claimed(self, claim: Claim) -> None:
        assert claim.spec is not None
        spec = claim.spec
        # Nobody follows a WHOLE job live: its start waits for the job's last event.
        hold_s = None if spec.delivery is Delivery.WHOLE else START_HOLD_S
        events = JobEvents(self.store, spec.id, holder=self.worker_id, start_hold_s=hold_s)
        transcript = Transcript()
        if claim.cancel_requested:
            await self._end_cancelled(spec, events, transcript)
            return
        resumed_after_tokens = claim.state is ClaimState.RESUMED and claim.tokens_delivered
        if resumed_after_tokens or claim.attempts > self.settings.max_job_attempts:
            # Its worker died mid-stream: starting over would splice two answers together. Or
            # every run so far lost its worker: this one may be what kills them.
            lost = WorkerLost("the worker running this job died")
            await self._fail(spec, events, lost, transcript)
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
            await self._end_cancelled(spec, events, transcript)
        except TimeoutError:
            await transcript.settle(flush=False)
            expired = DeadlineExceeded("the job ran past its deadline")
            await self._fail(spec, events, expired, transcript)
        except JobGone:
            await transcript.settle(flush=False)
            log.info("job %s ended elsewhere while it ran", spec.id)
            self.telemetry.ended(spec.id, JobOutcome.ABANDONED)
        except GatewayError as exc:
            await self._fail_after_flush(spec, events, exc, transcript)
        except RedisError:
            log.warning("job %s lost Redis", spec.id, exc_info=True)
            await transcript.settle(flush=False)
            await self._after_lost_redis(spec, events, transcript)
        except Exception:
            log.exception("job %s failed unexpectedly", spec.id)
            await transcript.settle(flush=False)
            await self._fail(spec, events, GatewayError("the worker failed"), transcript)

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
            delta_interval_s=self.settings.delta_interval_s,
        )
        try:
            await streamer.run()
            await self._end_succeeded(spec, events, transcript)
        finally:
            await events.settle()  # a start still held back goes before the error event

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
        """The last deltas and the done event, charged, in one append (with the start event
        when it is still held back)."""
        rest, first_token_at = await transcript.hand_over()
        usage = transcript.usage or _estimate_usage(spec, transcript)
        # An embedding job's answer is its vectors; a completion's, its message.
        embeddings = transcript.embeddings
        result = transcript.result() if embeddings is None else None
        step = transcript.step
        assert step is not None
        cost = cost_of(self.settings.prices, step.provider, step.model, usage)
        if spec.tokens_per_minute and not usage.estimated:
            await self.limiter.correct_tokens(
                spec.owner, spec.tokens_per_minute, usage.total_tokens - spec.tokens_estimate
            )
        await events.after_start(
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
                first_token_at=first_token_at,
                finished_at=time.time(),
            ),
            charge=self.accounting.charge(
                owner=spec.owner, model=spec.model, provider=step.provider, usage=usage, cost=cost
            ),
            before=[rest] if rest is not None else (),
        )
        self.telemetry.ended(spec.id, JobOutcome.SUCCEEDED, usage=usage, cost=cost)

    async def _end_cancelled(
        self, spec: JobSpec, events: JobEvents, transcript: Transcript
    ) -> None:
        cancelled = JobCancelled("the job was cancelled")
        spent = self._spent_so_far(spec, transcript)
        await self.store.append(
            events.job_id,
            ErrorEvent.of(cancelled, transcript.delivered()),
            ends_as=JobStatus.CANCELLED,
            fields=JobFields(finished_at=time.time()),
            holder=self.worker_id,
            charge=spent.charge,
        )
        self.telemetry.ended(
            events.job_id,
            JobOutcome.CANCELLED,
            code=cancelled.code,
            usage=spent.usage,
            cost=spent.cost,
        )

    async def _fail_after_flush(
        self, spec: JobSpec, events: JobEvents, error: GatewayError, transcript: Transcript
    ) -> None:
        """A provider failure: what it sent before failing is delivered, then the error."""
        try:
            await transcript.settle(flush=True)
        except JobGone:
            return
        await self._fail(spec, events, error, transcript)

    async def _fail(
        self, spec: JobSpec, events: JobEvents, error: GatewayError, transcript: Transcript
    ) -> None:
        failure = ErrorEvent.of(error, transcript.delivered())
        spent = self._spent_so_far(spec, transcript)
        await self.store.append(
            events.job_id,
            failure,
            ends_as=JobStatus.FAILED,
            fields=JobFields(error=failure, attempts=transcript.attempts, finished_at=time.time()),
            holder=self.worker_id,
            charge=spent.charge,
        )
        self.telemetry.ended(
            events.job_id, JobOutcome.FAILED, code=error.code, usage=spent.usage, cost=spent.cost
        )

    async def _after_lost_redis(
        self, spec: JobSpec, events: JobEvents, transcript: Transcript
    ) -> None:
        """Once Redis answers again (within a lease TTL): a job that had streamed ends with
        the error; one that had not is given up, for recovery to queue again. Past that, its
        lease lapses and recovery applies the same rule."""
        deadline = time.monotonic() + self.store.keys.lease_ttl_s
        while True:
            try:
                if transcript.delivered().deltas:
                    lost = ServiceUnavailable("the worker lost Redis mid-stream")
                    await self._fail(spec, events, lost, transcript)
                else:
                    await self._leases.abandon(self.worker_id, spec.id)
                return
            except RedisError:
                if time.monotonic() > deadline:
                    log.warning("job %s: Redis is still away; recovery will end it", spec.id)
                    return
                await asyncio.sleep(REDIS_RETRY_S)

    def _spent_so_far(self, spec: JobSpec, transcript: Transcript) -> Spent:
        """What an unsuccessful ending charges: the usage the provider reported, else an
        estimate of what it generated; nothing when it generated nothing."""
        step = transcript.step
        if step is None or not (transcript.usage or transcript.has_output):
            return Spent()
        usage = transcript.usage or _estimate_usage(spec, transcript)
        cost = cost_of(self.settings.prices, step.provider, step.model, usage)
        charge = self.accounting.charge(
            owner=spec.owner,
            model=spec.model,
            provider=step.provider,
            usage=usage,
            cost=cost,
            succeeded=False,
        )
        return Spent(usage, cost, charge)


class Spent(NamedTuple):
    """What an unsuccessful job used, priced, and its charge (all None: nothing generated)."""

    usage: Usage | None = None
    cost: float | None = None
    charge: Charge | None = None


def _consume_cancellation() -> None:
    """Mark the cancellation handled so the job's own clean-up awaits run normally."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _estimate_usage(spec: JobSpec, transcript: Transcript) -> Usage:
    """Estimated counts for a provider that reported none."""
    generated = transcript.content + transcript.reasoning
    generated += [piece for call in transcript.calls for piece in call.arguments]
    return estimated_usage(spec.request, "".join(generated))
