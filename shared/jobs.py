"""The Job contract: what the gateway stores on accepting a request and the worker fills in."""

from __future__ import annotations

import time
import uuid
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.chat import ChatRequest
from shared.config import RouteStep


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


class Usage(BaseModel):
    """Token counts as the provider reported them (``estimated`` when it reported none)."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False


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
    request: ChatRequest
    created_at: float
    deadline_at: float

    @classmethod
    def new(
        cls,
        *,
        owner: str,
        kind: JobKind,
        model: str,
        route: list[RouteStep],
        request: ChatRequest,
        deadline_s: float,
    ) -> JobSpec:
        now = time.time()
        return cls(
            id=uuid.uuid4().hex,
            owner=owner,
            kind=kind,
            model=model,
            route=route,
            request=request,
            created_at=now,
            deadline_at=now + deadline_s,
        )


class JobResult(BaseModel):
    """The completion a succeeded job produced."""

    content: str
    reasoning: str | None = None
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
    request: ChatRequest
    usage: Usage | None = None
    cost: float | None = None
    timings: Timings
    deadline_at: float
    result: JobResult | None = None
    error: dict[str, Any] | None = None
    last_seq: int = 0
