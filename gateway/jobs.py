"""Accepting, following and cancelling jobs: what every front end (REST, GraphQL, ...) shares."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from celery import Celery
from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.feed import JobFeed
from gateway.hub import EventHub
from shared.accounting import Accounting
from shared.apikeys import KeyStore
from shared.chat import ChatRequest
from shared.errors import JobNotFound, ServiceUnavailable
from shared.events import Event, EventType
from shared.jobs import Job, JobKind, JobSpec, JobStatus
from shared.jobstore import JobStore
from shared.limits import RateLimiter
from shared.provider_health import ProviderHealth
from shared.queue import TaskPublisher
from shared.routing import plan_route
from shared.settings import Settings

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
    health: ProviderHealth
    api_keys: KeyStore
    limiter: RateLimiter
    accounting: Accounting

    def new_spec(
        self, request: ChatRequest, *, owner: str, kind: JobKind, job_id: str | None = None
    ) -> JobSpec:
        """Validate the model and the deadline; raises ModelNotFound for an unserved model.
        ``job_id``: a client-chosen id (start the job with ``exclusive=True``)."""
        model, route = plan_route(self.settings, request)
        deadline_s = min(
            request.timeout_s or self.settings.job_deadline_s, self.settings.max_job_deadline_s
        )
        return JobSpec.new(
            owner=owner,
            kind=kind,
            model=model,
            route=route,
            request=request,
            deadline_s=deadline_s,
            job_id=job_id,
        )

    def feed(self, job_id: str, deadline_at: float, after_seq: int = 0) -> JobFeed:
        return JobFeed(
            store=self.store,
            hub=self.hub,
            job_id=job_id,
            deadline_at=deadline_at,
            idle_s=self.settings.keepalive_interval_s,
            after_seq=after_seq,
        )

    async def start_followed(self, spec: JobSpec, *, exclusive: bool = False) -> JobFeed:
        """Store and enqueue the job while subscribing to its events; read it with
        ``replay=True``, which picks up anything published before the subscription held.
        ``exclusive``: the id was chosen by the client; Conflict if it is in use."""
        feed = self.feed(spec.id, spec.deadline_at)
        opened, queued = await asyncio.gather(
            feed.open(), self._store_and_enqueue(spec, exclusive), return_exceptions=True
        )
        if isinstance(opened, BaseException):
            await feed.close()
            if not isinstance(queued, BaseException):
                await self.cancel(spec.id)  # nobody would read it
            raise opened
        if isinstance(queued, BaseException):
            await feed.close()
            raise queued
        return feed

    async def start_background(self, spec: JobSpec, *, exclusive: bool = False) -> None:
        await self._store_and_enqueue(spec, exclusive)

    async def _store_and_enqueue(self, spec: JobSpec, exclusive: bool = False) -> None:
        queue = self.settings.interactive_queue
        entry = self.publisher.same_redis_entry(spec.id, queue)
        try:
            await self.store.create(spec, enqueue=entry, exclusive=exclusive)
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable("Redis is not reachable; try again shortly") from exc
        if entry is not None:
            return
        try:
            await self.publisher.publish(spec.id, queue)
        except Exception as exc:
            log.exception("enqueue failed for job %s", spec.id)
            error = ServiceUnavailable("the job queue is not reachable; try again shortly")
            await self.store.append(
                spec.id,
                EventType.ERROR,
                error.to_dict(),
                ends_as=JobStatus.FAILED,
                only_if=JobStatus.QUEUED,
            )
            raise error from exc

    async def wait_for_end(self, feed: JobFeed) -> Event:
        """Follow the job to its last event and return that event."""
        try:
            async for batch in feed.batches():
                if batch and batch[-1].terminal:
                    return batch[-1]
        finally:
            await feed.close()
        raise AssertionError("a job feed ends only after a terminal event")

    async def load(self, job_id: str, *, owner: str) -> Job:
        """The job, if it exists and belongs to ``owner``; otherwise JobNotFound."""
        job = await self.store.load(job_id)
        if job is None or job.owner != owner:
            raise JobNotFound(f"no job {job_id}")
        return job

    async def cancel(self, job_id: str) -> JobStatus | None:
        return await self.store.request_cancel(job_id)
