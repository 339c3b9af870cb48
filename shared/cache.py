"""The exact-match response cache: which requests it serves, under which key, and its entries.

An entry is written by the job's last event (``append_event.lua``), in the same step that marks
the job succeeded, so an errored or cancelled job is never cached and a cached answer is always
whole. It holds the events clients saw (start, deltas, done) so a hit replays them as a stream.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis

from shared.auto_pipeline import AutoPipeline
from shared.chat import CacheControl, ChatRequest
from shared.config import CacheConfig, ModelConfig
from shared.embeddings import Embeddings
from shared.events import DeltaEvent, DoneEvent, Event, EventBody, StartEvent, UsageEvent, numbered
from shared.job_records import JobFields
from shared.jobs import Job, JobResult, JobSpec, JobStatus, Timings
from shared.keys import RedisKeys
from shared.parsed_entries import ParsedEntries
from shared.usage import Usage

log = logging.getLogger(__name__)

# What a request carries that does not change its answer (the route stands for model,
# provider and models); everything else, including fields added later, is hashed.
NOT_SHAPING = {"cache", "timeout_s", "user", "model", "provider", "models"}
# Events a hit replays; fallbacks describe a past run, not the answer.
REPLAYED = (StartEvent, DeltaEvent, UsageEvent, DoneEvent)


@dataclass(frozen=True, slots=True)
class CachePlan:
    """How one admitted request uses the cache."""

    namespace: str
    digest: str
    read: bool  # may answer from an entry, or join an identical job in flight
    store: bool
    ttl_s: int
    max_age_s: int | None
    max_entry_bytes: int

    @property
    def entry_name(self) -> str:
        """``<namespace>/<digest>``: what ``X-Cache-Key`` shows and the admin API drops."""
        return f"{self.namespace}/{self.digest}"


def plan_cache(config: CacheConfig, model: ModelConfig, spec: JobSpec) -> CachePlan | None:
    """The plan for this job, or None when the cache does not apply to it."""
    eligible = model.cache.eligible or config.eligible
    if not config.enabled or eligible == "never":
        return None
    # An embedding is deterministic; a completion only at temperature 0.
    request = spec.request
    sampled = isinstance(request, ChatRequest) and request.temperature != 0
    if eligible == "deterministic" and sampled:
        return None
    control = spec.request.cache or CacheControl()
    ttl_s = control.ttl_s or model.cache.ttl_s or config.ttl_s
    return CachePlan(
        namespace=namespace_of(model.cache.scope or config.scope, spec.owner),
        digest=request_digest(spec),
        read=not control.no_cache,
        store=not control.no_store,
        ttl_s=min(ttl_s, config.max_ttl_s),
        max_age_s=control.max_age_s,
        max_entry_bytes=config.max_entry_bytes,
    )


def namespace_of(scope: Literal["key", "global"], owner: str) -> str:
    return "global" if scope == "global" else f"key:{owner}"


def request_digest(spec: JobSpec) -> str:
    """SHA-256 of everything that shapes the answer: the model, its resolved route (providers,
    upstream models, their extra body) and the request's messages and options."""
    shaping = {
        "model": spec.model,
        "route": [step.model_dump(mode="json") for step in spec.route],
        "request": spec.request.model_dump(mode="json", exclude=NOT_SHAPING, exclude_none=True),
    }
    return hashlib.sha256(orjson.dumps(shaping, option=orjson.OPT_SORT_KEYS)).hexdigest()


