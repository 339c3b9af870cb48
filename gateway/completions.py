"""Starting an admitted completion, for every front end: answered from the response cache,
joined to the identical job in flight, or run as a new job; or following a job that exists."""

from __future__ import annotations

import time

from gateway.admission import Admission
from gateway.feed import CachedFeed
from gateway.jobs import Gateway
from gateway.session import CompletionSession, Departure, OnClose
from shared.cache import CachedAnswer
from shared.events import DoneEvent, Event
from shared.jobs import Delivery, Job, JobSpec
from shared.telemetry import CURRENT
from shared.usage import Usage


async def start_session(
    gateway: Gateway, admission: Admission, *, exclusive: bool = False
) -> CompletionSession:
    """Start the completion and return its session. ``exclusive``: the id was chosen by the
    client (it may be answered from the cache, but never joins another job)."""
    spec, plan, hit = admission.spec, admission.cache, admission.hit
    if hit is not None:
        await _count_hit(gateway, spec, hit)
        _count_started(gateway, spec, "hit")
        return CompletionSession(
            feed=CachedFeed(spec.id, hit.events()),
            job_id=spec.id,
            store=gateway.store,
            departure=Departure.STAY,
            model=spec.model,
            created_at=spec.created_at,
            headers=_cache_headers(plan.entry_name if plan else None, hit=True),
            error_headers=admission.headers,
            cached=hit.job(spec),
            tracker=gateway.metrics.stream_started(),
        )
    entry = plan.entry_name if plan is not None else None
    fields = gateway.cache.job_fields(plan) if plan is not None else None
    coalescing = plan is not None and not exclusive and gateway.settings.cache.coalesce
    if plan is None or not coalescing:
        feed = await gateway.start_followed(spec, exclusive=exclusive, fields=fields)
    else:
        feed = await gateway.start_followed(
            spec,
            fields=fields,
            inflight_key=gateway.settings.keys.cache_inflight(
                plan.namespace, plan.digest, whole=spec.delivery is Delivery.WHOLE
            ),
            may_join=plan.read,
        )
    joined = feed.job_id != spec.id
    if plan is not None:
        gateway.metrics.count_cache(spec.model, "coalesced" if joined else "miss")
    _count_started(gateway, spec, "none" if plan is None else "coalesced" if joined else "miss")
    session = CompletionSession(
        feed=feed,
        job_id=feed.job_id,
        store=gateway.store,
        departure=Departure.GIVE_UP,
        model=spec.model,
        created_at=spec.created_at,
        headers=_cache_headers(entry, job_id=feed.job_id, coalesced=joined),
        error_headers=admission.headers,
        tracker=gateway.metrics.stream_started(),
    )
    if joined:
        if admission.charged:  # the job it joined is counted against its own key
            await gateway.limiter.give_back(
                spec.owner, spec.id, tokens=spec.tokens_estimate, per_minute=spec.tokens_per_minute
            )
        session.on_close = _savings_counter(gateway, spec)
    return session


async def follow_session(gateway: Gateway, job: Job, *, after_seq: int = 0) -> CompletionSession:
    """Read a job that already exists, from after ``after_seq``; leaving cancels nothing."""
    feed = gateway.feed(job.id, job.deadline_at, after_seq=after_seq)
    await feed.open()
    return CompletionSession(
        feed=feed,
        job_id=job.id,
        store=gateway.store,
        departure=Departure.STAY,
        model=job.model,
        created_at=job.timings.queued_at,
        tracker=gateway.metrics.stream_started(),
    )


async def submit(gateway: Gateway, admission: Admission, *, exclusive: bool = False) -> None:
    """Start the completion in the background. A cache hit is stored as a job that has
    already succeeded, so it is read, followed and listed like any other."""
    spec, plan, hit = admission.spec, admission.cache, admission.hit
    if hit is not None:
        await _count_hit(gateway, spec, hit)
        _count_started(gateway, spec, "hit")
        await gateway.store.create(
            spec,
            exclusive=exclusive,
            fields=hit.job_fields().as_hash(),
            finished_with=hit.events(),
            listed=True,
        )
        return
    fields = gateway.cache.job_fields(plan) if plan is not None else None
    await gateway.start_background(spec, exclusive=exclusive, fields=fields)
    if plan is not None:
        gateway.metrics.count_cache(spec.model, "miss")
    _count_started(gateway, spec, "none" if plan is None else "miss")


def _cache_headers(
    entry: str | None, *, hit: bool = False, job_id: str | None = None, coalesced: bool = False
) -> dict[str, str]:
    """X-Cache (HIT or MISS), X-Cache-Key (the entry, for the admin API to drop),
    X-Cache-Coalesced, and X-Job-Id unless the cache answered (no job was stored)."""
    headers = {"X-Cache": "HIT" if hit else "MISS"}
    if job_id is not None:
        headers["X-Job-Id"] = job_id
    if entry is not None:
        headers["X-Cache-Key"] = entry
    if coalesced:
        headers["X-Cache-Coalesced"] = "true"
    return headers


def _savings_counter(gateway: Gateway, spec: JobSpec) -> OnClose:
    """What a request that joined another's job saved: that job's usage and cost if it
    succeeded, nothing else; counted once, when the session closes."""

    async def count_saved(last: Event | None) -> None:
        done = last.body if last is not None and isinstance(last.body, DoneEvent) else None
        await gateway.accounting.record_saved(
            owner=spec.owner,
            model=spec.model,
            usage=done.usage if done else Usage(),
            cost=done.cost if done else None,
            coalesced=True,
        )

    return count_saved


async def _count_hit(gateway: Gateway, spec: JobSpec, hit: CachedAnswer) -> None:
    gateway.metrics.count_cache(spec.model, "hit")
    gateway.metrics.cache_saved_tokens.labels(model=spec.model).inc(hit.usage.total_tokens)
    await gateway.accounting.record_saved(
        owner=spec.owner, model=spec.model, usage=hit.usage, cost=hit.cost, coalesced=False
    )


def _count_started(gateway: Gateway, spec: JobSpec, cache: str) -> None:
    """The job (or its cache answer) is under way: count it, and the gateway's time so far."""
    gateway.metrics.count_submitted(spec.model, spec.kind, spec.owner)
    context = CURRENT.get()
    if context is not None and context.received_at is not None:
        elapsed_s = time.monotonic() - context.received_at
        gateway.metrics.overhead.labels(model=spec.model, cache=cache).observe(elapsed_s)
