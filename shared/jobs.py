"""The Job contract: what the gateway stores on accepting a request and the worker fills in."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from shared.chat import ChatRequest
from shared.config import RouteStep
from shared.content import AssistantMessage
from shared.embeddings import EmbeddingRequest, Embeddings
from shared.events import CacheStatus, DoneEvent, ErrorEvent
from shared.routing import Attempt
from shared.usage import Usage


def _operation(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("operation", "chat"))
    return str(getattr(value, "operation", "chat"))


# A chat completion, or texts to embed (told apart by the embedding request's `operation`).
JobRequest = Annotated[
    Annotated[ChatRequest, Tag("chat")] | Annotated[EmbeddingRequest, Tag("embed")],
    Discriminator(_operation),
]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


# "stream": a client is reading it live and leaving cancels it; "background": only DELETE does.
JobKind = Literal["stream", "background"]


class Delivery(StrEnum):
    """How the job's answer reaches its reader. LIVE: delta by delta as it streams. WHOLE: its
    one reader waits for the end (a JSON answer), so the worker stores the answer in one append
    when it is complete, one Redis script and one message fewer a job."""

    LIVE = "live"
    WHOLE = "whole"


def _live(value: Delivery) -> bool:
    return value is Delivery.LIVE


class Timings(BaseModel):
    """Unix timestamps (seconds) of a job's milestones."""

    queued_at: float
    started_at: float | None = None
    first_token_at: float | None = None
    finished_at: float | None = None


class JobSpec(BaseModel):
    """Written once when the gateway accepts the request; the task carries only ``id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    owner: str
    kind: JobKind
    model: str = Field(description="the routed model name the request resolved to")
    route: list[RouteStep] = Field(min_length=1, description="providers to try, in order")
    request: JobRequest
    created_at: float
    deadline_at: float
    # What admission charged the key, so the worker can correct it with the real usage.
    tokens_estimate: int = 0
    tokens_per_minute: int | None = None
    # Left out when LIVE, so a spec reads the same as before the field existed.
    delivery: Delivery = Field(Delivery.LIVE, exclude_if=_live)

    @classmethod
    def new(
        cls,
        *,
        owner: str,
        kind: JobKind,
        model: str,
        route: list[RouteStep],
        request: ChatRequest | EmbeddingRequest,
        deadline_s: float,
        job_id: str | None = None,
        delivery: Delivery = Delivery.LIVE,
    ) -> JobSpec:
        """A spec created now; ``job_id`` is a client-chosen id (GraphQL's ``streamId``), else a
        random one."""
        now = time.time()
        return cls(
            id=job_id or uuid.uuid4().hex,
            owner=owner,
            kind=kind,
            model=model,
            route=route,
            request=request,
            created_at=now,
            deadline_at=now + deadline_s,
            delivery=delivery,
        )


class JobResult(AssistantMessage):
    """The completion a succeeded job produced, and why it ended."""

    finish_reason: str | None = None


class Job(BaseModel):
    """A job as clients see it: its spec, where it stands, and how it ended."""

    id: str
    owner: str
    kind: JobKind
    status: JobStatus
    model: str
    provider: str | None = None
    provider_model: str | None = None
    request: JobRequest
    usage: Usage | None = None
    cost: float | None = None
    timings: Timings
    deadline_at: float
    result: JobResult | None = None
    embeddings: Embeddings | None = None  # an embedding job's vectors, once it has succeeded
    error: ErrorEvent | None = None
    # The steps of the route that failed or were passed over before the one that answered.
    attempts: list[Attempt] = Field(default_factory=list)
    last_seq: int = 0
    # HIT: answered from the response cache; MISS: computed, and cacheable; None: not cacheable.
    cache: CacheStatus | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A succeeded job's answer, as the JSON front ends show it: read off its done event (no
    read of the job's hash) or off the job itself."""

    job_id: str
    model: str  # the routed model's name
    created_at: float
    finished_at: float
    usage: Usage | None
    result: JobResult | None = None
    embeddings: Embeddings | None = None  # an embedding job's vectors

    @classmethod
    def of_job(cls, job: Job) -> Answer:
        timings = job.timings
        finished_at = timings.finished_at or timings.queued_at
        return cls(
            job.id, job.model, timings.queued_at, finished_at, job.usage, job.result, job.embeddings
        )

    @classmethod
    def of_done(cls, job_id: str, model: str, created_at: float, done: DoneEvent) -> Answer:
        message = done.message
        result = None
        if message is not None:  # validated as the event was read: no need to again
            result = JobResult.model_construct(**dict(message), finish_reason=done.finish_reason)
        return cls(job_id, model, created_at, time.time(), done.usage, result, done.embeddings)