class CachedAnswer(BaseModel):
    """One entry as read back (written by ``append_event.lua``'s store_answer)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    stored_at: float
    provider: str
    provider_model: str
    result: JobResult | None  # None for embeddings: their vectors are in the done event
    usage: Usage
    cost: float | None
    stored_events: list[EventBody] = Field(alias="events")

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.stored_at)

    def replayed(self) -> list[EventBody]:
        """The answer's events, marked as a hit that cost nothing (unnumbered)."""
        bodies: list[EventBody] = []
        for body in self.stored_events:
            if isinstance(body, StartEvent):
                body = body.model_copy(update={"cache": "HIT"})
            elif isinstance(body, DoneEvent):
                body = body.model_copy(update={"cache": "HIT", "cost": 0.0})
            elif not isinstance(body, REPLAYED):
                continue
            bodies.append(body)
        return bodies

    def events(self) -> list[Event]:
        """The answer's events, numbered from 1, marked as a hit that cost nothing."""
        return list(self._numbered)

    @cached_property
    def _numbered(self) -> tuple[Event, ...]:
        # The same for every hit on this entry, and frozen: made once (see ParsedEntries).
        return tuple(numbered(body, seq) for seq, body in enumerate(self.replayed(), start=1))

    @property
    def embeddings(self) -> Embeddings | None:
        """An embedding job's vectors, which its done event carries."""
        done = next((b for b in self.stored_events if isinstance(b, DoneEvent)), None)
        return done.embeddings if done is not None else None

    def job_fields(self) -> JobFields:
        """The hash fields of a job that ended now with this answer (see JobStore.create)."""
        now = time.time()
        return JobFields(
            provider=self.provider,
            provider_model=self.provider_model,
            result=self.result,
            embeddings=self.embeddings,
            usage=self.usage,
            cost=0.0,
            cache="HIT",
            started_at=now,
            first_token_at=now,
            finished_at=now,
        )

    def job(self, spec: JobSpec) -> Job:
        """The answer as the job ``spec`` would have ended, without running it."""
        now = time.time()
        return Job(
            id=spec.id,
            owner=spec.owner,
            kind=spec.kind,
            status=JobStatus.SUCCEEDED,
            model=spec.model,
            provider=self.provider,
            provider_model=self.provider_model,
            request=spec.request,
            usage=self.usage,
            cost=0.0,
            timings=Timings(queued_at=now, started_at=now, first_token_at=now, finished_at=now),
            deadline_at=spec.deadline_at,
            result=self.result,
            embeddings=self.embeddings,
            last_seq=len(self._numbered),
            cache="HIT",
        )


class ResponseCache:
    """Reads and drops entries; they are written by the job's last event."""

    def __init__(self, redis: Redis, keys: RedisKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._reads = AutoPipeline(redis)  # the lookups of one loop turn: one round trip
        self._parsed: ParsedEntries[CachedAnswer] = ParsedEntries()

    async def lookup(self, plan: CachePlan) -> CachedAnswer | None:
        """The stored answer, when the plan may read one and it is fresh enough."""
        if not plan.read:
            return None
        key = self.keys.cache_entry(plan.namespace, plan.digest)
        raw = cast("bytes | None", await self._reads.execute("GET", key))
        if raw is None:
            return None
        answer = self._parsed.get(key, raw)
        if answer is None:
            try:
                answer = CachedAnswer.model_validate_json(raw)
            except ValidationError:  # not an entry this release can read
                log.warning("unreadable cache entry %s; treated as a miss", plan.entry_name)
                return None
            self._parsed.put(key, raw, answer)
        if plan.max_age_s is not None and answer.age_s > plan.max_age_s:
            return None
        return answer

    def job_fields(self, plan: CachePlan) -> dict[str, str | int]:
        """Fields of the job's hash that make its last event store the answer."""
        fields: dict[str, str | int] = {"cache": "MISS"}
        if plan.store:
            fields |= {
                "cache_key": self.keys.cache_entry(plan.namespace, plan.digest),
                "cache_ttl_s": plan.ttl_s,
                "cache_max_bytes": plan.max_entry_bytes,
            }
        return fields

    async def invalidate(self, namespace: str | None = None, digest: str | None = None) -> int:
        """Drop one entry, a namespace's entries, or (no namespace) every entry; returns how
        many were dropped."""
        if digest is not None:
            assert namespace is not None, "an entry is named within its namespace"
            return int(await self.redis.unlink(self.keys.cache_entry(namespace, digest)))
        dropped = 0
        batch: list[bytes] = []
        pattern = self.keys.cache_namespace_pattern(namespace or "*")
        async for key in self.redis.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                dropped += int(await self.redis.unlink(*batch))
                batch.clear()
        if batch:
            dropped += int(await self.redis.unlink(*batch))
        return dropped
