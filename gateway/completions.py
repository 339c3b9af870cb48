"""Starting an admitted completion, for every front end: answered from the response cache,
joined to the identical job in flight, or run as a new job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request

from gateway.admission import Admission
from gateway.feed import CachedFeed, EventFeed
from gateway.jobs import Gateway
from shared.cache import CachedAnswer
from shared.errors import JobNotFound, error_from_event
from shared.events import Event, EventType
from shared.jobs import Job, JobSpec
from shared.usage import Usage


@dataclass(frozen=True, slots=True)
class Following:
    """A completion a client reads as it happens."""

    feed: EventFeed
    job_id: str
    answer: Job | None = None  # set when the cache answered: no job was stored
    coalesced: bool = False  # it joined an identical job another request started
    cache_entry: str | None = None  # the entry's name, when the request is cacheable

    @property
    def headers(self) -> dict[str, str]:
        """X-Cache (HIT or MISS), X-Cache-Key (the entry, for the admin API to drop),
        X-Cache-Coalesced, and X-Job-Id unless the cache answered (no job was stored)."""
        if self.answer is not None:
            headers = {"X-Cache": "HIT"}
        else:
            headers = {"X-Cache": "MISS", "X-Job-Id": self.job_id}
        if self.cache_entry is not None:
            headers["X-Cache-Key"] = self.cache_entry
        if self.coalesced:
            headers["X-Cache-Coalesced"] = "true"
        return headers


async def follow(gateway: Gateway, admission: Admission, *, exclusive: bool = False) -> Following:
    """Start the completion and return its events to read. ``exclusive``: the id was chosen
    by the client (it may be answered from the cache, but never joins another job)."""
    spec, plan, hit = admission.spec, admission.cache, admission.hit
    if plan is None:
        return Following(await gateway.start_followed(spec, exclusive=exclusive), spec.id)
    entry = plan.entry_name
    if hit is not None:
        await _count_hit(gateway, spec, hit)
        replay = CachedFeed(spec.id, hit.events())
        return Following(replay, spec.id, answer=hit.job(spec), cache_entry=entry)
    fields = gateway.cache.job_fields(plan)
    if exclusive or not gateway.settings.cache.coalesce:
        feed = await gateway.start_followed(spec, exclusive=exclusive, fields=fields)
        gateway.metrics.count_cache(spec.model, "miss")
        return Following(feed, spec.id, cache_entry=entry)
    feed = await gateway.start_followed(
        spec,
        fields=fields,
        inflight_key=gateway.settings.keys.cache_inflight(plan.namespace, plan.digest),
        may_join=plan.read,
    )
    if feed.job_id == spec.id:
        gateway.metrics.count_cache(spec.model, "miss")
        return Following(feed, spec.id, cache_entry=entry)
    if admission.charged:  # the job it joined is counted against its own key
        await gateway.limiter.give_back(
            spec.owner, spec.id, tokens=spec.tokens_estimate, per_minute=spec.tokens_per_minute
        )
    gateway.metrics.count_cache(spec.model, "coalesced")

    async def count_saved(last: Event | None) -> None:
        done = last is not None and last.type == EventType.DONE
        await gateway.accounting.record_saved(
            owner=spec.owner,
            model=spec.model,
            usage=Usage.model_validate(last.data["usage"]) if done and last else Usage(),
            cost=last.data.get("cost") if done and last else None,
            coalesced=True,
        )

    joined = SavingsFeed(feed, on_close=count_saved)
    return Following(joined, feed.job_id, coalesced=True, cache_entry=entry)


class SavingsFeed:
    """The feed of a job this request joined: once read, what the request saved (the job's
    usage and cost if it succeeded, nothing else) is counted once, when the feed closes."""

    def __init__(
        self, feed: EventFeed, on_close: Callable[[Event | None], Awaitable[None]]
    ) -> None:
        self._feed = feed
        self._on_close: Callable[[Event | None], Awaitable[None]] | None = on_close
        self._last: Event | None = None
        self.job_id = feed.job_id

    async def batches(self) -> AsyncIterator[list[Event]]:
        async for batch in self._feed.batches():
            if batch and batch[-1].terminal:
                self._last = batch[-1]
            yield batch

    async def close(self) -> None:
        await self._feed.close()
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            await on_close(self._last)


async def submit(gateway: Gateway, admission: Admission, *, exclusive: bool = False) -> None:
    """Start the completion in the background. A cache hit is stored as a job that has
    already succeeded, so it is read, followed and listed like any other."""
    spec, plan, hit = admission.spec, admission.cache, admission.hit
    if hit is not None:
        await _count_hit(gateway, spec, hit)
        await gateway.store.create(
            spec, exclusive=exclusive, fields=hit.job_fields(), finished_with=hit.events()
        )
        return
    fields = gateway.cache.job_fields(plan) if plan is not None else None
    await gateway.start_background(spec, exclusive=exclusive, fields=fields)
    if plan is not None:
        gateway.metrics.count_cache(spec.model, "miss")


async def outcome(gateway: Gateway, following: Following) -> Job:
    """The job once its feed has ended (with no owner check: this request started or joined
    it, the cache scope saw to who may)."""
    if following.answer is not None:
        return following.answer
    job = await gateway.store.load(following.job_id)
    if job is None:
        raise JobNotFound(f"job {following.job_id} has expired")
    return job


async def wait_for_answer(
    gateway: Gateway, admission: Admission, following: Following, request: Request
) -> Job | None:
    """The finished job, or None when the client went away first (the job is then left).
    A job that failed raises its error, with the admission's headers (rate limits)."""
    waiting = asyncio.create_task(gateway.wait_for_end(following.feed))
    leaving = asyncio.create_task(until_disconnected(request))
    done, _ = await asyncio.wait({waiting, leaving}, return_when=asyncio.FIRST_COMPLETED)
    if waiting not in done:  # nobody will read the answer
        waiting.cancel()
        await leave(gateway, following)
        return None
    leaving.cancel()
    last = waiting.result()
    if last.type == EventType.ERROR:
        error = error_from_event(last.data)
        error.headers = {**admission.headers, **error.headers}
        raise error
    return await outcome(gateway, following)


async def until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def leave(gateway: Gateway, following: Following) -> None:
    """The client went away before the end: the job is cancelled unless others read it."""
    if following.answer is None:
        await gateway.leave(following.job_id)


async def _count_hit(gateway: Gateway, spec: JobSpec, hit: CachedAnswer) -> None:
    gateway.metrics.count_cache(spec.model, "hit")
    gateway.metrics.cache_saved_tokens.labels(model=spec.model).inc(hit.usage.total_tokens)
    await gateway.accounting.record_saved(
        owner=spec.owner, model=spec.model, usage=hit.usage, cost=hit.cost, coalesced=False
    )
