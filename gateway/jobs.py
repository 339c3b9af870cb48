"""Accepting, following and cancelling jobs: what every front end (REST, GraphQL, ...) shares."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from celery import Celery
from redis.asyncio import Redis

from gateway.feed import JobFeed
from gateway.hub import EventHub
from gateway.key_cache import KeyCache
from gateway.metrics import GatewayMetrics
from gateway.stream_tokens import StreamTokens
from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.billing import JobEnder
from shared.cache import ResponseCache
from shared.chat import ChatRequest
from shared.embeddings import EmbeddingRequest
from shared.errors import JobNotFound, ServiceUnavailable
from shared.events import ErrorEvent
from shared.job_records import CancelOutcome
from shared.jobs import Delivery, Job, JobKind, JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.limits import RateLimiter
from shared.provider_catalog import ProviderCatalog
from shared.queue import TaskHeaders, TaskPublisher
from shared.routing import plan_route
from shared.settings import Settings
from shared.telemetry import CURRENT, HEADER_ENQUEUED_AT, HEADER_REQUEST_ID
from shared.tracing import Tracing

log = logging.getLogger(__name__)

ANONYMOUS = "anonymous"


@dataclass(slots=True)
class Gateway:
    """The gateway's shared resources, built once at start-up and passed to every route."""

    settings: Settings
    redis: Redis
    store: JobStore
    hub: EventHub
    celery: Celery
    publisher: TaskPublisher
    api_keys: KeyStore
    key_cache: KeyCache
    limiter: RateLimiter
    accounting: Accounting
    cache: ResponseCache
    metrics: GatewayMetrics
    catalog: ProviderCatalog
    stream_tokens: StreamTokens
    tracing: Tracing = field(default_factory=Tracing)

    def new_spec(
        self,
        request: ChatRequest | EmbeddingRequest,
        *,
        owner: str,
        kind: JobKind,
        job_id: str | None = None,
        delivery: Delivery = Delivery.LIVE,
    ) -> JobSpec:
        """Validate the model and the deadline; raises ModelNotFound for an unserved model.
        ``job_id``: a client-chosen id (start the job with ``exclusive=True``)."""
        model, route = plan_route(self.settings, request)
        return JobSpec.new(
            owner=owner,
            kind=kind,
            model=model,
            route=route,
            request=request,
            deadline_s=self.settings.job_deadline_for(request.timeout_s),
            job_id=job_id,
            delivery=delivery,
        )

    def feed(
        self, job_id: str, deadline_at: float, after_seq: int = 0, *, notified: bool = False
    ) -> JobFeed:
        return JobFeed(
            store=self.store,
            hub=self.hub,
            job_id=job_id,
            deadline_at=deadline_at,
            idle_s=self.settings.keepalive_interval_s,
            after_seq=after_seq,
            ender=JobEnder(self.store, self.accounting, self.settings.prices),
            notified=notified,
        )

    async def start_followed(
        self,
        spec: JobSpec,
        *,
        exclusive: bool = False,
        fields: Mapping[str, str | float] | None = None,
        inflight_key: str | None = None,
        may_join: bool = False,
    ) -> JobFeed:
        """Follow the job's events, then store and enqueue it: the feed need not read the job's
        stream first, since nothing can be published before the job exists.
        ``exclusive``: the id was chosen by the client; Conflict if it is in use. ``fields``:
        more fields of the job's hash. ``inflight_key``: the job may be joined by identical
        requests, and joins the one in flight there instead when ``may_join`` (the feed's
        ``job_id`` tells which). The job names the hub's channel, so its events reach this
        gateway without a subscription of its own."""
        feed = self.feed(spec.id, spec.deadline_at, notified=True)
        await feed.open()
        fields = {**(fields or {}), "notify": self.hub.channel}
        try:
            queued = await self._store_and_enqueue(
                spec, exclusive, fields, inflight_key=inflight_key, may_join=may_join
            )
        except BaseException:
            await asyncio.shield(feed.close())
            raise
        if queued is None:
            feed.caught_up()
            return feed
        await feed.close()
        joined = self.feed(*queued)
        await joined.open()
        return joined

    async def start_background(
        self,
        spec: JobSpec,
        *,
        exclusive: bool = False,
        fields: Mapping[str, str | float] | None = None,
    ) -> None:
        await self._store_and_enqueue(spec, exclusive, fields)

    async def _store_and_enqueue(
        self,
        spec: JobSpec,
        exclusive: bool = False,
        fields: Mapping[str, str | float] | None = None,
        *,
        inflight_key: str | None = None,
        may_join: bool = False,
    ) -> tuple[str, float] | None:
        """Store the job and queue it; with ``inflight_key``, join the job in flight there
        instead when ``may_join`` and it still runs (returns its id and deadline)."""
        queue = self.settings.interactive_queue
        with self.tracing.span(
            "enqueue", kind="producer", attributes={"messaging.destination.name": queue}
        ):
            return await self._enqueue(
                spec, queue, exclusive, fields, inflight_key=inflight_key, may_join=may_join
            )

    async def _enqueue(
        self,
        spec: JobSpec,
        queue: str,
        exclusive: bool,
        fields: Mapping[str, str | float] | None,
        *,
        inflight_key: str | None,
        may_join: bool,
    ) -> tuple[str, float] | None:
        headers = self.task_headers()
        entry = self.publisher.same_redis_entry(spec.id, queue, headers)
        # Recovery puts the task back on this queue if its worker dies before it streams.
        fields = {**(fields or {}), "queue": queue}
        if inflight_key is None:
            await self.store.create(
                spec, enqueue=entry, exclusive=exclusive, fields=fields, listed=True
            )
        else:
            joined = await self.store.create_or_join(
                spec, inflight_key=inflight_key, may_join=may_join, enqueue=entry, fields=fields
            )
            if joined is not None:
                return joined
        if entry is not None:
            return None
        try:
            await self.publisher.publish(spec.id, queue, headers)
        except Exception as exc:
            log.exception("enqueue failed for job %s", spec.id)
            error = ServiceUnavailable("the job queue is not reachable; try again shortly")
            await self.store.append(
                spec.id, ErrorEvent.of(error), ends_as=JobStatus.FAILED, only_if=JobStatus.QUEUED
            )
            raise error from exc
        return None

    def task_headers(self) -> TaskHeaders:
        """What the worker learns of the request besides the job id: the request id, when
        the job was queued, and the trace context."""
        context = CURRENT.get()
        headers: dict[str, str | float] = {HEADER_ENQUEUED_AT: time.time()}
        if context is not None:
            headers[HEADER_REQUEST_ID] = context.request_id
        headers.update(self.tracing.carrier())
        return headers

    async def load(self, job_id: str, *, owner: str) -> Job:
        """The job, if it exists and belongs to ``owner``; otherwise JobNotFound."""
        job = await self.store.load(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(f"no job {job_id}")
        return job

    async def cancel(self, job_id: str) -> CancelOutcome:
        return CancelOutcome.after(await self.store.request_cancel(job_id))
